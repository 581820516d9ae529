"""Delivery reports as SQL aggregations: what `adsgen serve`'s reporting API and dashboard ask.

A report groups the hourly `performance` rows by some dimensions (date, hour, hour of day,
weekday, advertiser, campaign, line item, creative, device, platform) and sums metrics; ratios (VCR,
viewability, CTR, eCPM) are divided in the same query. Every query is built with SQLAlchemy
expressions over the ORM's columns (filters are bound parameters, never text) and runs in
the database: Python only sees the grouped rows, at most `limit` + 1 of them. Money is summed
per currency (a report with spend or eCPM is also grouped by the advertiser's currency:
amounts in two currencies never add up).

Where the rows come from: a report whose dimensions are all a UTC day or coarser (date,
weekday, advertiser, campaign, line item, device) reads the `daily` table (line item ×
device × UTC day, written with `performance` in the same transaction and summing it
exactly: every count, both conversion kinds and the spend), 24 × the creatives fewer rows,
so a campaign × day report costs what the days cost, not the hours; hour, hour of day and
creative read `performance`. `daily` is read only when every line item of the filter that
has performance rows also has daily rows (two index probes per line item): a live stream
syncing into a database writes `performance` alone, so its line items fall back to the
hourly rows and the report shows what the stream wrote. `report_source` says which table a
report reads; `run_report(source=…)` forces one (the tests hold both to the same numbers).
A report by geo sums the weekly geo split (`mmm`) instead (`adsgen.runs.report_geo`).

The platform: each line item buys on one platform (`line_items.platform`), so a report by
platform groups by its line items' column, looked up in stage two like their campaign.

The pacing (`pacing` table: goal vs delivered per day, with what took the shortfall), reach
(`reach` table: flight reach and the frequency distribution per line item) and truth
(`ground_truth` and `conversion_truth`: the probabilities and causal conversions the
simulation used, next to what the rows show) views read their fact tables the same way.
Dates and hours are UTC; the pacing day is the campaign's local day (its table's grain).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from sqlalchemy import (
    Connection,
    Date,
    Double,
    Integer,
    Select,
    and_,
    case,
    cast,
    func,
    literal,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from adsgen.exceptions import AdsgenError
from adsgen.simulate.grains import DAILY_SUMS
from adsgen.storage import orm

__all__ = [
    "MAX_REPORT_ROWS",
    "Dimension",
    "Filters",
    "Metric",
    "Report",
    "Source",
    "bases_of",
    "finish",
    "metric_of",
    "pacing_report",
    "reach_report",
    "report_source",
    "run_report",
    "truth_report",
]

MAX_REPORT_ROWS: Final = 10_000
"""The most rows a synchronous report returns (more: `truncated` is set)."""


class Dimension(StrEnum):
    """What a report groups by."""

    date = "date"
    hour = "hour"
    hour_of_day = "hour_of_day"
    weekday = "weekday"
    advertiser = "advertiser"
    campaign = "campaign"
    line_item = "line_item"
    creative = "creative"
    device = "device"
    platform = "platform"
    geo = "geo"


class Metric(StrEnum):
    """What a report sums (or divides, for the rates)."""

    impressions = "impressions"
    starts = "starts"
    first_quartile = "first_quartile"
    midpoint = "midpoint"
    third_quartile = "third_quartile"
    completes = "completes"
    vcr = "vcr"
    measurable = "measurable"
    viewable = "viewable"
    viewability = "viewability"
    invalid = "invalid"
    clicks = "clicks"
    ctr = "ctr"
    qr_scans = "qr_scans"
    conversions = "conversions"
    spend = "spend"
    ecpm = "ecpm"


MONEY: Final = frozenset({Metric.spend, Metric.ecpm})


class Source(StrEnum):
    """The table a delivery report sums: the hourly rows or their UTC-day sums."""

    performance = "performance"
    daily = "daily"
    mmm = "mmm"
    """The weekly geo split: geo reports only (`adsgen.runs.report_geo`)."""


DAY_GRAIN: Final = frozenset({Dimension.date, Dimension.weekday, Dimension.advertiser,
                              Dimension.campaign, Dimension.line_item, Dimension.device,
                              Dimension.platform})
"""Dimensions a UTC day of one line item × device determines: the `daily` table has them."""


# --- UTC calendar parts of a timestamp column, per dialect -----------------------------------


class _UtcDate(FunctionElement[date]):
    """The UTC date of a UtcDateTime column."""

    type = Date()
    inherit_cache = True


class _UtcHourOfDay(FunctionElement[int]):
    """The UTC hour of day (0-23) of a UtcDateTime column."""

    type = Integer()
    inherit_cache = True


class _UtcWeekday(FunctionElement[int]):
    """The ISO weekday (1 Monday … 7 Sunday) of a UtcDateTime column, in UTC."""

    type = Integer()
    inherit_cache = True


class _DayWeekday(_UtcWeekday):
    """The ISO weekday of a DATE column holding a UTC day (SQLite and MariaDB: as for a
    timestamp; PostgreSQL: no time zone to convert)."""

    inherit_cache = True


def _arg(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    (column,) = element.clauses
    return str(compiler.process(column, **kw))


@compiles(_UtcDate)
def _date_sqlite(element: _UtcDate, compiler: SQLCompiler, **kw: Any) -> str:
    return f"substr({_arg(element, compiler, **kw)}, 1, 10)"  # 'YYYY-MM-DD HH:MM:SS' text


@compiles(_UtcDate, "postgresql")
def _date_postgresql(element: _UtcDate, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(({_arg(element, compiler, **kw)} AT TIME ZONE 'UTC') AS DATE)"


@compiles(_UtcDate, "mysql", "mariadb")
def _date_mysql(element: _UtcDate, compiler: SQLCompiler, **kw: Any) -> str:
    return f"DATE({_arg(element, compiler, **kw)})"  # DATETIME holding UTC


@compiles(_UtcHourOfDay)
def _hour_sqlite(element: _UtcHourOfDay, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(strftime('%H', {_arg(element, compiler, **kw)}) AS INTEGER)"


@compiles(_UtcHourOfDay, "postgresql")
def _hour_postgresql(element: _UtcHourOfDay, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(EXTRACT(HOUR FROM ({_arg(element, compiler, **kw)} AT TIME ZONE 'UTC')) AS INT)"


@compiles(_UtcHourOfDay, "mysql", "mariadb")
def _hour_mysql(element: _UtcHourOfDay, compiler: SQLCompiler, **kw: Any) -> str:
    return f"HOUR({_arg(element, compiler, **kw)})"


@compiles(_UtcWeekday)
def _weekday_sqlite(element: _UtcWeekday, compiler: SQLCompiler, **kw: Any) -> str:
    # %w: 0 Sunday … 6 Saturday → 1 Monday … 7 Sunday
    return f"((CAST(strftime('%w', {_arg(element, compiler, **kw)}) AS INTEGER) + 6) % 7 + 1)"


@compiles(_UtcWeekday, "postgresql")
def _weekday_postgresql(element: _UtcWeekday, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(EXTRACT(ISODOW FROM ({_arg(element, compiler, **kw)} AT TIME ZONE 'UTC')) AS INT)"


@compiles(_DayWeekday, "postgresql")
def _day_weekday_postgresql(element: _DayWeekday, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(EXTRACT(ISODOW FROM {_arg(element, compiler, **kw)}) AS INT)"


@compiles(_UtcWeekday, "mysql", "mariadb")
def _weekday_mysql(element: _UtcWeekday, compiler: SQLCompiler, **kw: Any) -> str:
    return f"(WEEKDAY({_arg(element, compiler, **kw)}) + 1)"  # WEEKDAY: 0 Monday


# --- filters --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """Which rows a report reads: ids (None: all), devices, and UTC dates [start, end]."""

    advertiser_id: int | None = None
    campaign_id: int | None = None
    line_item_id: int | None = None
    device: str | None = None
    start: date | None = None
    end: date | None = None

    def __post_init__(self) -> None:
        if self.start is not None and self.end is not None and self.end < self.start:
            raise AdsgenError(f"end {self.end} is before start {self.start}; "
                              "a report covers start to end, both included")


def _entity_filters(filters: Filters, line_item_id: Any) -> list[ColumnElement[bool]]:
    """Conditions on the line item, campaign and advertiser of `line_item_id`'s rows."""
    found: list[ColumnElement[bool]] = []
    if filters.line_item_id is not None:
        found.append(line_item_id == filters.line_item_id)
    if filters.campaign_id is not None:
        found.append(orm.LineItem.campaign_id == filters.campaign_id)
    if filters.advertiser_id is not None:
        found.append(orm.Campaign.advertiser_id == filters.advertiser_id)
    return found


