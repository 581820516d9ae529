"""Reach and frequency per line item × device, from the households of the shared world.

The population of a line item × device is its targetable households N (`world.households`):
households in its geos that watch its genres and own the device. Exposure to the line item
is heterogeneous across them — gamma distributed with the line item's shape k (truth:
`exposure_shape`) — so the impressions a household is offered in a window are negative
binomial (NBD) with mean O/N, and reach after O offered impressions is

    R = N · (1 − (1 + O/(N·k))^(−k))

(the NBD curve: slower than the Poisson N·(1 − e^(−O/N)), never saturating N). Heavy and
light households keep their intensity from window to window, so windows add up on the same
curve: cumulative reach uses the cumulative offered impressions.

A frequency cap of c per window stops each household at c: of S impressions offered in a
window, N · E[min(X, c)], X ~ NBD(k, S/N), can be served (`capped_mean`); supply is scaled
down to that before pacing. Pacing then serves D ≤ that; the offered impressions that
explain D are found by inverting the capped mean (bisection), and reach follows from them.
Windows are fixed blocks of `time_unit_count × time_unit` hours from the flight start (a
month is 720 h); a cap in minutes is applied per hour as c·⌈60/count⌉.

Rounded reach is clipped to [⌈window impressions ÷ c⌉ (running max), min(impressions so far,
N)] and made non-decreasing, which keeps every invariant exact.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from adsgen.build.items import SimLineItem
from adsgen.domain.enums import FrequencyPeriod
from adsgen.simulate import groups
from adsgen.simulate.grid import Grid
from adsgen.simulate.groups import Groups
from adsgen.world.positions import positions

__all__ = [
    "CapWindows",
    "cap_supply",
    "cap_window",
    "cap_windows",
    "capped_mean",
    "cumulative_reach",
    "offered_for",
    "paced_split",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

OFFER_STEPS = 14
"""Bisection steps inverting the capped mean: the bracket [served, served ÷ cap factor] is
narrow, 14 halvings of its log width leave well under 0.1 % of error."""
LOOP_CAP = 240
"""Caps above this many impressions per household and window never bind in practice: they
are treated as no cap (the capped mean is a loop over 0..c-1)."""


class CapWindows:
    """Cells regrouped device-major (line item, device, hour) with cap windows as groups."""

    __slots__ = ("cap", "capped", "order", "pairs", "windows")

    def __init__(self, order: I64, pairs: Groups, windows: Groups, cap: F64, capped: F64) -> None:
        self.order = order  # device-major position → cell index
        self.pairs = pairs  # groups: line item × device
        self.windows = windows  # groups: cap windows within each pair
        self.cap = cap  # per device-major element: impressions per household per window
        self.capped = capped  # per element: 1.0 where a cap applies


def cap_window(item: SimLineItem) -> tuple[int | None, float]:
    """(hours per cap window, impressions per household per window) of a line item, as the
    simulation applies its frequency cap; (None, inf) when uncapped (one window: the
    flight). Also the stream's home for the cap (`adsgen.stream.households`)."""
    fc = item.frequency_cap
    if fc is None:
        return None, math.inf
    if fc.time_unit is FrequencyPeriod.minutes:
        length, cap = 1, float(fc.max_impressions * math.ceil(60 / fc.time_unit_count))
    else:
        length = max(1, round(fc.time_unit.hours_per_unit * fc.time_unit_count))
        cap = float(fc.max_impressions)
    return length, (math.inf if cap > LOOP_CAP else cap)


def _window_hours_and_cap(grid: Grid) -> tuple[I64, F64]:
    length = grid.hours.copy()
    cap = np.full(grid.n, np.inf)
    for k, item in enumerate(grid.items):
        hours, cap[k] = cap_window(item)
        if hours is not None:
            length[k] = hours
    return np.maximum(length, 1), cap


