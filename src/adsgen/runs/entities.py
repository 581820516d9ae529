"""Entities page by page: the API's lists and reads of advertisers, campaigns, line items and
creatives, as the domain's Read schemas.

A list is one keyset-paginated query: filters are SQLAlchemy conditions (bound parameters),
the sort is one column (`name`, `-created_at` …) with the id breaking ties, and the cursor is
an opaque token holding the last row's sort value and id together with the sort it belongs
to, so page N+1 costs the same as page 1 whatever the table's size (no OFFSET). Children the
Read schemas need (flight, budget, cap, targeting) are loaded with one query per
relationship per page.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from pydantic import BaseModel
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from adsgen.domain.schemas import AdvertiserRead, CampaignRead, CreativeRead, LineItemRead
from adsgen.exceptions import AdsgenError
from adsgen.storage import orm

__all__ = ["KINDS", "MAX_PAGE", "SORTS", "Kind", "Page", "get_entity", "list_entities"]

MAX_PAGE: Final = 1000
"""The most rows one page holds."""
SORTS: Final = ("id", "name", "status", "created_at", "updated_at")
"""Columns a list sorts by (`-name`: descending)."""


@dataclass(frozen=True)
class Kind:
    """One entity kind: its ORM model, Read schema, the relationships the schema reads and
    the filters it takes (filter name → how to reach the column)."""

    name: str
    model: Any
    read: type[BaseModel]
    children: tuple[str, ...]
    filters: tuple[str, ...]


KINDS: Final[dict[str, Kind]] = {
    kind.name: kind
    for kind in (
        Kind("advertisers", orm.Advertiser, AdvertiserRead, (),
             ("status", "industry", "currency", "name")),
        Kind("campaigns", orm.Campaign, CampaignRead, ("flight", "budget", "frequency_cap"),
             ("status", "advertiser_id", "objective", "name")),
        Kind("line_items", orm.LineItem, LineItemRead,
             ("flight", "budget", "frequency_cap", "targeting_rules"),
             ("status", "advertiser_id", "campaign_id", "name")),
        Kind("creatives", orm.Creative, CreativeRead, (),
             ("status", "advertiser_id", "campaign_id", "line_item_id", "name")),
    )
}


@dataclass
class Page:
    """One page of a list and the cursor of the next (None: this was the last)."""

    items: list[BaseModel]
    next_cursor: str | None


def _kind(name: str) -> Kind:
    kind = KINDS.get(name.replace("-", "_"))
    if kind is None:
        raise AdsgenError(f"unknown kind {name!r}; one of {', '.join(KINDS)}")
    return kind


def _with_children(kind: Kind, query: Select[Any]) -> Select[Any]:
    return query.options(*[selectinload(getattr(kind.model, c)) for c in kind.children])


def _condition(kind: Kind, key: str, value: Any) -> tuple[ColumnElement[bool], list[str]]:
    """The condition of one filter, and the parents it needs joined (campaigns, line_items)."""
    model = kind.model
    if key == "name":
        return func.lower(model.name).contains(str(value).lower(), autoescape=True), []
    if hasattr(model, key):
        return getattr(model, key) == value, []
    if key == "advertiser_id":  # line items and creatives: through the campaign
        joins = ["line_items", "campaigns"] if kind.name == "creatives" else ["campaigns"]
        return orm.Campaign.advertiser_id == value, joins
    if key == "campaign_id":  # creatives: through the line item
        return orm.LineItem.campaign_id == value, ["line_items"]
    raise AssertionError(f"{kind.name} has no filter {key}")  # pragma: no cover


def _joined(kind: Kind, query: Select[Any], parents: list[str]) -> Select[Any]:
    if "line_items" in parents:
        query = query.join(orm.LineItem, orm.LineItem.id == kind.model.line_item_id)
    if "campaigns" in parents:
        query = query.join(orm.Campaign, orm.Campaign.id == orm.LineItem.campaign_id
                           if kind.name != "campaigns" else kind.model.campaign_id)
    return query


def _encode(sort: str, value: Any, row_id: int) -> str:
    if isinstance(value, datetime):
        value = {"t": value.isoformat()}
    raw = json.dumps([sort, value, row_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, sort: str) -> tuple[Any, int]:
    """(sort value, id) of a cursor made by `_encode` for this sort; AdsgenError if not."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        token_sort, value, row_id = json.loads(raw)
        if isinstance(value, dict):
            value = datetime.fromisoformat(value["t"])
        if not isinstance(row_id, int) or isinstance(row_id, bool):
            raise ValueError(row_id)
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise AdsgenError("cursor is not one this API gave; pass next_cursor as "
                          "returned, or leave it out for the first page") from None
    if token_sort != sort:
        raise AdsgenError(f"cursor belongs to sort {token_sort!r}, not {sort!r}; keep the "
                          "sort while paging")
    return value, row_id


def list_entities(
    session: Session,
    kind_name: str,
    *,
    filters: Mapping[str, Any] | None = None,
    sort: str = "id",
    limit: int = 100,
    cursor: str | None = None,
) -> Page:
    """A page of `kind_name` (advertisers, campaigns, line_items, creatives) as Read schemas.

    `filters`: the kind's filter names (Kind.filters) → value, None meaning no filter;
    `name` matches a case-insensitive substring. `sort`: one of SORTS, `-` for descending,
    ties broken by id. Raises AdsgenError for an unknown filter or sort, a limit outside
    1 … MAX_PAGE, or a cursor this function did not give for this sort.
    """
    kind = _kind(kind_name)
    if not 1 <= limit <= MAX_PAGE:
        raise AdsgenError(f"limit must be 1 to {MAX_PAGE}, got {limit}")
    column_name = sort.removeprefix("-")
    if column_name not in SORTS:
        raise AdsgenError(f"cannot sort by {sort!r}; one of {', '.join(SORTS)} "
                          "(prefix - for descending)")
    descending = sort.startswith("-")
    model = kind.model
    column = getattr(model, column_name)
    query = select(model)
    parents: list[str] = []
    for key, value in (filters or {}).items():
        if value is None:
            continue
        if key not in kind.filters:
            raise AdsgenError(f"{kind.name} have no filter {key!r}; "
                              f"one of {', '.join(kind.filters)}")
        condition, joins = _condition(kind, key, value)
        query = query.where(condition)
        parents += [j for j in joins if j not in parents]
    query = _joined(kind, query, parents)
    if cursor is not None:
        value, last_id = _decode(cursor, sort)
        if column_name == "id":
            query = query.where(model.id < last_id if descending else model.id > last_id)
        else:
            beyond = column < value if descending else column > value
            query = query.where(or_(beyond, and_(column == value, model.id > last_id)))
    order = [column.desc() if descending else column.asc()]
    if column_name != "id":
        order.append(model.id.asc())
    rows = session.execute(
        _with_children(kind, query).order_by(*order).limit(limit + 1)).scalars().all()
    items = [kind.read.model_validate(row) for row in rows[:limit]]
    last = rows[limit - 1] if len(rows) > limit else None
    next_cursor = None if last is None else _encode(sort, getattr(last, column_name), last.id)
    return Page(items=items, next_cursor=next_cursor)


def get_entity(session: Session, kind_name: str, entity_id: int) -> BaseModel | None:
    """One entity as its Read schema, or None when there is no such id."""
    kind = _kind(kind_name)
    row = session.execute(
        _with_children(kind, select(kind.model).where(kind.model.id == entity_id))
    ).scalar_one_or_none()
    return None if row is None else kind.read.model_validate(row)
