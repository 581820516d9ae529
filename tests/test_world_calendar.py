"""The platform calendar (world/calendar.py): holidays by rule, seasons, events, supply shocks.

Holidays are checked against known dates and against an independent rule evaluation with the
standard library over two centuries; shocks against their stated standard deviation and
lag-1 autocorrelation; determinism as a law over random subsets of days; bad calendar input
as the one-line SpecError a user sees.
"""

from __future__ import annotations

import calendar as stdlib_calendar
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from adsgen.exceptions import SpecError
from adsgen.templates.catalog import get_platform
from adsgen.templates.platform_calendar import WEEKDAYS, Holiday, Seasonality, SupplyShocks
from adsgen.templates.spec import Platform, parse_template
from adsgen.world.calendar import (
    DayFactors,
    day_factors,
    holiday_days,
    season_multipliers,
    supply_shocks,
    weekday_of,
)

PLATFORM = get_platform("netflix_like")
GEOS = list(PLATFORM.geo_timezones)
EPOCH = date(1970, 1, 1)


def _day(value: str | date) -> int:
    return ((date.fromisoformat(value) if isinstance(value, str) else value) - EPOCH).days


def _days(first: str, count: int) -> np.ndarray[Any, np.dtype[np.int64]]:
    return np.arange(_day(first), _day(first) + count, dtype=np.int64)


def _holiday(name: str) -> Holiday:
    return next(h for h in PLATFORM.holidays if h.name == name)


def _on(holiday: str, years: list[int]) -> list[str]:
    found = holiday_days(_holiday(holiday), np.array(years, dtype=np.int64))
    return [(EPOCH + timedelta(days=int(d))).isoformat() for d in found]


# --- holidays ----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("name", "years", "expected"),
    [
        ("thanksgiving", [2023, 2024, 2025, 2026, 2027],
         ["2023-11-23", "2024-11-28", "2025-11-27", "2026-11-26", "2027-11-25"]),
        ("black_friday", [2024, 2025, 2026], ["2024-11-29", "2025-11-28", "2026-11-27"]),
        ("cyber_monday", [2024, 2025, 2026], ["2024-12-02", "2025-12-01", "2026-11-30"]),
        ("martin_luther_king_jr_day", [2024, 2025, 2026],
         ["2024-01-15", "2025-01-20", "2026-01-19"]),
        ("presidents_day", [2024, 2025, 2026], ["2024-02-19", "2025-02-17", "2026-02-16"]),
        ("memorial_day", [2024, 2025, 2026, 2027],
         ["2024-05-27", "2025-05-26", "2026-05-25", "2027-05-31"]),
        ("labor_day", [2024, 2025, 2026], ["2024-09-02", "2025-09-01", "2026-09-07"]),
        ("columbus_day", [2024, 2025, 2026], ["2024-10-14", "2025-10-13", "2026-10-12"]),
        ("super_bowl_sunday", [2024, 2025, 2026], ["2024-02-11", "2025-02-09", "2026-02-08"]),
        ("juneteenth", [2024, 2100], ["2024-06-19", "2100-06-19"]),
        ("christmas_day", [1969, 2026], ["1969-12-25", "2026-12-25"]),
    ],
)
def test_holidays_land_on_their_dates(name: str, years: list[int], expected: list[str]) -> None:
    assert _on(name, years) == expected


def _reference(holiday: Holiday, year: int) -> date:
    """The rule evaluated with the standard library, independently of the NumPy code."""
    if holiday.day is not None:
        found = date(year, holiday.month, holiday.day)
    else:
        assert holiday.weekday is not None and holiday.nth is not None
        weekday = WEEKDAYS.index(holiday.weekday)
        matching = [week[weekday] for week in stdlib_calendar.monthcalendar(year, holiday.month)
                    if week[weekday]]
        found = date(year, holiday.month, matching[holiday.nth - 1 if holiday.nth > 0 else -1])
    return found + timedelta(days=holiday.offset_days)


@pytest.mark.parametrize("holiday", PLATFORM.holidays, ids=lambda h: h.name)
def test_every_rule_matches_the_standard_library_for_two_centuries(holiday: Holiday) -> None:
    years = list(range(1950, 2151))
    found = holiday_days(holiday, np.array(years, dtype=np.int64))
    assert found.tolist() == [_day(_reference(holiday, year)) for year in years]


