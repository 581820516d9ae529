"""Entity change events: the plan's lifecycle as a change stream, in time with delivery.

The batch's entity tables are the plan as it stands; the change stream says how it got
there, at moments the batch's delivery already agrees with, so the stream still rolls up to
the batch's `performance` exactly:

- `campaignCreated` at the campaign's flight start; `status`: its status in the batch;
- `budgetChanged` with each campaign's and line item's creation; `budget_micros`,
  `daily_cap_micros`: its budget (from none to this);
- `lineItemCreated` at the line item's flight start, before its first impression; `status`:
  its status in the batch (a `paused` one never delivers);
- `creativeApproved` with its line item's creation, for the creatives the batch holds
  approved; `status`: `approved_servable`;
- `lineItemPaused` at the first hour of a run of at least 4 flight hours in which the batch
  delivers nothing to the line item, between two that deliver; `status`: `paused`;
- `lineItemResumed` at the hour delivery picks up again; `status`: `active`.

Half the runs of idle hours (keyed by seed, line item and hour) become a pause: no
impression of a line item falls between its pause and its resume, and every entity ends
in the state the batch holds. A budget changed mid-flight would change what pacing
delivers, which the batch does not model, so budgets change only at creation. Times are
hour boundaries (changes go before the hour's delivery events), kept within the stream's
hours.

In an `EventBatch` a change event has the kind `FIRST_CHANGE + k`, the entity's id in
`ordinal` (the campaign for `campaignCreated` and a campaign's `budgetChanged`, whose
`line_item` is 0), the budget in `cost`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from adsgen.seeding import entity_keys, hash_counters, uniform
from adsgen.stream.events import CHANGE_TYPES, FIRST_CHANGE, EventBatch

__all__ = [
    "PAUSE_MIN_HOURS", "ChangeBook", "before_changes", "change_events", "change_ids",
    "change_lines", "change_statements",
]

PAUSE_MIN_HOURS = 4
"""Idle flight hours (no impression in the batch) that may hold a pause."""
PAUSE_SHARE = 0.5
"""Share of such runs that are a pause."""
(CAMPAIGN_CREATED, LINE_ITEM_CREATED, BUDGET_CHANGED, CREATIVE_APPROVED, LINE_ITEM_PAUSED,
 LINE_ITEM_RESUMED) = (FIRST_CHANGE + k for k in range(len(CHANGE_TYPES)))
_US = 1_000_000


def _epoch(values: pa.ChunkedArray) -> np.ndarray:
    seconds = pc.cast(pc.cast(values, pa.timestamp("s", tz="UTC")), pa.int64())
    return np.asarray(seconds.to_numpy(zero_copy_only=False), dtype=np.int64)


def _starts(flights: pa.Table, owner: str) -> dict[int, int]:
    """Owner id → its flight's start (epoch s)."""
    rows = flights.filter(pc.is_valid(flights[owner]))
    return dict(zip(rows[owner].to_pylist(), _epoch(rows["start_at"]).tolist(), strict=True))


def _idle_runs(performance: pa.Table, seed: int) -> list[tuple[int, int, int]]:
    """(line item, first idle hour, hour delivery resumes) of the runs chosen as pauses."""
    busy = performance.filter(pc.greater(performance["impressions"], 0))
    if not busy.num_rows:
        return []
    li = busy["line_item_id"].to_numpy()
    hour = pc.cast(busy["hour"].cast(pa.int64()), pa.int64()).to_numpy() // _US // 3600
    key = np.unique(li.astype(np.int64) * (1 << 32) + hour)
    li, hour = key >> 32, key & ((1 << 32) - 1)
    gap = np.flatnonzero((li[1:] == li[:-1]) & (hour[1:] - hour[:-1] > PAUSE_MIN_HOURS))
    run_li, begin, end = li[gap], (hour[gap] + 1) * 3600, hour[gap + 1] * 3600
    draw = uniform(hash_counters(entity_keys(seed, "stream.pauses", run_li),
                                 begin.astype(np.uint64)))
    chosen = draw < PAUSE_SHARE
    return list(zip(run_li[chosen].tolist(), begin[chosen].tolist(), end[chosen].tolist(),
                    strict=True))


