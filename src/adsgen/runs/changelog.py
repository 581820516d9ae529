"""The API's change events: what a POST, PATCH or DELETE did to an entity, as rows of
`change_events`, and the pages of them `GET /changes` answers.

An edit takes the entity's `state` before and after and `record`s the difference in the
edit's own session, so the events commit with the change or roll back with it; a create
`record_created`s one event per entity it wrote (an advertiser posted with its campaigns:
one for each of them, their line items and creatives), every field going from null to its
value, in the create's transaction (`adsgen.runs.jobs.job(changes=True)`). The event
names are `adsgen stream`'s (`adsgen.stream.events.CHANGE_TYPES`: `budgetChanged`,
`lineItemPaused`, `lineItemResumed`, with its field names `status`, `budget_micros`,
`daily_cap_micros`); the API adds what the stream never does: a flight changed
(`flightChanged`, fields `start_at`, `end_at`), another entity's status (`campaignPaused`,
`creativeArchived`, …), creates of the entities the stream has no `…Created` for
(`advertiserCreated`, `creativeCreated`) and deletes (`lineItemDeleted`, …).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from adsgen.exceptions import AdsgenError
from adsgen.storage import orm

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["ENTITY_TYPES", "ChangePage", "event_type_of_status", "list_changes", "record",
           "record_created", "state"]

ENTITY_TYPES: dict[str, str] = {"advertisers": "advertiser", "campaigns": "campaign",
                                "line_items": "line_item", "creatives": "creative"}
"""Entity kind (the API's) → `change_events.entity_type`."""
_CAMEL = {"advertisers": "advertiser", "campaigns": "campaign", "line_items": "lineItem",
          "creatives": "creative"}
_VERBS = {"paused": "Paused", "archived": "Archived", "completed": "Completed",
          "draft": "Drafted"}
_BUDGET = ("budget_micros", "daily_cap_micros")
_FLIGHT = ("start_at", "end_at")


def state(kind: str, row: Any) -> dict[str, Any]:
    """The fields of an entity a change event reports: its status, and a campaign's or line
    item's budget (micros) and flight (ISO UTC times)."""
    out: dict[str, Any] = {"status": row.status}
    if kind in ("campaigns", "line_items"):
        budget, flight = row.budget, row.flight
        out["budget_micros"] = budget.amount_micros if budget is not None else None
        out["daily_cap_micros"] = budget.daily_cap_micros if budget is not None else None
        out["start_at"] = _utc(flight.start_at) if flight is not None else None
        out["end_at"] = _utc(flight.end_at) if flight is not None else None
    return out


def _utc(when: datetime) -> str:
    """ISO time in UTC with a Z, whether the row holds it naive (read) or aware (written)."""
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when.isoformat(timespec="seconds") + "Z"


def event_type_of_status(kind: str, old: str, new: str) -> str:
    """`lineItemPaused`, `lineItemResumed` (active again after a pause), `campaignActivated`…"""
    if new == "active":
        verb = "Resumed" if old == "paused" else "Activated"
    else:
        verb = _VERBS.get(new, "StatusChanged")
    return f"{_CAMEL[kind]}{verb}"


def _diff(before: dict[str, Any], after: dict[str, Any],
          names: tuple[str, ...]) -> dict[str, Any]:
    return {n: {"old": before[n], "new": after[n]} for n in names
            if n in before and before[n] != after[n]}


def record(session: Session, kind: str, entity_id: int, before: dict[str, Any],
           after: dict[str, Any] | None) -> list[orm.ChangeEvent]:
    """Add the events from `before` to `after` (None: deleted) to the session: one per
    status, budget and flight that changed; nothing when nothing did."""
    events: list[tuple[str, dict[str, Any]]] = []
    if after is None:
        events.append((f"{_CAMEL[kind]}Deleted", {"status": {"old": before["status"],
                                                              "new": None}}))
    else:
        if before["status"] != after["status"]:
            events.append((event_type_of_status(kind, before["status"], after["status"]),
                           _diff(before, after, ("status",))))
        for name, fields in (("budgetChanged", _BUDGET), ("flightChanged", _FLIGHT)):
            if changed := _diff(before, after, fields):
                events.append((name, changed))
    rows = [orm.ChangeEvent(entity_type=ENTITY_TYPES[kind], entity_id=entity_id,
                            event_type=name, changes=changes, source="api")
            for name, changes in events]
    session.add_all(rows)
    return rows


def record_created(session: Session, kind: str, rows: Sequence[Any]) -> list[orm.ChangeEvent]:
    """Add a `campaignCreated`, `lineItemCreated` … event per new row (flushed: ids known)
    to the session; its changes: each field of `state` from null to the row's value."""
    events = [orm.ChangeEvent(entity_type=ENTITY_TYPES[kind], entity_id=row.id,
                              event_type=f"{_CAMEL[kind]}Created",
                              changes={name: {"old": None, "new": value}
                                       for name, value in state(kind, row).items()},
                              source="api")
              for row in rows]
    session.add_all(events)
    return events


@dataclass(frozen=True)
class ChangePage:
    """One page of change events, oldest first, and the cursor of the next (None: last)."""

    items: list[orm.ChangeEvent]
    next_cursor: str | None


def list_changes(session: Session, *, entity_type: str | None = None,
                 entity_id: int | None = None, limit: int = 100,
                 cursor: str | None = None) -> ChangePage:
    """Change events in the order they were made, filtered by entity type and id; the
    cursor is the entity lists' (`adsgen.runs.entities`), sorted by id. AdsgenError for a
    limit outside 1 … MAX_PAGE or a cursor this API did not give."""
    from adsgen.runs.entities import MAX_PAGE, _decode, _encode

    if not 1 <= limit <= MAX_PAGE:
        raise AdsgenError(f"limit must be 1 to {MAX_PAGE}, got {limit}")
    event = orm.ChangeEvent
    query = select(event)
    if entity_type is not None:
        query = query.where(event.entity_type == entity_type)
    if entity_id is not None:
        query = query.where(event.entity_id == entity_id)
    if cursor is not None:
        _, last_id = _decode(cursor, "id")
        query = query.where(event.id > last_id)
    rows = list(session.execute(query.order_by(event.id).limit(limit + 1)).scalars())
    last = rows[limit - 1] if len(rows) > limit else None
    return ChangePage(items=rows[:limit],
                      next_cursor=None if last is None else _encode("id", last.id, last.id))
