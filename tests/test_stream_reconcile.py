"""The stream is a view of the batch: its events aggregated to the hour are the batch rows.

On random plans (simfactory): every hour expanded into events and rolled up again gives
`performance` exactly (every column, byte for byte, rows with no event aside); the distinct
households of a line item × device equal its reach; events are in time order, inside their
row's hour, with unique deterministic ids; tracking events follow their impression.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import HealthCheck, given, settings

from adsgen.stream.encode import event_ids, from_arrow, json_lines, to_arrow
from adsgen.stream.events import EVENT_TYPES, IMPRESSION, EventBatch
from adsgen.stream.rollup import active_rows, rollup
from adsgen.stream.source import source_of
from simfactory import line_item, platform, sim_items

SEED = 11
SMALL = 800 * 1_000_000
"""Budgets are capped at 800 (of the currency): tens of thousands of events per plan, so
each example runs in well under a second."""


def _small(items: list) -> list:
    """The same plans with budgets (and daily caps) capped at SMALL."""
    return [replace(i, budget_micros=min(i.budget_micros, SMALL),
                    daily_cap_micros=None if i.daily_cap_micros is None
                    else min(i.daily_cap_micros, SMALL)) for i in items]


def _all_events(items: list, seed: int = SEED) -> tuple[EventBatch, pa.Table]:
    source = source_of(_small(items), platform(), seed)
    world = source.world()
    events = EventBatch.concat([world.expand(rows) for rows in source.hours()])
    return events, source.performance


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(items=sim_items(max_items=4, max_days=3))
def test_events_roll_up_to_the_batch_rows_exactly(items: list) -> None:
    events, performance = _all_events(items)
    assert rollup(events).equals(active_rows(performance))


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(items=sim_items(max_items=3, max_days=2))
def test_distinct_households_equal_the_reach(items: list) -> None:
    events, performance = _all_events(items)
    imp = events.kind == IMPRESSION
    if not imp.any():
        return
    reach = performance.group_by(["line_item_id", "device"]).aggregate(
        [("cumulative_reach", "max")])
    pair = events.line_item[imp] * 4 + events.device[imp]
    seen = {int(p): len(np.unique(events.household[imp][pair == p])) for p in np.unique(pair)}
    devices = {"ctv": 0, "desktop": 1, "mobile": 2}
    for row in reach.to_pylist():
        key = row["line_item_id"] * 4 + devices[row["device"]]
        assert seen.get(key, 0) == row["cumulative_reach_max"], row
    assert (events.household[imp] >= 0).all()
    assert (events.household[imp] < platform().households).all()


def test_events_are_in_time_order_within_their_hour_with_unique_ids() -> None:
    items = [line_item(1, start=datetime(2026, 3, 2), end=datetime(2026, 3, 3))]
    source = source_of(_small(items), platform(), SEED)
    world = source.world()
    seen = 0
    for rows in source.hours():
        events = world.expand(rows)
        assert (np.diff(events.time) >= 0).all()
        assert ((events.time // 3_600_000_000) * 3600 == rows.hour).all()
        ids = event_ids(events)
        assert len(pc.unique(ids)) == len(events)
        seen += len(events)
    assert seen > 1000


def test_tracking_events_follow_their_impression_in_order() -> None:
    items = [line_item(1, start=datetime(2026, 3, 2), end=datetime(2026, 3, 2, 6))]
    events, _ = _all_events(items)
    table = to_arrow(events, source_of(_small(items), platform(), SEED).world())
    imp = table.filter(pc.equal(table["type"], "impression"))
    at = dict(zip(imp["event_id"].to_pylist(), imp["time"].to_pylist(), strict=True))
    order = {name: k for k, name in enumerate(EVENT_TYPES)}
    tracked = table.filter(pc.is_valid(table["impression_id"])).to_pylist()
    assert tracked
    last: dict[str, tuple[int, object]] = {}
    for row in tracked:
        assert row["time"] >= at[row["impression_id"]], row
        previous = last.get(row["impression_id"])
        if previous is not None and row["type"] not in ("click", "qrScan"):
            assert order[row["type"]] > previous[0]
        if row["type"] not in ("click", "qrScan"):
            last[row["impression_id"]] = (order[row["type"]], row["time"])


def test_expansion_is_deterministic_and_seeded() -> None:
    items = [line_item(1, start=datetime(2026, 3, 2), end=datetime(2026, 3, 2, 4))]
    one, _ = _all_events(items)
    two, _ = _all_events(items)
    other, _ = _all_events(items, seed=SEED + 1)
    assert np.array_equal(one.time, two.time) and np.array_equal(one.household, two.household)
    assert not (len(one) == len(other) and np.array_equal(one.time, other.time))


def test_json_lines_read_back_roll_up_to_the_batch(tmp_path: object) -> None:
    """A consumer reading the JSON lines (pyarrow.json) gets the batch back."""
    import io

    import pyarrow.json as pj

    items = [line_item(1, start=datetime(2026, 3, 2), end=datetime(2026, 3, 2, 5)),
             line_item(2, start=datetime(2026, 3, 2), end=datetime(2026, 3, 2, 5))]
    source = source_of(_small(items), platform(), SEED)
    world = source.world()
    text = b"".join(
        ("\n".join(json_lines(world.expand(rows), world).to_pylist()) + "\n").encode()
        for rows in source.hours())
    table = pj.read_json(io.BytesIO(text))
    assert rollup(from_arrow(table)).equals(active_rows(source.performance))


THREE = ("netflix_like", "hulu_like", "roku_like")


@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
@given(items=sim_items(max_items=5, max_days=2))
def test_several_platforms_roll_up_to_the_batch_each_on_its_own_platform(items: list) -> None:
    """Line items on three platforms (by id): the events still roll up to the batch rows
    exactly, and each event happens on its line item's platform, in one of that platform's
    households of a geo it serves, as many distinct ones per line item × device as its
    reach."""
    from adsgen.build.platform_set import PlatformSet

    plats = PlatformSet(tuple(platform(name) for name in THREE))
    items = [replace(i, platform=THREE[i.line_item_id % 3]) for i in _small(items)]
    source = source_of(items, plats, SEED)
    world = source.world()
    events = EventBatch.concat([world.expand(rows) for rows in source.hours()])
    assert rollup(events).equals(active_rows(source.performance))
    table = to_arrow(events, world)
    on = {i.line_item_id: i.platform for i in items}
    assert table["platform"].to_pylist() == [on[li] for li in table["line_item_id"].to_pylist()]
    imp = events.kind == IMPRESSION
    reach = source.performance.group_by(["line_item_id", "device"]).aggregate(
        [("cumulative_reach", "max")])
    devices = {"ctv": 0, "desktop": 1, "mobile": 2}
    for row in reach.to_pylist():
        mine = imp & (events.line_item == row["line_item_id"]) & (
            events.device == devices[row["device"]])
        assert len(np.unique(events.household[mine])) == row["cumulative_reach_max"], row
        where = plats.by_name(on[row["line_item_id"]])
        assert (events.household[mine] < where.households).all()
        served = set(where.geo_timezones)
        assert {world.geos[g] for g in np.unique(events.geo[mine])} <= served