def _with_parents(query: Any, line_item_id: Any) -> Select[Any]:
    """`query` joined to the line item, campaign and advertiser of `line_item_id`."""
    joined: Select[Any] = (query.join(orm.LineItem, orm.LineItem.id == line_item_id)
            .join(orm.Campaign, orm.Campaign.id == orm.LineItem.campaign_id)
            .join(orm.Advertiser, orm.Advertiser.id == orm.Campaign.advertiser_id))
    return joined


def _rows_of(source: Source) -> Any:
    """The columns (`.line_item_id`, `.device`, the sums …) of the table a report sums."""
    return orm.Performance if source is Source.performance else _daily().c


def _table_of(source: Source) -> Any:
    """The table a report sums, to select from."""
    return orm.Performance if source is Source.performance else _daily()


def _daily() -> Any:
    return orm.Base.metadata.tables["daily"]


def _row_filters(filters: Filters, source: Source = Source.performance
                 ) -> list[ColumnElement[bool]]:
    """Conditions on the summed rows alone: the line items of a campaign or an advertiser
    as an IN over their ids (the key's leading column), the device."""
    rows = _rows_of(source)
    found: list[ColumnElement[bool]] = []
    if filters.line_item_id is not None:
        found.append(rows.line_item_id == filters.line_item_id)
    if filters.campaign_id is not None:
        found.append(rows.line_item_id.in_(
            select(orm.LineItem.id).where(orm.LineItem.campaign_id == filters.campaign_id)))
    if filters.advertiser_id is not None:
        found.append(rows.line_item_id.in_(
            select(orm.LineItem.id).join(orm.Campaign, orm.Campaign.id == orm.LineItem.campaign_id)
            .where(orm.Campaign.advertiser_id == filters.advertiser_id)))
    if filters.device is not None:
        found.append(rows.device == filters.device)
    return found


