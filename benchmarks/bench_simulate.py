"""Simulation benchmark: rows/s of simulate, + Parquet, + SQLite, vs a naive per-row generator.

Plan: 1,000 line items × 90 days × 3 devices × 2 creatives (15 s + 30 s) = 12.96 M rows,
built through the schemas and `plan.number_plan` (so the SQLite run inserts real parent rows
and the performance table's foreign keys are checked). Each phase runs in a fresh
subprocess, so its peak RSS (ru_maxrss) is its own; plan building is not timed.

    .venv/bin/python benchmarks/bench_simulate.py                 # full run (~1-2 min)
    .venv/bin/python benchmarks/bench_simulate.py --items 100     # quick look
    .venv/bin/python benchmarks/bench_simulate.py --experiment holdout   # every line item
                                                  # runs a lift experiment (issue 11)

Phases:
- simulate: `simulate_batches` over the plan, every batch built as an Arrow table;
- + Parquet: the same, each batch written as adsgen writes Parquet (`storage.sinks.parquet.
  parquet_writer`: zstd, delta-encoded integers; until 2026-11-30 a default zstd writer);
- + SQLite: the same, each batch written by `adsgen.storage.database.bulk_insert` in one transaction
  (entity tables inserted first, untimed); then again with the next batches simulated in a
  thread while the current one is inserted (still one process);
- Parquet at a third of the days, to show peak memory does not grow with days;
- baseline: a naive per-row generator of the same 19 columns (Faker, and plain `random`).

Targets (issue 3): ≥ 2 M rows/s simulate, ≥ 1.5 M rows/s + Parquet, ≥ 300 k rows/s +
SQLite, ≥ 30× the per-row baseline.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

SEED = 2024
START = datetime(2026, 1, 5)
LINE_ITEMS_PER_CAMPAIGN = 10
CAMPAIGNS_PER_ADVERTISER = 5


EXPERIMENT = os.environ.get("ADSGEN_BENCH_EXPERIMENT")
"""`--experiment TYPE`: every line item runs that lift experiment (control share 0.1); an
environment variable, so the phases' fresh processes see it."""


def build_plan(items: int, days: int) -> Any:
    """A NumberedPlan of `items` line items, `days`-day flights, 2 creatives each (with
    EXPERIMENT's experiment, when set)."""
    from adsgen.build.numbering import number_plan
    from adsgen.domain.enums import FrequencyPeriod, Industry, Objective, PacingPeriod, PacingType
    from adsgen.domain.schemas import AdvertiserCreate

    rng = random.Random(SEED)
    end = START + timedelta(days=days)
    advertisers, made = [], 0
    while made < items:
        campaigns = []
        for _ in range(CAMPAIGNS_PER_ADVERTISER):
            line_items = []
            for _ in range(min(LINE_ITEMS_PER_CAMPAIGN, items - made)):
                made += 1
                pacing = rng.choice([
                    (PacingType.even, PacingPeriod.flight), (PacingType.ahead, PacingPeriod.flight),
                    (PacingType.even, PacingPeriod.daily), (PacingType.asap, PacingPeriod.daily),
                ])
                cap = rng.choice([None, {"max_impressions": 3, "time_unit": FrequencyPeriod.days,
                                         "time_unit_count": 1}])
                line_items.append({
                    "name": f"li {made}",
                    "cpm": Decimal(rng.randint(20, 65)),
                    "budget": {"amount": Decimal(rng.randint(20, 400) * 1000),
                               "pacing_type": pacing[0], "pacing_period": pacing[1]},
                    "flight": {"start": START, "end": end},
                    "frequency_cap": cap,
                    **({"experiment": {"type": EXPERIMENT, "control_share": 0.1}}
                       if EXPERIMENT else {}),
                    "creatives": [
                        {"name": f"spot {d}", "duration_s": d,
                         "asset_url": f"https://cdn.example/{made}-{d}.mp4"}
                        for d in (15, 30)
                    ],
                })
            if not line_items:
                break
            campaigns.append({
                "name": f"campaign {len(campaigns)}", "objective": Objective.awareness,
                "budget": {"amount": sum(li["budget"]["amount"] for li in line_items)},
                "flight": {"start": START, "end": end}, "line_items": line_items,
            })
        advertisers.append(AdvertiserCreate.model_validate({
            "name": f"advertiser {len(advertisers)}", "industry": Industry.retail,
            "domain": f"a{len(advertisers)}.example", "campaigns": campaigns,
        }))
    return number_plan(advertisers)


