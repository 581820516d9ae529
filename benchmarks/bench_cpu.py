"""CPU time of simulate and simulate + Parquet (performance rows, zstd), best of N: the figure
to compare two versions of adsgen on a busy machine, where wall time mostly measures the
other processes.

    .venv/bin/python benchmarks/bench_cpu.py                       # this checkout
    PYTHONPATH=/path/to/other/src .venv/bin/python benchmarks/bench_cpu.py   # another one

Plan: bench_simulate.py's (line items × 90 days × 3 devices × 2 creatives, 300 line items by
default = 3.9 M rows). CPU time is user + system of this process (Parquet's compression
threads included), from `time.process_time`, the best of `--repeat` runs after a warm-up.
Run versions alternately (A, B, A, B) so both see the same load. Where the checkout has the
`pod_delivery` table, a third line writes it to Parquet too (its cost: that line against
another version's "simulate + Parquet").
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_simulate import SEED, _platform, build_plan


def main() -> None:
    import pyarrow.parquet as pq

    import adsgen
    from adsgen.simulate import simulate_batches
    from adsgen.simulate.columns import FACT_TABLES, PERFORMANCE_SCHEMA

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    plan, platform = build_plan(args.items, args.days), _platform()

    def run(parquet: bool, pods: bool = False) -> int:
        rows = 0
        with tempfile.TemporaryDirectory() as tmp:
            writer = (pq.ParquetWriter(Path(tmp) / "p.parquet", PERFORMANCE_SCHEMA,
                                       compression="zstd") if parquet else None)
            pod_writer = (pq.ParquetWriter(Path(tmp) / "pods.parquet",
                                           FACT_TABLES["pod_delivery"].schema,
                                           compression="zstd") if pods else None)
            for batch in simulate_batches(plan.items, platform=platform, seed=SEED):
                rows += batch.performance.num_rows
                if writer is not None:
                    writer.write_table(batch.performance)
                if pod_writer is not None:
                    pod_writer.write_table(batch["pod_delivery"])
            for open_writer in (writer, pod_writer):
                if open_writer is not None:
                    open_writer.close()
        return rows

    run(False)  # warm-up: imports, caches
    print(f"adsgen from {Path(adsgen.__file__).parent}")
    runs = [("simulate", False, False), ("simulate + Parquet", True, False)]
    if "pod_delivery" in FACT_TABLES:  # issue 12: the pod table written too
        runs.append(("+ pod_delivery", True, True))
    for name, parquet, pods in runs:
        best, rows = float("inf"), 0
        for _ in range(args.repeat):
            started = time.process_time()
            rows = run(parquet, pods)
            best = min(best, time.process_time() - started)
        print(f"{name:20s} {rows:12,d} rows  {best:7.2f} CPU s  {rows / best / 1e6:6.3f} M rows"
              " per CPU s")


if __name__ == "__main__":
    main()
