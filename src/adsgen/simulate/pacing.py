"""Pacing: budgets → hourly goals → delivered impressions per line-item hour, then per device.

Budgets are turned into impressions once: the lifetime budget buys ⌊budget·1000/CPM⌋ and a
daily cap ⌊cap·1000/CPM⌋ per UTC day, so spend = impressions × CPM / 1000 rounded down per
row can never pass either.

Goals (cumulative, per line item):
- period FLIGHT: a day's share of the budget is its share of flight hours (EVEN) or that
  tilted towards the start (AHEAD: weight 1 + a·(1 − 2x) at flight position x, a = 0.5, so
  about 62 % lands in the first half); within a day the goal follows the expected supply
  curve. Unspent goal carries forward (catch-up). ASAP (not valid with FLIGHT in DV360)
  is treated as "the whole budget at once".
- period DAILY: each UTC day gets budget × its share of flight hours, capped by the daily
  cap; EVEN follows the supply curve within the day, AHEAD tilts within the day, ASAP buys
  all it can from the day's first hour until the day's budget is spent. No carry-over.

Delivery follows D_h = min(D_{h-1} + S_h, G_h) per pacing group (S = supply the cap allows,
G = cumulative goal), solved in closed form with grouped scans:
D_h = CS_h + min(0, min_{k≤h}(G_k − CS_k)). Daily caps then cut a day's impressions at the
hour the cap binds, and the lifetime budget cuts at the hour it is exhausted.
Line-item hours are split over devices in proportion to their supply (largest remainders
by cumulative flooring, so no device gets more than it had on offer).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from adsgen.domain.enums import PacingPeriod, PacingType
from adsgen.simulate import groups
from adsgen.simulate.grid import Grid
from adsgen.simulate.groups import Groups
from adsgen.simulate.supply import planned_impressions

__all__ = ["AHEAD_TILT", "daily_cap_impressions", "pace"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

AHEAD_TILT = 0.5
_LIMIT = np.int64(1 << 40)  # impressions per line item that any realistic plan stays below
_NO_CAP = _LIMIT


def daily_cap_impressions(grid: Grid) -> I64:
    """Impressions a day's cap buys per line item (a huge number when uncapped)."""
    return np.array(
        [
            _NO_CAP if i.daily_cap_micros is None
            else max(i.daily_cap_micros, 0) * 1000 // max(i.cpm_micros, 1)
            for i in grid.items
        ],
        dtype=np.int64,
    )


def _flags(grid: Grid, pacing: PacingType, period: PacingPeriod | None = None) -> NDArray[np.bool_]:
    return np.array(
        [i.pacing_type is pacing and (period is None or i.pacing_period is period)
         for i in grid.items],
        dtype=np.bool_,
    )


def _ratio(numerator: F64, denominator: F64) -> F64:
    out = np.zeros_like(numerator)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def pace(grid: Grid, supply: I64, expected: F64) -> I64:
    """Delivered impressions per cell, given capped supply and expected supply per cell."""
    lh = grid.lh
    s_lh = np.bincount(grid.cell_lh, weights=supply, minlength=lh.gid.size).astype(np.int64)
    mu = np.bincount(grid.cell_lh, weights=expected, minlength=lh.gid.size).astype(np.float64)
    li = grid.lh_li

    # UTC days of each line item's flight
    first_day = grid.start // 86400
    n_days = (grid.start + 3600 * grid.hours - 1) // 86400 - first_day + 1
    day_off = np.cumsum(n_days) - n_days
    day_gid = day_off[li] + (grid.start[li] + 3600 * grid.lh_h) // 86400 - first_day[li]
    days = Groups.from_gid(day_gid, int(n_days.sum()))
    day_li = np.repeat(np.arange(grid.n), n_days)
    hours_in_day = days.lengths.astype(np.float64)
    hours = grid.hours.astype(np.float64)

    daily = np.array([i.pacing_period is PacingPeriod.daily for i in grid.items])
    ahead = _flags(grid, PacingType.ahead)
    asap = _flags(grid, PacingType.asap)
    planned = np.minimum(planned_impressions(grid), _LIMIT)
    day_cap = daily_cap_impressions(grid)

    # within-day weights: the supply curve, tilted for AHEAD + DAILY
    within = (np.arange(li.size) - days.first[day_gid] + 0.5) / hours_in_day[day_gid]
    tilt = np.where((ahead & daily)[li], 1.0 + AHEAD_TILT * (1.0 - 2.0 * within), 1.0)
    weight = mu * tilt
    in_day = _ratio(weight, groups.sums(weight, days)[day_gid])

    # FLIGHT: day shares of the budget, cumulated over the flight
    day_start_hour = days.first - grid.lh.first[day_li]
    x_day = (day_start_hour + hours_in_day / 2.0) / hours[day_li]
    share = hours_in_day * np.where(ahead[day_li], 1.0 + AHEAD_TILT * (1.0 - 2.0 * x_day), 1.0)
    share = share / np.bincount(day_li, weights=share, minlength=grid.n)[day_li]
    flight_goal = groups.fixed_cumsum(planned[li] * share[day_gid] * in_day, lh, bits=20)
    flight_goal = np.where(asap[li], planned[li], np.floor(flight_goal))

    # DAILY: each day's budget, cumulated within the day
    day_budget = np.floor(planned[day_li] * hours_in_day / hours[day_li])
    day_budget = np.minimum(day_budget, day_cap[day_li])
    daily_goal = np.floor(day_budget[day_gid] * groups.fixed_cumsum(in_day, days, bits=40))
    daily_goal = np.where(asap[li], day_budget[day_gid], daily_goal)

    goal = np.minimum(np.where(daily[li], daily_goal, flight_goal), planned[li]).astype(np.int64)
    new_group = grid.lh_h == 0
    new_group |= daily[li] & (np.arange(li.size) == days.first[day_gid])
    pacing_groups = Groups.from_gid(np.cumsum(new_group) - 1, int(new_group.sum()))

    cum_supply = groups.cumsum(s_lh, pacing_groups)
    slack = groups.cummin(np.clip(goal - cum_supply, -_LIMIT, _LIMIT), pacing_groups)
    cum_delivered = cum_supply + np.minimum(slack, 0)
    delivered = cum_delivered - groups.previous(cum_delivered, pacing_groups)

    # daily caps bind at the hour they are reached; then the lifetime budget
    before = groups.cumsum(delivered, days) - delivered
    delivered = np.minimum(delivered, np.maximum(day_cap[li] - before, 0))
    before = groups.cumsum(delivered, lh) - delivered
    delivered = np.minimum(delivered, np.maximum(planned[li] - before, 0))
    return _split_devices(grid, delivered, s_lh, supply)


def _split_devices(grid: Grid, delivered: I64, s_lh: I64, supply: I64) -> I64:
    """Split each line-item hour's impressions over its devices ∝ supply, by cumulative floors."""
    per_hour = Groups(grid.n_dev[grid.lh_li])
    cum = groups.cumsum(supply, per_hour)
    total = np.maximum(s_lh[grid.cell_lh], 1)
    share = delivered[grid.cell_lh] * cum // total
    return share - groups.previous(share, per_hour)
