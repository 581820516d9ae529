"""Hostile or broken template files: bounded reads, bounded YAML, short error lines.

Each case reproduces a report of issue 9 (item 8 and the YAML parts of item 9): an alias
bomb, a symlink to /dev/zero, a FIFO, a file over the size cap, deep nesting, list keys,
an impossible date. Every one must be a SpecError (exit 2, one short line), never a hang,
a MemoryError or another exception.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from adsgen.exceptions import SpecError
from adsgen.templates import catalog
from cliutil import invoke, user_error

LONGEST_LINE = 600
"""No error line about a template is longer than this, plus the file's path."""


def _bomb(levels: int) -> str:
    """A billion-laughs document: each level lists the previous one 9 times."""
    parts = ['&l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    parts += [f"&l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return "type: profile\nbudget: [" + ", ".join(parts) + "]\n"


def _error(path: Path) -> str:
    """The message of the SpecError that validating `path` raises."""
    with pytest.raises(SpecError) as caught:
        catalog.validate_file(path)
    return str(caught.value)


def test_an_alias_bomb_is_refused_quickly_with_a_short_line(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yml"
    path.write_text(_bomb(7))
    assert path.stat().st_size < 600
    began = time.monotonic()
    message = _error(path)
    assert time.monotonic() - began < 2
    assert "aliases" in message and "20,000 values" in message
    assert len(message) < LONGEST_LINE + len(str(path))


def test_bundled_aliases_still_work() -> None:
    example = catalog.get_example("nexbank_conversion")
    assert all(item.flight == example.campaign.flight for item in example.campaign.line_items)


def test_an_alias_to_its_own_parent_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "loop.yml"
    path.write_text("type: profile\nbudget: &a [1, *a]\n")
    assert "refers to a value that contains it" in _error(path)


def test_a_long_value_is_cut_in_the_error(tmp_path: Path) -> None:
    path = tmp_path / "long.yml"
    path.write_text("type: profile\nbudget: [" + ", ".join(["1"] * 5_000) + "]\n")
    message = _error(path)
    assert "give one number or a [low, high] pair" in message
    assert len(message) < LONGEST_LINE + len(str(path))


def test_a_long_unknown_type_is_cut_in_the_error(tmp_path: Path) -> None:
    path = tmp_path / "type.yml"
    path.write_text("type: " + "x" * 100_000 + "\n")
    message = _error(path)
    assert "unknown type 'xxx" in message and "…" in message
    assert len(message) < LONGEST_LINE + len(str(path))


def test_a_symlink_to_dev_zero_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "zero.yml").symlink_to("/dev/zero")
    with pytest.raises(SpecError, match=r"zero\.yml: not a regular file \(a character device\)"):
        catalog.names("profiles", [tmp_path])


def test_a_symlink_to_a_regular_file_is_followed(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.yml"
    target.write_text("type: profile\nobjective: conversion\n")
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "mine.yml").symlink_to(target)
    assert catalog.get_profile("mine", [tmp_path]).objective == "conversion"


def test_a_fifo_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "x.yml"
    os.mkfifo(fifo)
    began = time.monotonic()
    with pytest.raises(SpecError, match=r"x\.yml: not a regular file \(a FIFO\)"):
        catalog.names("profiles", [tmp_path])
    with pytest.raises(SpecError, match="not a regular file"):
        catalog.validate_file(fifo)
    assert time.monotonic() - began < 2


def test_a_folder_named_like_a_template(tmp_path: Path) -> None:
    (tmp_path / "dir.yml").mkdir()
    with pytest.raises(SpecError, match=r"dir\.yml: not a regular file \(a folder\)"):
        catalog.names("profiles", [tmp_path])


def test_a_file_over_the_cap_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.yml"
    path.write_text("type: profile\ndescription: " + "x" * (catalog.MAX_TEMPLATE_BYTES) + "\n")
    began = time.monotonic()
    message = _error(path)
    assert time.monotonic() - began < 1
    assert "at most 1 MiB (1,048,576 bytes)" in message and "big.yml" in message


def test_a_file_under_the_cap_parses(tmp_path: Path) -> None:
    path = tmp_path / "spaced.yml"
    path.write_text("type: profile\n" + "#" * 1000 + "\n" + "objective: conversion\n")
    assert catalog.validate_file(path).type == "profile"


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.yml"
    path.write_text("type: profile\nbudget: " + "[" * 20_000 + "]" * 20_000 + "\n")
    message = _error(path)
    assert "nested more than 32 levels deep" in message and "line 2" in message


@pytest.mark.parametrize("key", ["[1, 2]", "{a: 1}", "? - a\n"])
def test_list_and_map_keys_are_refused(tmp_path: Path, key: str) -> None:
    path = tmp_path / "keys.yml"
    path.write_text(f"type: profile\n{key}: x\n")
    assert "a key must be text or a number" in _error(path)


def test_a_list_as_the_type(tmp_path: Path) -> None:
    path = tmp_path / "type.yml"
    path.write_text("type: [profile]\n")
    assert "unknown type ['profile']" in _error(path)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("type: profile\nstart: 2026-02-30\n",
         "line 2, column 8: cannot read 2026-02-30: day is out of range for month"),
        ("type: profile\nflight_days: " + "9" * 5000 + "\n", "cannot read 9999"),
        ("type: profile\ndescription: !!binary 'not base64 at all!'\n", "malformed YAML"),
    ],
)
def test_values_yaml_cannot_build(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(text)
    message = _error(path)
    assert fragment in message
    assert len(message) < LONGEST_LINE + len(str(path))


def test_a_control_character(tmp_path: Path) -> None:
    path = tmp_path / "ctl.yml"
    path.write_text("type: profile\ndescription: a\x0bb\n")
    assert "malformed YAML at line 2, column 15: character #x000b is not allowed" in _error(path)


def test_an_unreadable_profiles_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Root can list any folder, so the refusal of the kernel is injected for that one."""
    folder = tmp_path / "profiles"
    folder.mkdir()
    folder.chmod(0)
    real = Path.iterdir

    def iterdir(self: Path):  # type: ignore[no-untyped-def]
        if self == folder:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    try:
        result = invoke("list", "profiles", "--templates-dir", str(tmp_path))
    finally:
        folder.chmod(0o755)
    line = user_error(result)
    assert f"{folder}: cannot list the folder: Permission denied" in line


def test_cli_validate_of_a_fifo_and_a_bomb(tmp_path: Path) -> None:
    fifo = tmp_path / "x.yml"
    os.mkfifo(fifo)
    assert "not a regular file (a FIFO)" in user_error(invoke("validate", str(fifo)))
    bomb = tmp_path / "bomb.yml"
    bomb.write_text(_bomb(6))
    assert len(user_error(invoke("validate", str(bomb)))) < LONGEST_LINE + len(str(bomb))

