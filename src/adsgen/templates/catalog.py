"""Templates, profiles and platforms by name: the bundled data folder is the registry.

Bundled files live in `adsgen/templates/data/{examples,profiles,platforms}/*.yml` (read through
importlib.resources); a profile or platform is named by its file name, an example by its
key in an examples file (`netflix-ads-examples.yml` holds several). Users add their own:
a template file (`--template PATH`) or a folder (`--templates-dir DIR`) holding
`examples/`, `profiles/`, `platforms/` sub-folders and/or flat YAML files that say what
they are with `type:`. User entries shadow bundled ones of the same name.

Reading a file is the only I/O here, within the bounds of `adsgen.templates.yamlfile` (regular
files of at most 1 MiB, aliases expanded to at most 100,000 values); validation is
`adsgen.templates.spec.parse_template`. Malformed YAML raises SpecError naming the file and
line; an unknown name raises UnknownNameError with the known names and the closest match.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

import yaml

from adsgen.exceptions import SpecError, UnknownNameError, shown
from adsgen.templates.spec import (
    Example,
    ExampleFile,
    Loc,
    Platform,
    Profile,
    StrictModel,
    Template,
    parse_template,
)
from adsgen.templates.yamlfile import MAX_TEMPLATE_BYTES, read_yaml

__all__ = [
    "KINDS",
    "MAX_TEMPLATE_BYTES",
    "FileSummary",
    "Kind",
    "buying_platforms",
    "check_buys_on",
    "for_platform",
    "get_example",
    "get_platform",
    "get_profile",
    "load_template",
    "names",
    "profiles",
    "validate_file",
]

Kind = Literal["examples", "profiles", "platforms"]
KINDS: tuple[Kind, ...] = get_args(Kind)
_SUFFIXES = (".yml", ".yaml")
_M = TypeVar("_M", bound=StrictModel)
_T = TypeVar("_T", Example, Profile)
Location = Path | Traversable


@dataclass(frozen=True, slots=True)
class FileSummary:
    """What a valid template file holds: its `type` and the names it defines."""

    path: str
    type: str
    names: tuple[str, ...]


# --- reading one file ------------------------------------------------------------------------


def _display(location: Location) -> str:
    """How a file is named in messages: bundled files relative to the package."""
    if isinstance(location, Path):
        return str(location)
    parts = str(location).replace("\\", "/").split("/adsgen/data/")
    return f"adsgen/data/{parts[-1]}" if len(parts) > 1 else str(location)


def _read(location: Location) -> tuple[Any, Any]:
    """(data, composed node tree) of a YAML file, read within the bounds of `yamlfile`."""
    return read_yaml(location, where=_display(location))


def _locator(node: Any) -> Any:
    """A function from a key path to the 1-based line of the deepest node it reaches."""

    def locate(loc: Loc) -> int | None:
        current, line = node, None
        for part in loc:
            if current is None:
                break
            line = current.start_mark.line + 1
            current = _child(current, part)
        if current is not None:
            line = current.start_mark.line + 1
        return line

    return locate


def _child(node: Any, part: int | str) -> Any:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if str(key_node.value) == str(part):
                return value_node
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return node.value[part]
    return None


def _parse(
    location: Location, *, expected: type[StrictModel] | None = None, name: str | None = None
) -> Template:
    """Validate a file; profiles, platforms and single examples take `name` (else the stem)."""
    data, node = _read(location)
    where = _display(location)
    stem = name or location.name.rsplit(".", 1)[0]
    kind = data.get("type") if isinstance(data, dict) else None
    named = expected in (Profile, Platform, Example) or kind in ("profile", "platform", "example")
    if named and isinstance(data, dict) and data.setdefault("name", stem) != stem:
        raise SpecError(
            f"name {shown(data['name'])} differs from the file name {stem!r}; a file holds the "
            "template of its own name, so rename the file or the name",
            where=f"{where}: name",
        )
    if kind is not None:  # the file says what it is; a folder only supplies a default
        expected = None
    return parse_template(data, source=where, expected=expected, locate=_locator(node))


@functools.lru_cache(maxsize=256)
def _parse_cached(key: str, mtime_ns: int, expected: type[StrictModel] | None) -> Template:
    return _parse(Path(key), expected=expected)


def _load(location: Location, expected: type[StrictModel] | None = None) -> Template:
    """Parse a file once per content version (bundled files are read once per process)."""
    if isinstance(location, Path):
        try:
            mtime = location.stat().st_mtime_ns
        except OSError:
            return _parse(location, expected=expected)
        return _parse_cached(str(location), mtime, expected)
    key = (str(location), expected)
    if key not in _BUNDLED:
        _BUNDLED[key] = _parse(location, expected=expected)
    return _BUNDLED[key]


_BUNDLED: dict[tuple[str, type[StrictModel] | None], Template] = {}
"""Parsed bundled files: package data does not change while the process runs."""


def load_template(path: Path | str) -> Template:
    """Validate any template file, choosing the model by its `type` key.

    Returns an Example, ExampleFile, Profile or Platform; raises SpecError (file, key path,
    allowed values) when it is not valid.
    """
    return _parse(Path(path))


def validate_file(path: Path | str) -> FileSummary:
    """Validate a template file and say what it defines; SpecError when invalid."""
    template = load_template(path)
    defined = tuple(template.examples) if isinstance(template, ExampleFile) else (template.name,)
    return FileSummary(path=str(path), type=template.type, names=defined)


# --- finding templates by name ---------------------------------------------------------------


_MODELS: dict[Kind, tuple[type[StrictModel], ...]] = {
    "examples": (ExampleFile, Example),
    "profiles": (Profile,),
    "platforms": (Platform,),
}


def _yaml_files(folder: Location, *, optional: bool = False) -> list[Location]:
    """The .yml/.yaml entries of a folder by name; none when an `optional` folder is absent.

    SpecError when the folder cannot be listed (permission denied) or is not a folder.
    """
    try:
        if optional and not folder.is_dir() and not _exists(folder):
            return []
        found = [entry for entry in folder.iterdir() if entry.name.endswith(_SUFFIXES)]
    except NotADirectoryError:
        raise SpecError(f"not a folder; {folder.name}/ holds .yml files",
                        where=_display(folder)) from None
    except OSError as error:
        raise SpecError(f"cannot list the folder: {error.strerror or error}",
                        where=_display(folder)) from None
    return sorted(found, key=lambda entry: entry.name)


def _exists(location: Location) -> bool:
    """Whether anything (even a dangling symlink) is at the location."""
    return (location.is_symlink() or location.exists()) if isinstance(location, Path) else True


def _sources(kind: Kind, extra: Sequence[Path | str]) -> Iterator[tuple[Location, bool]]:
    """(file, is_in_a_kind_folder) in priority order, lowest first: bundled, then user paths."""
    yield from ((f, True) for f in _yaml_files(files("adsgen.templates") / "data" / kind))
    for entry in map(Path, extra):
        if entry.is_dir():
            yield from ((f, True) for f in _yaml_files(entry / kind, optional=True))
            yield from ((f, False) for f in _yaml_files(entry))
        elif _exists(entry):  # a file; reading it says what it is when not a regular one
            yield entry, False
        else:
            raise SpecError("no such template file or folder", where=str(entry))


def _entries(kind: Kind, extra: Sequence[Path | str]) -> dict[str, Template]:
    """Every template of a kind by name; later sources shadow earlier ones."""
    found: dict[str, Template] = {}
    for location, in_folder in _sources(kind, extra):
        if in_folder and kind != "examples":
            template = _load(location, _MODELS[kind][0])
        else:
            template = _load(location)
        if not isinstance(template, _MODELS[kind]):
            if in_folder:
                raise SpecError(
                    f"a {template.type!r} file in the {kind}/ folder; move it or fix its type",
                    where=_display(location),
                )
            continue
        if isinstance(template, ExampleFile):
            found.update(template.examples)
        else:
            found[template.name] = template
    return found


def names(kind: Kind, extra_dirs: Sequence[Path | str] = ()) -> list[str]:
    """Sorted names of the bundled (and user) examples, profiles or platforms."""
    if kind not in KINDS:
        raise UnknownNameError("kind", str(kind), KINDS)
    return sorted(_entries(kind, extra_dirs))


def _get(kind: Kind, model: type[_M], name: str, extra: Sequence[Path | str]) -> _M:
    entries = _entries(kind, extra)
    if name not in entries:
        raise UnknownNameError(kind.removesuffix("s"), name, entries)
    found = entries[name]
    assert isinstance(found, model)
    return found


def get_profile(name: str, extra_dirs: Sequence[Path | str] = ()) -> Profile:
    """The profile called `name` (a file name without .yml); UnknownNameError if none."""
    return _get("profiles", Profile, name, extra_dirs)


def get_platform(name: str, extra_dirs: Sequence[Path | str] = ()) -> Platform:
    """The platform called `name`; UnknownNameError if none."""
    return _get("platforms", Platform, name, extra_dirs)


def get_example(
    name: str, template: Path | str | None = None, extra_dirs: Sequence[Path | str] = ()
) -> Example:
    """The example called `name`, from `template` only when given, else bundled and user dirs."""
    sources: Sequence[Path | str] = extra_dirs
    if template is not None:
        loaded = load_template(template)
        examples = loaded.examples if isinstance(loaded, ExampleFile) else {}
        if isinstance(loaded, Example):
            examples = {loaded.name: loaded}
        if name not in examples:
            raise UnknownNameError(f"example in {template}", name, examples)
        return examples[name]
    return _get("examples", Example, name, sources)


def profiles(extra_dirs: Sequence[Path | str] = ()) -> list[Profile]:
    """Every profile, sorted by name (what `run-all --scale` draws from)."""
    entries = _entries("profiles", extra_dirs)
    return [_only(Profile, entries[key]) for key in sorted(entries)]


def _only(model: type[_M], value: object) -> _M:
    assert isinstance(value, model)
    return value



# --- which templates a run on one platform uses -----------------------------------------------


def _kind_of(template: Example | Profile) -> str:
    return "example" if isinstance(template, Example) else "profile"


def _run_platforms(platform: str | Sequence[str]) -> list[str]:
    """The run's platform names from 'a' / 'a,b,c' / a sequence."""
    parts = platform.split(",") if isinstance(platform, str) else list(platform)
    return [name.strip() for name in parts if name.strip()]