def _hour_bounds(filters: Filters) -> list[ColumnElement[bool]]:
    """The performance hours of the UTC days start … end (index-friendly ranges)."""
    hour = orm.Performance.hour
    bounds: list[ColumnElement[bool]] = []
    if filters.start is not None:
        bounds.append(hour >= datetime.combine(filters.start, time()))
    if filters.end is not None:
        bounds.append(hour < datetime.combine(filters.end + timedelta(days=1), time()))
    return bounds


def _time_bounds(filters: Filters, source: Source) -> list[ColumnElement[bool]]:
    """The rows of the UTC days start … end: hours on performance, days on daily."""
    if source is Source.performance:
        return _hour_bounds(filters)
    return _day_bounds(_daily().c.day, filters)


def _day_bounds(column: Any, filters: Filters) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if filters.start is not None:
        found.append(column >= filters.start)
    if filters.end is not None:
        found.append(column <= filters.end)
    return found


# --- the delivery report ----------------------------------------------------------------------


@dataclass
class Report:
    """Grouped rows (plain values: dates as 'YYYY-MM-DD', hours as ISO UTC), whether more
    rows than `limit` matched, and the table they were summed from."""

    columns: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    truncated: bool = False
    source: Source = Source.performance


def _ratio(num: ColumnElement[Any], den: ColumnElement[Any]) -> ColumnElement[Any]:
    """num / den as a double, NULL when den is 0."""
    return cast(num, Double) / func.nullif(cast(den, Double), 0)


