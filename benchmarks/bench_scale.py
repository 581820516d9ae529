"""Scale benchmark: performance rows to Parquet with the local and processes engines.

Prints, for 10^6 and 10^7 rows (and 10^8 with --big): rows/s, peak RSS of the whole
process tree (this process and every worker, sampled with psutil), the processes/local
speed-up, and COPY rows/s of the 10^6-row directory into PostgreSQL when it answers.

    .venv/bin/python benchmarks/bench_scale.py            # 10^6 and 10^7
    .venv/bin/python benchmarks/bench_scale.py --big      # and 10^8
    .venv/bin/python benchmarks/bench_scale.py --repeat 3 # best of 3 (busy machine)

Targets (issue 5): >= 1.5 M rows/s per process, peak RSS < 1 GiB at 10^8 rows,
processes/local >= 1.7x on 2 cores.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import psutil
import pyarrow as pa

from adsgen.build.items import SimCreative, SimLineItem
from adsgen.domain.enums import AdFormat, AdPosition, Objective, PacingPeriod, PacingType
from adsgen.runs.blocks import export, load_dir
from adsgen.runs.engines import available_cores
from adsgen.simulate import simulate
from adsgen.templates.catalog import get_platform
from adsgen.templates.spec import Platform

SEED = 2024
FLIGHT_DAYS = 30
START = datetime(2026, 1, 1)


class PeakRss:
    """Samples the RSS of this process plus all its descendants every `interval` s."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        root = psutil.Process()
        total = root.memory_info().rss
        for child in root.children(recursive=True):
            with contextlib.suppress(psutil.Error):  # a worker may just have exited
                total += child.memory_info().rss
        return int(total)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRss:
        self.peak = self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._sample())


def line_items(n: int) -> list[SimLineItem]:
    """n always-on line items: 30-day flights, 2 servable creatives, every device."""
    items = []
    for i in range(1, n + 1):
        start = START + timedelta(days=i % 7)
        creatives = tuple(
            SimCreative(creative_id=2 * i - k, ad_format=AdFormat.video, duration_s=30,
                        has_qr=k == 0, interactive=False, servable=True)
            for k in (1, 0)
        )
        items.append(SimLineItem(
            line_item_id=i, campaign_id=(i + 9) // 10, advertiser_id=(i + 99) // 100,
            start=start, end=start + timedelta(days=FLIGHT_DAYS), active=True,
            objective=Objective.awareness, ad_format=AdFormat.video,
            position=AdPosition.mid_roll, cpm_micros=(20 + i % 40) * 1_000_000,
            budget_micros=(50_000 + 1_000 * (i % 50)) * 1_000_000, daily_cap_micros=None,
            pacing_type=PacingType.even, pacing_period=PacingPeriod.flight,
            frequency_cap=None, creatives=creatives,
        ))
    return items


def entity_tables(items: list[SimLineItem]) -> dict[str, pa.Table]:
    """The parent rows the benchmark's line items need (so a database load keeps its FKs)."""
    advertisers = sorted({item.advertiser_id for item in items})
    campaigns = sorted({(item.campaign_id, item.advertiser_id) for item in items})
    creatives = [(c.creative_id, item.line_item_id, c.has_qr) for item in items
                 for c in item.creatives]
    return {
        "advertisers": pa.table({
            "id": advertisers, "status": ["active"] * len(advertisers),
            "name": [f"Advertiser {i}" for i in advertisers],
            "industry": ["automotive"] * len(advertisers),
            "domain": [f"adv{i}.example" for i in advertisers],
            "currency": ["USD"] * len(advertisers)}),
        "campaigns": pa.table({
            "id": [c for c, _ in campaigns], "status": ["active"] * len(campaigns),
            "advertiser_id": [a for _, a in campaigns],
            "name": [f"Campaign {c}" for c, _ in campaigns],
            "objective": ["awareness"] * len(campaigns),
            "dsp_partner": ["direct"] * len(campaigns)}),
        "line_items": pa.table({
            "id": [i.line_item_id for i in items], "status": ["active"] * len(items),
            "campaign_id": [i.campaign_id for i in items],
            "name": [f"Line item {i.line_item_id}" for i in items],
            "ad_format": ["video"] * len(items), "position": ["mid_roll"] * len(items),
            "cpm_micros": [i.cpm_micros for i in items]}),
        "creatives": pa.table({
            "id": [c for c, _, _ in creatives], "status": ["active"] * len(creatives),
            "line_item_id": [li for _, li, _ in creatives],
            "name": [f"Spot {c}" for c, _, _ in creatives],
            "ad_format": ["video"] * len(creatives), "mime_type": ["video/mp4"] * len(creatives),
            "duration_s": [30] * len(creatives),
            "asset_url": [f"https://cdn.example/{c}.mp4" for c, _, _ in creatives],
            "width": [1920] * len(creatives), "height": [1080] * len(creatives),
            "has_qr": [qr for _, _, qr in creatives], "interactive": [False] * len(creatives),
            "qa_status": ["approved_servable"] * len(creatives)}),
    }


