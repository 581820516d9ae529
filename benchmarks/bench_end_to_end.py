"""End-to-end benchmark: the real `adsgen` command in a subprocess, process start included.

What a user waits for is not the simulation alone but the whole command: interpreter start,
imports, planning, simulation, files. This script runs the installed `adsgen` (next to this
Python) and prints each target of issue 8 §4, its bound and the measured value:

- `adsgen --help` wall time (median of --repeat runs)                      < 0.25 s
- `adsgen generate --line-items 20 --days 3` wall time (median)             < 0.8 s
- planning 20,000 line items (`adsgen plan --line-items 20000 --days 30`,
  its `planning_seconds`: options, templates, plan, numbering; median)      < 2 s
- `adsgen generate` of ~10^7 rows, `--engine local`, rows / wall time      >= 1 M rows/s

Each line also notes the command's CPU time (user + system, the process and its children):
on a machine busy with other work the wall time grows, the CPU time much less.

The line-item count of the last run is calibrated from the plan run (its exact row count),
so the run holds about `--rows` performance rows whatever the planner draws.

    .venv/bin/python benchmarks/bench_end_to_end.py              # every target
    .venv/bin/python benchmarks/bench_end_to_end.py --rows 1e6   # a quicker last run
    .venv/bin/python benchmarks/bench_end_to_end.py --repeat 3   # median of 3 big runs too
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ADSGEN = Path(sys.executable).with_name("adsgen")
DAYS = 30
PLAN_LINE_ITEMS = 20_000


@dataclass
class Result:
    """One target: what was measured, the bound, the value and whether it holds."""

    name: str
    bound: str
    value: float
    unit: str
    passed: bool
    detail: str = ""


CPU: list[float] = []
"""CPU seconds (user + system) of every command run, in order."""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(args: list[str], cwd: Path) -> tuple[float, str]:
    """Run `adsgen ARGS` in `cwd`; (wall seconds, stdout), its CPU seconds appended to CPU.
    Exits on a failed command."""
    began, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run([str(ADSGEN), *args], cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - began
    CPU.append(_children_cpu() - cpu)
    if done.returncode != 0:
        sys.exit(f"adsgen {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return wall, done.stdout


def median_wall(args: list[str], cwd: Path, repeat: int, fresh_out: bool = False) -> float:
    """Median wall time of `repeat` runs (each in its own --out when `fresh_out`)."""
    walls = []
    for i in range(repeat):
        extra = ["--out", str(cwd / f"run{i}")] if fresh_out else []
        walls.append(run([*args, *extra], cwd)[0])
        if fresh_out:
            shutil.rmtree(cwd / f"run{i}", ignore_errors=True)
    return statistics.median(walls)


def _cpu(runs: int) -> str:
    """The median CPU time of the last `runs` commands, as a note."""
    return f"median CPU {statistics.median(CPU[-runs:]):.3f} s"


def bench(rows_wanted: float, repeat: int, small_repeat: int, work: Path) -> list[Result]:
    """Measure every target in `work` (a scratch folder)."""
    results = []
    help_wall = median_wall(["--help"], work, small_repeat)
    results.append(Result("adsgen --help", "< 0.25 s", help_wall, "s", help_wall < 0.25,
                          _cpu(small_repeat)))

    small = ["--quiet", "generate", "--line-items", "20", "--days", "3"]
    small_wall = median_wall(small, work, small_repeat, fresh_out=True)
    results.append(Result("adsgen generate --line-items 20 --days 3", "< 0.8 s", small_wall,
                          "s", small_wall < 0.8, _cpu(small_repeat)))

    plans: list[dict[str, Any]] = []
    for _ in range(repeat):
        _, out = run(["--json", "--quiet", "plan", "--line-items", str(PLAN_LINE_ITEMS),
                      "--days", str(DAYS)], work)
        plans.append(json.loads(out))
    planning = statistics.median(p["planning_seconds"] for p in plans)
    results.append(Result(f"planning {PLAN_LINE_ITEMS:,} line items (adsgen plan)", "< 2 s",
                          planning, "s", planning < 2.0,
                          f"{statistics.median(p['seconds'] for p in plans):.1f} s estimated run"))

    per_item = plans[0]["rows"]["performance"] / PLAN_LINE_ITEMS
    n_items = max(1, round(rows_wanted / per_item))
    speeds, walls, rows = [], [], 0
    for i in range(repeat):
        out_dir = work / f"big{i}"
        wall, out = run(["--json", "--quiet", "generate", "--line-items", str(n_items),
                         "--days", str(DAYS), "--engine", "local", "--out", str(out_dir)], work)
        rows = json.loads(out)["manifest"]["tables"]["performance"]["rows"]
        shutil.rmtree(out_dir, ignore_errors=True)
        walls.append(wall)
        speeds.append(rows / wall)
    speed = statistics.median(speeds)
    results.append(Result(
        f"generate {rows:,} rows end to end (--line-items {n_items:,} --days {DAYS}, local)",
        ">= 1 M rows/s", speed / 1e6, "M rows/s", speed >= 1e6,
        f"{statistics.median(walls):.1f} s wall, {_cpu(repeat)}",
    ))
    return results


def main() -> int:
    """Run the benchmark and print one line per target; exit 0 (figures, not a test)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=float, default=1e7,
                        help="performance rows of the end-to-end generate run (default 1e7)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of the plan and the big generate (median; default 1)")
    parser.add_argument("--small-repeat", type=int, default=5,
                        help="runs of --help and the small generate (median; default 5)")
    args = parser.parse_args()
    if not ADSGEN.exists():
        sys.exit(f"no adsgen next to {sys.executable}; run `make deps` first")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    with tempfile.TemporaryDirectory(prefix="adsgen-e2e-") as tmp:
        results = bench(args.rows, args.repeat, args.small_repeat, Path(tmp))
    width = max(len(r.name) for r in results)
    print(f"{'target':<{width}}  {'bound':<13}  measured")
    for r in results:
        value = f"{r.value:.3f} {r.unit}" if r.unit == "s" else f"{r.value:.2f} {r.unit}"
        mark = "ok" if r.passed else "MISSED"
        detail = f"  ({r.detail})" if r.detail else ""
        print(f"{r.name:<{width}}  {r.bound:<13}  {value:<14} {mark}{detail}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
