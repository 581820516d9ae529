"""What the live feed of `adsgen serve` reads: a cheap fingerprint of the delivery rows, and
the delivery a client is sent whenever the fingerprint changes.

The fingerprint (rows, latest hour, impressions, spend over the performance table) changes
whenever anything writes delivery: an `adsgen stream` syncing hours into the database
(`adsgen.stream.db_sync`), a run, a create or change that simulates, another process's
command. It is one aggregate query; the feed measures what it costs and polls no more than
10 % of the time. The update itself is made of delivery reports (`adsgen.runs.reports`), so
the feed's numbers are the reports' numbers.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from adsgen.runs.reports import Dimension, Filters, Metric, run_report
from adsgen.storage import orm

if TYPE_CHECKING:
    from sqlalchemy import Connection

__all__ = ["HOURS", "fingerprint", "snapshot"]

HOURS = 24
"""Hours of delivery per hour an update carries, up to the latest."""
CAMPAIGNS = 20
"""Campaigns an update carries, most impressions first."""


def fingerprint(conn: Connection) -> tuple[Any, ...]:
    """(rows, latest hour, impressions, spend micros) of the performance table."""
    from sqlalchemy import func, select

    perf = orm.Performance
    row = conn.execute(select(func.count(), func.max(perf.hour), func.sum(perf.impressions),
                              func.sum(perf.spend_micros))).one()
    return tuple(int(v) if v is not None and not isinstance(v, datetime) else v for v in row)


def snapshot(conn: Connection) -> dict[str, Any]:
    """The delivery now: totals, the last HOURS hours up to the latest, and the CAMPAIGNS
    campaigns with most impressions (spend per currency, as the reports give it)."""
    rows, latest, _, _ = fingerprint(conn)
    totals = run_report(conn, dimensions=[], metrics=[
        Metric.impressions, Metric.completes, Metric.clicks, Metric.spend]).rows
    hours: list[dict[str, Any]] = []
    if latest is not None:
        first = latest - timedelta(hours=HOURS - 1)
        report = run_report(conn, dimensions=[Dimension.hour],
                            metrics=[Metric.impressions, Metric.spend],
                            filters=Filters(start=first.date(), end=latest.date()),
                            limit=HOURS * 10)
        since = first.strftime("%Y-%m-%dT%H:%M:%SZ")
        hours = [row for row in report.rows if row["hour"] >= since]
    campaigns = run_report(conn, dimensions=[Dimension.campaign],
                           metrics=[Metric.impressions, Metric.spend],
                           sort=["-impressions"], limit=CAMPAIGNS).rows
    return {
        "rows": rows,
        "latest_hour": None if latest is None else latest.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "totals": totals,
        "hours": hours,
        "campaigns": campaigns,
    }
