"""What the database holds, entity by entity: `adsgen list advertisers|campaigns|line-items`
and `adsgen show advertiser|campaign|line-item ID`.

Reads only (a missing SQLite file is an error, never created), in one read transaction.
Lists are one grouped query each, whatever the size of the dataset; `show` reads one entity
with its children and sums its delivery with the primary key's leading `line_item_id`.
Results are plain dicts (names next to ids, money as Decimal with its currency) that the
CLI renders as tables or JSON; the API will serve the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from adsgen.exceptions import AdsgenError, DatabaseError, UnknownNameError
from adsgen.runs.jobs import open_database

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine, Select
    from sqlalchemy.orm import Session

    from adsgen.storage import orm

__all__ = ["ENTITY_KINDS", "list_entities", "show_entity"]

ENTITY_KINDS: Final[tuple[str, ...]] = ("advertisers", "campaigns", "line-items")
"""What `list_entities` lists; `show_entity` takes the singular (advertiser, line-item …)."""


def _kind(kind: str) -> str:
    """The plural kind (`line-item`, `line_items`, `line-items` → `line-items`)."""
    plural = kind.replace("_", "-").removesuffix("s") + "s"
    if plural not in ENTITY_KINDS:
        raise UnknownNameError("kind", kind, ENTITY_KINDS)
    return plural


def _open(db: str | None) -> Engine:
    """The database, read only; DatabaseError when it holds no adsgen tables (yet)."""
    from sqlalchemy import inspect

    from adsgen.storage.database import masked_url

    engine = open_database(db, write=False)
    if not inspect(engine).has_table("advertisers"):
        engine.dispose()
        raise DatabaseError(f"no adsgen tables in {masked_url(engine.url)}; create them with "
                            "`adsgen run-all` or `adsgen init-db`")
    return engine


def _money(micros: int | None, currency: Any) -> dict[str, Any] | None:
    from adsgen.domain.fields import from_micros

    if micros is None:
        return None
    return {"amount": from_micros(int(micros)), "currency": str(currency)}


def _days(start: datetime | None, end: datetime | None) -> int | None:
    return None if start is None or end is None else round((end - start).total_seconds() / 86400)


# --- lists -------------------------------------------------------------------------------


def list_entities(
    kind: str,
    *,
    db: str | None = None,
    advertiser_id: int | None = None,
    campaign_id: int | None = None,
) -> list[dict[str, Any]]:
    """Every advertiser, campaign or line item (`ENTITY_KINDS`) by id, with its parents
    ({"id", "name"}), flight, budget and number of children; optionally only one advertiser's or one
    campaign's. An unknown filter id is an AdsgenError naming the known ids."""
    from adsgen.storage import orm
    from adsgen.storage.persist import require

    plural = _kind(kind)
    if campaign_id is not None and plural != "line-items":
        raise AdsgenError(f"--campaign-id filters line-items, not {plural}; "
                          "use --advertiser-id")
    engine = _open(db)
    try:
        from sqlalchemy.orm import Session

        with Session(engine) as session:
            if advertiser_id is not None:
                require(session, orm.Advertiser, advertiser_id, option="--advertiser-id")
            if campaign_id is not None:
                require(session, orm.Campaign, campaign_id, option="--campaign-id")
            conn = session.connection()
            if plural == "advertisers":
                return _advertisers(conn, advertiser_id)
            if plural == "campaigns":
                return _campaigns(conn, advertiser_id)
            return _line_items(conn, advertiser_id, campaign_id)
    finally:
        engine.dispose()


def _count(child: Any, parent_key: Any) -> Any:
    """(parent id, number of children) as a subquery to outer-join."""
    from sqlalchemy import func, select

    return select(parent_key.label("parent"), func.count().label("n")).select_from(child) \
        .group_by(parent_key).subquery()


def _advertisers(conn: Connection, advertiser_id: int | None) -> list[dict[str, Any]]:
    from sqlalchemy import func, select

    from adsgen.storage.orm import Advertiser, Campaign, LineItem

    campaigns = _count(Campaign, Campaign.advertiser_id)
    items = select(Campaign.advertiser_id.label("parent"), func.count().label("n")) \
        .join(LineItem, LineItem.campaign_id == Campaign.id) \
        .group_by(Campaign.advertiser_id).subquery()
    query = (
        select(Advertiser.id, Advertiser.name, Advertiser.industry, Advertiser.currency,
               Advertiser.status, func.coalesce(campaigns.c.n, 0), func.coalesce(items.c.n, 0))
        .outerjoin(campaigns, campaigns.c.parent == Advertiser.id)
        .outerjoin(items, items.c.parent == Advertiser.id)
        .order_by(Advertiser.id)
    )
    if advertiser_id is not None:
        query = query.where(Advertiser.id == advertiser_id)
    return [
        {"id": row[0], "name": row[1], "industry": str(row[2]), "currency": str(row[3]),
         "status": row[4], "campaigns": int(row[5]), "line_items": int(row[6])}
        for row in conn.execute(query)
    ]


