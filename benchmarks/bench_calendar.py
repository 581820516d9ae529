"""Calendar benchmark: time of `world.calendar.day_factors` for the bundled platform.

Default: 12 geos (every geo `netflix_like` serves) × 3,650 local days (2026-01-01 on), the
whole calendar of a ten-year plan in one call. Prints the best and median of `--repeat` calls
(after one warm-up), the time of the supply shocks alone, and the sparse path (the same
number of days spread over 200 years, so each day draws only its own window).

    .venv/bin/python benchmarks/bench_calendar.py
    .venv/bin/python benchmarks/bench_calendar.py --days 365 --repeat 50

Target (issue 10, item 4): well under 50 ms for 12 geos × 3,650 days.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import date

import numpy as np

from adsgen.templates.catalog import get_platform
from adsgen.world.calendar import day_factors, supply_shocks


def _times(call: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(best, median) wall time in ms over `repeat` calls, after one warm-up call."""
    call()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=3650)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args()

    platform = get_platform("netflix_like")
    geos = list(platform.geo_timezones)
    first = (date(2026, 1, 1) - date(1970, 1, 1)).days
    days = np.arange(first, first + args.days, dtype=np.int64)
    sparse = np.linspace(first - 36500, first + 36500, args.days).astype(np.int64)
    shape = f"{len(geos)} geos × {args.days:,} days"
    for label, call in (
        (f"day_factors, {shape}", lambda: day_factors(platform, args.seed, geos, days)),
        (f"supply_shocks alone, {shape}",
         lambda: supply_shocks(platform.supply_shocks, args.seed, geos, days)),
        (f"day_factors, {shape} spread over 200 years (sparse path)",
         lambda: day_factors(platform, args.seed, geos, sparse)),
    ):
        best, median = _times(call, args.repeat)
        print(f"{label}: best {best:.1f} ms, median {median:.1f} ms")


if __name__ == "__main__":
    main()