def change_events(entities: dict[str, pa.Table], performance: pa.Table, seed: int,
                  first_hour: int | None, end_hour: int | None) -> EventBatch:
    """The plan's change events (see the module), sorted by time; none without entities."""
    if "campaigns" not in entities or first_hour is None or end_hour is None:
        return EventBatch.empty()
    flights, budgets = entities["flights"], entities["budgets"]
    c_start, li_start = _starts(flights, "campaign_id"), _starts(flights, "line_item_id")
    c_budget = _budgets(budgets, "campaign_id")
    li_budget = _budgets(budgets, "line_item_id")
    items = entities["line_items"]
    li_campaign = dict(zip(items["id"].to_pylist(), items["campaign_id"].to_pylist(),
                           strict=True))
    for li, campaign in li_campaign.items():  # a campaign without a flight row of its own
        if li in li_start:
            c_start.setdefault(campaign, li_start[li])
    rows: list[tuple[int, int, int, int, int, int, int]] = []  # time, rank, kind, li, …
    for campaign in entities["campaigns"]["id"].to_pylist():
        at = c_start.get(campaign, first_hour)
        rows.append((at, 0, CAMPAIGN_CREATED, 0, 0, campaign, 0))
        if campaign in c_budget:
            rows.append((at, 1, BUDGET_CHANGED, 0, 0, campaign, c_budget[campaign]))
    for li, campaign in li_campaign.items():
        at = li_start.get(li, c_start.get(campaign, first_hour))
        rows.append((at, 2, LINE_ITEM_CREATED, li, 0, li, 0))
        if li in li_budget:
            rows.append((at, 3, BUDGET_CHANGED, li, 0, li, li_budget[li]))
    creatives = entities["creatives"].filter(
        pc.equal(entities["creatives"]["qa_status"], "approved_servable"))
    for creative, li in zip(creatives["id"].to_pylist(), creatives["line_item_id"].to_pylist(),
                            strict=True):
        at = li_start.get(li, c_start.get(li_campaign.get(li, 0), first_hour))
        rows.append((at, 4, CREATIVE_APPROVED, li, creative, creative, 0))
    for li, begin, end in _idle_runs(performance, seed):
        rows.append((begin, 5, LINE_ITEM_PAUSED, li, 0, li, 0))
        rows.append((end, 5, LINE_ITEM_RESUMED, li, 0, li, 0))
    if not rows:
        return EventBatch.empty()
    data = np.array(rows, dtype=np.int64)
    when = np.clip(data[:, 0], first_hour, end_hour - 3600)
    order = np.lexsort((data[:, 5], data[:, 1], when))  # time, rank, entity id
    data, when = data[order], when[order]
    n = len(data)
    return EventBatch(
        kind=data[:, 2].astype(np.int8), time=when * _US, emit=when * _US,
        line_item=data[:, 3].copy(), creative=data[:, 4].copy(),
        device=np.zeros(n, np.int8), geo=np.full(n, -1, np.int16),
        household=np.full(n, -1, np.int64), hour=when // 3600 * 3600, ordinal=data[:, 5].copy(),
        flags=np.zeros(n, np.uint8), cost=data[:, 6].copy())


def _budgets(budgets: pa.Table, owner: str) -> dict[int, int]:
    rows = budgets.filter(pc.is_valid(budgets[owner]))
    return dict(zip(rows[owner].to_pylist(), rows["amount_micros"].to_pylist(), strict=True))


@dataclass
class ChangeBook:
    """What a change event's public form needs of the entity tables, looked up by id."""

    advertiser: dict[int, int]
    """campaign → advertiser"""
    campaign_status: dict[int, str]
    campaign_of: dict[int, int]
    """line item → campaign"""
    line_item_status: dict[int, str]
    daily_cap: dict[tuple[str, int], int | None]
    """(owner column, owner id) → the budget's daily cap"""

    @classmethod
    def of(cls, entities: dict[str, pa.Table]) -> ChangeBook:
        """The book of a plan's entity tables (empty without them)."""
        if "campaigns" not in entities:
            return cls({}, {}, {}, {}, {})
        campaigns, items, budgets = (entities["campaigns"], entities["line_items"],
                                     entities["budgets"])
        caps: dict[tuple[str, int], int | None] = {}
        for owner in ("campaign_id", "line_item_id"):
            rows = budgets.filter(pc.is_valid(budgets[owner]))
            for k, cap in zip(rows[owner].to_pylist(), rows["daily_cap_micros"].to_pylist(),
                              strict=True):
                caps[(owner, k)] = cap
        return cls(
            advertiser=dict(zip(campaigns["id"].to_pylist(),
                                campaigns["advertiser_id"].to_pylist(), strict=True)),
            campaign_status=dict(zip(campaigns["id"].to_pylist(),
                                     campaigns["status"].to_pylist(), strict=True)),
            campaign_of=dict(zip(items["id"].to_pylist(), items["campaign_id"].to_pylist(),
                                 strict=True)),
            line_item_status=dict(zip(items["id"].to_pylist(), items["status"].to_pylist(),
                                      strict=True)),
            daily_cap=caps)

    def record(self, kind: int, line_item: int, creative: int, entity: int,
               cost: int) -> dict[str, Any]:
        """The entity fields of one change event (the JSON line's tail)."""
        campaign = self.campaign_of.get(line_item, entity) if line_item else entity
        status: str | None = None
        budget: int | None = None
        cap: int | None = None
        if kind == CAMPAIGN_CREATED:
            status = self.campaign_status.get(entity)
        elif kind == LINE_ITEM_CREATED:
            status = self.line_item_status.get(entity)
        elif kind == BUDGET_CHANGED:
            budget = cost
            cap = self.daily_cap.get(("line_item_id" if line_item else "campaign_id", entity))
        elif kind == CREATIVE_APPROVED:
            status = "approved_servable"
        else:
            status = "paused" if kind == LINE_ITEM_PAUSED else "active"
        return {"advertiser_id": self.advertiser.get(campaign), "campaign_id": campaign,
                "line_item_id": line_item or None, "creative_id": creative or None,
                "status": status, "budget_micros": budget, "daily_cap_micros": cap}