def _flight_and_budget(query: Select[Any], owner: Any) -> Select[Any]:
    """`query` with the flight's start and end and the budget's amount and currency of
    `owner` (the Campaign or LineItem model) joined in."""
    from adsgen.storage.orm import Budget, Flight

    key = "campaign_id" if owner.__tablename__ == "campaigns" else "line_item_id"
    return (
        query.add_columns(Flight.start_at, Flight.end_at, Budget.amount_micros, Budget.currency)
        .outerjoin(Flight, getattr(Flight, key) == owner.id)
        .outerjoin(Budget, getattr(Budget, key) == owner.id)
    )


def _campaigns(conn: Connection, advertiser_id: int | None) -> list[dict[str, Any]]:
    from sqlalchemy import func, select

    from adsgen.storage.orm import Advertiser, Campaign, LineItem

    items = _count(LineItem, LineItem.campaign_id)
    query = _flight_and_budget(
        select(Campaign.id, Campaign.name, Campaign.advertiser_id, Advertiser.name,
               Campaign.objective, func.coalesce(items.c.n, 0))
        .join(Advertiser, Advertiser.id == Campaign.advertiser_id)
        .outerjoin(items, items.c.parent == Campaign.id),
        Campaign,
    ).order_by(Campaign.id)
    if advertiser_id is not None:
        query = query.where(Campaign.advertiser_id == advertiser_id)
    return [
        {"id": row[0], "name": row[1], "advertiser": {"id": row[2], "name": row[3]},
         "objective": str(row[4]), "start": row[6], "end": row[7],
         "budget": _money(row[8], row[9]), "line_items": int(row[5])}
        for row in conn.execute(query)
    ]


def _line_items(
    conn: Connection, advertiser_id: int | None, campaign_id: int | None
) -> list[dict[str, Any]]:
    from sqlalchemy import func, select

    from adsgen.domain.fields import from_micros
    from adsgen.storage.orm import Advertiser, Campaign, Creative, LineItem

    creatives = _count(Creative, Creative.line_item_id)
    query = _flight_and_budget(
        select(LineItem.id, LineItem.name, LineItem.campaign_id, Campaign.name,
               Campaign.advertiser_id, LineItem.cpm_micros, func.coalesce(creatives.c.n, 0),
               Advertiser.name)
        .join(Campaign, Campaign.id == LineItem.campaign_id)
        .join(Advertiser, Advertiser.id == Campaign.advertiser_id)
        .outerjoin(creatives, creatives.c.parent == LineItem.id),
        LineItem,
    ).order_by(LineItem.id)
    if advertiser_id is not None:
        query = query.where(Campaign.advertiser_id == advertiser_id)
    if campaign_id is not None:
        query = query.where(LineItem.campaign_id == campaign_id)
    return [
        {"id": row[0], "name": row[1], "campaign": {"id": row[2], "name": row[3]},
         "advertiser": {"id": row[4], "name": row[7]}, "cpm": from_micros(int(row[5])),
         "start": row[8], "end": row[9], "budget": _money(row[10], row[11]),
         "creatives": int(row[6])}
        for row in conn.execute(query)
    ]


# --- one entity ----------------------------------------------------------------------------


def show_entity(kind: str, entity_id: int, *, db: str | None = None) -> dict[str, Any]:
    """One advertiser, campaign or line item with its parents (id and name), flight, budget
    and currency, frequency cap, targeting, children and delivery totals. An unknown id is
    an AdsgenError naming it and the known ids."""
    from sqlalchemy.orm import Session

    from adsgen.storage import orm
    from adsgen.storage.persist import require

    plural = _kind(kind)
    what = plural.removesuffix("s")
    engine = _open(db)
    try:
        with Session(engine) as session:
            if plural == "advertisers":
                return _advertiser(session, require(session, orm.Advertiser, entity_id,
                                                    option=what))
            if plural == "campaigns":
                return _campaign(session, require(session, orm.Campaign, entity_id, option=what))
            return _line_item(session, require(session, orm.LineItem, entity_id, option=what))
    finally:
        engine.dispose()


def _ref(row: Any) -> dict[str, Any]:
    return {"id": row.id, "name": row.name}


def _flight(flight: orm.Flight | None) -> dict[str, Any] | None:
    if flight is None:
        return None
    return {"start": flight.start_at, "end": flight.end_at,
            "days": _days(flight.start_at, flight.end_at)}


def _budget(budget: orm.Budget | None) -> dict[str, Any] | None:
    if budget is None:
        return None
    from adsgen.domain.fields import from_micros

    daily = budget.daily_cap_micros
    return {
        **(_money(budget.amount_micros, budget.currency) or {}),
        "type": str(budget.budget_type),
        "pacing": str(budget.pacing_type),
        "pacing_period": str(budget.pacing_period),
        "daily_cap": None if daily is None else from_micros(daily),
    }


def _cap(cap: orm.FrequencyCap | None) -> dict[str, Any] | None:
    if cap is None:
        return None
    return {"max_impressions": cap.max_impressions, "per": cap.time_unit_count,
            "time_unit": str(cap.time_unit)}