def rows_per_item(platform: Platform) -> float:
    """Performance rows one benchmark line item produces (measured on a sample)."""
    sample = line_items(8)
    rows: int = simulate(sample, platform=platform, seed=SEED).performance.num_rows
    return rows / len(sample)


def run_once(
    items: list[SimLineItem], platform: Platform, engine: str, workers: int | None,
    out: Path, block_size: int | None, fmt: str = "parquet",
) -> tuple[int, float, int]:
    """(rows, seconds, peak RSS bytes) of one export (Parquet unless `fmt` says)."""
    shutil.rmtree(out, ignore_errors=True)
    entities = entity_tables(items)
    with PeakRss() as rss:
        started = time.perf_counter()
        manifest = export(items, entities=entities, platform=platform, seed=SEED, out=out,
                          engine=engine, workers=workers, block_size=block_size, fmt=fmt)
        seconds = time.perf_counter() - started
    if not manifest.ok:
        failed = [n for n, c in manifest.checks.items() if not c.passed]
        print(f"  !! invariant checks failed: {', '.join(failed)}")
    return manifest.tables["performance"].rows, seconds, rss.peak


def copy_into_postgres(directory: Path, url: str) -> None:
    """Load `directory` into a scratch schema of PostgreSQL and print COPY rows/s."""
    from sqlalchemy import make_url

    from adsgen.exceptions import DatabaseError
    from adsgen.storage.database import check_connection, make_engine

    schema = f"adsgen_bench_{os.getpid()}"
    admin = make_engine(url)
    try:
        check_connection(admin)
    except DatabaseError as exc:
        print(f"PostgreSQL: skipped ({exc})")
        return
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine = make_engine(make_url(url).update_query_dict({"options": f"-csearch_path={schema}"}))
    try:
        from adsgen.storage.database import init_db

        init_db(engine)
        started = time.perf_counter()
        counts = load_dir(engine, directory)
        seconds = time.perf_counter() - started
        rows = sum(counts.values())
        print(f"PostgreSQL COPY: {rows:,} rows in {seconds:.1f} s = {rows / seconds:,.0f} rows/s")
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--big", action="store_true", help="also run 10^8 rows")
    parser.add_argument("--rows", type=float, nargs="*", help="row counts (default 1e6 1e7)")
    parser.add_argument("--engines", nargs="*", default=["local", "processes"])
    parser.add_argument("--workers", type=int, default=None, help="default: every core")
    parser.add_argument("--block-size", type=int, default=None, help="line items per block")
    parser.add_argument("--out", type=Path, default=None, help="scratch directory")
    parser.add_argument("--postgres", default=os.environ.get(
        "ADSGEN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--format", default="parquet", help="parquet (default), csv, jsonl")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per case; the fastest counts (for a busy machine)")
    args = parser.parse_args()

    targets = [int(r) for r in (args.rows or [1e6, 1e7])] + ([10**8] if args.big else [])
    platform = get_platform("netflix_like")
    per_item = rows_per_item(platform)
    scratch = args.out or Path(tempfile.mkdtemp(prefix="adsgen-bench-"))
    print(f"{available_cores()} cores, {per_item:,.0f} rows per line item, scratch {scratch}")
    print(f"{'rows':>12} {'engine':>10} {'workers':>7} {'seconds':>8} {'rows/s':>12} "
          f"{'rows/s/proc':>12} {'peak RSS':>10}")
    try:
        for target in targets:
            items = line_items(max(1, round(target / per_item)))
            speed: dict[str, float] = {}
            for engine in args.engines:
                workers = 1 if engine == "local" else (args.workers or available_cores())
                out = scratch / f"{target}-{engine}"
                runs = [run_once(items, platform, engine, workers, out, args.block_size,
                                 args.format) for _ in range(args.repeat)]
                rows, seconds = runs[0][0], min(r[1] for r in runs)
                peak = max(r[2] for r in runs)
                speed[engine] = rows / seconds
                print(f"{rows:>12,} {engine:>10} {workers:>7} {seconds:>8.1f} "
                      f"{speed[engine]:>12,.0f} {speed[engine] / workers:>12,.0f} "
                      f"{peak / 2**20:>8,.0f} MiB")
            if "local" in speed and "processes" in speed:
                print(f"{'':>12} processes/local = {speed['processes'] / speed['local']:.2f}x")
        if not args.no_postgres:
            first = scratch / f"{targets[0]}-{args.engines[0]}"
            if first.exists():
                copy_into_postgres(first, args.postgres)
    finally:
        if args.out is None:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
