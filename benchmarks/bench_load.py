"""A bounded load test of `adsgen serve`'s reports: N concurrent clients for T seconds.

    .venv/bin/python benchmarks/bench_load.py [--clients 50] [--seconds 30]
        [--line-items 300] [--days 30] [--db URL] [--report NAME ...]

Generates a SQLite database (`adsgen generate --line-items 300 --days 30 --db …`, unless
`--db URL` names one that holds data, kept as it is), starts `adsgen serve` on a free port
of 127.0.0.1 as a subprocess, and lets `--clients` asyncio clients (httpx, one connection
each) ask the reports the dashboard asks (or those `--report NAME` names: totals,
campaign_day, campaigns_by_spend, day, device, hour_weekday, pacing, reach, truth), each
client going round them in turn from its own starting point, as fast as answers come, for
`--seconds` seconds; requests still in flight then finish (none is started after the
deadline), and the server stops. Prints, per report and overall: requests, errors (any
status but 200, or no answer within 60 s), requests/s and the p50, p95 and p99 latency.
Every request goes to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

BIN = Path(sys.executable).parent
DASHBOARD = {
    "totals": {"metric": ["impressions", "completes", "vcr", "viewability", "clicks", "ctr",
                          "conversions", "spend"]},
    "campaign_day": {"dimension": ["campaign", "date"],
                     "metric": ["impressions", "spend", "vcr"], "limit": "10000"},
    "campaigns_by_spend": {"dimension": ["campaign"], "metric": ["spend", "impressions", "vcr"],
                           "sort": "-spend", "limit": "30"},
    "day": {"dimension": ["date"], "metric": ["impressions", "spend"]},
    "device": {"dimension": ["device"], "metric": ["impressions"]},
    "hour_weekday": {"dimension": ["weekday", "hour_of_day"], "metric": ["impressions"]},
    "pacing": None,
    "reach": None,
    "truth": None,
}
"""The dashboard's reports: delivery report parameters, or None for /reports/<name>."""


def _path(name: str) -> tuple[str, dict[str, list[str] | str]]:
    params = DASHBOARD[name]
    if params is None:
        return f"/api/v1/reports/{name}", {}
    return "/api/v1/reports/delivery", params


def _build(line_items: int, days: int, folder: Path) -> str:
    url = f"sqlite:///{folder / 'load.db'}"
    began = time.perf_counter()
    subprocess.run([str(BIN / "adsgen"), "--quiet", "generate", "--line-items", str(line_items),
                    "--days", str(days), "--out", str(folder / "out"), "--db", url], check=True)
    print(f"adsgen generate --line-items {line_items} --days {days} --db sqlite: "
          f"{time.perf_counter() - began:.1f} s")
    return url


def _cuts(latencies: list[float]) -> str:
    """p50, p95, p99 of latencies in seconds, as milliseconds."""
    if len(latencies) < 2:
        return "too few requests for percentiles"
    cut = statistics.quantiles(latencies, n=100, method="inclusive")
    return (f"p50 {statistics.median(latencies) * 1000:,.0f} ms, p95 {cut[94] * 1000:,.0f} ms, "
            f"p99 {cut[98] * 1000:,.0f} ms")


async def _load(base: str, clients: int, seconds: float, names: list[str]) -> None:
    import httpx

    latencies: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    kinds: dict[str, int] = defaultdict(int)
    stop = time.perf_counter() + seconds

    async def client(number: int) -> None:
        turn = number
        limits = httpx.Limits(max_connections=1)
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
            while time.perf_counter() < stop:
                name = names[turn % len(names)]
                turn += 1
                path, params = _path(name)
                began = time.perf_counter()
                try:
                    answer = await http.get(path, params=params)
                    failed = None if answer.status_code == 200 else f"HTTP {answer.status_code}"
                except httpx.HTTPError as exc:
                    failed = type(exc).__name__
                latencies[name].append(time.perf_counter() - began)
                if failed:
                    errors[name] += 1
                    kinds[failed] += 1

    began = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    elapsed = time.perf_counter() - began
    every = [s for name in names for s in latencies[name]]
    print(f"load: {clients} clients for {seconds:.0f} s ({elapsed:.1f} s with the last answers) "
          f"on {', '.join(names)}")
    for name in names:
        print(f"  {name}: {len(latencies[name]):,} requests, {errors[name]} errors, "
              f"{_cuts(latencies[name])}")
    why = ", ".join(f"{k} × {v}" for k, v in sorted(kinds.items()))
    print(f"  all: {len(every):,} requests, {sum(errors.values())} errors"
          f"{f' ({why})' if why else ''}, {len(every) / elapsed:.1f} requests/s, "
          f"{_cuts(every)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--line-items", type=int, default=300)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--db", help="a database that holds data, used instead of building one")
    parser.add_argument("--report", action="append", choices=list(DASHBOARD),
                        help="ask only this report (repeatable; default: all the dashboard's)")
    args = parser.parse_args()
    if args.clients < 1 or not 0 < args.seconds <= 600:
        parser.error("--clients must be 1 or more and --seconds 0 to 600 (a bounded test)")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from sqlalchemy import func, select

    from adsgen.storage import orm
    from adsgen.storage.database import make_engine, masked_url
    from serveutil import serving

    with tempfile.TemporaryDirectory(prefix="adsgen-bench-load-") as folder:
        url = args.db or _build(args.line_items, args.days, Path(folder))
        engine = make_engine(url)
        with engine.connect() as conn:
            rows = conn.execute(select(func.count()).select_from(orm.Performance)).scalar_one()
        print(f"adsgen serve --db {masked_url(engine.url)} ({rows:,} hourly rows)")
        engine.dispose()
        with serving(url, "--quiet") as (base, _):
            asyncio.run(_load(base, args.clients, args.seconds, args.report or list(DASHBOARD)))


if __name__ == "__main__":
    main()