def test_last_weekday_and_new_year_crossing_rules() -> None:
    last_friday = Holiday(name="x", month=2, weekday="friday", nth=-1, viewing=1.1, geos=("US",))
    assert [_day(_reference(last_friday, y)) for y in (2024, 2025, 2026)] == holiday_days(
        last_friday, np.array([2024, 2025, 2026])).tolist()
    crossing = Holiday(name="y", month=12, day=28, offset_days=7, viewing=1.1, geos=("US",))
    days = _days("2026-01-01", 10)
    factors = day_factors(PLATFORM.model_copy(update={"holidays": (crossing,)}), 1, ["US"], days)
    # 2025-12-28 + 7 days: the rule of the year before the days asked.
    assert factors.holiday_viewing[0].tolist() == [1.0] * 3 + [1.1] + [1.0] * 6


def test_holidays_lift_only_the_geos_that_observe_them() -> None:
    days = _days("2026-11-20", 14)
    factors = day_factors(PLATFORM, 1, GEOS, days)
    us = GEOS.index("US")
    thanksgiving = _day("2026-11-26") - int(days[0])
    assert factors.holiday_viewing[us, thanksgiving] == 1.20
    assert factors.holiday_demand[us, thanksgiving + 1] == 1.30  # Black Friday
    others = np.delete(factors.holiday_viewing, us, axis=0)
    assert np.all(others == 1.0) and np.all(np.delete(factors.holiday_demand, us, axis=0) == 1.0)
    ordinary = [i for i in range(14) if i not in (thanksgiving, thanksgiving + 1, thanksgiving + 4)]
    assert np.all(factors.holiday_viewing[us, ordinary] == 1.0)


# --- season, weekday, events ----------------------------------------------------------------

def test_q4_demand_above_q3_and_january_soft() -> None:
    days = _days("2026-01-01", 365)
    demand = season_multipliers(PLATFORM.seasonality, days, kind="demand")
    month = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12
    by_month = np.array([demand[month == m].mean() for m in range(12)])
    q3, q4 = by_month[6:9].mean(), by_month[9:12].mean()
    assert 1.20 <= q4 / q3 <= 1.40
    assert set(np.argsort(by_month)[-2:]) == {10, 11}  # November and December highest
    assert np.argmin(by_month) == 0  # January lowest
    # Mid-month days carry the given value; no day steps more than the slope between two
    # mid-months (steepest: December 1.35 to January 0.80), so no month boundary shows a step.
    assert demand[_day("2026-01-16") - int(days[0])] == pytest.approx(0.80, abs=0.005)
    values = np.array(PLATFORM.seasonality.demand)
    steepest = np.abs(values - np.roll(values, 1)).max() / 28
    assert np.abs(np.diff(demand)).max() <= steepest


def test_season_interpolation_wraps_over_new_year() -> None:
    flat_but_december = Seasonality(viewing=(1.0,) * 11 + (1.24,))
    values = season_multipliers(flat_but_december, _days("2026-12-25", 14), kind="viewing")
    assert np.all(np.diff(values[7:]) < 0)  # falling towards mid-January after new year
    assert values[6] > values[7] > 1.0  # Dec 31 > Jan 1 > 1, no jump at the year boundary


def test_weekday_multipliers_are_in_viewing_normalised_to_a_mean_of_one() -> None:
    days = _days("2026-03-02", 7)  # a Monday
    assert weekday_of(days).tolist() == list(range(7))
    factors = day_factors(PLATFORM, 3, ["FR"], days)
    raw = np.array(PLATFORM.weekday_multipliers)
    assert factors.weekday[0] == pytest.approx(raw / raw.mean())
    assert factors.weekday[0, 5] / factors.weekday[0, 0] == pytest.approx(1.12 / 0.95)


def test_events_run_their_days_in_their_geos() -> None:
    days = _days("2026-03-10", 7)
    factors = day_factors(PLATFORM, 3, ["US", "GB", "DE"], days)
    finale = [1.0, 1.0, 1.0, 1.10, 1.10, 1.0, 1.0]  # 2026-03-13 for 2 days, US CA GB only
    assert factors.event_viewing.tolist() == [finale, finale, [1.0] * 7]
    assert np.all(factors.event_demand == 1.0)


def test_viewing_and_demand_are_the_products_of_their_factors() -> None:
    factors = day_factors(PLATFORM, 11, GEOS, _days("2026-11-01", 60))
    viewing = (factors.weekday * factors.holiday_viewing * factors.season_viewing
               * factors.event_viewing * factors.shock)
    demand = factors.season_demand * factors.holiday_demand * factors.event_demand
    assert factors.viewing == pytest.approx(viewing, rel=1e-12)
    assert factors.demand == pytest.approx(demand, rel=1e-12)
    for name in DayFactors.__slots__:
        value = getattr(factors, name)
        if isinstance(value, np.ndarray) and value.ndim == 2:
            assert value.shape == (12, 60) and value.dtype == np.float64 and np.all(value > 0)


