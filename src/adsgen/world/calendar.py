"""A platform's calendar as numbers: one viewing and one demand multiplier per geo and local day.

`day_factors(platform, seed, geos, days)` is the texture of supply and demand over days
that every line item shares (issue 10, item 4). `days` are local calendar days, counted as
days since 1970-01-01, so a geo's day is its own midnight to midnight. For each geo × day:

    viewing = weekday × holiday × season × event × shock      (multiplies households viewing)
    demand  = season × holiday × event                         (advertiser demand / CPM pressure)

- weekday: the platform's `weekday_multipliers` (Monday first) divided by their mean, so an
  average week keeps `viewing_hours_per_day`. Because it is inside `viewing`, a caller that uses
  `viewing` must not apply weekday multipliers again.
- holiday: the product of the multipliers of the platform's `holidays` falling on that day,
  in the geos listed with each (1 elsewhere). Dates come from rules (templates/
  platform_calendar.py), computed for whatever years `days` span.
- season: the platform's twelve mid-month `seasonality` values, interpolated linearly by the
  day's position in its month (December to January wraps): no step at a month boundary.
- event: the product of the multipliers of the `events` running that day in that geo.
- shock: exp(x − sd²/2), x a stationary Gaussian with standard deviation `supply_shocks.sd`
  and lag-1 autocorrelation ≈ `supply_shocks.autocorrelation` (ρ): a moving average
  x_t = c · Σ_{j<W} ρ^j ε_{t−j}, c setting the variance to sd², of innovations ε keyed by
  (seed, "world.supply_shock", geo, day) through `adsgen.seeding`. This is the MA(∞) form
  of an AR(1) cut where ρ^j < SHOCK_CUTOFF (W ≤ SHOCK_WINDOW = 64 days), so the value of
  (seed, geo, day) is the same whatever days are asked for: no recursion runs from the
  first requested day. Lag-1 autocorrelation is ρ(1 − ρ^(2W−2)) / (1 − ρ^(2W)): ρ within
  10⁻⁶ up to ρ = 0.9 (W = 26 days for ρ = 0.7), 0.9499 for ρ = 0.95; lags of W days and
  more are uncorrelated.
  Mean 1.

Every component is returned too, for truth tables. All arrays are float64 of shape
(len(geos), len(days)).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from numpy.typing import NDArray

from adsgen.seeding import entity_keys, hash_counters, normal, stream_id
from adsgen.templates.platform_calendar import WEEKDAYS, Holiday, Seasonality, SupplyShocks
from adsgen.templates.spec import Platform

__all__ = [
    "SHOCK_CUTOFF",
    "SHOCK_STREAM",
    "SHOCK_WINDOW",
    "DayFactors",
    "day_factors",
    "holiday_days",
    "season_multipliers",
    "shock_weights",
    "supply_shocks",
    "weekday_of",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

SHOCK_STREAM = "world.supply_shock"
"""Stream name of the supply shocks' innovations (keyed by geo, then day)."""
SHOCK_WINDOW = 64
"""Most days of innovations in one shock (weights ρ^j, j < SHOCK_WINDOW)."""
SHOCK_CUTOFF = 1e-4
"""Lags whose weight ρ^j is below this are left out (26 days kept for ρ = 0.7): they would
add less than 10⁻⁸ of the variance."""
_EPOCH_MONDAY_SHIFT = 3  # 1970-01-01 was a Thursday: (days + 3) % 7 == 0 on Mondays
_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True, slots=True)
class DayFactors:
    """Multipliers per geo (rows, in the order asked) and local day (columns).

    `viewing` and `demand` are the products the caller uses; the other arrays are their
    factors, for truth tables: viewing = weekday × holiday_viewing × season_viewing ×
    event_viewing × shock and demand = season_demand × holiday_demand × event_demand.
    `weekday`, `season_viewing` and `season_demand` are the same in every geo: read-only
    broadcast views of one row (copy them to write).
    """

    geos: tuple[str, ...]
    days: I64
    viewing: F64
    demand: F64
    weekday: F64
    holiday_viewing: F64
    season_viewing: F64
    event_viewing: F64
    shock: F64
    holiday_demand: F64
    season_demand: F64
    event_demand: F64


