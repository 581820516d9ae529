"""Delivery reports read the `daily` table when they can, with the numbers the hourly rows give.

On a generated database (run-all, every dialect), every report whose dimensions are a UTC
day or coarser is run twice, summed from `daily` and from `performance`, and must come out
identical row for row (every metric, filters included); the automatic choice picks `daily`
for those and `performance` for hour and creative reports. A line item without daily rows
(what a live stream syncing into the database leaves) sends its reports back to the hourly
rows, and a changed daily row shows in a daily report, so the daily path is really read.
The truth report's observed rates come from `daily` the same way.
"""

from __future__ import annotations

from itertools import combinations

import pytest
from sqlalchemy import Engine, delete, func, select, update

from adsgen.runs.reports import (
    DAY_GRAIN,
    Dimension,
    Filters,
    Metric,
    Source,
    report_source,
    run_report,
    truth_report,
)
from adsgen.storage import orm

DAILY = orm.Base.metadata.tables["daily"]



def _both(conn: object, dimensions: list[Dimension], filters: Filters) -> None:
    """The report from both tables: the same columns and rows, exactly."""
    asked = {"dimensions": dimensions, "metrics": list(Metric), "filters": filters,
             "limit": 10_000}
    hourly = run_report(conn, source=Source.performance, **asked)  # type: ignore[arg-type]
    daily = run_report(conn, source=Source.daily, **asked)  # type: ignore[arg-type]
    assert (daily.source, hourly.source) == (Source.daily, Source.performance)
    assert daily.columns == hourly.columns
    assert not hourly.truncated and hourly.rows, (dimensions, filters)
    assert daily.rows == hourly.rows, (dimensions, filters)


def test_day_grain_reports_are_the_same_from_daily_and_performance(any_db: Engine) -> None:
    with any_db.connect() as conn:
        campaign, advertiser, device = conn.execute(
            select(orm.LineItem.campaign_id, orm.Campaign.advertiser_id, DAILY.c.device)
            .join(orm.Campaign, orm.Campaign.id == orm.LineItem.campaign_id)
            .join(DAILY, DAILY.c.line_item_id == orm.LineItem.id)
            .order_by(orm.LineItem.id).limit(1)).one()
        first, last = conn.execute(select(func.min(DAILY.c.day), func.max(DAILY.c.day))
                                   .where(DAILY.c.line_item_id == 1)).one()
        day_grain = sorted(DAY_GRAIN)
        for size in (0, 1, 2):
            for dims in combinations(day_grain, size):
                _both(conn, list(dims), Filters())
        for dims in ([Dimension.campaign, Dimension.date, Dimension.device],
                     [Dimension.advertiser, Dimension.weekday, Dimension.line_item]):
            _both(conn, dims, Filters())
        week = Filters(start=first, end=first.fromordinal(first.toordinal() + 6))
        for filters in (week, Filters(campaign_id=campaign, device=device),
                        Filters(advertiser_id=advertiser, start=last, end=last),
                        Filters(line_item_id=1)):
            _both(conn, [Dimension.campaign, Dimension.date], filters)
            _both(conn, [Dimension.device], filters)
        for dims in ([Dimension.campaign, Dimension.date], [Dimension.weekday], []):
            assert report_source(conn, dimensions=dims, metrics=list(Metric)) is Source.daily
        for finer in (Dimension.hour, Dimension.hour_of_day, Dimension.creative):
            assert report_source(conn, dimensions=[Dimension.date, finer],
                                 metrics=[Metric.impressions]) is Source.performance
            chosen = run_report(conn, dimensions=[finer], metrics=[Metric.impressions])
            assert chosen.source is Source.performance


def test_a_line_item_without_daily_rows_reads_the_hourly_rows(any_db: Engine) -> None:
    by_day = {"dimensions": [Dimension.line_item, Dimension.date],
              "metrics": [Metric.impressions, Metric.spend, Metric.conversions]}
    with any_db.begin() as conn:
        hourly = run_report(conn, source=Source.performance, **by_day)  # type: ignore[arg-type]
        # a changed daily row shows in what the daily path reads: it is really read
        conn.execute(update(DAILY).where(DAILY.c.line_item_id == 1)
                     .values(impressions=DAILY.c.impressions + 1))
        bumped = run_report(conn, **by_day)  # type: ignore[arg-type]
        assert bumped.source is Source.daily
        assert bumped.rows != hourly.rows
        # line item 1 as a live stream leaves it: hourly rows, no daily rows
        conn.execute(delete(DAILY).where(DAILY.c.line_item_id == 1))
        for filters in (Filters(), Filters(line_item_id=1)):
            assert report_source(conn, filters=filters, **by_day) is Source.performance
        fallen = run_report(conn, **by_day)  # type: ignore[arg-type]
        assert (fallen.source, fallen.rows) == (Source.performance, hourly.rows)
        # other line items still have both tables
        assert report_source(conn, filters=Filters(line_item_id=2), **by_day) is Source.daily


def test_truth_report_observes_the_same_from_daily(any_db: Engine) -> None:
    with any_db.begin() as conn:
        first = conn.execute(select(func.min(DAILY.c.day))
                             .where(DAILY.c.line_item_id == 1)).scalar_one()
        asked = [Filters(), Filters(line_item_id=1, start=first, end=first)]
        from_daily = [truth_report(conn, filters=f) for f in asked]
        assert all(t["rates"]["impressions"] > 0 for t in from_daily)
        conn.execute(update(DAILY).where(DAILY.c.line_item_id == 1)
                     .values(completes=DAILY.c.completes // 2))
        halved = truth_report(conn)["rates"]
        assert halved["observed_vcr"] < from_daily[0]["rates"]["observed_vcr"]
        conn.execute(delete(DAILY))  # every line item as a live stream leaves it
        from_hours = [truth_report(conn, filters=f) for f in asked]
    for daily, hourly in zip(from_daily, from_hours, strict=True):
        assert daily["conversions"] == hourly["conversions"]
        assert daily["rates"] == pytest.approx(hourly["rates"], rel=1e-12)


def test_hourly_reports_are_the_rows_summed(any_db: Engine) -> None:
    """Calendar parts of the hour (summed per hour first when no line item is grouped)
    against the rows summed in Python."""
    perf = orm.Performance
    with any_db.connect() as conn:
        rows = conn.execute(select(perf.hour, perf.device, perf.impressions, perf.completes,
                                   perf.line_item_id)).all()
        parts = {
            Dimension.weekday: lambda r: r.hour.isoweekday(),
            Dimension.hour_of_day: lambda r: r.hour.hour,
            Dimension.date: lambda r: r.hour.date().isoformat(),
            Dimension.device: lambda r: r.device,
            Dimension.line_item: lambda r: r.line_item_id,
        }
        for dims in ([Dimension.weekday, Dimension.hour_of_day],
                     [Dimension.date, Dimension.device], [Dimension.hour_of_day],
                     [Dimension.line_item, Dimension.weekday]):
            expected: dict[tuple[object, ...], list[int]] = {}
            for row in rows:
                key = tuple(parts[d](row) for d in dims)
                sums = expected.setdefault(key, [0, 0])
                sums[0] += row.impressions
                sums[1] += row.completes
            report = run_report(conn, dimensions=dims, source=Source.performance,
                                metrics=[Metric.impressions, Metric.completes], limit=10_000)
            columns = ["line_item_id" if d is Dimension.line_item else d.value for d in dims]
            got = {tuple(r[c] for c in columns): [r["impressions"], r["completes"]]
                   for r in report.rows}
            assert got == expected, dims
            assert [tuple(r[c] for c in columns) for r in report.rows] == sorted(expected)
