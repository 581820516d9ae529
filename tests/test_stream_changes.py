"""Entity change events: in time order with delivery, consistent with the batch, applied by
the database live sync.

A plan drawn as `adsgen stream` draws it: every campaign and line item is created (with its
budget) and every approved creative approved before its first impression; no impression of a
line item falls between its pause and its resume; the stream still rolls up to the batch;
a live-synced database holds the batch's entity tables when the stream has run, and a line
item paused at the moment a stream stops is `paused` there.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from functools import cache

import numpy as np
import pyarrow.compute as pc
from sqlalchemy import Engine, text

from adsgen.stream.changes import ChangeBook, change_ids, change_lines
from adsgen.stream.encode import json_lines
from adsgen.stream.events import (
    CHANGE_TYPES,
    FIRST_CHANGE,
    IMPRESSION,
    EventBatch,
)
from adsgen.stream.rollup import active_rows, rollup
from adsgen.stream.source import StreamSource, plan_source
from cliutil import invoke

START = datetime(2026, 9, 1)
PLAN = ["--seed", "1", "--line-items", "2", "--days", "1", "--start", "2026-09-01"]
SEED = 1  # a small plan with a pause (a dayparted line item)
KEYS = ["event_id", "type", "time", "advertiser_id", "campaign_id", "line_item_id",
        "creative_id", "status", "budget_micros", "daily_cap_micros"]


@cache
def _source() -> StreamSource:
    return plan_source(seed=SEED, line_items=2, advertisers=None, days=1, start=START,
                       platform="netflix_like")


@cache
def _events() -> EventBatch:
    source = _source()
    world = source.world()
    return EventBatch.concat([world.expand(rows) for rows in source.hours()])


def _code(name: str) -> int:
    return FIRST_CHANGE + CHANGE_TYPES.index(name)


def _first_impression(events: EventBatch, column: np.ndarray, value: int) -> int:
    times = events.time[(events.kind == IMPRESSION) & (column == value)]
    return int(times.min()) if len(times) else 2**62


def test_creation_and_approval_come_before_delivery_and_match_the_entities() -> None:
    events, tables = _events(), _source().plan.arrow_tables()  # type: ignore[union-attr]
    assert (np.diff(events.time) >= 0).all()
    assert rollup(events).equals(active_rows(_source().performance))
    kind = events.kind

    def made(name: str) -> dict[int, int]:
        mine = kind == _code(name)
        return dict(zip(events.ordinal[mine].tolist(), events.time[mine].tolist(), strict=True))

    campaigns, items, approved = (made("campaignCreated"), made("lineItemCreated"),
                                  made("creativeApproved"))
    assert sorted(campaigns) == sorted(tables["campaigns"]["id"].to_pylist())
    assert sorted(items) == sorted(tables["line_items"]["id"].to_pylist())
    creatives = tables["creatives"]
    assert sorted(approved) == sorted(creatives.filter(
        pc.equal(creatives["qa_status"], "approved_servable"))["id"].to_pylist())
    for li, campaign in zip(tables["line_items"]["id"].to_pylist(),
                            tables["line_items"]["campaign_id"].to_pylist(), strict=True):
        first = _first_impression(events, events.line_item, li)
        assert campaigns[campaign] <= items[li] <= first
        # at equal times the change goes first in the sequence
        assert np.flatnonzero((kind == _code("lineItemCreated")) & (events.ordinal == li))[0] \
            < np.flatnonzero((kind == IMPRESSION) & (events.line_item == li))[0]
    for creative, at in approved.items():
        assert at <= _first_impression(events, events.creative, creative)
    budgets = kind == _code("budgetChanged")
    assert sorted(events.cost[budgets].tolist()) == sorted(
        tables["budgets"]["amount_micros"].to_pylist())


def test_no_impression_while_a_line_item_is_paused() -> None:
    events = _events()
    paused = events.take(np.flatnonzero(events.kind == _code("lineItemPaused")))
    resumed = events.take(np.flatnonzero(events.kind == _code("lineItemResumed")))
    assert len(paused) and len(paused) == len(resumed)  # this plan has dayparted items
    for li, begin in zip(paused.line_item.tolist(), paused.time.tolist(), strict=True):
        end = min(t for r, t in zip(resumed.line_item.tolist(), resumed.time.tolist(),
                                    strict=True) if r == li and t > begin)
        mine = (events.kind == IMPRESSION) & (events.line_item == li)
        assert not ((events.time[mine] >= begin) & (events.time[mine] < end)).any()
        assert ((events.time[mine] < begin).any() and (events.time[mine] >= end).any())


def test_change_lines_name_their_entity() -> None:
    source = _source()
    world = source.world()
    changes = world.changes
    lines = [json.loads(line) for line in json_lines(changes, world).to_pylist()]
    assert [list(line) for line in lines] == [KEYS] * len(lines)
    assert [line["event_id"] for line in lines] == change_ids(changes)
    assert len(set(change_ids(changes))) == len(changes)
    book = ChangeBook.of(world.entities)
    assert change_lines(changes, book) == json_lines(changes, world).to_pylist()
    created = [line for line in lines if line["type"] == "lineItemCreated"]
    assert {line["status"] for line in created} == set(
        world.entities["line_items"]["status"].to_pylist())
    assert all(line["advertiser_id"] is not None for line in lines)


def _entity_state(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    with engine.connect() as conn:
        return {
            "campaigns": [tuple(r) for r in conn.execute(
                text("SELECT id, status FROM campaigns ORDER BY id"))],
            "line_items": [tuple(r) for r in conn.execute(
                text("SELECT id, status FROM line_items ORDER BY id"))],
            "creatives": [tuple(r) for r in conn.execute(
                text("SELECT id, qa_status FROM creatives ORDER BY id"))],
            "budgets": [tuple(r) for r in conn.execute(
                text("SELECT id, amount_micros FROM budgets ORDER BY id"))],
        }


def test_live_sync_applies_the_changes_to_the_entity_tables(engine: Engine) -> None:
    url = engine.url.render_as_string(hide_password=False)
    events = _events()
    pause = events.take(np.flatnonzero(events.kind == _code("lineItemPaused")))
    stop_us = int(pause.time[0]) + 3_600_000_000  # an hour into the first pause
    stop = datetime.fromtimestamp(stop_us / 1e6, UTC).replace(tzinfo=None)
    hours = int((stop - START) / timedelta(hours=1))
    part = invoke("-q", "stream", *PLAN, "--duration", f"{hours}h", "--speed", "max",
                  "--to", url)
    assert part.exit_code == 0, part.output
    state = dict(_entity_state(engine)["line_items"])
    assert state[int(pause.line_item[0])] == "paused"
    later = events.kind == _code("lineItemCreated")
    for li, at in zip(events.ordinal[later].tolist(), events.time[later].tolist(),
                      strict=True):
        assert (state[li] == "draft") == (at >= stop_us)
    whole = invoke("-q", "stream", *PLAN, "--speed", "max", "--to", url)
    assert whole.exit_code == 0, whole.output
    tables = _source().plan.arrow_tables()  # type: ignore[union-attr]
    batch = {
        "campaigns": list(zip(tables["campaigns"]["id"].to_pylist(),
                              tables["campaigns"]["status"].to_pylist(), strict=True)),
        "line_items": list(zip(tables["line_items"]["id"].to_pylist(),
                               tables["line_items"]["status"].to_pylist(), strict=True)),
        "creatives": list(zip(tables["creatives"]["id"].to_pylist(),
                              tables["creatives"]["qa_status"].to_pylist(), strict=True)),
        "budgets": list(zip(tables["budgets"]["id"].to_pylist(),
                            tables["budgets"]["amount_micros"].to_pylist(), strict=True)),
    }
    assert _entity_state(engine) == {k: sorted(v) for k, v in batch.items()}