# --- supply shocks -----------------------------------------------------------------------------

@pytest.mark.parametrize(("sd", "rho"), [(0.08, 0.7), (0.06, 0.8), (0.10, 0.6)])
def test_shocks_have_their_sd_and_lag_one_autocorrelation(sd: float, rho: float) -> None:
    shocks = SupplyShocks(sd=sd, autocorrelation=rho)
    values = supply_shocks(shocks, 5, GEOS, _days("2020-01-01", 3000))
    logs = np.log(values)
    assert logs.std(axis=1).mean() == pytest.approx(sd, rel=0.06)
    lag1 = np.mean([np.corrcoef(row[:-1], row[1:])[0, 1] for row in logs])
    assert lag1 == pytest.approx(rho, abs=0.04)
    assert values.mean() == pytest.approx(1.0, abs=0.01)  # exp(x - sd²/2): mean 1
    # Geos move independently of one another.
    cross = np.corrcoef(logs)[np.triu_indices(len(GEOS), 1)]
    assert np.abs(cross).max() < 0.15


def test_shocks_off_and_seeds() -> None:
    days = _days("2026-01-01", 30)
    assert np.all(supply_shocks(SupplyShocks(sd=0.0), 5, GEOS, days) == 1.0)
    one, other = (supply_shocks(PLATFORM.supply_shocks, seed, GEOS, days) for seed in (1, 2))
    assert not np.allclose(one, other)


FULL = _days("2025-06-01", 400)
FULL_SHOCKS = supply_shocks(PLATFORM.supply_shocks, 42, GEOS, FULL)


@settings(max_examples=60, deadline=None)
@given(
    start=st.integers(0, 399), length=st.integers(1, 400),
    picks=st.lists(st.integers(0, 399), min_size=1, max_size=12),
    geo_order=st.permutations(GEOS),
)
def test_any_range_or_subset_of_days_gives_the_same_values(
    start: int, length: int, picks: list[int], geo_order: list[str]
) -> None:
    """Days [a, b) equal the slice of a wider range, scattered days (the sparse path) equal
    their columns, and geos in any order equal their rows, bit for bit."""
    rows = [GEOS.index(g) for g in geo_order]
    window = FULL[start:start + length]
    got = supply_shocks(PLATFORM.supply_shocks, 42, geo_order, window)
    assert np.array_equal(got, FULL_SHOCKS[rows, start:start + length])
    scattered = supply_shocks(PLATFORM.supply_shocks, 42, geo_order, FULL[picks])
    assert np.array_equal(scattered, FULL_SHOCKS[np.ix_(rows, picks)])


def test_day_factors_of_a_partition_equal_the_whole() -> None:
    days = _days("2026-01-01", 3650)
    whole = day_factors(PLATFORM, 9, GEOS, days)
    far_apart = days[[0, 1500, 3649]]  # sparse path
    parts = [day_factors(PLATFORM, 9, GEOS, days[a:b]) for a, b in ((0, 1000), (1000, 3650))]
    assert np.array_equal(np.hstack([p.viewing for p in parts]), whole.viewing)
    assert np.array_equal(np.hstack([p.demand for p in parts]), whole.demand)
    assert np.array_equal(day_factors(PLATFORM, 9, GEOS, far_apart).viewing,
                          whole.viewing[:, [0, 1500, 3649]])


# --- bad input ---------------------------------------------------------------------------------

def _platform_with(**changes: Any) -> dict[str, Any]:
    data = PLATFORM.model_dump(mode="json")
    data.update(changes)
    return data


US_RULE = {"name": "x", "month": 11, "weekday": "thursday", "nth": 4, "viewing": 1.2,
           "geos": ["US"]}
EVENT = {"name": "final", "start": "2026-06-01", "days": 2, "viewing": 1.3, "geos": ["US"]}


