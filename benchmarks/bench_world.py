"""World benchmark: the whole-plan allocation of `adsgen generate`'s plan, timed and sized.

Plans `--line-items` line items on a `--days`-long flight (as `adsgen generate` does), then
settles the shared world once (`world.allocate`) and prints: planning seconds, allocation
seconds (best of --repeat), the allocation's entries, how many competition squeezed, its
memory, and the peak RSS of this process. The run's own share of time spent allocating is in
every manifest (`allocation_seconds` / `elapsed_seconds`).

    .venv/bin/python benchmarks/bench_world.py                          # 20,000 × 365 days
    .venv/bin/python benchmarks/bench_world.py --line-items 2000 --days 30

Target (issue 10): the allocation of 20,000 line items × 365 days takes under 10 % of the run.
"""

from __future__ import annotations

import argparse
import resource
import time

from adsgen.build.at_scale import build_scaled
from adsgen.templates import catalog
from adsgen.templates.catalog import get_platform
from adsgen.world.allocation import NONE, allocate

SEED = 42


def main() -> None:
    """Plan, allocate, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--line-items", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    platform = get_platform("netflix_like")
    began = time.perf_counter()
    plan = build_scaled(seed=SEED, platform=platform, line_items=args.line_items,
                        days=args.days, profiles=catalog.profiles(()))
    planned = time.perf_counter() - began
    best = float("inf")
    for _ in range(args.repeat):
        began = time.perf_counter()
        world = allocate(plan.items, platform, SEED)
        best = min(best, time.perf_counter() - began)
    nbytes = sum(getattr(world, name).nbytes for name in world.__slots__)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"plan {args.line_items:,} line items × {args.days} days: {planned:.1f} s")
    print(f"allocation: {best:.2f} s (best of {args.repeat})")
    squeezed = int(world.squeezed.sum())
    over = int((world.cut[..., 0] != NONE).sum() + (world.cut[..., 1] != NONE).sum())
    print(f"line items squeezed somewhere: {squeezed:,} of {world.ids.size:,} "
          f"({squeezed / max(world.ids.size, 1):.1%}); mean share granted "
          f"{world.granted.mean():.3f}; segment-day rounds cut: {over:,} of {world.cut.size:,}")
    print(f"allocation memory {nbytes / 2**20:.1f} MiB; peak RSS of this process {peak:.0f} MiB")


if __name__ == "__main__":
    main()
