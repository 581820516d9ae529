"""Sizes the machine cannot hold are refused at once with the figures (issue 9, item 10):
each command runs as a user runs it, in a subprocess with a timeout, so a run that starts
planning instead fails the test rather than hanging it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from adsgen.runs import capacity
from cliutil import ADSGEN, sqlite_url, subprocess_env

HUGE = [
    ("plan", "--advertisers", "1000000000"),
    ("generate", "--line-items", "1000000000", "--out", "out"),
    ("run-all", "--scale", "1000000000"),
    ("create-advertiser", "--auto", "--campaigns", "100000"),
]


@pytest.mark.parametrize("args", HUGE, ids=lambda a: a[0])
def test_a_run_that_cannot_fit_in_memory_is_refused_at_once(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    done = subprocess.run([ADSGEN, "--db", sqlite_url(tmp_path / "ads.db"), *args],
                          capture_output=True, text=True, cwd=tmp_path, env=subprocess_env(),
                          timeout=60)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "of memory" in lines[0] and "available" in lines[0], lines
    assert list(tmp_path.iterdir()) == []  # no database, no output


def test_figures_read_as_a_user_expects() -> None:
    assert capacity.human_bytes(999) == "999 B"
    assert capacity.human_bytes(5_000_000_000_000) == "5.0 TB"
    need = capacity.run_memory(line_items=None, advertisers=1000, workers=2)
    assert need == capacity.run_memory(line_items=2100, advertisers=None, workers=2)
    assert capacity.free_disk(Path("/no/such/folder/below/root")) is not None


def test_release_unused_memory_gives_freed_heap_back() -> None:
    """Freed blocks behind a live one stay resident until malloc_trim (glibc) returns them."""
    import psutil

    process = psutil.Process()
    blocks = [bytearray(1000) for _ in range(200_000)]  # ~200 MB of heap
    keep = blocks[::50]  # pins the heap's pages so it cannot shrink from the top alone
    del blocks
    before = process.memory_info().rss
    capacity.release_unused_memory()
    assert process.memory_info().rss < before - 100 * 2**20
    assert len(keep) == 4000