@pytest.mark.parametrize(
    ("changes", "where", "fragment"),
    [
        ({"holidays": [{**US_RULE, "day": 3}]}, "holidays.0",
         "holiday x: give either day (a fixed date) or weekday with nth, not both"),
        ({"holidays": [{**US_RULE, "weekday": None}]}, "holidays.0",
         "give day (a fixed date, e.g. day: 25) or both weekday and nth"),
        ({"holidays": [{**US_RULE, "weekday": "thurday"}]}, "holidays.0.weekday",
         "'thurday' is not allowed (did you mean 'thursday'"),
        ({"holidays": [{**US_RULE, "nth": 5}]}, "holidays.0.nth",
         "'5' is not allowed; allowed: 1, 2, 3, 4, -1"),
        ({"holidays": [{"name": "leap", "month": 2, "day": 29, "viewing": 1.1, "geos": ["US"]}]},
         "holidays.0", "month 2 has no day 29 in every year (at most 28)"),
        ({"holidays": [{**US_RULE, "viewing": 0}]}, "holidays.0.viewing", "greater than 0"),
        ({"holidays": [{**US_RULE, "geos": ["US", "XX"]}]}, "(top level)",
         "holiday x: geos ['XX'] are not served by this platform; served geos"),
        ({"holidays": [US_RULE, US_RULE]}, "(top level)",
         "holiday names must be unique; given twice: ['x']"),
        ({"holidays": [{**US_RULE, "name": "Thanks Giving"}]}, "holidays.0.name", "pattern"),
        ({"seasonality": {"viewing": [1.0] * 11}}, "seasonality.viewing",
         "needs 12 multipliers in (0, 5], January first (got 11 values)"),
        ({"seasonality": {"demand": [1.0] * 11 + [-1.0]}}, "seasonality.demand",
         "needs 12 multipliers"),
        ({"seasonality": {"demand": [1.0] * 12, "months": 12}}, "seasonality.months",
         "unknown key 'months'; allowed keys: demand, viewing"),
        ({"events": [{**EVENT, "start": "2026-02-30"}]}, "events.0.start", "date"),
        ({"events": [{**EVENT, "days": 0}]}, "events.0.days", "greater than or equal to 1"),
        ({"events": [{**EVENT, "demand": -2}]}, "events.0.demand", "greater than 0"),
        ({"events": [{**EVENT, "geos": []}]}, "events.0.geos", "at least 1 item"),
        ({"events": [{**EVENT, "geos": ["ZZ"]}]}, "(top level)",
         "event final: geos ['ZZ'] are not served"),
        ({"supply_shocks": {"sd": 0.8}}, "supply_shocks.sd", "less than or equal to 0.5"),
        ({"supply_shocks": {"autocorrelation": 1.0}}, "supply_shocks.autocorrelation",
         "less than or equal to 0.95"),
    ],
)
def test_bad_calendar_input_is_one_clear_error(
    changes: dict[str, Any], where: str, fragment: str
) -> None:
    with pytest.raises(SpecError) as caught:
        parse_template(_platform_with(**changes), source="my.yml")
    assert caught.value.where == f"my.yml: {where}"
    assert fragment in str(caught.value)


def test_a_platform_without_a_calendar_gets_the_documented_defaults() -> None:
    data = _platform_with()
    for key in ("holidays", "seasonality", "events", "supply_shocks"):
        del data[key]
    bare = Platform.model_validate(data)
    assert bare.holidays == () and bare.events == ()
    assert bare.supply_shocks == SupplyShocks(sd=0.08, autocorrelation=0.7)
    assert bare.seasonality == PLATFORM.seasonality  # the bundled file writes the defaults out


def test_day_factors_refuses_unserved_geos_and_bad_days() -> None:
    with pytest.raises(SpecError, match="XX is not served by platform netflix_like"):
        day_factors(PLATFORM, 1, ["US", "XX"], _days("2026-01-01", 3))
    with pytest.raises(ValueError, match="1-D integer array"):
        day_factors(PLATFORM, 1, ["US"], np.zeros((2, 2), dtype=np.int64))
    with pytest.raises(ValueError, match="1-D integer array"):
        day_factors(PLATFORM, 1, ["US"], np.array([1.5]))  # type: ignore[arg-type]
    empty = day_factors(PLATFORM, 1, ["US"], np.zeros(0, dtype=np.int64))
    assert empty.viewing.shape == (1, 0)


def test_the_readme_calendar_example_is_valid_platform_data() -> None:
    """The README's calendar example (a ```yaml block not run by test_readme) validates on
    the bundled platform and means what the README says."""
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    section = readme[readme.index("A platform also has a calendar"):]
    block = section[section.index("```yaml\n") + 8:section.index("```\n", 8)]
    platform = Platform.model_validate({**PLATFORM.model_dump(), **yaml.safe_load(block)})
    factors = day_factors(platform, 1, ["US", "GB"], _days("2026-11-26", 31))
    assert factors.holiday_viewing[0, 0] == 1.20 and factors.holiday_demand[0, 1] == 1.30
    assert factors.holiday_viewing[:, 30].tolist() == [1.0, 1.15]  # Boxing Day: GB only