def check_buys_on(
    template: Example | Profile, platform: str | Sequence[str], *, known: Iterable[str]
) -> None:
    """SpecError unless the template may run with the run's platforms (`platform`: one name,
    'a,b,c' or a sequence): it names no platforms (it buys on the run's), or at least one of
    them (it buys on all it names: `buying_platforms`). Every name must be a known platform
    (UnknownNameError)."""
    where = f"{_kind_of(template)} {template.name}: platforms"
    known = set(known)
    unknown = [name for name in template.platforms if name not in known]
    if unknown:
        raise UnknownNameError("platform", unknown[0], known)
    run = _run_platforms(platform)
    if template.platforms and not set(template.platforms) & set(run):
        raise SpecError(
            f"buys on {', '.join(template.platforms)}, not on {', '.join(run)}; run it with "
            f"--platform {','.join(template.platforms)}",
            where=where,
        )


def buying_platforms(template: Example | Profile, platform: str | Sequence[str]) -> list[str]:
    """The platforms a template's campaign buys on in a run on `platform`: those it names,
    else the run's (each gets its own line items: `build.plans`)."""
    return list(template.platforms) or _run_platforms(platform)


def for_platform(
    templates: Sequence[_T], platform: str | Sequence[str], *, known: Iterable[str]
) -> list[_T]:
    """The templates a run on `platform` (one name, 'a,b,c' or a sequence) uses, in order:
    those naming no platform or at least one of the run's. Those made only for other
    platforms are left out; an unknown platform is an UnknownNameError (`check_buys_on`)."""
    known = set(known)
    run = set(_run_platforms(platform))
    used = []
    for template in templates:
        unknown = [name for name in template.platforms if name not in known]
        if run & set(template.platforms) or unknown or not template.platforms:
            check_buys_on(template, platform, known=known)
            used.append(template)
    return used