def _platform() -> Any:
    import yaml

    import adsgen
    from adsgen.templates.spec import Platform

    path = Path(adsgen.__file__).parent / "templates" / "data" / "platforms" / "netflix_like.yml"
    return Platform.model_validate(yaml.safe_load(path.read_text()))


def phase_simulate(items: int, days: int) -> tuple[int, float]:
    from adsgen.simulate import simulate_batches

    plan, platform = build_plan(items, days), _platform()
    rows, started = 0, _start()
    for batch in simulate_batches(plan.items, platform=platform, seed=SEED):
        rows += batch.performance.num_rows
    return rows, time.perf_counter() - started


def phase_parquet(items: int, days: int) -> tuple[int, float]:
    from adsgen.simulate import simulate_batches
    from adsgen.simulate.columns import PERFORMANCE_SCHEMA
    from adsgen.storage.sinks.parquet import parquet_writer

    plan, platform = build_plan(items, days), _platform()
    with tempfile.TemporaryDirectory() as tmp:
        rows, started = 0, _start()
        with parquet_writer(Path(tmp) / "performance.parquet", PERFORMANCE_SCHEMA) as writer:
            for batch in simulate_batches(plan.items, platform=platform, seed=SEED):
                writer.write_table(batch.performance)
                rows += batch.performance.num_rows
        return rows, time.perf_counter() - started


def prefetched(batches: Iterator[Any], depth: int = 2) -> Iterator[Any]:
    """Run a batch iterator in a thread, `depth` batches ahead of the consumer.

    NumPy and sqlite3 release the GIL in their heavy parts, so the next batch is simulated
    while this one is inserted.
    """
    import queue
    import threading

    done = object()
    buffer: queue.Queue[Any] = queue.Queue(maxsize=depth)

    def produce() -> None:
        try:
            for batch in batches:
                buffer.put(batch)
        finally:
            buffer.put(done)

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    while (batch := buffer.get()) is not done:
        yield batch
    thread.join()


def phase_sqlite(items: int, days: int, pipelined: bool = False) -> tuple[int, float]:
    from adsgen.build.numbering import ENTITY_TABLES
    from adsgen.simulate import simulate_batches
    from adsgen.storage.database import bulk_insert, init_db, make_engine

    plan, platform = build_plan(items, days), _platform()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'ads.db'}")
        init_db(engine)
        with engine.begin() as conn:
            tables = plan.arrow_tables()
            for name in ENTITY_TABLES:
                if name in tables:
                    bulk_insert(conn, name, tables[name])
        rows, started = 0, _start()
        with engine.begin() as conn:
            batches = simulate_batches(plan.items, platform=platform, seed=SEED)
            for batch in prefetched(batches) if pipelined else batches:
                rows += bulk_insert(conn, "performance", batch.performance)
        elapsed = time.perf_counter() - started
        engine.dispose()
        return rows, elapsed


