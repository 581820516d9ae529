"""Report queries of `adsgen serve` on a 10 M-row database, SQLite and PostgreSQL.

    .venv/bin/python benchmarks/bench_serve.py [--line-items 3400] [--days 30]
        [--postgres URL] [--keep DIR] [--db URL ...] [--no-hourly]

Builds the database with `adsgen generate` + `adsgen load` (3,400 line items × 30 days:
10,085,040 hourly rows), printing each step's time and rows/s, into SQLite and, with
`--postgres URL` (an empty database of yours), PostgreSQL too; `--db URL` (repeatable)
times databases that already hold data instead, kept as they are. Then, per database, for
each report the dashboard asks: the table it reads (`daily` for day-grain reports,
`performance` for hourly ones) and the best of three runs of the SQL aggregation
(`adsgen.runs.reports`), and the campaign × day report summed from the hourly rows once,
what it cost before the daily path (`--no-hourly` skips it: minutes on SQLite). The built
files and SQLite database go to a temporary folder, or `--keep DIR`. A load test against a
running server is `benchmarks/bench_load.py`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
CAMPAIGN_BY_DAY = "campaign × day (impressions, spend, VCR)"
REPORTS = {
    CAMPAIGN_BY_DAY: (["campaign", "date"], ["impressions", "spend", "vcr"]),
    "totals (8 metrics)": ([], ["impressions", "completes", "vcr", "viewability", "clicks",
                                "ctr", "conversions", "spend"]),
    "day (impressions, spend)": (["date"], ["impressions", "spend"]),
    "device": (["device"], ["impressions"]),
    "line item (top 10 by spend)": (["line_item"], ["spend"]),
    "hour × weekday": (["weekday", "hour_of_day"], ["impressions"]),
}


def _adsgen(*command: str) -> float:
    """Run `adsgen --quiet command…`; its wall time in seconds."""
    began = time.perf_counter()
    subprocess.run([str(BIN / "adsgen"), "--quiet", *command], check=True)
    return time.perf_counter() - began


def _build(line_items: int, days: int, folder: Path, postgres: str | None) -> list[str]:
    """Generate the files once, load them into SQLite (and PostgreSQL); the URLs."""
    out, db = folder / "out", folder / "big.db"
    seconds = _adsgen("generate", "--line-items", str(line_items), "--days", str(days),
                      "--out", str(out), "--format", "parquet")
    tables = json.loads((out / "manifest.json").read_text())["tables"]
    rows = tables["performance"]["rows"]
    every = sum(t["rows"] for t in tables.values())
    print(f"adsgen generate --line-items {line_items} --days {days}: {rows:,} hourly rows "
          f"({every:,} in all tables) in {seconds:.1f} s, {rows / seconds:,.0f} hourly rows/s")
    urls = [f"sqlite:///{db}"] + ([postgres] if postgres else [])
    for url in urls:
        seconds = _adsgen("load", str(out), "--db", url)
        print(f"adsgen load into {url.split(':')[0]}: {seconds:.1f} s, "
              f"{rows / seconds:,.0f} hourly rows/s ({every / seconds:,.0f} rows/s, all tables)")
    return urls


def _queries(url: str, hourly: bool) -> None:
    from sqlalchemy import func, select

    from adsgen.runs.reports import Dimension, Metric, Source, report_source, run_report
    from adsgen.storage import orm
    from adsgen.storage.database import make_engine, masked_url

    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(orm.Performance)).scalar_one()
        print(f"{masked_url(engine.url)}: {rows:,} hourly rows ({engine.dialect.name})")
        for name, (dimensions, metrics) in REPORTS.items():
            asked = {"dimensions": [Dimension(d) for d in dimensions],
                     "metrics": [Metric(m) for m in metrics]}
            sort = ["-spend"] if "top" in name else []
            limit = 10 if "top" in name else 10_000
            times = []
            for _ in range(3):
                began = time.perf_counter()
                report = run_report(conn, sort=sort, limit=limit, **asked)  # type: ignore[arg-type]
                times.append(time.perf_counter() - began)
            assert report.source is report_source(conn, **asked)  # type: ignore[arg-type]
            more = "+" if report.truncated else ""
            print(f"  {name}: best {min(times):.3f} s of 3 from {report.source} "
                  f"({len(report.rows):,}{more} rows)")
        if hourly:
            dimensions, metrics = REPORTS[CAMPAIGN_BY_DAY]
            began = time.perf_counter()
            run_report(conn, dimensions=[Dimension(d) for d in dimensions],
                       metrics=[Metric(m) for m in metrics], limit=10_000,
                       source=Source.performance)
            print(f"  {CAMPAIGN_BY_DAY} from performance (the hourly rows): "
                  f"{time.perf_counter() - began:.3f} s, one run")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--line-items", type=int, default=3400)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--postgres", help="an empty PostgreSQL database to load as well")
    parser.add_argument("--keep", type=Path, help="build into this new folder and keep it")
    parser.add_argument("--db", action="append", default=[],
                        help="a database that holds data, to time instead of building one")
    parser.add_argument("--no-hourly", dest="hourly", action="store_false",
                        help="skip the campaign × day report from the hourly rows")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="adsgen-bench-serve-") as scratch:
        if args.db:
            urls = args.db
        else:
            folder = args.keep or Path(scratch)
            folder.mkdir(parents=True, exist_ok=True)
            urls = _build(args.line_items, args.days, folder, args.postgres)
        for url in urls:
            _queries(url, args.hourly)


if __name__ == "__main__":
    main()
