"""The delivery report by geo: what `run_report` answers when `geo` is one of its dimensions.

Performance rows have no geo: a line item's delivery is split over its targeted geos only in
the marketing-mix grain, the `mmm` table (advertiser × ISO week × served geo, with each
channel's — device's — impressions, spend and attributed conversions: `simulate.grains`
splits each line item × device × week's daily sums over the geos with integer draws, so the
geos of a week add up to its daily rows exactly). A geo report therefore sums `mmm` in the
database, its three channel column sets unpivoted to a `device` column (a UNION ALL), and its
totals are the other reports' totals: impressions, spend and conversions (click- plus
view-through) summed over the geos equal the delivery report's for the same advertisers,
devices and weeks.

What that grain cannot say is refused with one line naming what it can: dimensions geo,
advertiser and device (not platform: the split sums an advertiser's line items over every
platform they buy on); metrics impressions, spend, eCPM and conversions; filters
advertiser and device, and dates only on whole ISO weeks (start a Monday, end a Sunday).
A live stream syncing into the database writes `performance` alone, never `mmm`: its hours
show in the other reports, not by geo.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import and_, literal, select, union_all

from adsgen.exceptions import AdsgenError
from adsgen.simulate.columns import MMM_CHANNEL_COLUMNS, MMM_CHANNELS
from adsgen.storage import orm

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.sql.elements import ColumnElement

    from adsgen.runs.reports import Dimension, Filters, Metric, Report

__all__ = ["GEO_DIMENSIONS", "GEO_METRICS", "geo_report"]

GEO_DIMENSIONS: Final = ("geo", "advertiser", "device")
"""What a geo report may group by (the `mmm` table's grain)."""
GEO_METRICS: Final = ("impressions", "spend", "ecpm", "conversions")
"""What a geo report may sum: the channels' columns of the `mmm` table."""
_PARTS: Final = {"impressions": "impressions", "spend_micros": "spend",
                 "conversions": "attributed"}
"""A base sum of the delivery report → its part of an `mmm` channel (MMM_CHANNEL_COLUMNS)."""


def _check(dimensions: Sequence[Dimension], metrics: Sequence[Metric],
           filters: Filters) -> None:
    """AdsgenError naming what the geo grain cannot report."""
    where = ("a geo report sums the weekly geo split (table mmm) per advertiser: "
             f"dimensions {', '.join(GEO_DIMENSIONS)}; metrics {', '.join(GEO_METRICS)}")
    other = [d.value for d in dimensions if d.value not in GEO_DIMENSIONS]
    if other:
        raise AdsgenError(f"cannot group by {', '.join(other)} with geo; {where}")
    unsummed = [m.value for m in metrics if m.value not in GEO_METRICS]
    if unsummed:
        raise AdsgenError(f"cannot report {', '.join(unsummed)} by geo; {where}")
    if filters.campaign_id is not None or filters.line_item_id is not None:
        raise AdsgenError(f"cannot filter by campaign or line item by geo; {where}")
    if filters.start is not None and filters.start.isoweekday() != 1:
        raise AdsgenError(f"start {filters.start} is not a Monday; {where}, by ISO week "
                          "(start on a Monday, end on a Sunday)")
    if filters.end is not None and filters.end.isoweekday() != 7:
        raise AdsgenError(f"end {filters.end} is not a Sunday; {where}, by ISO week "
                          "(start on a Monday, end on a Sunday)")


def _channels(filters: Filters, bases: Sequence[str]) -> Any:
    """The `mmm` rows of the filter, one row per channel: advertiser_id, geo, currency,
    device and the base sums (a UNION ALL over the channels)."""
    mmm = orm.Base.metadata.tables["mmm"]
    conditions: list[ColumnElement[bool]] = []
    if filters.advertiser_id is not None:
        conditions.append(mmm.c.advertiser_id == filters.advertiser_id)
    if filters.start is not None:
        conditions.append(mmm.c.week >= filters.start)
    if filters.end is not None:  # the week of a Sunday starts six days before it
        conditions.append(mmm.c.week <= filters.end - timedelta(days=6))
    devices = [d for d in MMM_CHANNELS if filters.device in (None, d)]
    parts = []
    for device in devices or MMM_CHANNELS[:1]:
        columns = MMM_CHANNEL_COLUMNS[device]
        part = select(mmm.c.advertiser_id, mmm.c.geo, mmm.c.currency,
                      literal(device).label("device"),
                      *[mmm.c[columns[_PARTS[b]]].label(b) for b in bases])
        if conditions:
            part = part.where(and_(*conditions))
        if not devices:  # a device with no channel: no rows, same columns
            part = part.where(literal(False))
        parts.append(part)
    return union_all(*parts).subquery("channels")


def geo_report(conn: Connection, *, dimensions: Sequence[Dimension],
               metrics: Sequence[Metric], filters: Filters, sort: Sequence[str],
               limit: int) -> Report:
    """The delivery report grouped by geo (and advertiser, device), summed from
    the `mmm` table in the database; see the module docstring. AdsgenError for a dimension,
    metric or filter the geo grain does not have."""
    from adsgen.runs import reports
    from adsgen.runs.reports import MONEY, Dimension, Source

    _check(dimensions, metrics, filters)
    chosen = list(dict.fromkeys(dimensions))
    wanted = list(dict.fromkeys(metrics))
    bases = list(dict.fromkeys(b for m in wanted for b in reports.bases_of(m)))
    rows = _channels(filters, bases)
    money = bool(MONEY & set(wanted))
    query = select().select_from(rows)
    if money or Dimension.advertiser in chosen:
        query = query.join(orm.Advertiser, orm.Advertiser.id == rows.c.advertiser_id)
    grouped: list[ColumnElement[Any]] = []
    for dimension in chosen:
        match dimension:
            case Dimension.geo:
                grouped.append(rows.c.geo)
            case Dimension.advertiser:
                grouped += [orm.Advertiser.id.label("advertiser_id"),
                            orm.Advertiser.name.label("advertiser_name")]
            case Dimension.device:
                grouped.append(rows.c.device)
    if money:
        grouped.append(rows.c.currency)
    measures = [reports.metric_of(m, rows.c).label(m.value) for m in wanted]
    return reports.finish(conn, query, grouped=grouped, measures=measures, sort=sort,
                          limit=limit, source=Source.mmm)
