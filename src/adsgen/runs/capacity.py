"""What a run needs against what this machine has: a run that cannot fit is refused before
any slow work, with the figures, instead of planning for minutes and then running out.

The needs are per-unit costs measured on this machine (2 cores, 23 GB; the commands are
noted next to each constant), times the size asked for. They guard against the impossible
(`generate --line-items 1000000000`, `run-all --scale 1000000000`), they are not promises:
a run refused here would have run out of memory or disk, a run let through may still be
tight. Memory is what the system says is available (psutil), disk the free space of the
filesystem the files go to (`shutil.disk_usage`). What fits is streamed as before: a file
run holds its plan and one block per worker, never the rows of the run.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import shutil
from pathlib import Path

from adsgen.exceptions import AdsgenError

__all__ = [
    "BYTES_PER_ROW",
    "available_memory",
    "check_disk",
    "check_memory",
    "free_disk",
    "human_bytes",
    "release_unused_memory",
    "run_memory",
]

# The command itself: interpreter, imports, Arrow pools (`adsgen generate --line-items 20`
# peaks at about 250 MB).
BASE_BYTES = 300 << 20
# Planning a file run, per line item (peak RSS of `files.scale_plan`: 3.2 to 4.3 KB per line item
# for 20,000 and 100,000 line items, 3.9 KB through --advertisers 20,000).
PLAN_BYTES_PER_LINE_ITEM = 5_000
# Line items per advertiser of the bundled profiles (41,150 for --advertisers 20,000).
LINE_ITEMS_PER_ADVERTISER = 2.1
# One block in flight (a pool worker, or this process with --engine local): a worker of
# `generate --line-items 20000 --days 30 --engine processes` peaked at 356 MiB
# (benchmarks/peak_rss.py), the year-long block of `benchmarks/bench_block.py --line-items
# 2056 --days 365` at 431 to 471 MiB with its held rows spilled to disk.
WORKER_BYTES = 480 << 20
# Disk per performance row, every table included (`generate --line-items 300 --days 30`:
# Parquet 21.1, CSV 88.8, JSONL 345.6 bytes a row); other formats count as JSONL.
BYTES_PER_ROW = {"parquet": 22, "csv": 90, "jsonl": 350}
# run-all holds every drawn advertiser with its simulated rows (peak RSS of
# `run-all --scale 50` and `--scale 200`: 271 and 351 MB, 533 KB an advertiser).
RUN_ALL_BYTES_PER_ADVERTISER = 550_000
# create-advertiser --campaigns N holds each drawn campaign with its simulated rows
# (`create-advertiser --auto --campaigns 20`: 218 MB, ~5 MB a campaign).
CAMPAIGN_BYTES = 5 << 20


def human_bytes(size: float) -> str:
    """1.2 GB, 340 MB, 5.0 TB: for the one error line."""
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if abs(size) < 1000 or unit == "PB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def available_memory() -> int | None:
    """Bytes of memory the system can give without swapping (None: unknown)."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except (ImportError, OSError):
        pass
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def free_disk(path: Path) -> int | None:
    """Free bytes on the filesystem that holds `path` (or its nearest existing folder)."""
    for folder in (path, *path.parents):
        if folder.exists():
            try:
                return shutil.disk_usage(folder).free
            except OSError:
                return None
    return None


def check_memory(needed: int, what: str) -> None:
    """Raise AdsgenError when `needed` bytes exceed the available memory; `what` says what
    needs them ("--line-items 1,000,000 needs … to plan")."""
    have = available_memory()
    if have is not None and needed > have:
        raise AdsgenError(f"{what} needs about {human_bytes(needed)} of memory and this "
                          f"machine has {human_bytes(have)} available; make the run smaller")


def check_disk(needed: int, where: Path, what: str) -> None:
    """Raise AdsgenError when `needed` bytes exceed the free space where `where` goes."""
    have = free_disk(where)
    if have is not None and needed > have:
        raise AdsgenError(f"{what} needs about {human_bytes(needed)} of disk and "
                          f"{str(where)!r} has {human_bytes(have)} free; free some space, "
                          "choose another --out or make the run smaller")


def run_memory(*, line_items: int | None, advertisers: int | None, workers: int) -> int:
    """Bytes a file run needs in memory: its plan and one block per worker."""
    items = line_items if line_items is not None else round(
        (advertisers or 0) * LINE_ITEMS_PER_ADVERTISER)
    return BASE_BYTES + items * PLAN_BYTES_PER_LINE_ITEM + max(workers, 1) * WORKER_BYTES


def release_unused_memory(*, collect: bool = True) -> None:
    """Give the memory this process freed back to the system, where it can.

    A run's peak is the sum of its processes' resident sets, and freed memory stays in them:
    PyArrow's pool keeps freed buffers and glibc's heaps keep freed blocks (the plan's and
    the allocation's temporaries: ~35 MiB in `generate`'s parent after settling the world
    of 20,000 line items; each thread that allocates gets a heap of its own). Called after
    each such stage and by a worker before and after writing each block. `collect=False`
    skips the garbage collection (a full pass over a 20,000-line-item plan's objects) where
    nothing cyclic was freed. malloc_trim exists only in glibc; elsewhere it is skipped.
    """
    import pyarrow as pa

    if collect:
        gc.collect()
    pa.default_memory_pool().release_unused()
    with contextlib.suppress(AttributeError, OSError):  # not glibc
        ctypes.CDLL(None).malloc_trim(0)
