"""The stream's household ids are the batch's reach, and respect every frequency cap.

On random plans (simfactory, caps of every period): the distinct households of a line item
× device in the stream's impressions equal the batch `reach` table per UTC day and over the
flight, and those of a line item over all its devices its de-duplicated (`all`) rows: per
UTC day, from the flight start to each day's end, and over the flight; no
household sees more impressions in a cap window than the cap; the hourly rollup still
reconciles; the day frequency distribution is close to the batch's (exactly equal is
impossible in most cells: see `_frequency_gap`).
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import HealthCheck, given, settings

from adsgen.build.items import SimFrequencyCap, SimLineItem
from adsgen.domain.enums import FrequencyPeriod
from adsgen.simulate.reach import cap_window
from adsgen.stream.events import DEVICE_NAMES, IMPRESSION, EventBatch, EventWorld
from adsgen.stream.rollup import active_rows, rollup
from adsgen.stream.source import StreamSource, source_of
from adsgen.world.lineitems import epoch_seconds
from simfactory import START, line_item, platform, random_line_item, sim_items

SEED = 5
SMALL = 800 * 1_000_000


def _compact(items: list[SimLineItem]) -> list[SimLineItem]:
    """Budgets capped at SMALL; flights moved to start within two days of START (same hour
    of day, same length), so a plan has few empty hours to expand."""
    out = []
    for i in items:
        start = START + timedelta(hours=int((i.start - START).total_seconds()) // 3600 % 48)
        out.append(replace(i, start=start, end=start + (i.end - i.start),
                           budget_micros=min(i.budget_micros, SMALL),
                           daily_cap_micros=None if i.daily_cap_micros is None
                           else min(i.daily_cap_micros, SMALL)))
    return out


def _stream(items: list[SimLineItem]) -> tuple[EventBatch, StreamSource, EventWorld]:
    source = source_of(items, platform(), SEED)
    world = source.world()
    events = EventBatch.concat([world.expand(rows) for rows in source.hours()])
    return events, source, world


def _impressions(events: EventBatch) -> tuple[np.ndarray, ...]:
    imp = events.kind == IMPRESSION
    return (events.line_item[imp], events.device[imp].astype(np.int64), events.household[imp],
            events.time[imp] // 1_000_000)


def _check_reach(events: EventBatch, reach: pa.Table) -> list[float]:
    """Distinct households == reach per day and flight; the day frequency gaps."""
    li, dev, household, second = _impressions(events)
    day = second // 86400
    gaps = []
    for row in reach.filter(pc.not_equal(reach["device"], "all")).to_pylist():
        mine = (li == row["line_item_id"]) & (dev == DEVICE_NAMES.index(row["device"]))
        if row["period"] == "day":
            mine &= day == (row["day"] - date(1970, 1, 1)).days
        seen, counts = np.unique(household[mine], return_counts=True)
        assert len(seen) == row["reach"], row
        if row["period"] == "day" and row["reach"]:
            gaps.append(_frequency_gap(counts, row))
    _check_union(events, reach)
    return gaps


def _check_union(events: EventBatch, reach: pa.Table) -> int:
    """Distinct households of a line item over all its devices == the batch's de-duplicated
    (`device = 'all'`) reach: per UTC day (`reach`), from the flight start to each day's end
    (`cumulative_reach`) and over the flight. Those lie strictly between the largest
    device's and their sum in plans where devices overlap. Returns the days checked."""
    li, _, household, second = _impressions(events)
    day = second // 86400
    rows = reach.filter(pc.equal(reach["device"], "all")).to_pylist()
    assert rows or not len(li)
    days = 0
    for row in rows:
        mine = li == row["line_item_id"]
        if row["period"] == "flight":
            assert len(np.unique(household[mine])) == row["reach"], row
            continue
        epoch_day = (row["day"] - date(1970, 1, 1)).days
        today = np.unique(household[mine & (day == epoch_day)])
        so_far = np.unique(household[mine & (day <= epoch_day)])
        assert (len(today), len(so_far)) == (row["reach"], row["cumulative_reach"]), row
        days += 1
    return days


def _frequency_gap(counts: np.ndarray, row: dict) -> float:
    """Share of the day's households in another frequency bucket than the batch says (total
    variation). Not 0 in general: the batch's buckets are whole households rounded down,
    so Σ level × households falls short of the impressions where nobody is at 10+, and the
    stream must place every impression."""
    mine = np.bincount(np.minimum(counts, 10), minlength=11)[1:]
    batch = np.array([row[f"frequency_{j}"] for j in range(1, 10)] + [row["frequency_10_plus"]])
    return float(np.abs(mine - batch).sum() / 2 / row["reach"])


def _check_caps(events: EventBatch, items: list[SimLineItem]) -> int:
    """No household over its cap in any window; returns how many line items had a cap."""
    li, dev, household, second = _impressions(events)
    capped = 0
    for item in items:
        length, cap = cap_window(item)
        mine = li == item.line_item_id
        if length is None or not np.isfinite(cap) or not mine.any():
            continue
        capped += 1
        window = (second[mine] - epoch_seconds(item.start)) // 3600 // length
        _, counts = np.unique((household[mine] * 4 + dev[mine]) * 100_000 + window,
                              return_counts=True)
        assert counts.max() <= cap, (item.frequency_cap, counts.max())
    return capped


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(items=sim_items(max_items=4, max_days=4))
def test_household_ids_give_the_batch_reach_per_day_and_flight_within_caps(
        items: list[SimLineItem]) -> None:
    items = _compact(items)
    events, source, world = _stream(items)
    assert rollup(events).equals(active_rows(source.performance))
    gaps = _check_reach(events, source.reach)
    _check_caps(events, items)
    assert world.households.over_cap == 0 and world.households.uncovered == 0
    assert world.households.union_miss == 0
    if gaps:
        assert float(np.mean(gaps)) < 0.2