_BASES: Final[dict[Metric, tuple[str, ...]]] = {
    Metric.vcr: ("completes", "impressions"),
    Metric.viewability: ("viewable", "measurable"),
    Metric.ctr: ("clicks", "impressions"),
    Metric.spend: ("spend_micros",),
    Metric.ecpm: ("spend_micros", "impressions"),
}
"""The sums a metric is computed from (a plain sum: itself)."""


_CONVERSIONS: Final = ("click_conversions", "view_conversions")
"""What the `conversions` metric adds up (attributed: click- and view-through)."""


def _base(name: str, source: Source = Source.performance) -> ColumnElement[Any]:
    """A row's value of a base sum (`conversions`: click- plus view-through)."""
    rows = _rows_of(source)
    if name == "conversions":
        return getattr(rows, _CONVERSIONS[0]) + getattr(rows, _CONVERSIONS[1])  # type: ignore[no-any-return]
    return getattr(rows, name)  # type: ignore[no-any-return]


def _in_daily(metric: Metric) -> bool:
    """Whether the daily table holds every sum `metric` is computed from."""
    bases = _BASES.get(metric, (metric.value,))
    return all(name in DAILY_SUMS for b in bases
               for name in (_CONVERSIONS if b == "conversions" else (b,)))


def bases_of(metric: Metric) -> tuple[str, ...]:
    """The sums a metric is computed from (`spend_micros` for spend, …)."""
    return _BASES.get(metric, (metric.value,))


def metric_of(metric: Metric, sums: Any) -> ColumnElement[Any]:
    """A metric from the first stage's sums (`sums.<base>`), re-summed over the second."""
    return _metric(metric, sums)


def _metric(metric: Metric, sums: Any) -> ColumnElement[Any]:
    """A metric from the first stage's sums (`sums.<base>`), re-summed over the second."""
    total = {name: func.coalesce(func.sum(sums[name]), 0)
             for name in _BASES.get(metric, (metric.value,))}
    match metric:
        case Metric.vcr:
            return _ratio(total["completes"], total["impressions"])
        case Metric.viewability:
            return _ratio(total["viewable"], total["measurable"])
        case Metric.ctr:
            return _ratio(total["clicks"], total["impressions"])
        case Metric.spend:
            return cast(total["spend_micros"], Double) / 1_000_000
        case Metric.ecpm:
            return _ratio(total["spend_micros"], total["impressions"]) / 1000
    return total[metric.value]


def _keys(dimension: Dimension, source: Source = Source.performance) -> list[ColumnElement[Any]]:
    """The first stage's grouping keys of a dimension (ids, never names; the line item for
    its campaign and advertiser, which the second stage looks up on the few grouped rows)."""
    rows = _rows_of(source)
    if source is Source.daily:
        match dimension:
            case Dimension.date:
                return [rows.day.label("date")]
            case Dimension.weekday:
                return [_DayWeekday(rows.day).label("weekday")]
            case Dimension.hour | Dimension.hour_of_day | Dimension.creative:
                raise AssertionError(f"{dimension} is finer than the daily table")
            case Dimension.geo:
                raise AssertionError("geo reports sum the mmm table")
    match dimension:
        case Dimension.date:
            return [_UtcDate(rows.hour).label("date")]
        case Dimension.hour:
            return [rows.hour.label("hour")]
        case Dimension.hour_of_day:
            return [_UtcHourOfDay(rows.hour).label("hour_of_day")]
        case Dimension.weekday:
            return [_UtcWeekday(rows.hour).label("weekday")]
        case (Dimension.advertiser | Dimension.campaign | Dimension.line_item
              | Dimension.platform):
            return [rows.line_item_id.label("line_item_id")]  # parents join in stage two
        case Dimension.creative:
            return [rows.creative_id.label("creative_id")]
        case Dimension.device:
            return [rows.device.label("device")]
    raise AssertionError(dimension)  # pragma: no cover


