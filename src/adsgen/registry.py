"""The users' door to adsgen: every public name by attribute, and named things by text.

`registry.X` is any name in the `__all__` of the modules listed once in `GROUPS`, imported on
first use, so `from adsgen.registry import registry` imports nothing heavy and a name added to
a module's `__all__` is reachable with no other edit. Groups (`registry.enums`, `.schemas`,
`.orm`, `.spec`, `.errors`, `.utils`, …) are lazy namespaces over some of those modules. When
two modules export different objects under one name, the module listed first in `GROUPS` owns
the flat name and the other stays reachable through its group (tests pin the list of such
names, so a new clash is a decision, not an accident).

Its real work is lookup by name where a name arrives as text (CLI flags, YAML):
`registry.profile("mobile_consideration")`, `.example`, `.platform`, `.provider`, `.sink`.
An unknown name raises UnknownNameError listing the known names and the closest match.
Other packages add examples, profiles, platforms, providers or sinks through the entry point
group `adsgen.plugins`: each entry point is a callable `plugin(registry)` that calls
`registry.register(kind, name, obj)`. Plugins load once, on the first lookup, and shadow
bundled entries of the same name.

Code inside the package imports from the defining module (type checkers need that).
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final, cast

from adsgen.exceptions import AdsgenError, UnknownNameError

if TYPE_CHECKING:
    from adsgen.templates.spec import Example, Platform, Profile

__all__ = ["ENTRY_POINT_GROUP", "GROUPS", "KINDS", "MODULES", "Namespace", "Registry", "registry"]

PACKAGE: Final = "adsgen"
ENTRY_POINT_GROUP: Final = "adsgen.plugins"

# The one list of modules whose `__all__` fills the registry, by group. Flat-name precedence
# follows this order. A module not written yet (no file) is skipped; any other import error
# propagates.
GROUPS: Final[dict[str, tuple[str, ...]]] = {
    "enums": ("domain.enums",),
    "schemas": ("domain.schemas", "domain.fields", "domain.dates", "domain.markets",
                "domain.experiment"),
    "orm": ("storage.orm",),
    "spec": ("templates.spec", "templates.platform_calendar", "templates.platform_rules"),
    "errors": ("exceptions",),
    "simulation": ("simulate", "build.items", "simulate.columns"),
    "providers": ("build.providers",),
    "sinks": ("storage.sinks",),
    "utils": ("seeding", "settings", "templates.catalog", "build.plans", "build.numbering",
              "storage.database", "storage.persist", "runs.engines", "runs.manifest",
              "runs.blocks", "runs.jobs", "runs.database", "runs.grow", "domain.geo",
              "build.at_scale", "runs.files", "runs.inspect", "runs.sizing"),
}
MODULES: Final[tuple[str, ...]] = tuple(dict.fromkeys(m for ms in GROUPS.values() for m in ms))

# Kinds of named things, and where the bundled ones live.
KINDS: Final[tuple[str, ...]] = ("example", "profile", "platform", "provider", "sink")
_CATALOG_GETTERS: Final = {"example": "get_example", "profile": "get_profile",
                           "platform": "get_platform"}
_TABLES: Final = {"provider": ("build.providers", "PROVIDERS"),
                   "sink": ("storage.sinks", "SINKS")}
_SPEC_MODELS: Final = {"example": "Example", "profile": "Profile", "platform": "Platform"}


def _import(module: str) -> ModuleType | None:
    """adsgen.<module>, or None when that module does not exist (yet)."""
    full = f"{PACKAGE}.{module}"
    try:
        return importlib.import_module(full)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (full == exc.name or full.startswith(exc.name + ".")):
            return None
        raise


def _exports(module: ModuleType) -> tuple[str, ...]:
    return tuple(getattr(module, "__all__", ()))


def _closest(name: str, candidates: Iterable[str]) -> list[str]:
    """Up to three close matches, ignoring case (`budgettype` finds `BudgetType`)."""
    by_lower: dict[str, str] = {}
    for candidate in candidates:
        by_lower.setdefault(candidate.lower(), candidate)
    found = difflib.get_close_matches(name.lower(), list(by_lower), n=3, cutoff=0.6)
    return [by_lower[match] for match in found]


def _no_attribute(owner: str, name: str, candidates: Iterable[str], obj: object) -> AttributeError:
    close = _closest(name, candidates)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    message = f"{owner} has no attribute {name!r}{hint} (dir({owner}) lists every name)"
    return AttributeError(message, name=name, obj=obj)


class Namespace:
    """A lazy view of the `__all__` names of some adsgen modules, imported on first use."""

    def __init__(self, label: str, modules: Sequence[str]) -> None:
        self._label = label
        self._modules = tuple(modules)
        self._cache: dict[str, Any] = {}

    def _loaded(self) -> Iterator[ModuleType]:
        """The modules in order, importing each only when the search reaches it."""
        for name in self._modules:
            module = _import(name)
            if module is not None:
                yield module

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._lookup(name)

    def _lookup(self, name: str) -> Any:
        """The exported object called `name`; AttributeError (with close matches) if none."""
        if name in self._cache:
            return self._cache[name]
        for module in self._loaded():
            if name in _exports(module):
                value = getattr(module, name)
                self._cache[name] = value
                return value
        raise _no_attribute(self._label, name, self.__dir__(), self)

    def __dir__(self) -> list[str]:
        return sorted({name for module in self._loaded() for name in _exports(module)})

    def __repr__(self) -> str:
        return f"<{self._label}: adsgen {', '.join(self._modules)}>"


class Registry:
    """Every public adsgen name by attribute; examples, profiles, platforms, providers and
    sinks by name. Use the shared instance `adsgen.registry.registry`."""

    def __init__(self) -> None:
        self._all = Namespace("registry", MODULES)
        self._groups: dict[str, Namespace] = {}
        self._registered: dict[str, dict[str, Any]] = {kind: {} for kind in KINDS}
        self._plugins: list[str] | None = None

    # --- attributes ------------------------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in GROUPS:
            if name not in self._groups:
                self._groups[name] = Namespace(f"registry.{name}", GROUPS[name])
            return self._groups[name]
        try:
            return self._all._lookup(name)
        except AttributeError:
            raise _no_attribute("registry", name, self.__dir__(), self) from None

    def __dir__(self) -> list[str]:
        own = {name for name in object.__dir__(self) if not name.startswith("_")}
        return sorted(own | set(GROUPS) | set(self._all.__dir__()))

    def __repr__(self) -> str:
        return f"<adsgen registry: {', '.join(GROUPS)}; named {', '.join(KINDS)}>"

    # --- named things ----------------------------------------------------------------------

    def example(self, name: str, *, extra_dirs: Sequence[Path | str] = ()) -> Example:
        """The example called `name` (bundled, user dirs or plugin); UnknownNameError if none."""
        return cast("Example", self.lookup("example", name, extra_dirs=extra_dirs))

    def profile(self, name: str, *, extra_dirs: Sequence[Path | str] = ()) -> Profile:
        """The profile called `name` (bundled, user dirs or plugin); UnknownNameError if none."""
        return cast("Profile", self.lookup("profile", name, extra_dirs=extra_dirs))

    def platform(self, name: str, *, extra_dirs: Sequence[Path | str] = ()) -> Platform:
        """The platform called `name` (bundled, user dirs or plugin); UnknownNameError if none."""
        return cast("Platform", self.lookup("platform", name, extra_dirs=extra_dirs))

    def provider(self, name: str) -> Any:
        """The Faker provider class called `name`; UnknownNameError if none."""
        return self.lookup("provider", name)

    def sink(self, name: str) -> Any:
        """The sink class called `name` (parquet, csv, jsonl, …); UnknownNameError if none."""
        return self.lookup("sink", name)

    def lookup(self, kind: str, name: str, *, extra_dirs: Sequence[Path | str] = ()) -> Any:
        """The `kind` thing called `name`: a plugin's first, else the bundled one.

        `kind` is one of KINDS (a plural such as "profiles" works too). Raises
        UnknownNameError listing the known names and the closest match.
        """
        kind = _kind(kind)
        self._load_plugins()
        if name in self._registered[kind]:
            return self._registered[kind][name]
        getter = _CATALOG_GETTERS.get(kind)
        if getter is None:
            table = _builtin_table(kind)
            if name in table:
                return table[name]
            raise UnknownNameError(kind, name, [*table, *self._registered[kind]])
        catalog = importlib.import_module(f"{PACKAGE}.templates.catalog")
        try:
            return getattr(catalog, getter)(name, extra_dirs=extra_dirs)
        except UnknownNameError as err:
            raise UnknownNameError(kind, name, {*err.known, *self._registered[kind]}) from None

    def names(self, kind: str, *, extra_dirs: Sequence[Path | str] = ()) -> list[str]:
        """Sorted names of every known `kind` thing: bundled, user dirs and plugins."""
        kind = _kind(kind)
        self._load_plugins()
        if kind in _CATALOG_GETTERS:
            catalog = importlib.import_module(f"{PACKAGE}.templates.catalog")
            bundled: Iterable[str] = catalog.names(f"{kind}s", extra_dirs)
        else:
            bundled = _builtin_table(kind)
        return sorted({*bundled, *self._registered[kind]})

    def entries(self, kind: str, *, extra_dirs: Sequence[Path | str] = ()) -> list[dict[str, str]]:
        """Every known `kind` thing as {"name", "source", "description"}, sorted by name.

        `source` says where the name comes from: "plugin" (registered, shadowing any other),
        "templates-dir" (one of `extra_dirs`, new or shadowing a bundled one) or "bundled".
        The description is a template's own, or the first line of a class's docstring.
        """
        kind = _kind(kind)
        self._load_plugins()
        plugged = self._registered[kind]
        bundled: set[str] = set()
        getter: Any = None
        if kind in _CATALOG_GETTERS:
            catalog = importlib.import_module(f"{PACKAGE}.templates.catalog")
            bundled = set(catalog.names(f"{kind}s"))
            getter = getattr(catalog, _CATALOG_GETTERS[kind])
        else:
            bundled = set(_builtin_table(kind))

        def source(name: str) -> str:
            if name in plugged:
                return "plugin"
            if name not in bundled:
                return "templates-dir"
            if getter is not None and extra_dirs and (
                getter(name, extra_dirs=extra_dirs) != getter(name)
            ):
                return "templates-dir"
            return "bundled"

        return [
            {"name": name, "source": source(name),
             "description": _description(self.lookup(kind, name, extra_dirs=extra_dirs))}
            for name in self.names(kind, extra_dirs=extra_dirs)
        ]

    def register(self, kind: str, name: str, obj: object) -> None:
        """Add a named thing (what plugins call). It shadows a bundled one of the same name.

        Examples, profiles and platforms must be the adsgen.templates.spec models; providers and
        sinks must be callables (classes). Registering a name twice is an error.
        """
        kind = _kind(kind)
        model_name = _SPEC_MODELS.get(kind)
        if model_name is not None:
            model = getattr(importlib.import_module(f"{PACKAGE}.templates.spec"), model_name)
            if not isinstance(obj, model):
                raise TypeError(f"a registered {kind} must be adsgen.templates.spec.{model_name}, "
                                f"not {type(obj).__name__}")
        elif not callable(obj):
            raise TypeError(f"a registered {kind} must be a class or callable, not {obj!r}")
        if name in self._registered[kind]:
            raise ValueError(f"{kind} {name!r} is already registered")
        self._registered[kind][name] = obj

    @property
    def plugins(self) -> tuple[str, ...]:
        """Names of the `adsgen.plugins` entry points loaded (loading them if not yet)."""
        self._load_plugins()
        return tuple(self._plugins or ())

    def _load_plugins(self) -> None:
        """Call every `adsgen.plugins` entry point once; AdsgenError naming a broken one."""
        if self._plugins is not None:
            return
        self._plugins = []
        from importlib.metadata import entry_points

        for point in entry_points(group=ENTRY_POINT_GROUP):
            try:
                point.load()(self)
            except Exception as exc:
                raise AdsgenError(
                    f"plugin {point.name!r} ({point.value}) in {ENTRY_POINT_GROUP} failed: "
                    f"{type(exc).__name__}: {exc}; fix or uninstall the package providing it"
                ) from exc
            self._plugins.append(point.name)


def _kind(kind: str) -> str:
    """Canonical (singular) kind; UnknownNameError for anything else."""
    singular = kind.removesuffix("s")
    if singular not in KINDS:
        raise UnknownNameError("kind", kind, KINDS)
    return singular


def _description(obj: object) -> str:
    """A template's description, else the first line of a class's (or callable's) docstring."""
    described = getattr(obj, "description", None)
    if isinstance(described, str):
        return described
    import inspect

    return (inspect.getdoc(obj) or "").split("\n", 1)[0]


def _builtin_table(kind: str) -> dict[str, Any]:
    """The bundled name table of providers or sinks ({} while that module does not exist)."""
    module_name, attribute = _TABLES[kind]
    module = _import(module_name)
    return dict(getattr(module, attribute)) if module is not None else {}


registry: Final = Registry()
"""The shared registry: `from adsgen.registry import registry`."""