def _naive_rows(rows: int, draw: Callable[[int, int], int]) -> list[dict[str, Any]]:
    """The usual per-row generator: one dict per row, every metric an independent draw."""
    out = []
    hour0 = START
    devices = ("ctv", "mobile", "desktop")
    for k in range(rows):
        impressions = draw(0, 2000)
        starts = draw(0, impressions)
        q1 = draw(0, starts)
        mid = draw(0, q1)
        q3 = draw(0, mid)
        measurable = draw(0, impressions)
        out.append({
            "line_item_id": 1 + k // 12960, "creative_id": 1 + k % 2,
            "hour": hour0 + timedelta(hours=(k // 6) % 2160), "device": devices[k % 3],
            "impressions": impressions, "starts": starts, "first_quartile": q1,
            "midpoint": mid, "third_quartile": q3, "completes": draw(0, q3),
            "measurable": measurable, "viewable": draw(0, measurable),
            "invalid": draw(0, impressions // 50), "clicks": draw(0, impressions // 200),
            "qr_scans": 0, "click_conversions": draw(0, 2), "view_conversions": draw(0, 3),
            "cumulative_reach": draw(0, 10**6), "spend_micros": impressions * 40_000,
        })
    return out


def phase_baseline(kind: str, rows: int) -> tuple[int, float]:
    if kind == "faker":
        from faker import Faker

        fake = Faker()
        fake.seed_instance(SEED)

        def draw(low: int, high: int) -> int:
            return int(fake.random_int(low, high))
    else:
        rng = random.Random(SEED)
        draw = rng.randint
    started = _start()
    _naive_rows(rows, draw)
    return rows, time.perf_counter() - started


_CPU_START = [0.0]


def _start() -> float:
    """Start a phase's clocks: the wall clock returned, the process's CPU clock kept (CPU
    seconds are steadier than wall time on a machine other work shares)."""
    _CPU_START[0] = time.process_time()
    return time.perf_counter()


def _child(target: Callable[..., tuple[int, float]], args: tuple[Any, ...], queue: Any) -> None:
    rows, seconds = target(*args)
    cpu = time.process_time() - _CPU_START[0]
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((rows, seconds, peak_mib, cpu))


def run(target: Callable[..., tuple[int, float]], *args: Any) -> tuple[int, float, float, float]:
    """Run one phase in a fresh process: (rows, seconds, peak RSS MiB, CPU seconds)."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    process = ctx.Process(target=_child, args=(target, args, queue))
    process.start()
    result: tuple[int, float, float, float] = queue.get()
    process.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--baseline-rows", type=int, default=100_000)
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--experiment", choices=("holdout", "psa"),
                        help="every line item runs this lift experiment")
    args = parser.parse_args()
    if args.experiment:
        os.environ["ADSGEN_BENCH_EXPERIMENT"] = args.experiment
    items, days = args.items, args.days
    print(f"plan: {items} line items × {days} days × 3 devices × 2 creatives"
          f"{f', each with a {args.experiment} experiment' if args.experiment else ''}; python "
          f"{sys.version.split()[0]}; {mp.cpu_count()} cores; one process per phase")
    results: dict[str, tuple[int, float, float, float]] = {}
    results["simulate"] = run(phase_simulate, items, days)
    results["simulate + Parquet (zstd)"] = run(phase_parquet, items, days)
    results[f"simulate + Parquet, {max(1, days // 3)} days"] = run(
        phase_parquet, items, max(1, days // 3)
    )
    if not args.skip_sqlite:
        results["simulate + SQLite (bulk_insert)"] = run(phase_sqlite, items, days)
        results["simulate ‖ SQLite (simulate in a thread)"] = run(phase_sqlite, items, days, True)
    results["baseline: per-row Faker"] = run(phase_baseline, "faker", args.baseline_rows)
    results["baseline: per-row random"] = run(phase_baseline, "random", args.baseline_rows)
    print(f"{'phase':42s} {'rows':>12s} {'seconds':>9s} {'rows/s':>12s} {'peak RSS':>10s}"
          f" {'CPU µs/row':>11s}")
    for name, (rows, seconds, peak, cpu) in results.items():
        print(f"{name:42s} {rows:12,d} {seconds:9.2f} {rows / seconds:12,.0f} {peak:8.0f} MiB"
              f" {cpu / rows * 1e6:11.3f}")
    sim_rate = results["simulate"][0] / results["simulate"][1]
    for kind in ("Faker", "random"):
        rows, seconds, _, _ = results[f"baseline: per-row {kind}"]
        print(f"simulate / per-row {kind}: {sim_rate / (rows / seconds):.0f}×")


if __name__ == "__main__":
    main()
