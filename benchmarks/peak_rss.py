"""Run a command; print its exit code, wall time and the peak RSS of its whole process tree.

Usage: python benchmarks/peak_rss.py adsgen generate --line-items 20000 --days 365 ...
The tree (the command, a forkserver, pool workers) is sampled every 0.2 s with psutil, so
short peaks between samples can be missed; GNU time reports only the largest single process.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time

import psutil


def main(argv: list[str]) -> int:
    """Run `argv`, sample its tree's RSS until it exits, print the figures; its exit code."""
    if not argv:
        print(__doc__)
        return 2
    start = time.perf_counter()
    proc = subprocess.Popen(argv)
    root = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        with contextlib.suppress(psutil.Error):  # a process ended while being read
            peak = max(peak, sum(p.memory_info().rss for p in [root, *root.children(True)]))
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    print(f"exit {proc.returncode}, wall {seconds:.1f} s, peak tree RSS {peak / 2**20:.0f} MiB")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