def day_factors(platform: Platform, seed: int, geos: Sequence[str], days: I64) -> DayFactors:
    """Viewing and demand multipliers of each geo × local day (days since 1970-01-01).

    `viewing` includes the platform's weekday multipliers (normalised to a mean of 1): do not
    apply them again. Raises SpecError when a geo is not one the platform serves, ValueError
    when `days` is not a 1-D integer array.
    """
    platform.check_geos(geos, where="day_factors geos")
    days = _as_days(days)
    shape = (len(geos), days.size)
    weekday = np.asarray(platform.weekday_multipliers, dtype=np.float64)
    weekday_row = (weekday / weekday.mean())[weekday_of(days)]
    season_viewing_row = season_multipliers(platform.seasonality, days, kind="viewing")
    season_demand_row = season_multipliers(platform.seasonality, days, kind="demand")
    holiday_viewing, holiday_demand = _holidays(platform.holidays, geos, days)
    event_viewing, event_demand = np.ones(shape), np.ones(shape)
    for event in platform.events:
        start = (event.start - _EPOCH).days
        on = (days >= start) & (days < start + event.days)
        if not on.any():
            continue
        cells = np.ix_(_rows(geos, event.geos), np.flatnonzero(on))
        event_viewing[cells] *= event.viewing
        event_demand[cells] *= event.demand
    shock = supply_shocks(platform.supply_shocks, seed, geos, days)
    # The same in every geo: read-only views of one row, not copies.
    weekday_full = np.broadcast_to(weekday_row, shape)
    season_viewing = np.broadcast_to(season_viewing_row, shape)
    season_demand = np.broadcast_to(season_demand_row, shape)
    viewing = weekday_full * holiday_viewing
    viewing *= season_viewing
    viewing *= event_viewing
    viewing *= shock
    demand = season_demand * holiday_demand
    demand *= event_demand
    return DayFactors(
        geos=tuple(geos), days=days, viewing=viewing, demand=demand, weekday=weekday_full,
        holiday_viewing=holiday_viewing, season_viewing=season_viewing,
        event_viewing=event_viewing, shock=shock, holiday_demand=holiday_demand,
        season_demand=season_demand, event_demand=event_demand,
    )


def weekday_of(days: I64) -> I64:
    """Weekday of each day since 1970-01-01: 0 = Monday … 6 = Sunday."""
    weekday: I64 = (days + _EPOCH_MONDAY_SHIFT) % 7
    return weekday


def holiday_days(holiday: Holiday, years: I64) -> I64:
    """The holiday's date in each of `years`, as days since 1970-01-01 (offset included)."""
    months = (np.asarray(years, dtype=np.int64) - 1970) * 12 + (holiday.month - 1)
    first = _month_start(months)
    if holiday.day is not None:
        found = first + (holiday.day - 1)
    else:
        assert holiday.weekday is not None and holiday.nth is not None  # the model checks
        target = WEEKDAYS.index(holiday.weekday)
        if holiday.nth > 0:
            found = first + (target - weekday_of(first)) % 7 + 7 * (holiday.nth - 1)
        else:
            last = _month_start(months + 1) - 1
            found = last - (weekday_of(last) - target) % 7
    result: I64 = found + holiday.offset_days
    return result


def season_multipliers(seasonality: Seasonality, days: I64, *, kind: str) -> F64:
    """The `kind` ("viewing" or "demand") season multiplier of each day: the twelve mid-month
    values interpolated linearly by the day's position in its month, wrapping December to
    January."""
    values = np.asarray(getattr(seasonality, kind), dtype=np.float64)
    months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    start = _month_start(months)
    length = _month_start(months + 1) - start
    position = months % 12 + (days - start + 0.5) / length  # mid-month at k + 0.5
    centres = np.arange(-0.5, 13.0, 1.0)
    table = np.concatenate([values[-1:], values, values[:1]])
    season: F64 = np.interp(position, centres, table)
    return season