def cap_windows(grid: Grid) -> CapWindows:
    """The device-major order of cells and the frequency-cap windows of every pair."""
    position = grid.cells.first[grid.cell_li] + grid.cell_rank * grid.hours[grid.cell_li]
    position += grid.cell_h
    order = np.empty_like(position)
    order[position] = np.arange(position.size)
    pairs = Groups(np.repeat(grid.hours, grid.n_dev))
    length, cap = _window_hours_and_cap(grid)
    pair_li = grid.pair_li
    per_pair = -(-grid.hours[pair_li] // length[pair_li])
    w_li = np.repeat(pair_li, per_pair)
    w_local = positions(per_pair)
    window_lengths = np.minimum(length[w_li], grid.hours[w_li] - w_local * length[w_li])
    windows = Groups(window_lengths)
    cell_li_dm = grid.cell_li[order]
    return CapWindows(
        order=order,
        pairs=pairs,
        windows=windows,
        cap=cap[cell_li_dm],
        capped=np.isfinite(cap)[cell_li_dm].astype(np.float64),
    )


def capped_mean(mean: F64, shape: F64, cap: F64) -> F64:
    """E[min(X, c)] for X negative binomial with this mean and gamma shape (c finite ≥ 1)."""
    k = np.maximum(shape, 1e-9)
    mu = np.maximum(mean, 0.0)
    p = mu / (k + mu)
    term = np.exp(-k * np.log1p(mu / k))  # P(X = 0)
    cdf = term.copy()
    total = 1.0 - cdf  # j = 0: P(X > 0)
    top = int(cap.max()) if cap.size else 0
    for j in range(1, top):
        term = term * ((k + j - 1.0) / j) * p
        cdf = cdf + term
        total = total + np.where(j < cap, np.maximum(1.0 - cdf, 0.0), 0.0)
    result: F64 = total
    return result


def offered_for(served: F64, population: F64, shape: F64, cap: F64, upper: F64) -> F64:
    """Offered impressions O in [served, upper] with N · capped_mean(O/N) = served.

    Bisection on log O, bracketed by `upper` (an offer known to serve at least `served`).
    """
    n = np.maximum(population, 1.0)
    low = np.log(np.maximum(served, 1e-9))
    high = np.log(np.maximum(upper, np.maximum(served, 1e-9)))
    for _ in range(OFFER_STEPS):
        mid = (low + high) / 2
        short = n * capped_mean(np.exp(mid) / n, shape, cap) < served
        low = np.where(short, mid, low)
        high = np.where(short, high, mid)
    offered: F64 = np.where(served > 0, np.exp((low + high) / 2), 0.0)
    return offered


def _per_element(cw: CapWindows, per_pair: F64, grid: Grid) -> F64:
    return per_pair[grid.pair_index][cw.order]


def cap_supply(
    supply: I64, pop: F64, shape: F64, grid: Grid, cw: CapWindows
) -> tuple[I64, F64]:
    """(supply per cell cut to what the frequency cap allows in each window (floor), the
    cut's factor per window).

    `pop` is per pair (line item × device), `shape` per line item.
    """
    s = supply[cw.order].astype(np.float64)
    total = groups.sums(s, cw.windows)
    first = cw.windows.first
    capped = (cw.capped[first] > 0) & (total > 0) if first.size else np.zeros(0, np.bool_)
    factor = np.ones(cw.windows.n)
    if capped.any():
        n = _per_element(cw, pop, grid)[first[capped]]
        k = shape[grid.cell_li[cw.order]][first[capped]]
        c = cw.cap[first[capped]]
        allowed = np.maximum(n, 0.0) * capped_mean(total[capped] / np.maximum(n, 1.0), k, c)
        factor[capped] = np.minimum(allowed / total[capped], 1.0)
    out = np.empty_like(supply)
    out[cw.order] = np.floor(s * factor[cw.windows.gid]).astype(np.int64)
    return out, factor


def offered_impressions(
    delivered: I64, pop: F64, shape: F64, grid: Grid, cw: CapWindows, factor: F64
) -> F64:
    """Per device-major element: offered impressions that explain the delivered ones.

    Uncapped, offered = delivered; capped, each window's delivered total is inverted
    through the capped mean and spread over its hours in proportion to delivery.
    """
    d = delivered[cw.order].astype(np.float64)
    total = groups.sums(d, cw.windows)
    first = cw.windows.first
    scale = np.ones(cw.windows.n)
    capped = (cw.capped[first] > 0) & (total > 0) if first.size else np.zeros(0, np.bool_)
    if capped.any():
        n = _per_element(cw, pop, grid)[first[capped]]
        k = shape[grid.cell_li[cw.order]][first[capped]]
        c = cw.cap[first[capped]]
        upper = total[capped] / np.maximum(factor[capped], 1e-12)
        scale[capped] = offered_for(total[capped], n, k, c, upper) / total[capped]
    offered: F64 = d * scale[cw.windows.gid]
    return offered


def cumulative_reach(
    delivered: I64, pop: F64, shape: F64, grid: Grid, cw: CapWindows, factor: F64
) -> tuple[I64, F64]:
    """(households reached so far per cell, offered impressions so far per cell)."""
    imps = delivered[cw.order]
    n_pair = _per_element(cw, pop, grid)
    n = np.maximum(n_pair, 1.0)
    k = np.maximum(shape[grid.cell_li[cw.order]], 1e-9)
    offered = groups.fixed_cumsum(offered_impressions(delivered, pop, shape, grid, cw, factor),
                                  cw.pairs, bits=8)
    reach = np.rint(n * -np.expm1(-k * np.log1p(offered / (n * k))))
    in_window = groups.cumsum(imps, cw.windows)
    capped = cw.capped > 0
    cap = np.where(capped, cw.cap, 1.0)
    total = groups.cumsum(imps, cw.pairs)
    floor_cap = np.where(capped, np.ceil(in_window / cap), np.minimum(total, 1)).astype(np.int64)
    low = groups.cummax(floor_cap, cw.pairs)
    high = np.minimum(total, np.floor(n_pair).astype(np.int64))
    result = np.clip(reach.astype(np.int64), low, high)
    result = groups.cummax(result, cw.pairs)
    out = np.empty_like(result)
    out[cw.order] = result
    offered_out = np.empty_like(offered)
    offered_out[cw.order] = offered
    return out, offered_out


def paced_split(
    delivered: I64, supply: I64, allowed: I64, pop: F64, shape: F64, grid: Grid, cw: CapWindows
) -> I64:
    """Delivery per cell with each capped line-item hour re-split over its devices as a
    paced buyer meets its households' caps (uncapped line items: `delivered` unchanged).

    `cap_supply` cuts a window's won `supply` to what its households' caps allow were the
    line item to buy all of it; a paced line item buys a share p of it (about 0.42 of a
    scale plan's supply), so each household is offered p times as many impressions and
    meets its cap far less often. A device whose owners watch most (CTV on a TV-first
    platform: 0.72 of viewing, 0.80 of households) is cut most at the full supply and
    barely at p of it; splitting by the full-supply cut moved youtube_tv_like's CTV share
    from 0.675 (caps off) to 0.649. Here p is the window's delivered ÷ won supply over the
    line item's devices, each device's weight its supply × the cap's cut at p of it; no cell
    gets more than `allowed` (its cap at the full supply: what keeps impressions ≤ reach ×
    cap exact), the excess going to the hour's other devices (pacing never delivers more
    than an hour's allowed supply, so there is room).
    """
    length, cap = _window_hours_and_cap(grid)
    capped_li = np.isfinite(cap)
    if not capped_li.any():
        return delivered
    li = grid.cell_li
    per_li = -(-grid.hours // length)
    key = (np.cumsum(per_li) - per_li)[li] + grid.cell_h // length[li]
    n_keys = int(per_li.sum())
    paced = np.bincount(key, weights=delivered, minlength=n_keys)
    won = np.bincount(key, weights=supply, minlength=n_keys)
    rate = np.divide(paced, won, out=np.zeros(n_keys), where=won > 0)

    s = supply[cw.order].astype(np.float64)
    total = groups.sums(s, cw.windows)
    first = cw.windows.first
    offered = total * rate[key[cw.order[first]]] if first.size else total
    on = (cw.capped[first] > 0) & (offered > 0) if first.size else np.zeros(0, np.bool_)
    factor = np.ones(cw.windows.n)
    if on.any():
        n = _per_element(cw, pop, grid)[first[on]]
        k = shape[li[cw.order]][first[on]]
        c = cw.cap[first[on]]
        met = np.maximum(n, 0.0) * capped_mean(offered[on] / np.maximum(n, 1.0), k, c)
        factor[on] = np.minimum(met / offered[on], 1.0)
    weight = np.empty(s.size)
    weight[cw.order] = s * factor[cw.windows.gid]

    per_hour = Groups(grid.n_dev[grid.lh_li])
    hour_total = np.bincount(grid.cell_lh, weights=delivered, minlength=per_hour.n)
    cum = groups.fixed_cumsum(weight, per_hour, bits=20)
    whole = cum[(per_hour.first + per_hour.lengths - 1)[grid.cell_lh]]
    last = np.r_[grid.cell_lh[1:] != grid.cell_lh[:-1], True] if li.size else li.astype(bool)
    d_hour = hour_total[grid.cell_lh]
    share = np.where(last, d_hour,
                     np.floor(d_hour * np.divide(cum, whole, out=np.zeros_like(cum),
                                                 where=whole > 0)))
    share = np.minimum(share, d_hour).astype(np.int64)
    split = share - groups.previous(share, per_hour)
    over = np.maximum(split - allowed, 0)
    if over.any():  # the excess of a cell over its allowed supply to the hour's others
        split = split - over
        room = allowed - split
        left = groups.sums(over.astype(np.float64), per_hour)[grid.cell_lh].astype(np.int64)
        before = groups.cumsum(room, per_hour) - room
        split = split + np.clip(left - before, 0, room)
    result: I64 = np.where(capped_li[li], split, delivered)
    return result
