"""Pacing: budgets → hourly goals → delivered impressions per line-item hour, then per device.

Budgets are turned into impressions once: the lifetime budget buys ⌊budget·1000/CPM⌋ and a
daily cap ⌊cap·1000/CPM⌋ per pacing day — a day of the campaign's time zone
(`SimLineItem.time_zone`: a US campaign's day starts at local midnight), so spend =
impressions × CPM / 1000 rounded down per row can never pass either.

Goals (cumulative, per line item):
- a day's share of the budget is its share of the flight's forecast supply (EVEN: even
  against the inventory, so weekends, holidays and the calendar show in delivery) or that
  tilted towards the start (AHEAD: weight 1 + a·(1 − 2x) at flight position x, a = 0.5, so
  about 62 % lands in the first half). A pacer misses each day's goal by a relative error
  (normal, sd PACING_ERROR = 4 %, keyed by line item and day): never to the impression.
- period FLIGHT: the cumulative goal at a day's end is off by that day's error × the day's
  goal, and caught up the next day (exact on the last day); within a day it follows the
  expected supply curve. Unspent goal carries forward (catch-up). ASAP (not valid with
  FLIGHT in DV360) is treated as "the whole budget at once".
- period DAILY: each local day gets its share × (1 + error), capped by the daily cap; EVEN
  follows the supply curve within the day, AHEAD tilts within the day, ASAP buys all it
  can from the day's first hour until the day's budget is spent. No carry-over.

Delivery follows D_h = min(D_{h-1} + S_h, G_h) per pacing group (S = supply the cap allows,
G = cumulative goal), solved in closed form with grouped scans:
D_h = CS_h + min(0, min_{k≤h}(G_k − CS_k)). Daily caps then cut a day's impressions at the
hour the cap binds, and the lifetime budget cuts at the hour it is exhausted.
Line-item hours are split over devices in proportion to their supply (largest remainders
by cumulative flooring, so no device gets more than it had on offer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from adsgen.build.items import SimLineItem
from adsgen.domain.enums import PacingPeriod, PacingType
from adsgen.simulate import groups
from adsgen.simulate.draws import hash_counters, line_item_keys, normal
from adsgen.simulate.grid import Grid
from adsgen.simulate.groups import Groups
from adsgen.world.curves import utc_offsets
from adsgen.world.positions import positions

__all__ = [
    "AHEAD_TILT", "PACING_ERROR", "Pacing", "daily_cap_impressions", "local_days", "pace",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

AHEAD_TILT = 0.5
PACING_ERROR = 0.04
"""Standard deviation of a pacer's daily miss of its goal (caught up the next day)."""
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


def local_days(items: Sequence[SimLineItem], owner: I64, epoch_seconds: I64) -> I64:
    """Day number (days since 1970-01-01) in its line item's time zone of each moment;
    `owner` indexes `items`. One vectorized pass per distinct zone."""
    zones, codes = np.unique(np.array([item.time_zone for item in items]), return_inverse=True)
    if zones.size == 1:
        return (epoch_seconds + utc_offsets(str(zones[0]), epoch_seconds)) // 86400
    code = codes.reshape(-1)[owner]
    days = np.empty(epoch_seconds.size, dtype=np.int64)
    for number, zone in enumerate(zones.tolist()):
        on = np.flatnonzero(code == number)
        days[on] = (epoch_seconds[on] + utc_offsets(zone, epoch_seconds[on])) // 86400
    return days


def _daily_error(grid: Grid, days: Groups, day_li: I64, seed: int) -> F64:
    """The pacer's relative error per line-item day: normal, sd PACING_ERROR, keyed."""
    keys = line_item_keys(seed, "pacing_error", grid.li_id)
    local = positions(np.bincount(day_li, minlength=grid.n))  # day_li is non-decreasing
    z = normal(hash_counters(keys[day_li], local.astype(np.uint64))).astype(np.float64)
    error: F64 = np.clip(PACING_ERROR * z, -3 * PACING_ERROR, 3 * PACING_ERROR)
    return error


@dataclass(frozen=True, slots=True)
class Pacing:
    """What pacing did: delivered impressions per cell, and per pacing day of each line item
    the goal and what each constraint took (for the `pacing` diagnostics table)."""

    delivered: I64  # per cell
    day_li: I64  # per pacing day: batch line item index
    day_number: I64  # local day number in the campaign's time zone (days since 1970-01-01)
    goal: I64  # the day's goal
    offered: I64  # supply the frequency cap allowed
    paced: I64  # delivered before the daily cap and the lifetime budget
    daily_cap_cut: I64
    budget_cut: I64
    days: Groups  # line-item hours grouped by pacing day


