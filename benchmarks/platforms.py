"""Platform benchmark (issue 12): each bundled platform's generated aggregates against its
cited ranges, and simulate + Parquet throughput of a three-platform plan.

For each bundled platform, plans `--line-items` line items on a `--days` flight on that
platform alone (as `adsgen generate --platform NAME` does), simulates them and prints, with
PASS or MISS against the range and its source:

- ad load: seconds of ads per viewing hour of the platform's world (its inventory's slots ×
  15 s ÷ its households' viewing hours: the file's `ad_seconds_per_hour` as the simulation
  realises it) — realism.md F gives Netflix's 4-5 min/h and Tubi's 4-6 min/h; the others
  state none (printed, not judged);
- completion: completes ÷ impressions of video creatives per device, against realism.md B
  (CTV 0.93-0.97, mobile 0.72-0.81, desktop 0.70-0.83), and against the platform's own
  claim ± 0.03 where its file states one (roku_like: ~95 %);
- CPM: spend ÷ valid impressions × 1000, against the platform's `cpm_range` (realism.md F);
- device mix: impression share per device, against the platform's `device_mix` ± 0.05.

Then `--plan-line-items` line items on a `--plan-days` flight, on netflix_like alone and
split over netflix_like, hulu_like and roku_like (planned as `adsgen generate --platform
netflix_like,hulu_like,roku_like` plans them: each line item drawn on its own platform),
are run on one process twice, and each run's performance rows
per second printed, by wall time and by CPU time (this process's, which a busy machine
disturbs less):

- simulate + Parquet, what issue 12's target names (at least 1 M rows/s per process;
  printed, not asserted): `simulate_batches` (the shared world settled, every table of
  every batch built) with the performance table written to one Parquet file as adsgen
  writes them (`parquet_writer`), as
  `bench_simulate.py`'s "+ Parquet" phase measures it;
- the whole export, as `adsgen generate` runs it (`runs.blocks.export`, engine local):
  every table written in its date files and parts, every block's checks.

    .venv/bin/python benchmarks/platforms.py
    .venv/bin/python benchmarks/platforms.py --line-items 100 --days 7 --plan-line-items 300
    .venv/bin/python benchmarks/platforms.py --throughput-only
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from adsgen.build.at_scale import ScaledPlan, build_scaled
from adsgen.build.items import SimLineItem
from adsgen.build.platform_set import PlatformSet
from adsgen.runs.blocks import export
from adsgen.simulate import simulate
from adsgen.templates import catalog
from adsgen.templates.spec import Platform
from adsgen.world.inventory import SLOT_SECONDS, hourly_slots

SEED = 42
THREE = ("netflix_like", "hulu_like", "roku_like")
AD_LOAD = {  # seconds per viewing hour, realism.md F
    "netflix_like": (240.0, 300.0, "realism.md F: 4-5 min/h at launch"),
    "fast_like": (240.0, 360.0, "realism.md F: Tubi 4-6 min/h"),
}
COMPLETION = {  # realism.md B: Extreme Reach benchmarks
    "ctv": (0.93, 0.97), "mobile": (0.72, 0.81), "desktop": (0.70, 0.83),
}
VIDEO = ("video", "interactive_video")


def _line(ok: bool | None, name: str, value: float, low: float, high: float,
          source: str) -> int:
    """Print one measured figure; 1 when it missed its range."""
    mark = "    " if ok is None else ("PASS" if ok else "MISS")
    print(f"  {mark}  {name:<28} {value:9.3f}   target {low:g}-{high:g}  ({source})")
    return int(ok is not None and not ok)


def ad_load(platform: Platform, days: np.ndarray) -> float:
    """Ad seconds per viewing hour of the platform's world over `days`: its inventory's
    slots × 15 s over its viewing hours (the same inventory built with one 15 s slot per
    15 s of viewing, so day-parts, weekdays, holidays and supply shocks cancel)."""
    slots = hourly_slots(platform, SEED, days).slots.sum()
    every = platform.model_copy(update={"ad_seconds_per_hour": 3600.0})
    viewing_hours = hourly_slots(every, SEED, days).slots.sum() * SLOT_SECONDS / 3600.0
    return float(slots * SLOT_SECONDS / viewing_hours)


def judge(platform: Platform, line_items: int, days: int) -> int:
    """Plan and simulate on `platform` alone; print its figures; the number missed."""
    profiles = catalog.for_platform(catalog.profiles(()), platform.name,
                                    known=catalog.names("platforms"))
    plan = build_scaled(seed=SEED, platform=platform, line_items=line_items, days=days,
                        profiles=profiles)
    perf = simulate(plan.items, platform=platform, seed=SEED).performance
    creatives = plan.tables["creatives"]
    print(f"\n{platform.name}: {line_items} line items × {days} days, "
          f"{perf.num_rows:,} performance rows")
    misses = 0
    flight = np.unique(perf["hour"].cast(pa.int64()).to_numpy() // 86_400_000_000)
    load = ad_load(platform, flight)
    low, high, source = AD_LOAD.get(
        platform.name, (platform.ad_seconds_per_hour,) * 2 + ("no source: modelling choice",))
    known = platform.name in AD_LOAD
    misses += _line(low <= load <= high if known else None, "ad load (s per viewing hour)",
                    load, low, high, source)
    device = perf["device"].to_numpy(zero_copy_only=False)
    imps = perf["impressions"].to_numpy()
    video_ids = creatives["id"].to_numpy()[np.isin(
        creatives["ad_format"].to_numpy(zero_copy_only=False), VIDEO)]
    video = np.isin(perf["creative_id"].to_numpy(), video_ids)
    completes = perf["completes"].to_numpy()
    for name, (lo, hi) in COMPLETION.items():
        on = (device == name) & video
        if imps[on].sum() == 0:
            continue
        rate = completes[on].sum() / imps[on].sum()
        misses += _line(lo <= rate <= hi, f"completion {name}", rate, lo, hi,
                        "realism.md B: Extreme Reach")
    claim = platform.measurement.completion if platform.measurement else None
    if claim is not None:
        rate = completes[video].sum() / max(imps[video].sum(), 1)
        misses += _line(abs(rate - claim) <= 0.03, "completion vs claim", rate, claim - 0.03,
                        claim + 0.03, "the platform's claim, realism.md F")
    valid = imps - perf["invalid"].to_numpy()
    cpm = perf["spend_micros"].to_numpy().sum() / max(valid.sum(), 1) / 1000
    low, high = platform.cpm_range
    misses += _line(low <= cpm <= high, "CPM (USD)", cpm, low, high,
                    "cpm_range, realism.md F")
    for name, share in sorted(platform.device_mix.items()):
        got = imps[device == name].sum() / max(imps.sum(), 1)
        misses += _line(abs(got - share) <= 0.05, f"device share {name}", got,
                        max(share - 0.05, 0), min(share + 0.05, 1), "device_mix ± 0.05")
    return misses


def plan_items(names: tuple[str, ...], line_items: int, days: int) -> ScaledPlan:
    """`line_items` line items over the platforms `names`, planned as `adsgen generate
    --platform a,b,c` plans them (`runs.files.scale_plan`: each line item on one platform,
    drawn on its rules; one numbering)."""
    from datetime import datetime

    from adsgen.runs.files import scale_plan

    plan, _, _ = scale_plan(seed=SEED, advertisers=None, line_items=line_items, days=days,
                            start=datetime(2026, 9, 1), platform=",".join(names),
                            templates_dir=None)
    return plan


def _simulate_parquet(items: list[SimLineItem], platforms: PlatformSet,
                      folder: Path) -> int:
    """Simulate `items` and write their performance rows to one Parquet file as adsgen
    writes them (`parquet_writer`), as bench_simulate.py's "+ Parquet" phase does; the rows
    written."""
    from adsgen.simulate import simulate_batches
    from adsgen.simulate.columns import PERFORMANCE_SCHEMA
    from adsgen.storage.sinks.parquet import parquet_writer

    rows = 0
    with parquet_writer(folder / "performance.parquet", PERFORMANCE_SCHEMA) as writer:
        for batch in simulate_batches(items, platform=platforms, seed=SEED):
            writer.write_table(batch.performance)
            rows += batch.performance.num_rows
    return rows


def _rate(label: str, rows: int, wall: float, cpu: float, note: str) -> None:
    print(f"  {label:<34} {rows / wall / 1e6:5.2f} M rows/s by wall time ({wall:.1f} s), "
          f"{rows / cpu / 1e6:5.2f} M by CPU time ({cpu:.1f} s){note}")


def throughput(line_items: int, days: int) -> None:
    """Run a plan on one platform and one on three on one process: simulate + Parquet of
    the performance table, then the whole export; print the performance rows per second
    of each, by wall and by CPU time."""
    for names in (("netflix_like",), THREE):
        plan = plan_items(names, line_items, days)
        items = plan.items
        platforms = PlatformSet(tuple(catalog.get_platform(name) for name in names))
        with tempfile.TemporaryDirectory(prefix="adsgen-platforms-") as tmp:
            wall, cpu = time.perf_counter(), time.process_time()
            rows = _simulate_parquet(items, platforms, Path(tmp))
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(f"{' + '.join(names)}: {len(items):,} line items × {days} days, {rows:,}"
              " performance rows, on one process:")
        _rate("simulate + Parquet (performance)", rows, wall, cpu, "; target ≥ 1 M rows/s")
        with tempfile.TemporaryDirectory(prefix="adsgen-platforms-") as tmp:
            wall, cpu = time.perf_counter(), time.process_time()
            manifest = export(items, entities=plan.arrow_tables(), platform=platforms, seed=SEED,
                              out=Path(tmp) / "out", engine="local", workers=1)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        every = sum(stats.rows for stats in manifest.tables.values())
        _rate("whole export (performance rows)", manifest.tables["performance"].rows, wall,
              cpu, f"; {every:,} rows in {len(manifest.tables)} tables, checks "
                   f"{'passed' if manifest.ok else 'FAILED'}")


def main() -> None:
    """Judge every bundled platform, then time the three-platform export."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--line-items", type=int, default=300)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--plan-line-items", type=int, default=1200,
                        help="line items of the throughput plans")
    parser.add_argument("--plan-days", type=int, default=30)
    parser.add_argument("--throughput-only", action="store_true",
                        help="skip judging each platform's aggregates")
    args = parser.parse_args()
    if not args.throughput_only:
        misses = sum(judge(catalog.get_platform(name), args.line_items, args.days)
                     for name in catalog.names("platforms"))
        print(f"\n{misses} figure(s) missed their range")
        print()
    throughput(args.plan_line_items, args.plan_days)


if __name__ == "__main__":
    main()