def _daily_covers(conn: Connection, filters: Filters) -> bool:
    """Whether every line item of `filters` that has performance rows has daily rows too.

    A batch run writes both tables in one transaction; a live stream syncing into the
    database writes `performance` only. Two index probes (the tables' keys lead with the
    line item) per line item of the filter, never a scan of the rows.
    """
    daily, perf, li = _daily(), orm.Performance, orm.LineItem
    query = select(li.id).where(
        select(literal(1)).where(perf.line_item_id == li.id).exists(),
        ~select(literal(1)).where(daily.c.line_item_id == li.id).exists())
    if filters.line_item_id is not None:
        query = query.where(li.id == filters.line_item_id)
    if filters.campaign_id is not None:
        query = query.where(li.campaign_id == filters.campaign_id)
    if filters.advertiser_id is not None:
        query = query.join(orm.Campaign, orm.Campaign.id == li.campaign_id).where(
            orm.Campaign.advertiser_id == filters.advertiser_id)
    return conn.execute(query.limit(1)).first() is None


def report_source(conn: Connection, *, dimensions: Sequence[Dimension],
                  metrics: Sequence[Metric], filters: Filters = Filters()) -> Source:
    """The table `run_report` reads for this report: `daily` when every dimension is a UTC
    day or coarser, every metric is a sum of daily columns, and the filter's line items all
    have daily rows; else `performance`."""
    if (set(dimensions) <= DAY_GRAIN and all(_in_daily(m) for m in metrics)
            and _daily_covers(conn, filters)):
        return Source.daily
    return Source.performance


_CALENDAR: Final[dict[Dimension, type[FunctionElement[Any]]]] = {
    Dimension.date: _UtcDate, Dimension.hour_of_day: _UtcHourOfDay,
    Dimension.weekday: _UtcWeekday}
"""The dimensions that are a calendar part of the UTC hour, and the part."""


_NAMED: Final = {Dimension.advertiser: orm.Advertiser, Dimension.campaign: orm.Campaign,
                 Dimension.line_item: orm.LineItem, Dimension.creative: orm.Creative}
"""Dimensions whose rows also get the entity's name (`<dimension>_name`)."""


_AS_IS: Final = frozenset({int, float, str})


def _plain(value: Any) -> Any:
    """A result value as JSON-ready data: dates as text, hours as ISO UTC, Decimals as numbers."""
    if value is None or type(value) in _AS_IS:  # most values: one test each
        return value
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return str(value)  # an enum member (currency) as its value
    if isinstance(value, int | float) or value is None:
        return value
    if isinstance(value, Decimal):  # SUM of integers on PostgreSQL and MariaDB
        return int(value) if value == value.to_integral_value() else float(value)
    return float(value)