def pace(grid: Grid, supply: I64, expected: F64, *, seed: int = 0) -> Pacing:
    """Delivery per cell, given capped supply and expected supply per cell."""
    lh = grid.lh
    s_lh = np.bincount(grid.cell_lh, weights=supply, minlength=lh.gid.size).astype(np.int64)
    mu = np.bincount(grid.cell_lh, weights=expected, minlength=lh.gid.size).astype(np.float64)
    li = grid.lh_li

    # the campaign's local days (its time zone) over the line item's flight
    local_day = local_days(grid.items, li, grid.start[li] + 3600 * grid.lh_h)
    first_day = local_day[grid.lh.first]
    n_days = local_day[grid.lh.first + grid.hours - 1] - first_day + 1
    day_off = np.cumsum(n_days) - n_days
    day_gid = day_off[li] + local_day - first_day[li]
    days = Groups.from_gid(day_gid, int(n_days.sum()))
    day_li = np.repeat(np.arange(grid.n), n_days)
    hours_in_day = days.lengths.astype(np.float64)
    hours = grid.hours.astype(np.float64)

    daily = np.array([i.pacing_period is PacingPeriod.daily for i in grid.items])
    ahead = _flags(grid, PacingType.ahead)
    asap = _flags(grid, PacingType.asap)
    planned = np.minimum(grid.targets.planned, _LIMIT)
    day_cap = daily_cap_impressions(grid)

    # within-day weights: the supply curve, tilted for AHEAD + DAILY
    within = (days.position + 0.5) / hours_in_day[day_gid]
    tilt = np.where((ahead & daily)[li], 1.0 + AHEAD_TILT * (1.0 - 2.0 * within), 1.0)
    weight = mu * tilt
    in_day = _ratio(weight, groups.sums(weight, days)[day_gid])

    # Day shares of the budget follow the forecast supply of each day (weekdays, holidays
    # and the day-part show in delivery), tilted towards the start for AHEAD.
    day_start_hour = days.first - grid.lh.first[day_li]
    x_day = (day_start_hour + hours_in_day / 2.0) / hours[day_li]
    forecast = groups.sums(mu, days)
    weight = np.where(forecast > 0, forecast, hours_in_day * 1e-9)
    share = weight * np.where(ahead[day_li], 1.0 + AHEAD_TILT * (1.0 - 2.0 * x_day), 1.0)
    share = share / np.bincount(day_li, weights=share, minlength=grid.n)[day_li]
    error = _daily_error(grid, days, day_li, seed)

    # FLIGHT: the cumulative goal at each day's end is off by the pacer's daily error and
    # caught up the next day (exact on the last day)
    exact = groups.fixed_cumsum(planned[li] * share[day_gid] * in_day, lh, bits=20)
    last_day = np.r_[day_li[1:] != day_li[:-1], True] if day_li.size else day_li.astype(bool)
    day_err = np.where(last_day, 0.0, error)
    so_far = groups.fixed_cumsum(in_day, days, bits=40)  # share of the day's goal by hour h
    missed = day_err[day_gid] * planned[li] * share[day_gid] * so_far
    flight_goal = np.minimum(exact + missed, planned[li])
    flight_goal = np.where(asap[li], planned[li], np.floor(flight_goal))
    flight_goal = groups.cummax(flight_goal.astype(np.int64), lh).astype(np.float64)

    # DAILY: each day's budget (its share, off by the pacer's error), cumulated within the day
    day_budget = np.floor(planned[day_li] * share * (1.0 + error))
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
    paced = delivered
    before = groups.cumsum(delivered, days) - delivered
    after_daily = np.minimum(delivered, np.maximum(day_cap[li] - before, 0))
    before = groups.cumsum(after_daily, lh) - after_daily
    delivered = np.minimum(after_daily, np.maximum(planned[li] - before, 0))

    # the day's goal as planned (before the pacer's error): what the exact goal adds over the
    # day (FLIGHT), the day's exact budget (DAILY); `delivered` misses it by the error
    day_last = days.first + days.lengths - 1
    exact_daily = np.minimum(np.floor(planned[day_li] * share), day_cap[day_li])
    planned_goal = np.where(daily[li], exact_daily[day_gid],
                            np.where(asap[li], planned[li], np.floor(exact)))
    goal_end = planned_goal[day_last].astype(np.int64)
    previous = np.r_[0, goal_end[:-1]]
    first_of_li = np.r_[True, day_li[1:] != day_li[:-1]] if day_li.size else day_li.astype(bool)
    day_goal = np.where(daily[day_li] | first_of_li, goal_end, goal_end - previous)

    def per_day(values: I64) -> I64:
        return groups.sums(values.astype(np.float64), days).astype(np.int64)

    return Pacing(
        delivered=_split_devices(grid, delivered, s_lh, supply),
        day_li=day_li,
        day_number=first_day[day_li] + np.arange(days.n) - day_off[day_li],
        goal=np.maximum(day_goal, 0),
        offered=per_day(s_lh),
        paced=per_day(paced),
        daily_cap_cut=per_day(paced - after_daily),
        budget_cut=per_day(after_daily - delivered),
        days=days,
    )


def _split_devices(grid: Grid, delivered: I64, s_lh: I64, supply: I64) -> I64:
    """Split each line-item hour's impressions over its devices ∝ supply, by cumulative floors."""
    per_hour = Groups(grid.n_dev[grid.lh_li])
    cum = groups.cumsum(supply, per_hour)
    total = np.maximum(s_lh[grid.cell_lh], 1)
    share = delivered[grid.cell_lh] * cum // total
    return share - groups.previous(share, per_hour)
