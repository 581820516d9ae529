"""Plans in and out of the ORM: write a plan tree, read line items back as simulation inputs.

The schema tree (AdvertiserCreate …) maps field for field onto the ORM; money goes in as
micros. Reading back goes through the same schemas (validated from attributes), then
`adsgen.build.numbering.sim_item`, so a line item read from the database and one numbered in memory
become the same simulation input.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Connection, bindparam, delete, inspect, select, text
from sqlalchemy.orm import Session, selectinload

from adsgen.build.items import SimLineItem
from adsgen.build.numbering import (
    advertiser_columns,
    budget_columns,
    campaign_active,
    campaign_columns,
    creative_columns,
    flight_columns,
    frequency_cap_columns,
    line_item_columns,
    sim_item,
)
from adsgen.domain.enums import EntityStatus
from adsgen.domain.schemas import (
    AdvertiserCreate,
    CampaignBase,
    CampaignCreate,
    CreativeBase,
    CreativeCreate,
    FrequencyCapSchema,
    LineItemBase,
    LineItemCreate,
)
from adsgen.exceptions import AdsgenError
from adsgen.storage import orm

__all__ = [
    "add_campaign",
    "add_creative",
    "add_line_item",
    "clear_dataset",
    "foreign_references",
    "id_ranges",
    "load_sim_items",
    "require",
    "save_plan",
]

_Row = TypeVar("_Row", orm.Advertiser, orm.Campaign, orm.LineItem)
_LISTED_IDS = 20  # runs of known ids shown in an error message


def _cap(cap: FrequencyCapSchema | None) -> orm.FrequencyCap | None:
    return None if cap is None else orm.FrequencyCap(**frequency_cap_columns(cap))


def _creative(creative: CreativeCreate) -> orm.Creative:
    return orm.Creative(**creative_columns(creative))


def _line_item(item: LineItemCreate) -> orm.LineItem:
    return orm.LineItem(
        **line_item_columns(item),
        flight=orm.Flight(**flight_columns(item.flight)),
        budget=orm.Budget(**budget_columns(item.budget)),
        frequency_cap=_cap(item.frequency_cap),
        targeting_rules=[
            orm.TargetingRule(key=key, value=value) for key, value in item.targeting.rows()
        ],
        creatives=[_creative(c) for c in item.creatives],
    )


def _campaign(campaign: CampaignCreate) -> orm.Campaign:
    return orm.Campaign(
        **campaign_columns(campaign),
        flight=orm.Flight(**flight_columns(campaign.flight)),
        budget=orm.Budget(**budget_columns(campaign.budget)),
        frequency_cap=_cap(campaign.frequency_cap),
        line_items=[_line_item(i) for i in campaign.line_items],
    )


def save_plan(
    session: Session,
    advertisers: Sequence[AdvertiserCreate],
    *,
    numbered: bool = False,
    timestamp: datetime | None = None,
) -> list[orm.Advertiser]:
    """Add each advertiser with its whole tree and flush, so every row has its id.

    `numbered` (into empty tables only: after `clear_dataset`) gives every row the id of its
    position in the plan, per table from 1, instead of the database's counter: the same plan
    gets the same ids on every engine (MariaDB's AUTO_INCREMENT keeps counting after a
    delete, and resetting it would commit). `timestamp` is written as every row's
    created_at/updated_at instead of the database's clock.
    """
    rows = [
        orm.Advertiser(
            **advertiser_columns(a), campaigns=[_campaign(c) for c in a.campaigns]
        )
        for a in advertisers
    ]
    if numbered or timestamp is not None:
        _stamp(rows, numbered=numbered, timestamp=timestamp)
    session.add_all(rows)
    session.flush()
    if numbered and session.connection().dialect.name == "postgresql":
        _restart_sequences(session.connection())
    return rows


def _tree(advertisers: Sequence[orm.Advertiser]) -> list[orm.Base]:
    """Every row of these trees, in plan order (parents before children)."""
    rows: list[orm.Base | None] = []
    for advertiser in advertisers:
        rows.append(advertiser)
        for campaign in advertiser.campaigns:
            rows += [campaign, campaign.flight, campaign.budget, campaign.frequency_cap]
            for item in campaign.line_items:
                rows += [item, item.flight, item.budget, item.frequency_cap]
                rows += [*item.targeting_rules, *item.creatives]
    return [row for row in rows if row is not None]


def _stamp(
    advertisers: Sequence[orm.Advertiser], *, numbered: bool, timestamp: datetime | None
) -> None:
    """Ids by plan position per table (with `numbered`) and fixed timestamps (with one)."""
    counters: dict[type, int] = {}
    for row in _tree(advertisers):
        kind = type(row)
        if numbered:
            counters[kind] = counters.get(kind, 0) + 1
            row.id = counters[kind]  # type: ignore[attr-defined]
        if timestamp is not None and hasattr(row, "created_at"):
            row.created_at = row.updated_at = timestamp  # type: ignore[attr-defined]


def _restart_sequences(conn: Connection) -> None:
    """After rows with explicit ids, move each table's id sequence past them (PostgreSQL;
    inside the transaction: the TRUNCATE … RESTART IDENTITY before made the sequences new)."""
    for table in orm.Base.metadata.sorted_tables:
        if "id" in table.c and table.c.id.autoincrement is not False and table.c.id.primary_key:
            name = conn.dialect.identifier_preparer.format_table(table)
            conn.execute(text(
                f"SELECT setval(pg_get_serial_sequence(:table, 'id'),"
                f" COALESCE((SELECT MAX(id) FROM {name}), 0) + 1, false)"
            ), {"table": name})


def id_ranges(ids: Iterable[int]) -> list[str]:
    """Sorted ids as runs: [1, 2, 3, 5, 7, 8] → ['1-3', '5', '7-8']."""
    runs: list[list[int]] = []
    for value in ids:
        if runs and value == runs[-1][1] + 1:
            runs[-1][1] = value
        else:
            runs.append([value, value])
    return [str(a) if a == b else f"{a}-{b}" for a, b in runs]


def require(session: Session, model: type[_Row], row_id: int, *, option: str) -> _Row:
    """The row of `model` with this id; AdsgenError naming `option` and the known ids (as
    ranges, `1-407`) if none."""
    row = session.get(model, row_id)
    if row is not None:
        return row
    runs = id_ranges(session.execute(select(model.id).order_by(model.id)).scalars())
    listing = ", ".join(runs[:_LISTED_IDS]) + (", …" if len(runs) > _LISTED_IDS else "")
    entity = str(model.__tablename__).removesuffix("s").replace("_", " ")
    hint = "none yet (run `adsgen create-advertiser --auto` or `adsgen run-all`)"
    raise AdsgenError(f"{option} {row_id}: no such {entity}; known ids: {listing or hint}")


def add_campaign(session: Session, advertiser_id: int, campaign: CampaignCreate) -> orm.Campaign:
    """Attach a campaign tree to an existing advertiser; AdsgenError when there is none."""
    advertiser = require(session, orm.Advertiser, advertiser_id, option="--advertiser-id")
    row = _campaign(campaign)
    advertiser.campaigns.append(row)
    session.flush()
    return row


def add_line_item(session: Session, campaign_id: int, item: LineItemCreate) -> orm.LineItem:
    """Attach a line item (with its creatives) to an existing campaign and flush."""
    campaign = require(session, orm.Campaign, campaign_id, option="--campaign-id")
    row = _line_item(item)
    campaign.line_items.append(row)
    session.flush()
    return row


def add_creative(session: Session, line_item_id: int, creative: CreativeCreate) -> orm.Creative:
    """Attach a creative to an existing line item and flush."""
    item = require(session, orm.LineItem, line_item_id, option="--line-item-id")
    row = _creative(creative)
    item.creatives.append(row)
    session.flush()
    return row


def load_sim_items(
    session: Session, line_item_ids: Sequence[int] | None = None
) -> list[SimLineItem]:
    """Line items (None: all) as simulation inputs, in id order, parents' statuses folded in
    and the advertiser's industry attached; one query per relationship, whatever the count."""
    query = (
        select(orm.LineItem)
        .options(
            selectinload(orm.LineItem.campaign).selectinload(orm.Campaign.advertiser),
            selectinload(orm.LineItem.campaign).selectinload(orm.Campaign.frequency_cap),
            # CampaignBase validates the campaign's flight and budget: load them here too,
            # or each campaign costs two more queries
            selectinload(orm.LineItem.campaign).selectinload(orm.Campaign.flight),
            selectinload(orm.LineItem.campaign).selectinload(orm.Campaign.budget),
            selectinload(orm.LineItem.creatives),
            selectinload(orm.LineItem.targeting_rules),
            selectinload(orm.LineItem.flight),
            selectinload(orm.LineItem.budget),
            selectinload(orm.LineItem.frequency_cap),
        )
        .order_by(orm.LineItem.id)
    )
    if line_item_ids is not None:
        query = query.where(orm.LineItem.id.in_(list(line_item_ids)))
    items: list[SimLineItem] = []
    for row in session.execute(query).scalars():
        campaign = row.campaign
        base = LineItemBase.model_validate(row, from_attributes=True)
        campaign_base = CampaignBase.model_validate(campaign, from_attributes=True)
        creatives = [
            (c.id, CreativeBase.model_validate(c, from_attributes=True))
            for c in sorted(row.creatives, key=lambda c: c.id)
        ]
        cap = (
            None
            if campaign.frequency_cap is None
            else FrequencyCapSchema.model_validate(campaign.frequency_cap, from_attributes=True)
        )
        items.append(
            sim_item(
                base,
                line_item_id=row.id,
                campaign_id=campaign.id,
                advertiser_id=campaign.advertiser_id,
                creatives=creatives,
                active=campaign_active(EntityStatus(campaign.advertiser.status), campaign_base),
                objective=campaign.objective,
                campaign_cap=cap,
                time_zone=campaign.time_zone,
                industry=campaign.advertiser.industry,
            )
        )
    return items