_ENTITY = {CAMPAIGN_CREATED: ("campaign", "created"), LINE_ITEM_CREATED: ("lineitem", "created"),
           CREATIVE_APPROVED: ("creative", "approved"), LINE_ITEM_PAUSED: ("lineitem", "paused"),
           LINE_ITEM_RESUMED: ("lineitem", "resumed")}


def change_ids(events: EventBatch) -> list[str]:
    """Ids of change events: `ENTITY.ID.WHAT.HOUR`, e.g. `campaign.3.created.493992`,
    `lineitem.12.paused.494001`, `budget.lineitem.12.493992` (HOUR: hours since 1970)."""
    out = []
    for kind, li, entity, hour in zip(events.kind.tolist(), events.line_item.tolist(),
                                      events.ordinal.tolist(), (events.hour // 3600).tolist(),
                                      strict=True):
        if kind == BUDGET_CHANGED:
            out.append(f"budget.{'lineitem' if li else 'campaign'}.{entity}.{hour}")
        else:
            name, what = _ENTITY[kind]
            out.append(f"{name}.{entity}.{what}.{hour}")
    return out


def change_lines(events: EventBatch, book: ChangeBook) -> list[str]:
    """JSON lines of change events: `event_id, type, time`, then the entity fields."""
    lines = []
    for event_id, kind, time, li, creative, entity, cost in zip(
            change_ids(events), events.kind.tolist(), events.time.tolist(),
            events.line_item.tolist(), events.creative.tolist(), events.ordinal.tolist(),
            events.cost.tolist(), strict=True):
        when = datetime.fromtimestamp(time / _US, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        lines.append(json.dumps({"event_id": event_id, "type": CHANGE_TYPES[kind - FIRST_CHANGE],
                                 "time": when, **book.record(kind, li, creative, entity, cost)},
                                separators=(",", ":")))
    return lines


def before_changes(table: str, data: pa.Table) -> pa.Table:
    """An entity table as it stands before the plan's change events: campaigns and line
    items `draft`, creatives the batch holds approved still `pending_servable`; the rest as
    the batch has it (budgets: the creation's `budgetChanged` sets what is there already)."""
    if table in ("campaigns", "line_items"):
        column, value = "status", pa.scalar("draft")
    elif table == "creatives":
        column = "qa_status"
        value = pc.if_else(pc.equal(data["qa_status"], "approved_servable"),
                           "pending_servable", data["qa_status"])
    else:
        return data
    at = data.schema.get_field_index(column)
    filled = value if isinstance(value, pa.ChunkedArray | pa.Array) else pa.array(
        [value.as_py()] * data.num_rows, type=data.schema.field(column).type)
    return data.set_column(at, data.schema.field(column), filled)


def change_statements(changes: EventBatch, book: ChangeBook) -> list[Any]:
    """The SQL updates that apply change events to the entity tables, in order."""
    from sqlalchemy import update

    from adsgen.storage import orm

    campaigns = orm.Base.metadata.tables["campaigns"]
    items = orm.Base.metadata.tables["line_items"]
    creatives = orm.Base.metadata.tables["creatives"]
    budgets = orm.Base.metadata.tables["budgets"]
    out: list[Any] = []
    for kind, li, creative, entity, cost in zip(
            changes.kind.tolist(), changes.line_item.tolist(), changes.creative.tolist(),
            changes.ordinal.tolist(), changes.cost.tolist(), strict=True):
        status = book.record(kind, li, creative, entity, cost)["status"]
        if kind == CAMPAIGN_CREATED:
            out.append(update(campaigns).where(campaigns.c.id == entity).values(status=status))
        elif kind == LINE_ITEM_CREATED:
            out.append(update(items).where(items.c.id == entity).values(status=status))
        elif kind == BUDGET_CHANGED:
            owner = budgets.c.line_item_id if li else budgets.c.campaign_id
            out.append(update(budgets).where(owner == entity).values(amount_micros=cost))
        elif kind == CREATIVE_APPROVED:
            out.append(update(creatives).where(creatives.c.id == entity)
                       .values(qa_status="approved_servable"))
        else:  # paused, resumed
            out.append(update(items).where(items.c.id == entity).values(status=status))
    return out