def run_report(
    conn: Connection,
    *,
    dimensions: Sequence[Dimension],
    metrics: Sequence[Metric],
    filters: Filters = Filters(),
    sort: Sequence[str] = (),
    limit: int = 1000,
    most: int = MAX_REPORT_ROWS,
    source: Source | None = None,
) -> Report:
    """The delivery report: `metrics` of the filtered performance rows grouped by
    `dimensions` (none: one row of totals), sorted by `sort` (column names of the report,
    `-name` for descending; default: the dimensions in order) and cut at `limit` rows.
    Raises AdsgenError for an unknown sort column or a limit out of 1 … `most` (asynchronous
    report jobs raise `most`). `source` (None: `report_source`'s choice) is the table summed;
    `daily` with an hourly or creative dimension is an AssertionError. With `geo`, the report
    sums the geo split instead (`adsgen.runs.report_geo.geo_report`, which says what it
    refuses).

    Two stages, both in the database: the hourly rows alone are summed by the dimensions'
    keys (the line item standing for its campaign and advertiser; filters on those are an IN
    over line item ids), joining nothing; then the few grouped rows (daily rows by day: as
    they are) get their parents, names and currency, are summed again, and the rates are
    divided.
    """
    if not 1 <= limit <= most:
        raise AdsgenError(f"limit must be 1 to {most}, got {limit}")
    if not metrics:
        raise AdsgenError("name at least one metric")
    chosen = list(dict.fromkeys(dimensions))
    wanted = list(dict.fromkeys(metrics))
    if Dimension.geo in chosen:
        from adsgen.runs.report_geo import geo_report

        return geo_report(conn, dimensions=chosen, metrics=wanted, filters=filters, sort=sort,
                          limit=limit)
    if source is None:
        source = report_source(conn, dimensions=chosen, metrics=wanted, filters=filters)
    assert source is not Source.mmm, "the geo split serves geo reports only"
    rows_of = _rows_of(source)
    money = bool(MONEY & set(wanted))
    parents = money or bool(
        {Dimension.advertiser, Dimension.campaign, Dimension.platform} & set(chosen))
    # without line items or creatives an hourly report groups few keys: summed per hour
    # first, the calendar parts (date, hour of day, weekday) come from the few hours in
    # stage two, not from every row (SQLite: 40 % less time for the hour × weekday map)
    by_hour = (source is Source.performance and not parents
               and not {Dimension.line_item, Dimension.creative} & set(chosen))

    def stage_one(dimension: Dimension) -> list[ColumnElement[Any]]:
        if by_hour and dimension in _CALENDAR:
            return [orm.Performance.hour.label("hour")]
        return _keys(dimension, source)

    keys = list({str(k.key): k for d in chosen for k in stage_one(d)}.values())
    if parents and "line_item_id" not in {str(k.key) for k in keys}:
        keys.append(rows_of.line_item_id.label("line_item_id"))
    bases = list(dict.fromkeys(b for m in wanted for b in bases_of(m)))
    # daily rows by day barely shrink when summed first (devices only): stage two sums them
    # as they are, sparing PostgreSQL a hash of ~all rows that spills (twice the time)
    summed = source is Source.performance or not {"date", "weekday"} & {k.key for k in keys}
    inner = select(*keys, *[(func.sum(_base(b, source)) if summed else _base(b, source)).label(b)
                            for b in bases]).select_from(_table_of(source))
    conditions = [*_row_filters(filters, source), *_time_bounds(filters, source)]
    if conditions:
        inner = inner.where(and_(*conditions))
    if keys and summed:
        inner = inner.group_by(*keys)
    first = inner.subquery("first_stage")

    grouped: list[ColumnElement[Any]] = []
    query = select().select_from(first)
    if parents:
        query = query.join(orm.LineItem, orm.LineItem.id == first.c.line_item_id).join(
            orm.Campaign, orm.Campaign.id == orm.LineItem.campaign_id)
    if money or Dimension.advertiser in chosen:
        query = query.join(orm.Advertiser, orm.Advertiser.id == orm.Campaign.advertiser_id)
    for dimension in chosen:
        match dimension:
            case Dimension.advertiser:
                grouped += [orm.Advertiser.id.label("advertiser_id"),
                            orm.Advertiser.name.label("advertiser_name")]
            case Dimension.campaign:
                grouped += [orm.Campaign.id.label("campaign_id"),
                            orm.Campaign.name.label("campaign_name")]
            case Dimension.line_item:
                if not parents:
                    query = query.join(orm.LineItem, orm.LineItem.id == first.c.line_item_id)
                grouped += [first.c.line_item_id, orm.LineItem.name.label("line_item_name")]
            case Dimension.creative:
                query = query.join(orm.Creative, orm.Creative.id == first.c.creative_id)
                grouped += [first.c.creative_id, orm.Creative.name.label("creative_name")]
            case Dimension.platform:
                grouped.append(orm.LineItem.platform.label("platform"))
            case _ if by_hour and dimension in _CALENDAR:
                grouped.append(_CALENDAR[dimension](first.c.hour).label(dimension.value))
            case _:
                grouped += [first.c[str(k.key)] for k in _keys(dimension, source)]
    if money:
        grouped.append(orm.Advertiser.currency.label("currency"))
    measures = [_metric(m, first.c).label(m.value) for m in wanted]
    return finish(conn, query, grouped=grouped, measures=measures, sort=sort, limit=limit,
                  source=source)