def foreign_references(conn: Connection) -> list[tuple[str, str]]:
    """(table, adsgen table it references) for every foreign key into an adsgen table from a
    table adsgen does not own, in the database the connection uses."""
    names = [t.name for t in orm.Base.metadata.sorted_tables]
    dialect = conn.dialect.name
    if dialect == "postgresql":
        ours = "SELECT to_regclass(n) FROM unnest(CAST(:names AS text[])) n"
        rows = conn.execute(
            text(
                "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text"
                " FROM pg_constraint c WHERE c.contype = 'f'"
                f" AND c.confrelid = ANY({ours}) AND NOT c.conrelid = ANY({ours})"
                " ORDER BY 1, 2"
            ),
            {"names": names},
        )
        return [(str(a), str(b)) for a, b in rows]
    if dialect in ("mysql", "mariadb"):
        rows = conn.execute(
            text(
                "SELECT DISTINCT IF(table_schema = DATABASE(), table_name,"
                " CONCAT(table_schema, '.', table_name)), referenced_table_name"
                " FROM information_schema.key_column_usage"
                " WHERE referenced_table_schema = DATABASE() AND referenced_table_name IN :names"
                " AND NOT (table_schema = DATABASE() AND table_name IN :names)"
                " ORDER BY 1, 2"
            ).bindparams(bindparam("names", expanding=True)),
            {"names": names},
        )
        return [(str(a), str(b)) for a, b in rows]
    inspector = inspect(conn)
    own = set(names)
    found = set()
    for table in inspector.get_table_names():
        if table in own:
            continue
        for key in inspector.get_foreign_keys(table):
            if key["referred_table"] in own:
                found.add((table, key["referred_table"]))
    return sorted(found)


def clear_dataset(conn: Connection) -> None:
    """Delete every adsgen row inside the caller's transaction, so ids start again at 1.

    Refuses (AdsgenError naming it) when a table adsgen does not own has a foreign key to an
    adsgen table: deleting would cascade into, or be blocked by, the user's own rows.
    PostgreSQL restarts its sequences (TRUNCATE … RESTART IDENTITY is transactional there,
    and never CASCADE); SQLite reuses ids after a delete on its own; MySQL/MariaDB keep
    counting (their TRUNCATE would commit), so there `save_plan(numbered=True)` gives the ids.
    """
    referencing = foreign_references(conn)
    if referencing:
        listed = ", ".join(f"{table!r} (references {target!r})" for table, target in referencing)
        raise AdsgenError(
            f"cannot replace the dataset: table(s) adsgen does not own reference its tables: "
            f"{listed}; their rows would be deleted or orphaned. Drop those foreign keys or use "
            "another database; nothing was changed"
        )
    tables = list(reversed(orm.Base.metadata.sorted_tables))
    if conn.dialect.name == "postgresql":
        names = ", ".join(conn.dialect.identifier_preparer.format_table(t) for t in tables)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY"))
        return
    for table in tables:
        conn.execute(delete(table))
