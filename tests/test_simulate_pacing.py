"""Pacing behaviour: EVEN per day, AHEAD front-loaded, ASAP early, caps and budgets binding."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from adsgen.build.items import SimFrequencyCap, SimLineItem
from adsgen.domain.enums import FrequencyPeriod, PacingPeriod, PacingType
from adsgen.simulate import simulate
from simfactory import START, assert_invariants, columns, line_item, platform

DAYS = 14
AMPLE = {"win_rate": 0.3}  # supply well above any goal below


def _run(item: SimLineItem, seed: int = 5) -> dict[str, np.ndarray]:
    result = simulate([item], platform=platform(), seed=seed)
    assert_invariants(result, [item], platform())
    rows = columns(result.performance)
    # What pacing controls: the cost of every impression served. The billed spend_micros
    # leaves invalid traffic out, so it is lower by the IVT share (1-4 %).
    rows["paced_micros"] = rows["impressions"] * item.cpm_micros // 1000
    return rows


def _hourly(rows: dict[str, np.ndarray], name: str = "paced_micros") -> np.ndarray:
    hour = (rows["hour"] - rows["hour"].min()) // 3600
    return np.bincount(hour, weights=rows[name])


def _daily(rows: dict[str, np.ndarray], name: str = "paced_micros") -> np.ndarray:
    day = (rows["hour"] - rows["hour"].min()) // 86400
    return np.bincount(day, weights=rows[name])


def _item(**changes: object) -> SimLineItem:
    base = {
        "end": START + timedelta(days=DAYS),
        "budget_micros": 14_000 * 1_000_000,
        "extra": dict(AMPLE),
    }
    return line_item(1, **{**base, **changes})


@pytest.mark.parametrize("period", [PacingPeriod.flight, PacingPeriod.daily])
def test_even_tracks_its_daily_goal_within_a_few_percent(period: PacingPeriod) -> None:
    """EVEN: each day's goal is its share of the flight's forecast supply (weekends get
    more), met within the pacer's few percent a day, never to the impression."""
    item = _item(pacing_type=PacingType.even, pacing_period=period)
    result = simulate([item], platform=platform(), seed=5)
    table = columns(result["pacing"])
    goal, delivered = table["goal_impressions"], table["delivered_impressions"]
    assert goal.size == DAYS
    assert np.all(np.abs(delivered / goal - 1) <= 0.15), delivered / goal
    assert np.abs(delivered / goal - 1).max() > 0.005  # not to the impression
    weekday = (table["day"].astype("datetime64[D]").astype(np.int64) + 3) % 7
    assert goal[weekday >= 5].mean() > 1.05 * goal[weekday <= 3].mean()  # weekends show
    daily = _daily(_run(item))
    assert daily.sum() >= 0.99 * item.budget_micros


def test_even_follows_the_supply_curve_within_the_day() -> None:
    rows = _run(_item(pacing_type=PacingType.even, geos=("US",)))
    local = (((rows["hour"] - START.timestamp()) // 3600 - 6) % 24).astype(int)  # ~Chicago
    by_hour = np.bincount(local, weights=rows["impressions"], minlength=24)
    assert by_hour[19:23].sum() > 2.5 * by_hour[2:6].sum()


def test_ahead_is_front_loaded() -> None:
    ahead = _daily(_run(_item(pacing_type=PacingType.ahead)))
    even = _daily(_run(_item(pacing_type=PacingType.even)))
    half = DAYS // 2
    assert ahead[:half].sum() / ahead.sum() > 0.58
    assert abs(even[:half].sum() / even.sum() - 0.5) < 0.03
    assert ahead[0] > ahead[-1] * 2
    assert ahead.sum() >= 0.99 * even.sum()  # front-loaded, not under-delivered


def test_ahead_daily_front_loads_within_each_day() -> None:
    rows = _run(_item(pacing_type=PacingType.ahead, pacing_period=PacingPeriod.daily))
    even = _run(_item(pacing_type=PacingType.even, pacing_period=PacingPeriod.daily))
    share = [_hourly(r).reshape(DAYS, 24)[:, :12].sum() / _hourly(r).sum() for r in (rows, even)]
    assert share[0] > share[1] + 0.05


def test_asap_exhausts_a_small_daily_budget_early() -> None:
    item = _item(
        pacing_type=PacingType.asap, pacing_period=PacingPeriod.daily,
        budget_micros=700 * 1_000_000,  # $50 a day
    )
    hourly = _hourly(_run(item)).reshape(DAYS, 24)
    spent_by = np.cumsum(hourly, axis=1)
    first_full = (spent_by >= spent_by[:, -1:]).argmax(axis=1)
    assert spent_by[:, -1].sum() >= 0.95 * item.budget_micros
    assert (first_full <= 4).all(), first_full  # done in the first hours of each UTC day
    # exhaustion stops delivery: nothing after the day's budget is spent
    for day in range(DAYS):
        assert hourly[day, first_full[day] + 1:].sum() == 0


def test_flight_asap_spends_everything_then_stops() -> None:
    item = _item(pacing_type=PacingType.asap, budget_micros=2_000 * 1_000_000)
    rows = _run(item)
    hourly = _hourly(rows)
    assert hourly.sum() >= item.budget_micros - item.cpm_micros / 1000
    last = np.flatnonzero(hourly)[-1]
    assert last < 24, "a small budget is gone on the first day"
    assert rows["impressions"][rows["hour"] > rows["hour"].min() + 3600 * (last + 1)].sum() == 0


def test_daily_cap_binds_and_cuts_the_day() -> None:
    cap = 500 * 1_000_000
    item = _item(pacing_type=PacingType.ahead, daily_cap_micros=cap)
    daily = _daily(_run(item))
    assert (daily <= cap).all()
    assert (daily[: DAYS // 2] >= cap - 2 * item.cpm_micros / 1000).all()  # binds early on


def test_under_supply_under_delivers_and_never_overspends() -> None:
    item = _item(extra={"win_rate": 0.0005}, budget_micros=1_000_000 * 1_000_000)
    rows = _run(item)
    assert 0 < rows["spend_micros"].sum() < 0.5 * item.budget_micros


def test_frequency_cap_limits_delivery() -> None:
    capped = _item(
        pacing_type=PacingType.asap, pacing_period=PacingPeriod.daily,
        extra={"win_rate": 0.5, "frequency_target": 50.0},  # a small audience
        budget_micros=10**6 * 1_000_000,
        frequency_cap=SimFrequencyCap(1, FrequencyPeriod.days, 1),
    )
    free = replace(capped, frequency_cap=None)
    capped_rows, free_rows = _run(capped), _run(free)
    assert capped_rows["impressions"].sum() < 0.8 * free_rows["impressions"].sum()




def test_pacing_days_are_the_campaigns_local_days() -> None:
    """A Chicago campaign's day starts at Chicago midnight: ASAP buys from 06:00 UTC (05:00
    once daylight saving starts on 8 March), and its flight of 14 UTC days spans 15 local."""
    item = _item(pacing_type=PacingType.asap, pacing_period=PacingPeriod.daily,
                 budget_micros=700 * 1_000_000, time_zone="America/Chicago")
    rows = _run(item)
    hourly = _hourly(rows)
    starts = [h % 24 for h in range(1, hourly.size) if hourly[h] > 0 and hourly[h - 1] == 0]
    assert starts and set(starts) <= {5, 6}, starts
    table = columns(simulate([item], platform=platform(), seed=5)["pacing"])
    assert table["day"].size == DAYS + 1