def _delivery(session: Session, line_item_ids: Sequence[int], currency: Any) -> dict[str, Any]:
    """Delivery totals of these line items: hours, impressions, completes, clicks, spend."""
    from sqlalchemy import func, select

    from adsgen.domain.fields import from_micros
    from adsgen.storage.orm import Performance

    perf = Performance
    first = last = None
    impressions = completes = clicks = spend = 0
    for chunk in range(0, len(line_item_ids), 1000):  # bounded IN lists on every dialect
        ids = line_item_ids[chunk : chunk + 1000]
        row = session.execute(
            select(func.min(perf.hour), func.max(perf.hour),
                   func.coalesce(func.sum(perf.impressions), 0),
                   func.coalesce(func.sum(perf.completes), 0),
                   func.coalesce(func.sum(perf.clicks), 0),
                   func.coalesce(func.sum(perf.spend_micros), 0))
            .where(perf.line_item_id.in_(ids))
        ).one()
        if row[0] is not None:
            first = row[0] if first is None else min(first, row[0])
            last = row[1] if last is None else max(last, row[1])
        impressions += int(row[2])
        completes += int(row[3])
        clicks += int(row[4])
        spend += int(row[5])
    return {
        "first_hour": first, "last_hour": last, "impressions": impressions,
        "completes": completes, "clicks": clicks,
        "spend": {"amount": from_micros(spend), "currency": str(currency)},
    }


def _when_and_how_much(owner: orm.Campaign | orm.LineItem) -> dict[str, Any]:
    """A child row's flight start and end and its budget (None where it has none)."""
    flight, budget = owner.flight, owner.budget
    return {
        "start": flight.start_at if flight else None,
        "end": flight.end_at if flight else None,
        "budget": _money(budget.amount_micros, budget.currency) if budget else None,
    }


def _advertiser(session: Session, advertiser: orm.Advertiser) -> dict[str, Any]:
    campaigns = sorted(advertiser.campaigns, key=lambda c: c.id)
    item_ids = [i.id for c in campaigns for i in c.line_items]
    return {
        "id": advertiser.id, "name": advertiser.name, "status": advertiser.status,
        "industry": str(advertiser.industry), "domain": advertiser.domain,
        "currency": str(advertiser.currency),
        "campaigns": [
            {"id": c.id, "name": c.name, "objective": str(c.objective),
             **_when_and_how_much(c), "line_items": len(c.line_items)}
            for c in campaigns
        ],
        "delivery": _delivery(session, item_ids, advertiser.currency),
    }


def _campaign(session: Session, campaign: orm.Campaign) -> dict[str, Any]:
    items = sorted(campaign.line_items, key=lambda i: i.id)
    return {
        "id": campaign.id, "name": campaign.name, "status": campaign.status,
        "objective": str(campaign.objective), "dsp_partner": str(campaign.dsp_partner),
        "advertiser": _ref(campaign.advertiser),
        "flight": _flight(campaign.flight),
        "budget": _budget(campaign.budget),
        "frequency_cap": _cap(campaign.frequency_cap),
        "line_items": [
            {"id": i.id, "name": i.name, "cpm": _cpm(i.cpm_micros),
             **_when_and_how_much(i), "creatives": len(i.creatives)}
            for i in items
        ],
        "delivery": _delivery(session, [i.id for i in items], _currency(campaign.budget,
                                                                        campaign.advertiser)),
    }


def _line_item(session: Session, item: orm.LineItem) -> dict[str, Any]:
    targeting: dict[str, list[str]] = {}
    for rule in sorted(item.targeting_rules, key=lambda r: (str(r.key), r.value)):
        targeting.setdefault(str(rule.key), []).append(rule.value)
    campaign = item.campaign
    return {
        "id": item.id, "name": item.name, "status": item.status,
        "ad_format": str(item.ad_format), "position": str(item.position),
        "cpm": _cpm(item.cpm_micros),
        "campaign": _ref(campaign), "advertiser": _ref(campaign.advertiser),
        "flight": _flight(item.flight),
        "budget": _budget(item.budget),
        "frequency_cap": _cap(item.frequency_cap),
        "targeting": targeting,
        "creatives": [
            {"id": c.id, "name": c.name, "format": str(c.ad_format),
             "mime_type": str(c.mime_type), "duration_s": c.duration_s, "qr": c.has_qr,
             "interactive": c.interactive, "qa_status": str(c.qa_status)}
            for c in sorted(item.creatives, key=lambda c: c.id)
        ],
        "delivery": _delivery(session, [item.id], _currency(item.budget, campaign.advertiser)),
    }


def _cpm(micros: int) -> Decimal:
    from adsgen.domain.fields import from_micros

    return from_micros(micros)


def _currency(budget: orm.Budget | None, advertiser: orm.Advertiser) -> Any:
    """The currency spend is counted in: the budget's, else the advertiser's."""
    return budget.currency if budget is not None else advertiser.currency