def test_a_binding_cap_is_kept_and_the_frequency_follows_the_batch() -> None:
    """Two impressions a day at most, a budget that fills them: the cap binds."""
    items = [line_item(1, start=datetime(2026, 3, 2, 5), end=datetime(2026, 3, 5, 5),
                       budget_micros=4_000 * 1_000_000,
                       frequency_cap=SimFrequencyCap(2, FrequencyPeriod.days, 1)),
             line_item(2, start=datetime(2026, 3, 2), end=datetime(2026, 3, 3, 12),
                       budget_micros=3_000 * 1_000_000,
                       frequency_cap=SimFrequencyCap(3, FrequencyPeriod.hours, 6))]
    events, source, world = _stream(items)
    assert _check_caps(events, items) == 2
    gaps = _check_reach(events, source.reach)
    assert gaps and max(gaps) < 0.2, gaps
    li, _, household, _ = _impressions(events)
    _, counts = np.unique(household[li == 1] * 10 + (events.time[events.kind == IMPRESSION]
                                                      [li == 1] // 86_400_000_000 % 10),
                          return_counts=True)
    assert (counts == 2).any()  # the cap is reached, not merely respected by light delivery
    assert world.households.over_cap == 0


def test_one_day_plans_follow_the_batch_frequency() -> None:
    """One-day random plans whose day frequency was far off (mean gap 0.31-0.46): their line
    items have a small NBD shape, and the households' intensities were drawn from the gamma
    itself, not from it given the household was reached (`_reached_intensity`), so nearly
    every household sat at frequency 1 and a few at 10+."""
    for plan in (1, 2, 4, 17, 29):
        rng = random.Random(plan)
        items = _compact([random_line_item(rng, i, max_days=1)
                          for i in range(1, 1 + rng.randint(1, 4))])
        events, source, _ = _stream(items)
        gaps = _check_reach(events, source.reach)
        assert gaps and float(np.mean(gaps)) < 0.2, (plan, gaps)


def test_a_full_size_plan_meets_the_all_day_rows() -> None:
    """A random plan at its own budgets (not compacted): a line item's device with many
    households shared with the others must still find ones to add on a day (its day's
    union missed by 1.7 % when the devices before it took every shared one)."""
    rng = random.Random(704)
    items = [random_line_item(rng, i, max_days=5) for i in range(1, 1 + rng.randint(1, 3))]
    events, source, world = _stream(items)
    assert _check_union(events, source.reach) >= 5
    assert world.households.union_miss == 0 and world.households.uncovered == 0


def test_a_full_budget_plan_keeps_every_cap() -> None:
    """Random plan 1002 at its own budgets: line item 1 caps 1 impression per 14 hours and
    a UTC day's 159,494 mobile impressions lay in one window, but the batch's day reach was
    159,492 (bounded only by impressions ÷ (cap × windows touching the day)): 2 impressions
    had to go over the cap (`simulate.reach_table`, `_day_reach_floor`)."""
    rng = random.Random(1002)
    items = [random_line_item(rng, i, max_days=4) for i in range(1, 1 + rng.randint(1, 3))]
    events, source, world = _stream(items)
    assert _check_caps(events, items) >= 1
    _check_reach(events, source.reach)
    assert world.households.over_cap == 0 and world.households.uncovered == 0
    assert world.households.union_miss == 0


def _full_budget(seed: int, max_days: int) -> list[SimLineItem]:
    """Random plan `seed` at its own budgets (not compacted), built as the tests above."""
    rng = random.Random(seed)
    return [random_line_item(rng, i, max_days=max_days) for i in range(1, 1 + rng.randint(1, 3))]


def test_a_device_keeps_earlier_households_to_add_to_the_day() -> None:
    """Full-budget random plan 1205: on line item 3's second day its devices had to add
    1,938 earlier households none of them had today, but the desktop's households of the day
    before (166) had been handed to the CTV's and mobile's households new to them (the
    lowest numbers they lacked), leaving the desktop 57 of the 72 it needed: the day's
    union missed the batch's `all` reach by 15."""
    events, source, world = _stream(_full_budget(1205, 4))
    assert _check_union(events, source.reach) >= 8
    assert world.households.union_miss == 0
    assert world.households.over_cap == 0 and world.households.uncovered == 0


def test_full_budget_plans_meet_every_all_row() -> None:
    """Random plans at their own budgets over up to 10 days whose days missed the batch's
    `all` reach (by 158 and 6,023 households: the picks' greedy painted itself into a
    corner where the layout allowed the day) and neighbours that did not."""
    for seed in (2088, 2095, 2043, 2049):
        _, _, world = _stream(_full_budget(seed, 10))
        assert (world.households.union_miss, world.households.over_cap,
                world.households.uncovered) == (0, 0, 0), seed