def finish(conn: Connection, query: Select[Any], *, grouped: Sequence[ColumnElement[Any]],
           measures: Sequence[ColumnElement[Any]], sort: Sequence[str], limit: int,
           source: Source) -> Report:
    """Run a report's last stage: `query` (its FROM and joins) selecting the dimension
    columns `grouped` and the measures, grouped by the dimensions, sorted by `sort` then the
    dimensions, cut at `limit` rows. AdsgenError for a sort column the report does not
    have."""
    keys = list(grouped)
    query = query.add_columns(*grouped, *measures)
    if keys:
        query = query.group_by(*keys)
    by_name: dict[str, ColumnElement[Any]] = {str(c.key): c for c in [*grouped, *measures]}
    order = []
    for key in sort:
        column = by_name.get(key.removeprefix("-"))
        if column is None:
            raise AdsgenError(f"cannot sort by {key!r}; the report's columns are "
                              f"{', '.join(by_name)}")
        order.append(column.desc() if key.startswith("-") else column.asc())
    sorted_keys = {s.removeprefix("-") for s in sort}
    order += [c.asc() for c in keys if c.key not in sorted_keys]
    rows = conn.execute(query.order_by(*order).limit(limit + 1)).all()
    report = Report(columns=list(by_name), source=source)
    report.truncated = len(rows) > limit
    report.rows = [dict(zip(report.columns, map(_plain, row), strict=True))
                   for row in rows[:limit]]
    return report


# --- pacing, reach, truth -------------------------------------------------------------------


_REASONS: Final = ("supply", "competition", "frequency_cap", "daily_cap", "budget", "pacing",
                   "none")
"""The shortfall reasons of the pacing table (`none`: a day within 1 % of its goal)."""


def pacing_report(conn: Connection, *, filters: Filters = Filters()) -> list[dict[str, Any]]:
    """Delivery against the pacer's goal per pacing day (summed over the filtered line items):
    goal, available, delivered and shortfall impressions, what the frequency cap, the daily
    cap, the budget and competition took, and the shortfall split by its reason."""
    pacing = orm.Base.metadata.tables["pacing"]
    c = pacing.c
    shortfall = [
        func.coalesce(func.sum(case((c.shortfall_reason == reason, c.shortfall_impressions),
                                    else_=literal(0))), 0).label(f"shortfall_{reason}")
        for reason in _REASONS
    ]
    sums = [func.coalesce(func.sum(c[name]), 0).label(name) for name in (
        "goal_impressions", "available_impressions", "delivered_impressions",
        "shortfall_impressions", "lost_to_competition", "lost_to_frequency_cap",
        "lost_to_daily_cap", "lost_to_budget")]
    query = _with_parents(
        select(c.day, func.count().label("line_items"), *sums, *shortfall).select_from(pacing),
        c.line_item_id)
    conditions = [*_entity_filters(filters, c.line_item_id), *_day_bounds(c.day, filters)]
    if conditions:
        query = query.where(and_(*conditions))
    rows = conn.execute(query.group_by(c.day).order_by(c.day).limit(MAX_REPORT_ROWS)).mappings()
    return [{key: _plain(value) for key, value in row.items()} for row in rows]


def reach_report(conn: Connection, *, filters: Filters = Filters(),
                 limit: int = 1000) -> dict[str, Any]:
    """Reach and frequency over each filtered line item's whole flight (de-duplicated over its
    devices): one row per line item, and the frequency distribution 1 … 10+ summed over them
    (households of different line items may be the same: reach never adds up across them)."""
    reach = orm.Base.metadata.tables["reach"]
    c = reach.c
    buckets = [f"frequency_{j}" for j in range(1, 10)] + ["frequency_10_plus"]
    conditions = [c.period == "flight", c.device == "all",
                  *_entity_filters(filters, c.line_item_id)]
    query = _with_parents(
        select(c.line_item_id, orm.LineItem.name.label("line_item_name"), c.impressions,
               c.reach, c.average_frequency, c.targetable_households).select_from(reach),
        c.line_item_id).where(and_(*conditions))
    rows = conn.execute(query.order_by(c.line_item_id).limit(limit)).mappings().all()
    totals = _with_parents(
        select(*[func.coalesce(func.sum(c[b]), 0).label(b) for b in buckets]).select_from(reach),
        c.line_item_id).where(and_(*conditions))
    distribution = conn.execute(totals).mappings().one()
    return {
        "line_items": [{k: _plain(v) for k, v in row.items()} for row in rows],
        "frequency_distribution": [
            {"frequency": b.removeprefix("frequency_").replace("_plus", "+"),
             "households": int(distribution[b])} for b in buckets],
    }


