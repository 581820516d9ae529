"""Reading one YAML template file within bounds: what is read, how far it expands, how deep.

A template is a user's file, so it may be anything: a symlink to /dev/zero, a FIFO that never
sends, a 50 MB file, a 300-byte "billion laughs" whose aliases expand to millions of values,
a 20,000-deep nesting that exhausts the stack, a list used as a key or a date that does not
exist. Each is refused here with a SpecError (the CLI's exit 2 and one line) before it can
hang the process, exhaust memory or surface as another exception:

- only regular files are read (opened non-blocking, checked with fstat, so symlinks are
  followed to regular files only), and at most MAX_TEMPLATE_BYTES of them;
- aliases are allowed (the bundled examples share flights with them) but the document, with
  every alias expanded, may hold at most MAX_VALUES values and MAX_DEPTH levels, and no alias
  may refer to a value that contains it;
- keys are scalars, each given once in its mapping; a value YAML cannot build (2026-02-30,
  a 5,000-digit integer) is an error at its line and column.
"""

from __future__ import annotations

import os
import stat
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import yaml

from adsgen.exceptions import SpecError, shown

__all__ = ["MAX_DEPTH", "MAX_TEMPLATE_BYTES", "MAX_VALUES", "read_yaml"]

MAX_TEMPLATE_BYTES = 1 << 20
"""Largest template file read (1 MiB); the bundled ones are under 5 KB."""
MAX_VALUES = 20_000
"""Most values (scalars, lists, mappings) a document may hold once its aliases are expanded;
the bundled examples file holds 321, a file of 60 such examples would hold 20,000."""
MAX_DEPTH = 32
"""Deepest nesting of values, aliases expanded; the bundled examples file nests 9 deep."""

_KINDS = {
    stat.S_IFDIR: "a folder", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket",
}


def read_yaml(location: Path | Traversable, *, where: str) -> tuple[Any, yaml.Node | None]:
    """(data, composed node tree) of one YAML file, read within the bounds above.

    Raises SpecError naming `where` for a file that cannot be read, is not a regular file,
    is over MAX_TEMPLATE_BYTES, is not UTF-8, or is not YAML within the bounds (with the
    line and column).
    """
    raw = _read_bytes(location, where=where)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SpecError(f"cannot read the file: not UTF-8 text ({error.reason} at byte "
                        f"{error.start})", where=where) from None
    loader: _Loader | None = None
    try:
        loader = _Loader(text)  # reading starts here: a control character fails already
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except _Refused as error:
        raise SpecError(_describe(error, text), where=where) from None
    except yaml.YAMLError as error:
        raise SpecError(f"malformed YAML at {_describe(error, text)}", where=where) from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, node


def _read_bytes(location: Path | Traversable, *, where: str) -> bytes:
    """The file's bytes: a regular file of at most MAX_TEMPLATE_BYTES, never blocking."""
    if not isinstance(location, Path):  # a bundled file, inside the installed package
        return location.read_bytes()
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(location, flags)  # non-blocking: opening a FIFO does not wait for a writer
    except OSError as error:
        raise SpecError(f"cannot read the file: {error.strerror}", where=where) from None
    try:
        info = os.fstat(fd)
        kind = stat.S_IFMT(info.st_mode)
        if kind != stat.S_IFREG:
            raise SpecError(
                f"not a regular file ({_KINDS.get(kind, 'not a file')}); a template is a "
                "regular .yml file", where=where,
            )
        with open(fd, "rb", closefd=False) as file:
            raw = b"" if info.st_size > MAX_TEMPLATE_BYTES else file.read(MAX_TEMPLATE_BYTES + 1)
    finally:
        os.close(fd)
    if info.st_size > MAX_TEMPLATE_BYTES or len(raw) > MAX_TEMPLATE_BYTES:
        size = max(info.st_size, len(raw))
        raise SpecError(
            f"the file holds {size:,} bytes; a template may hold at most 1 MiB "
            f"({MAX_TEMPLATE_BYTES:,} bytes)", where=where,
        )
    return raw


def _describe(error: yaml.YAMLError, text: str) -> str:
    """"line L, column C: problem" of a YAML error in `text` (the problem alone if unplaced)."""
    if isinstance(error, yaml.reader.ReaderError):  # a character YAML does not allow
        before = text[: error.position]
        line, column = before.count("\n"), error.position - (before.rfind("\n") + 1)
        code = error.character if isinstance(error.character, int) else ord(error.character)
        return f"line {line + 1}, column {column + 1}: character #x{code:04x} is not allowed"
    mark = getattr(error, "problem_mark", None)
    problem = " ".join(str(getattr(error, "problem", None) or error).split())
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}" if mark else problem


class _Refused(yaml.MarkedYAMLError):
    """Valid YAML this loader will not build: past a bound, a list as a key, 2026-02-30."""

    def __init__(self, problem: str, mark: yaml.Mark) -> None:
        super().__init__(problem=problem, problem_mark=mark)


class _Loader(yaml.SafeLoader):
    """SafeLoader (no arbitrary objects) that keeps the document within MAX_VALUES and
    MAX_DEPTH, refuses self-containing aliases, non-scalar and repeated keys, and turns a
    value it cannot build into an error at the value's line."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0  # lists and mappings open around the node being composed
        self._values = 0  # values composed so far, each alias counting its value's size
        self._measured: dict[int, tuple[int, int]] = {}  # id(node) → (values, depth) expanded

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        mark: yaml.Mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
        if self.check_event(yaml.AliasEvent):
            node = super().compose_node(parent, index)
            if node is None or id(node) not in self._measured:  # the alias is inside its value
                raise _Refused("an alias refers to a value that contains it", mark)
            values, depth = self._measured[id(node)]
            self._count(values, self._depth + depth, mark)
            return node
        self._depth += 1
        self._count(1, self._depth, mark)
        before = self._values
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        children: list[yaml.Node] = []
        if node is None:
            return None
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        depth = 1 + max((self._measured[id(child)][1] for child in children), default=0)
        self._measured[id(node)] = (self._values - before + 1, depth)
        return node

    def _count(self, values: int, depth: int, mark: yaml.Mark) -> None:
        """Add `values` to the document's expanded size, at `depth`; refuse past the bounds."""
        self._values += values
        if self._values > MAX_VALUES:
            raise _Refused(f"the document holds more than {MAX_VALUES:,} values (aliases "
                           "expanded); a template is small, so split it or use fewer aliases",
                           mark)
        if depth > MAX_DEPTH:
            raise _Refused(f"values nested more than {MAX_DEPTH} levels deep (aliases expanded)",
                           mark)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError) as error:  # 2026-02-30, a 5,000-digit integer …
            value = shown(node.value, quote=False) if isinstance(node, yaml.ScalarNode) else "it"
            raise _Refused(f"cannot read {value}: {error}", node.start_mark) from None


def _scalar_keys_once(loader: _Loader, node: yaml.MappingNode) -> Any:
    """A mapping whose keys are scalars, each given once (YAML itself would keep the last)."""
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise _Refused("a key must be text or a number, not a list or mapping",
                           key_node.start_mark)
        key = loader.construct_object(key_node)
        if key in seen:
            raise _Refused(f"found key {shown(key)} twice; give each key once",
                           key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _scalar_keys_once)
