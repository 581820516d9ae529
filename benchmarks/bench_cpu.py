"""CPU time of simulate and simulate + Parquet (performance rows, zstd), best of N: the figure
to compare two versions of adsgen on a busy machine, where wall time mostly measures the
other processes.

    .venv/bin/python benchmarks/bench_cpu.py                       # this checkout
    PYTHONPATH=/path/to/other/src .venv/bin/python benchmarks/bench_cpu.py   # another one

Plan: bench_simulate.py's (line items × 90 days × 3 devices × 2 creatives, 300 line items by
default = 3.9 M rows). CPU time is user + system of this process (Parquet's compression
threads included), from `time.process_time`, the best of `--repeat` runs after a warm-up.
Run versions alternately (A, B, A, B) so both see the same load.
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
    from adsgen.simulate.columns import PERFORMANCE_SCHEMA

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    plan, platform = build_plan(args.items, args.days), _platform()

    def run(parquet: bool) -> int:
        rows = 0
        with tempfile.TemporaryDirectory() as tmp:
            writer = (pq.ParquetWriter(Path(tmp) / "p.parquet", PERFORMANCE_SCHEMA,
                                       compression="zstd") if parquet else None)
            for batch in simulate_batches(plan.items, platform=platform, seed=SEED):
                rows += batch.performance.num_rows
                if writer is not None:
                    writer.write_table(batch.performance)
            if writer is not None:
                writer.close()
        return rows

    run(False)  # warm-up: imports, caches
    print(f"adsgen from {Path(adsgen.__file__).parent}")
    for name, parquet in (("simulate", False), ("simulate + Parquet", True)):
        best, rows = float("inf"), 0
        for _ in range(args.repeat):
            started = time.process_time()
            rows = run(parquet)
            best = min(best, time.process_time() - started)
        print(f"{name:20s} {rows:12,d} rows  {best:7.2f} CPU s  {rows / best / 1e6:6.3f} M rows"
              " per CPU s")


if __name__ == "__main__":
    main()
