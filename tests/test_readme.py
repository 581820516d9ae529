"""The README's examples run, in README order, on a fresh folder: what a new user does with
the README in hand.

Conventions of README.md this test relies on (keep them when you edit the README):

- A ```sh (or ```bash) block is a list of shell commands, run one by one with bash in one
  temporary folder shared by the whole README, `.venv/bin` first on PATH and no `ADSGEN_*`
  variable set (so the database is `sqlite:///ads.db` in that folder). A line ending in `\\`
  continues on the next; a `#` comment after a command is fine. Every command must exit 0.
- A ```console block holds `$ command` lines, each followed by the exact output it prints
  (stdout and stderr together); the exit code is not checked, the output is. The folder the
  examples run in is written `/home/me` there (the test puts its own folder's path back),
  and `…` in an output line stands for text that differs from machine to machine (free
  memory, timings).
- A ```python block runs as a script with the venv's Python in the same folder.
- A ```yaml block whose first line is `# some/path.yml` is written to that path (relative to
  the folder) when the test reaches it, so later blocks can use the file.
- Other fences (```text, ```yaml without a path …) are not run.
- `<!-- readme-test: skip (why) -->` on the line right before a fence: the block is not run.
  Use it for blocks that need PostgreSQL/MariaDB, a Dask cluster, the network, or run for
  minutes; say why in the parentheses. Keep such blocks few; split a block rather than skip
  a runnable one.
- A command naming a database server or a network address (postgresql://, mysql+…://,
  tcp://, http://) fails the test without running: such commands belong in a skipped block, so the
  test never writes to a real database.
- `make run [ARGS="…"]` and `./run_all.sh …` run as `adsgen run-all …` (they install
  dependencies first, which the test environment already has; the script also changes
  folder); `make test|lint|check|bench` are not run (this test is part of `make test`).

A failure names the block (its fence line in README.md and the section it is in), the
command, its exit code and its output.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from cliutil import REPO, subprocess_env

README = REPO / "README.md"
SKIP_MARK = re.compile(r"<!--\s*readme-test:\s*skip\b.*-->")
RUN_LANGS = {"sh", "bash", "console", "python"}
NOT_RUN_MAKE = re.compile(r"^make (test|test-one|lint|check|bench)\b")
MAKE_RUN = re.compile(r"""^make run(?:\s+ARGS=(?P<args>"[^"]*"|'[^']*'|\S+))?\s*(?P<rest>.*)$""")
SERVER = re.compile(r"(postgresql|mysql|mariadb)(\+\w+)?://|tcp://|https?://")
COMMAND_TIMEOUT = 120
HOME = "/home/me"
"""How the README's console output writes the folder its examples run in."""


@dataclass(frozen=True)
class Block:
    """One fenced block of the README: its language, text, fence line and section."""

    lang: str
    text: str
    line: int
    section: str
    skipped: bool

    @property
    def where(self) -> str:
        return f"README.md:{self.line} ({self.section!r}, ```{self.lang})"


def blocks(text: str) -> list[Block]:
    """Every fenced block of a Markdown text, in order."""
    found: list[Block] = []
    lines = text.splitlines()
    section = "(top)"
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("#"):
            section = line.lstrip("#").strip()
        fence = re.match(r"^```(\w*)", line)
        if fence:
            start = i
            body: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            skipped = start > 0 and bool(SKIP_MARK.search(lines[start - 1]))
            found.append(Block(fence.group(1), "\n".join(body), start + 1, section, skipped))
        i += 1
    return found


def commands(script: str) -> list[str]:
    """The commands of a shell block: continuation lines joined, blank lines dropped,
    `make run`/`./run_all.sh` as the `adsgen run-all` they run."""
    joined = re.sub(r"\s*\\\n\s*", " ", script)
    out: list[str] = []
    for raw in joined.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or NOT_RUN_MAKE.match(line):
            continue
        make_run = MAKE_RUN.match(line)
        if make_run:
            args = make_run.group("args") or ""
            args = " ".join(shlex.split(args)) if args else ""
            line = f"adsgen run-all {args} {make_run.group('rest')}".strip()
        line = re.sub(r"^\./run_all\.sh\b", "adsgen run-all", line)
        out.append(line)
    return out


