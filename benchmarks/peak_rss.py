"""Run a command; print its exit code, wall time and the peak RSS of its whole process tree.

Usage: python benchmarks/peak_rss.py adsgen generate --line-items 20000 --days 365 ...
The tree (the command, a forkserver, pool workers) is sampled every 0.2 s with psutil, so
short peaks between samples can be missed; GNU time reports only the largest single process.
Besides the peak of the tree's summed RSS it prints each process's own peak (the command,
then the others by pid), and the peak of the tree's summed PSS (sampled every 2 s): RSS
counts the pages a forkserver shares with the workers it forked once per process, PSS
splits them between the processes that share them.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time

import psutil

_PSS_EVERY = 2.0  # seconds: reading smaps costs more than reading RSS


def main(argv: list[str]) -> int:
    """Run `argv`, sample its tree's RSS until it exits, print the figures; its exit code."""
    if not argv:
        print(__doc__)
        return 2
    start = time.perf_counter()
    proc = subprocess.Popen(argv)
    root = psutil.Process(proc.pid)
    peak = peak_pss = 0
    own: dict[int, int] = {}  # pid → its own peak RSS
    at_peak: dict[int, int] = {}  # pid → its RSS when the tree peaked
    last_pss = 0.0
    while proc.poll() is None:
        with contextlib.suppress(psutil.Error):  # a process ended while being read
            tree = [root, *root.children(True)]
            sizes = {}
            for p in tree:
                with contextlib.suppress(psutil.Error):
                    sizes[p.pid] = p.memory_info().rss
            for pid, size in sizes.items():
                own[pid] = max(own.get(pid, 0), size)
            if sum(sizes.values()) > peak:
                peak, at_peak = sum(sizes.values()), sizes
            if time.perf_counter() - last_pss >= _PSS_EVERY:
                last_pss = time.perf_counter()
                pss = 0
                for p in tree:
                    with contextlib.suppress(psutil.Error, AttributeError):
                        pss += p.memory_full_info().pss
                peak_pss = max(peak_pss, pss)
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    mib = 2**20
    print(f"exit {proc.returncode}, wall {seconds:.1f} s, peak tree RSS {peak / mib:.0f} MiB")
    others = sorted(pid for pid in own if pid != proc.pid)
    print(f"  at that peak: command {at_peak.get(proc.pid, 0) / mib:.0f} MiB, others "
          + ", ".join(f"{at_peak[pid] / mib:.0f}" for pid in others if pid in at_peak) + " MiB")
    print(f"  own peaks: command {own.get(proc.pid, 0) / mib:.0f} MiB, others "
          + ", ".join(f"{own[pid] / mib:.0f}" for pid in others) + " MiB")
    print(f"  peak tree PSS {peak_pss / mib:.0f} MiB (sampled every {_PSS_EVERY:.0f} s)")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
