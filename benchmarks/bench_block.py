"""Block benchmark: one block of a year-long plan, as a worker of `adsgen generate` runs it.

Plans `--line-items` line items × `--days` days as `adsgen generate` does, settles the shared
world, takes the middle block of the default block size and runs `blocks.run_block` on it in
a fresh process (so its memory is a worker's, not the planner's), sampling that process's
RSS every 10 ms. Prints the block's rows, CPU and wall seconds, peak RSS, bytes written and
files; CPU seconds compare better than wall time on a busy machine.

    .venv/bin/python benchmarks/bench_block.py                      # 20,000 × 365: 257 line items
    .venv/bin/python benchmarks/bench_block.py --line-items 2000 --days 30
"""

from __future__ import annotations

import argparse
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

SEED = 42

_CHILD = """
import pickle, resource, shutil, sys, threading, time
import psutil
from adsgen.runs.blocks import run_block
peak = [0]
def sample():
    me = psutil.Process()
    while True:
        peak[0] = max(peak[0], me.memory_info().rss)
        time.sleep(0.01)
task = pickle.loads(open(sys.argv[1], "rb").read())
threading.Thread(target=sample, daemon=True).start()
time.sleep(0.05)
base = psutil.Process().memory_info().rss
cpu, wall = time.process_time(), time.perf_counter()
result = run_block(task)
cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
rows = result.performance_rows
print(f"block: {result.line_items} line items, {rows:,} performance rows, "
      f"{sum(result.files.values()):,} files, {sum(result.bytes.values()) / 1e6:.1f} MB "
      f"({result.bytes.get('performance', 0) / max(rows, 1):.1f} bytes a performance row)")
print(f"CPU {cpu:.1f} s ({rows / cpu / 1e6:.2f} M rows per CPU second), wall {wall:.1f} s")
print(f"peak RSS {peak[0] / 2**20:.0f} MiB (after imports and the task {base / 2**20:.0f} MiB)")
shutil.rmtree(task.out, ignore_errors=True)
"""


def main() -> None:
    """Plan, cut the blocks, run the middle one in a child process, print its figures."""
    from adsgen.build.at_scale import build_scaled
    from adsgen.runs.blocks import BlockTask, _blocks, auto_block_size
    from adsgen.templates import catalog
    from adsgen.templates.catalog import get_platform
    from adsgen.world.allocation import allocate

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--line-items", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    platform = get_platform("netflix_like")
    plan = build_scaled(seed=SEED, platform=platform, line_items=args.line_items,
                        days=args.days, profiles=catalog.profiles(()))
    world = allocate(plan.items, platform, SEED)
    blocks = _blocks(plan.items, auto_block_size(plan.items, platform=platform))
    block = blocks[len(blocks) // 2]
    with tempfile.TemporaryDirectory(prefix="adsgen-bench-block-") as tmp:
        task = BlockTask(index=len(blocks) // 2, items=block, platform=platform, seed=SEED,
                         out=str(Path(tmp) / "out"), fmt="parquet",
                         allocation=world.for_items(block))
        path = Path(tmp) / "task.pickle"
        path.write_bytes(pickle.dumps(task))
        del world, plan
        print(f"plan {args.line_items:,} line items × {args.days} days: {len(blocks)} blocks; "
              f"the middle one:")
        subprocess.run([sys.executable, "-c", _CHILD, str(path)], check=True)


if __name__ == "__main__":
    main()