def console_steps(text: str) -> list[tuple[str, str]]:
    """(command, expected output) pairs of a ```console block."""
    steps: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
    return [(command, "\n".join(expected)) for command, expected in steps]


def same_output(output: str, expected: str) -> bool:
    """`output` as the README shows it, line by line, `…` matching any text in its line."""
    got, want = output.splitlines(), expected.splitlines()
    if len(got) != len(want):
        return False
    patterns = (".*".join(map(re.escape, line.split("…"))) for line in want)
    return all(re.fullmatch(pattern, line) for pattern, line in zip(patterns, got, strict=True))


def _env() -> dict[str, str]:
    env = subprocess_env()
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _run(command: list[str] | str, cwd: Path, *, merged: bool = False) -> tuple[int, str]:
    result = subprocess.run(
        ["bash", "-c", command] if isinstance(command, str) else command,
        cwd=cwd,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merged else subprocess.PIPE,
        text=True,
        timeout=COMMAND_TIMEOUT,
    )
    output = result.stdout + ("" if merged else result.stderr)
    return result.returncode, output


def run_block(block: Block, folder: Path) -> None:
    """Run one block in `folder`; AssertionError naming the block and command if it fails."""
    if block.lang == "yaml":
        first = block.text.splitlines()[0] if block.text else ""
        path = re.match(r"^#\s*(\S+\.ya?ml)\s*$", first)
        if path:
            target = folder / path.group(1)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.text + "\n")
        return
    if block.lang == "python":
        code, output = _run([sys.executable, "-c", block.text], folder)
        assert code == 0, f"{block.where}: the Python block exited {code}:\n{output}"
        return
    if block.lang == "console":
        for command, expected in console_steps(block.text):
            code, output = _run(command, folder, merged=True)
            output = output.replace(str(folder), HOME)
            assert same_output(output.rstrip("\n"), expected), (
                f"{block.where}: `{command}` (exit {code}) printed\n{output}\n"
                f"but the README shows\n{expected}"
            )
        return
    for command in commands(block.text):
        assert not SERVER.search(command), (
            f"{block.where}: `{command}` needs a server or the network; put it in a block "
            "marked <!-- readme-test: skip (why) -->"
        )
        code, output = _run(command, folder)
        assert code == 0, f"{block.where}: `{command}` exited {code}:\n{output}"


def test_commands_understand_the_conventions() -> None:
    """The parsing this test relies on: continuations, make/run_all substitutes, markers."""
    assert commands('make run ARGS="--seed 7 --json"\nmake test\n./run_all.sh --scale 2') == [
        "adsgen run-all --seed 7 --json",
        "adsgen run-all --scale 2",
    ]
    continued = "adsgen a \\\n  --b 1   # note\n\n# only a comment"
    assert commands(continued) == ["adsgen a --b 1   # note"]
    marked = "# T\n<!-- readme-test: skip (needs PostgreSQL) -->\n```sh\nx\n```\n```sh\ny\n```"
    found = blocks(marked)
    assert [(b.text, b.skipped, b.section) for b in found] == [("x", True, "T"), ("y", False, "T")]
    assert console_steps("$ a\nerror: x\n$ b\n") == [("a", "error: x"), ("b", "")]
    assert same_output("has 21.8 GB free\nok", "has … GB free\nok")
    assert not same_output("has 21.8 GB free", "has … MB free")
    assert not same_output("a\nb", "a")


def test_readme_examples_run_in_order(tmp_path: Path) -> None:
    """Every runnable block of the README, in order, on one fresh folder."""
    found = [b for b in blocks(README.read_text()) if b.lang in RUN_LANGS | {"yaml"}]
    assert any(b.lang in RUN_LANGS and not b.skipped for b in found), "no runnable block found"
    for block in found:
        if not block.skipped:
            run_block(block, tmp_path)


def test_readme_counts_adsgen_tables_right() -> None:
    """The safety section says how many tables adsgen owns; a new table must update it."""
    from adsgen.storage.orm import Base

    text = README.read_text(encoding="utf-8")
    assert f"only its own {len(Base.metadata.tables)} tables" in text
