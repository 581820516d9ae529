"""The registry: every exported name reachable, groups, lookups by name, errors, plugins."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from types import ModuleType

import pytest

import adsgen
from adsgen import seeding
from adsgen.build.providers import PROVIDERS
from adsgen.domain import enums, schemas
from adsgen.exceptions import AdsgenError, UnknownNameError
from adsgen.registry import GROUPS, KINDS, MODULES, Registry, registry
from adsgen.storage import orm
from adsgen.storage.sinks import SINKS
from adsgen.templates import catalog, spec

SRC = Path(adsgen.__file__).parent
# Exported names the flat namespace cannot give, because a Registry method has the name;
# they stay reachable through their group (registry.utils.names is catalog.names).
SHADOWED_BY_METHODS = {"names"}
# Names two modules export with different objects; the first module in GROUPS wins.
CLASHES: dict[str, list[str]] = {}


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(f"adsgen.{name}")
    except ModuleNotFoundError:
        return None


def _exporting_modules() -> list[str]:
    """Every adsgen.<name> module or package whose source defines `__all__`."""
    found = []
    for path in sorted(SRC.iterdir()):
        source = path / "__init__.py" if path.is_dir() else path
        if source.suffix != ".py" or not source.exists() or path.name.startswith("__"):
            continue
        tree = ast.parse(source.read_text(encoding="utf-8"))
        assigns = [n for n in tree.body if isinstance(n, ast.Assign | ast.AnnAssign)]
        targets = [t for n in assigns for t in (n.targets if isinstance(n, ast.Assign) else
                                                [n.target])]
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            found.append(path.stem)
    return found


# --- reaching every name ---------------------------------------------------------------


def test_every_exporting_module_is_listed() -> None:
    """A new module with `__all__` is wired by adding its name to GROUPS, nothing else (the
    doors cli, api and web sit above the registry: it never imports them)."""
    unlisted = set(_exporting_modules()) - set(MODULES) - {"cli", "api", "web", "registry"}
    assert not unlisted, f"add {sorted(unlisted)} to adsgen.registry.GROUPS"


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_every_name_is_reachable_flat_and_through_its_group(group: str) -> None:
    namespace = getattr(registry, group)
    for module_name in GROUPS[group]:
        module = _module(module_name)
        if module is None or module.__file__ is None:  # not written yet / namespace package
            continue
        assert hasattr(module, "__all__"), f"adsgen.{module_name} needs an __all__"
        for name in module.__all__:
            obj = getattr(module, name)
            assert getattr(namespace, name) is obj, f"registry.{group}.{name}"
            if name in SHADOWED_BY_METHODS:
                continue
            owner = CLASHES.get(name, [f"adsgen.{module_name}"])[0]
            expected = getattr(importlib.import_module(owner), name)
            assert getattr(registry, name) is expected, f"registry.{name}"
            assert name in dir(registry) and name in dir(namespace)


def test_clashing_names_are_exactly_the_known_ones() -> None:
    """Two modules exporting different objects under one name is a decision: pin it."""
    owners: dict[str, dict[int, str]] = {}
    for module_name in MODULES:
        module = _module(module_name)
        for name in getattr(module, "__all__", ()):
            owners.setdefault(name, {}).setdefault(id(getattr(module, name)), module_name)
    clashes = {name: [f"adsgen.{m}" for m in found.values()]
               for name, found in owners.items() if len(found) > 1}
    assert clashes == CLASHES
    shadowed = set(owners) & {n for n in dir(Registry) if not n.startswith("_")}
    assert shadowed == SHADOWED_BY_METHODS


def test_the_usage_of_the_foundation_issue_runs_as_written() -> None:
    assert registry.Advertiser is orm.Advertiser
    assert registry.BudgetType.lifetime.value == "lifetime"
    creative = registry.CreativeCreate(
        name="EV launch 30s",
        asset_url="https://cdn.luxuryautoco.example/ev-30.mp4",
        mime_type=registry.CreativeMimeType.mp4,
        duration_s=30,
    )
    assert isinstance(creative, schemas.CreativeCreate)
    assert creative.mime_type is enums.CreativeMimeType.mp4


def test_groups_are_namespaces_of_their_modules() -> None:
    assert registry.enums.BudgetType is enums.BudgetType
    assert registry.orm.Advertiser is orm.Advertiser
    assert registry.schemas.CreativeCreate is schemas.CreativeCreate
    assert registry.spec.Profile is spec.Profile
    assert registry.utils.rng is seeding.rng
    assert registry.utils.names is catalog.names
    assert dir(registry.enums) == sorted(enums.__all__)
    assert registry.enums is registry.enums  # built once
    assert set(GROUPS) <= set(dir(registry))


def test_a_name_added_to_a_module_is_reachable_with_no_other_edit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    NewEnum = StrEnum("NewEnum", ["alpha", "beta"])
    monkeypatch.setattr(enums, "NewEnum", NewEnum, raising=False)
    monkeypatch.setattr(enums, "__all__", [*enums.__all__, "NewEnum"])
    fresh = Registry()
    assert fresh.NewEnum is NewEnum
    assert fresh.enums.NewEnum.beta.value == "beta"
    assert "NewEnum" in dir(fresh)


def test_importing_the_registry_imports_nothing_heavy() -> None:
    code = (
        "import sys; from adsgen.registry import registry; import adsgen; "
        "heavy = ('numpy', 'pyarrow', 'sqlalchemy', 'faker', 'pydantic', 'yaml'); "
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_only_the_modules_a_lookup_needs_are_imported() -> None:
    code = (
        "import sys; from adsgen.registry import registry; registry.BudgetType.lifetime; "
        "print(','.join(m for m in ('sqlalchemy', 'numpy', 'pyarrow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# --- errors ------------------------------------------------------------------------------


def test_unknown_attribute_names_the_closest_match() -> None:
    with pytest.raises(AttributeError, match=r"has no attribute 'Advertizer'; did you mean "
                                             r"'Advertiser'") as caught:
        _ = registry.Advertizer
    assert caught.value.name == "Advertizer"
    with pytest.raises(AttributeError, match="did you mean 'BudgetType'"):
        _ = registry.budgettype  # case is forgiven in the hint
    with pytest.raises(AttributeError, match="did you mean 'BudgetType'"):
        _ = registry.enums.BudgetTyp
    with pytest.raises(AttributeError) as far:
        _ = registry.Zqxwvy
    assert "did you mean" not in str(far.value)
    assert not hasattr(registry, "_private")


def test_unknown_name_lists_known_names_and_the_closest() -> None:
    with pytest.raises(UnknownNameError) as caught:
        registry.profile("mobile_considration")
    message = str(caught.value)
    assert "unknown profile 'mobile_considration'; did you mean 'mobile_consideration'?" in message
    for known in catalog.names("profiles"):
        assert known in message
    assert isinstance(caught.value, AdsgenError)
    with pytest.raises(UnknownNameError, match=r"did you mean 'parquet'\?.*Known sinks: "):
        registry.sink("parquett")
    with pytest.raises(UnknownNameError, match=r"unknown kind 'widget'\. Known kinds: example"):
        registry.lookup("widget", "x")


# --- lookups by name ---------------------------------------------------------------------


def test_lookups_delegate_to_the_catalog_and_name_tables() -> None:
    profile = registry.profile("mobile_consideration")
    assert isinstance(profile, spec.Profile) and profile.name == "mobile_consideration"
    assert registry.example("luxury_auto_awareness") == catalog.get_example(
        "luxury_auto_awareness")
    assert registry.platform("netflix_like") == catalog.get_platform("netflix_like")
    assert registry.provider("budget") is PROVIDERS["budget"]
    assert registry.sink("parquet") is SINKS["parquet"]


@pytest.mark.parametrize("kind", KINDS)
def test_names_lists_every_known_thing(kind: str) -> None:
    expected = {
        "example": catalog.names("examples"), "profile": catalog.names("profiles"),
        "platform": catalog.names("platforms"), "provider": sorted(PROVIDERS),
        "sink": sorted(SINKS),
    }[kind]
    assert registry.names(kind) == expected
    assert registry.names(f"{kind}s") == expected  # the CLI's plural works too
    assert expected, f"no bundled {kind}"


# --- registration and plugins ------------------------------------------------------------


class _FakeSink:
    """Stands for a sink class a plugin adds."""


def test_register_adds_a_name_that_lookups_and_errors_know() -> None:
    fresh = Registry()
    mine = registry.profile("mobile_consideration").model_copy(update={"name": "my_profile"})
    fresh.register("profile", "my_profile", mine)
    assert fresh.profile("my_profile") is mine
    assert "my_profile" in fresh.names("profiles")
    with pytest.raises(UnknownNameError, match="did you mean 'my_profile'"):
        fresh.profile("my_profil")
    fresh.register("sinks", "fake", _FakeSink)
    assert fresh.sink("fake") is _FakeSink
    assert "fake" not in registry.names("sink")  # instances do not share registrations


def test_register_shadows_bundled_and_rejects_mistakes() -> None:
    fresh = Registry()
    fresh.register("provider", "budget", _FakeSink)
    assert fresh.provider("budget") is _FakeSink
    with pytest.raises(ValueError, match="already registered"):
        fresh.register("provider", "budget", _FakeSink)
    with pytest.raises(TypeError, match=r"adsgen\.templates\.spec\.Profile"):
        fresh.register("profile", "bad", {"name": "bad"})
    with pytest.raises(TypeError, match="callable"):
        fresh.register("sink", "bad", 42)
    with pytest.raises(UnknownNameError, match="unknown kind"):
        fresh.register("widget", "x", _FakeSink)


@pytest.fixture
def plugin_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An installed distribution (on sys.path) with two `adsgen.plugins` entry points."""
    module = "fake_adsgen_plugin"
    (tmp_path / f"{module}.py").write_text(textwrap.dedent("""
        CALLS = []

        class ShoutSink:
            pass

        def plugin(registry):
            CALLS.append(registry)
            registry.register("sink", "shout", ShoutSink)

        def broken(registry):
            raise RuntimeError("cannot find my data")
    """))
    info = tmp_path / "fake_adsgen_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-adsgen-plugin\n"
                                   "Version: 1.0\n")
    (info / "entry_points.txt").write_text(f"[adsgen.plugins]\nshout = {module}:plugin\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield info
    sys.modules.pop(module, None)


def test_plugins_register_through_entry_points_once(plugin_dist: Path) -> None:
    fresh = Registry()
    shout = fresh.sink("shout")
    assert shout.__name__ == "ShoutSink"
    assert fresh.sink("shout") is shout
    assert "shout" in fresh.names("sink")
    assert fresh.plugins == ("shout",)
    calls = sys.modules["fake_adsgen_plugin"].CALLS
    assert calls == [fresh]  # loaded once


def test_a_broken_plugin_is_a_user_error_naming_it(plugin_dist: Path) -> None:
    (plugin_dist / "entry_points.txt").write_text(
        "[adsgen.plugins]\nbroken = fake_adsgen_plugin:broken\n")
    with pytest.raises(AdsgenError, match=r"plugin 'broken' \(fake_adsgen_plugin:broken\).*"
                                          "RuntimeError: cannot find my data"):
        Registry().sink("parquet")


# --- the package's public API ------------------------------------------------------------


def test_public_api_is_small_and_lazy() -> None:
    from importlib.metadata import version

    from adsgen.runs import database as pipeline

    assert sorted(adsgen.__all__) == ["__version__", "generate", "load_template", "registry"]
    assert adsgen.registry is registry
    assert adsgen.generate is pipeline.generate
    assert adsgen.load_template is catalog.load_template
    assert adsgen.__version__ == version("adsgen")
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = adsgen.nope
