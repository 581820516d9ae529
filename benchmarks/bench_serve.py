"""Report queries of `adsgen serve` on a large database, and a bounded local load test.

    .venv/bin/python benchmarks/bench_serve.py [--line-items 2000] [--days 30] [--db URL]
        [--clients 20] [--seconds 10]

Builds the database with `adsgen generate` + `adsgen load` (unless --db names one that has
data, kept as is), then prints, for each report the dashboard asks, the best of three runs
of the SQL aggregation (`adsgen.runs.reports`) and the rows it returned; then starts
`adsgen serve` on 127.0.0.1 and lets `--clients` concurrent clients ask the campaign × day
report for `--seconds` seconds: requests, errors, requests/s, p50 and p95 latency. Every
request goes to 127.0.0.1 only, and the load stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
REPORTS = {
    "campaign × day (impressions, spend, VCR)": (["campaign", "date"],
                                                 ["impressions", "spend", "vcr"]),
    "totals (8 metrics)": ([], ["impressions", "completes", "vcr", "viewability", "clicks",
                                "ctr", "conversions", "spend"]),
    "hour × weekday": (["weekday", "hour_of_day"], ["impressions"]),
    "device": (["device"], ["impressions"]),
    "line item (top 10 by spend)": (["line_item"], ["spend"]),
}


def _build(line_items: int, days: int, folder: Path) -> str:
    out, db = folder / "out", folder / "big.db"
    for command in (
        ["generate", "--line-items", str(line_items), "--days", str(days), "--out", str(out),
         "--format", "parquet"],
        ["load", str(out), "--db", f"sqlite:///{db}"],
    ):
        began = time.perf_counter()
        subprocess.run([str(BIN / "adsgen"), "--quiet", *command], check=True)
        print(f"adsgen {' '.join(command[:5])}…: {time.perf_counter() - began:.1f} s")
    return f"sqlite:///{db}"


def _queries(url: str) -> None:
    from sqlalchemy import func, select

    from adsgen.runs.reports import Dimension, Metric, run_report
    from adsgen.storage import orm
    from adsgen.storage.database import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(orm.Performance)).scalar_one()
        print(f"performance rows: {rows:,} ({engine.dialect.name})")
        for name, (dimensions, metrics) in REPORTS.items():
            sort = ["-spend"] if "top" in name else []
            limit = 10 if "top" in name else 10_000
            times = []
            for _ in range(3):
                began = time.perf_counter()
                report = run_report(conn, dimensions=[Dimension(d) for d in dimensions],
                                    metrics=[Metric(m) for m in metrics], sort=sort,
                                    limit=limit)
                times.append(time.perf_counter() - began)
            print(f"  {name}: best {min(times):.3f} s of 3 ({len(report.rows):,} rows)")
    engine.dispose()


async def _load(base: str, clients: int, seconds: float) -> None:
    import httpx

    params = [("dimension", "campaign"), ("dimension", "date"), ("metric", "impressions"),
              ("metric", "spend"), ("limit", "10000")]
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal errors
        while time.perf_counter() < stop:
            began = time.perf_counter()
            try:
                answer = await http.get(f"{base}/api/v1/reports/delivery", params=params)
                ok = answer.status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append(time.perf_counter() - began)
            errors += not ok

    async with httpx.AsyncClient(timeout=60) as http:
        began = time.perf_counter()
        await asyncio.gather(*(client(http) for _ in range(clients)))
        elapsed = time.perf_counter() - began
    cuts = statistics.quantiles(latencies, n=20)
    print(f"load: {clients} clients × {seconds:.0f} s on the campaign × day report: "
          f"{len(latencies):,} requests, {errors} errors, {len(latencies) / elapsed:.1f} req/s, "
          f"p50 {statistics.median(latencies) * 1000:.0f} ms, p95 {cuts[18] * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--line-items", type=int, default=2000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--db", help="an existing database to use instead of building one")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from serveutil import serving

    with tempfile.TemporaryDirectory(prefix="adsgen-bench-serve-") as folder:
        url = args.db or _build(args.line_items, args.days, Path(folder))
        _queries(url)
        with serving(url, "--quiet") as (base, _):
            asyncio.run(_load(base, args.clients, args.seconds))


if __name__ == "__main__":
    main()
