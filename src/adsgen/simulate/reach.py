"""Reach and frequency per line item × device: the cap's allowance and cumulative reach.

Households in the audience (population N) receive impressions as a Poisson process; a
frequency cap of c per window stops each household at c. With I impressions served in a
window, the window's reach is r = N·(1 − (1 − I/(cN))^c): exact at c = 1 (r = I), the Poisson
curve N·(1 − e^(−I/N)) as c → ∞, and always I/c ≤ r ≤ I. Windows are fixed blocks of
`time_unit_count × time_unit` hours from the flight start (a month is 720 h); a cap in
minutes is applied per hour as c·⌈60/count⌉ impressions per household-hour.

The cap's allowance in a window with S impressions on offer is cN·(1 − e^(−S/(cN))):
what a Poisson stream of S/N opportunities per household yields once each household is cut
at c (smooth; exact for c = 1). Supply is scaled down to it before pacing.

Cumulative reach treats windows as independent draws over the same households:
1 − R/N = Π_w (1 − r_w/N), accumulated as a sum of logs, so it never decreases and equals
the Poisson curve of cumulative impressions when uncapped. Rounded reach is clipped to
[⌈I_w/c⌉ (running max), min(cumulative impressions, N)], which keeps every invariant exact.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from adsgen.domain.enums import FrequencyPeriod
from adsgen.simulate import groups
from adsgen.simulate.grid import Grid
from adsgen.simulate.groups import Groups

__all__ = ["CapWindows", "cap_supply", "cap_windows", "cumulative_reach"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


class CapWindows:
    """Cells regrouped device-major (line item, device, hour) with cap windows as groups."""

    __slots__ = ("cap", "capped", "order", "pairs", "windows")

    def __init__(self, order: I64, pairs: Groups, windows: Groups, cap: F64, capped: F64) -> None:
        self.order = order  # device-major position → cell index
        self.pairs = pairs  # groups: line item × device
        self.windows = windows  # groups: cap windows within each pair
        self.cap = cap  # per device-major element: impressions per household per window
        self.capped = capped  # per element: 1.0 where a cap applies


def _window_hours_and_cap(grid: Grid) -> tuple[I64, F64]:
    length = grid.hours.copy()
    cap = np.full(grid.n, np.inf)
    for k, item in enumerate(grid.items):
        fc = item.frequency_cap
        if fc is None:
            continue
        if fc.time_unit is FrequencyPeriod.minutes:
            length[k] = 1
            cap[k] = fc.max_impressions * math.ceil(60 / fc.time_unit_count)
        else:
            length[k] = max(1, round(fc.time_unit.hours_per_unit * fc.time_unit_count))
            cap[k] = fc.max_impressions
    return np.maximum(length, 1), cap


def cap_windows(grid: Grid) -> CapWindows:
    """The device-major order of cells and the frequency-cap windows of every pair."""
    # Pairs are laid out inside each line item's block of cells: same offsets as the cells.
    position = grid.cells.first[grid.cell_li] + grid.cell_rank * grid.hours[grid.cell_li]
    position += grid.cell_h
    order = np.empty_like(position)
    order[position] = np.arange(position.size)
    pairs = Groups(np.repeat(grid.hours, grid.n_dev))
    length, cap = _window_hours_and_cap(grid)
    pair_li = np.repeat(np.arange(grid.n), grid.n_dev)
    per_pair = -(-grid.hours[pair_li] // length[pair_li])
    w_li = np.repeat(pair_li, per_pair)
    w_local = np.arange(w_li.size) - np.repeat(np.cumsum(per_pair) - per_pair, per_pair)
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


def cap_supply(supply: I64, pop: I64, grid: Grid, cw: CapWindows) -> I64:
    """Supply per cell cut to what the frequency cap allows in each window (floor)."""
    s = supply[cw.order].astype(np.float64)
    n = pop[grid.pair_index][cw.order].astype(np.float64)
    limit = np.where(cw.capped > 0, cw.cap, 1.0) * n
    total = groups.sums(s, cw.windows)[cw.windows.gid]
    with np.errstate(divide="ignore", invalid="ignore"):
        allowance = limit * -np.expm1(-total / limit)
        factor = np.where((cw.capped > 0) & (total > 0), np.minimum(allowance / total, 1.0), 1.0)
    factor = np.where(limit > 0, factor, 0.0)
    out = np.empty_like(supply)
    out[cw.order] = np.floor(s * factor).astype(np.int64)
    return out


def cumulative_reach(delivered: I64, pop: I64, grid: Grid, cw: CapWindows) -> I64:
    """Households reached so far per cell (line item × device), from impressions per cell."""
    imps = delivered[cw.order]
    n = np.maximum(pop[grid.pair_index][cw.order].astype(np.float64), 1.0)
    in_window = groups.cumsum(imps, cw.windows)
    capped = cw.capped > 0
    cap = np.where(capped, cw.cap, 1.0)
    ratio = np.minimum(in_window / (cap * n), 1.0 - 1e-12)
    term: F64 = np.where(capped, cap * np.log1p(-ratio), -in_window / n).astype(np.float64)
    step = term - groups.previous(term, cw.windows)
    np.clip(step, -64.0, 0.0, out=step)  # e^-64: nobody left unreached
    log_unreached = groups.fixed_cumsum(step, cw.pairs, bits=40)
    reach = np.rint(n * -np.expm1(log_unreached))
    total = groups.cumsum(imps, cw.pairs)
    floor_cap = np.where(capped, np.ceil(in_window / cap), np.minimum(total, 1)).astype(np.int64)
    low = groups.cummax(floor_cap, cw.pairs)
    high = np.minimum(total, pop[grid.pair_index][cw.order])
    result = np.clip(reach.astype(np.int64), low, high)
    result = groups.cummax(result, cw.pairs)
    out = np.empty_like(result)
    out[cw.order] = result
    return out