def truth_report(conn: Connection, *, filters: Filters = Filters()) -> dict[str, Any]:
    """What the simulation used next to what its rows show, over the filtered line items.

    `rates`: for completion (VCR), viewability and CTR, the true first-exposure probability
    of ground_truth weighted by impressions, and the observed rate of the performance rows
    (below the truth where creatives wear out). `conversions`: per UTC day, the conversions
    the ads caused (incremental, the causal truth) and those the ad server attributed.
    The observed sums are per line item × device: from `daily` when it covers the filter's
    line items (as `run_report`), else from the hourly rows.
    """
    gt = orm.GroundTruth
    source = Source.daily if _daily_covers(conn, filters) else Source.performance
    rows = _rows_of(source)
    per_series: Select[Any] = _with_parents(
        select(rows.line_item_id.label("li"), rows.device.label("device"),
               func.sum(rows.impressions).label("impressions"),
               func.sum(rows.impressions - rows.invalid).label("valid"),
               func.sum(rows.completes).label("completes"),
               func.sum(rows.viewable).label("viewable"),
               func.sum(rows.clicks).label("clicks")).select_from(_table_of(source)),
        rows.line_item_id)
    conditions = [*_entity_filters(filters, rows.line_item_id),
                  *_time_bounds(filters, source)]
    if conditions:
        per_series = per_series.where(and_(*conditions))
    s = per_series.group_by(rows.line_item_id, rows.device).subquery()
    weighted = select(
        func.sum(s.c.impressions).label("impressions"),
        _ratio(func.sum(s.c.impressions * gt.p_complete), func.sum(s.c.impressions))
        .label("true_vcr"),
        _ratio(func.sum(s.c.completes), func.sum(s.c.impressions)).label("observed_vcr"),
        _ratio(func.sum(s.c.impressions * gt.p_viewable), func.sum(s.c.impressions))
        .label("true_viewability"),
        _ratio(func.sum(s.c.viewable), func.sum(s.c.impressions)).label("observed_viewability"),
        _ratio(func.sum(s.c.valid * gt.p_click), func.sum(s.c.valid)).label("true_ctr"),
        _ratio(func.sum(s.c.clicks), func.sum(s.c.valid)).label("observed_ctr"),
    ).select_from(s).join(gt, and_(gt.line_item_id == s.c.li, gt.device == s.c.device))
    rates = {k: _plain(v) for k, v in conn.execute(weighted).mappings().one().items()}
    ct = orm.Base.metadata.tables["conversion_truth"].c
    by_day = _with_parents(
        select(ct.day, func.sum(ct.baseline_conversions).label("baseline"),
               func.sum(ct.incremental_conversions).label("incremental"),
               func.sum(ct.attributed_conversions).label("attributed"))
        .select_from(orm.Base.metadata.tables["conversion_truth"]), ct.line_item_id)
    day_conditions = [*_entity_filters(filters, ct.line_item_id), *_day_bounds(ct.day, filters)]
    if day_conditions:
        by_day = by_day.where(and_(*day_conditions))
    days = conn.execute(by_day.group_by(ct.day).order_by(ct.day).limit(MAX_REPORT_ROWS))
    return {
        "rates": {k: (0 if v is None and k == "impressions" else v) for k, v in rates.items()},
        "conversions": [{k: _plain(v) for k, v in row.items()} for row in days.mappings()],
    }