def supply_shocks(shocks: SupplyShocks, seed: int, geos: Sequence[str], days: I64) -> F64:
    """(len(geos), len(days)) log-normal supply multipliers, mean 1 (module docstring).

    Each value depends only on (seed, geo, day) and the platform's `sd` and
    `autocorrelation`: any subset, order or partition of days gives the same values.
    """
    days = _as_days(days)
    out = np.ones((len(geos), days.size), dtype=np.float64)
    if shocks.sd == 0 or out.size == 0:
        return out
    weights = shock_weights(shocks)
    window = weights.size
    keys = entity_keys(seed, SHOCK_STREAM, np.array([stream_id(g) for g in geos], np.uint64))
    low, high = int(days.min()), int(days.max())
    if high - low + 1 <= 4 * days.size:
        # Dense: every day of the span (and the window before it), by slices; then the days.
        span = high - low + 1
        innovations = _innovations(keys, np.arange(low - window + 1, high + 1))
        x = np.zeros((len(geos), span), dtype=np.float64)
        term = np.empty_like(x)
        for lag, weight in enumerate(weights):
            start = window - 1 - lag
            np.multiply(innovations[:, start : start + span], weight, out=term)
            x += term
        x = x[:, days - low]
    else:
        # Days far apart: each day's window drawn lag by lag; the same products added in the
        # same order, so the values are those of the dense path to the bit.
        x = np.zeros(out.shape, dtype=np.float64)
        for lag, weight in enumerate(weights):
            x += _innovations(keys, days - lag) * weight
    x -= 0.5 * shocks.sd * shocks.sd
    np.exp(x, out=out)
    return out


def shock_weights(shocks: SupplyShocks) -> F64:
    """Weights c·ρ^j of the innovations of days t−j in the log shock of day t: j runs until
    ρ^j falls below SHOCK_CUTOFF (at most SHOCK_WINDOW days), c gives a variance of sd²."""
    rho = shocks.autocorrelation
    window = 1 if rho == 0 else math.ceil(math.log(SHOCK_CUTOFF) / math.log(rho))
    weights = rho ** np.arange(min(max(window, 1), SHOCK_WINDOW), dtype=np.float64)
    weights *= shocks.sd / np.sqrt(np.sum(weights * weights))
    return weights


def _innovations(keys: NDArray[np.uint64], days: I64) -> F64:
    """Standard normals of (geo key, day): rows follow `keys`, columns `days`."""
    counters = np.broadcast_to(days.astype(np.uint64), (keys.size, days.size))
    drawn: F64 = normal(hash_counters(keys[:, None], counters)).astype(np.float64)
    return drawn


def _holidays(holidays: Sequence[Holiday], geos: Sequence[str], days: I64) -> tuple[F64, F64]:
    """Viewing and demand multipliers of the holidays, per geo × day (1 where none)."""
    viewing = np.ones((len(geos), days.size), dtype=np.float64)
    demand = viewing.copy()
    if days.size == 0 or not holidays:
        return viewing, demand
    ends = np.array([days.min(), days.max()]).astype("datetime64[D]").astype("datetime64[Y]")
    first_year, last_year = (ends.astype(np.int64) + 1970).tolist()
    # One year either side: an offset can move a rule's date across New Year.
    span = np.arange(first_year - 1, last_year + 2, dtype=np.int64)
    for holiday in holidays:
        dates = holiday_days(holiday, span)  # ascending, one per year
        found = np.minimum(np.searchsorted(dates, days), dates.size - 1)
        on = np.flatnonzero(dates[found] == days)
        rows = _rows(geos, holiday.geos)
        if on.size and rows.size:
            viewing[np.ix_(rows, on)] *= holiday.viewing
            demand[np.ix_(rows, on)] *= holiday.demand
    return viewing, demand


def _rows(geos: Sequence[str], chosen: Sequence[str]) -> I64:
    """Row numbers of the geos in `chosen`."""
    return np.array([row for row, geo in enumerate(geos) if geo in chosen], dtype=np.int64)


def _month_start(months: I64) -> I64:
    """Day (since 1970-01-01) of the first of each month (months since 1970-01)."""
    start: I64 = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    return start


def _as_days(days: I64) -> I64:
    array = np.asarray(days)
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(
            f"days must be a 1-D integer array of days since 1970-01-01 (got {array.dtype} "
            f"of shape {array.shape})"
        )
    result: I64 = array.astype(np.int64, copy=False)
    return result
