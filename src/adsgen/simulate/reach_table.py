"""The `reach` table: reach and frequency per line item × device × day, and over the flight.

Rows per line item: for each targeted device and for `all` (households de-duplicated over
devices), one row per UTC day of the flight (`period = 'day'`) and one for the whole flight
(`period = 'flight'`, `day` null). Every number is a view of the same model as the
performance rows (`simulate.reach`):

- reach of a period = NBD reach of the impressions offered in it, N·(1 − (1 + O/(N·k))^(−k)),
  clipped to [the households the frequency cap needs, min(impressions, cumulative_reach)]:
  each piece of the day in one cap window needs ⌈its impressions ÷ cap⌉ households, none of
  them first reached later that day (`_day_reach_floor`), so some set of households can
  carry the day within the cap (the stream's households do, `adsgen.stream.households`);
- cumulative_reach = households reached from the flight start to the end of the period (the
  performance rows' value at the period's last hour);
- `all`: a household owning several targeted devices counts once. Households own devices
  independently (`world.households.OWNERSHIP`) and keep one exposure intensity on all of
  them, so the share never reached is Σ_bundles P(bundle)·(1 + Σ_{d in bundle} O_d/(N_d·k))^(−k);
  kept to what some set of households can have (the stream's household ids meet every `all`
  row exactly, `adsgen.stream.households`): the cumulative union never falls and grows in a
  day by at most the devices' new households of the day (a household new to the union is
  new to one of its devices); a day's union is at least the day's new households of the
  union plus any one device's households seen that day but reached before, and at most the
  cumulative union;
- the frequency distribution (households that saw 1, 2, … 9, 10 or more impressions) is the
  negative binomial with the period's mean impressions per household and never-reached
  share, cut at what the frequency cap allows, in whole households that sum to the reach.
"""

from __future__ import annotations

import itertools

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from adsgen.simulate import groups
from adsgen.simulate.columns import REACH_SCHEMA, without_platform
from adsgen.simulate.grid import DEVICES, Grid
from adsgen.simulate.groups import Groups
from adsgen.simulate.reach import CapWindows
from adsgen.world.households import nbd_shape_for_reach

__all__ = ["FREQUENCY_BUCKETS", "frequency_counts", "reach_rows", "reach_table"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

FREQUENCY_BUCKETS = 10
"""Households are counted at frequency 1, 2, …, 9 and 10 or more."""


def _nbd_share(mean: F64, shape: F64) -> F64:
    return -np.expm1(-shape * np.log1p(mean / np.maximum(shape, 1e-12)))


def frequency_counts(population: F64, reach: I64, impressions: I64, most: F64) -> I64:
    """(rows, 10) households at frequency 1..9 and 10+, summing to `reach` per row.

    `most` is the most impressions a household can get in the period (inf when uncapped).
    """
    rows = reach.size
    out = np.zeros((rows, FREQUENCY_BUCKETS), dtype=np.int64)
    live = reach > 0
    if not live.any():
        return out
    n = np.maximum(population[live], reach[live].astype(np.float64))
    mean = impressions[live] / n
    shape = nbd_shape_for_reach(mean, reach[live] / n)
    p = mean / (shape + mean)
    term = np.exp(-shape * np.log1p(mean / shape))
    pmf = np.zeros((term.size, FREQUENCY_BUCKETS))
    for j in range(1, FREQUENCY_BUCKETS):
        term = term * ((shape + j - 1.0) / j) * p
        pmf[:, j - 1] = term
    reached_share = np.maximum(1.0 - np.exp(-shape * np.log1p(mean / shape)), 1e-300)
    pmf /= reached_share[:, None]
    pmf[:, -1] = np.maximum(1.0 - pmf[:, :-1].sum(axis=1), 0.0)
    top = np.minimum(most[live], FREQUENCY_BUCKETS)  # mass beyond the cap goes to the cap
    level = np.arange(1, FREQUENCY_BUCKETS + 1)[None, :]
    over = level > top[:, None]
    folded = np.where(over, pmf, 0.0).sum(axis=1)
    pmf = np.where(over, 0.0, pmf)
    at_top = np.clip(top.astype(np.int64) - 1, 0, FREQUENCY_BUCKETS - 1)
    pmf[np.arange(pmf.shape[0]), at_top] += folded
    cum = np.floor(np.cumsum(pmf, axis=1) * reach[live][:, None] + 1e-9).astype(np.int64)
    cum[:, -1] = reach[live]
    cum = np.maximum.accumulate(np.minimum(cum, reach[live][:, None]), axis=1)
    counts = np.diff(cum, axis=1, prepend=0)
    # whole households never add up to more impressions than were served
    excess = (counts * level).sum(axis=1) - impressions[live]
    for j in range(FREQUENCY_BUCKETS, 1, -1):
        move = np.minimum(counts[:, j - 1], np.maximum(-(-excess // (j - 1)), 0))
        counts[:, j - 1] -= move
        counts[:, 0] += move
        excess -= move * (j - 1)
    out[live] = counts
    return out


def _day_reach_floor(imps: I64, cum: I64, day_start: NDArray[np.bool_], window: I64,
                     day_cum: I64, cap: F64) -> I64:
    """The fewest households a pair's day can have (per pair × day): over each piece of the
    day in one cap window, ⌈the piece's impressions ÷ cap⌉ households seen in it (1 if it
    has any, uncapped) plus the households first reached later that day (not seen in it).

    Device-major per cell: `imps`, cumulative reach `cum`, `day_start` (a pair × day's first
    cell), cap `window` (group id); per pair × day: `day_cum` (cumulative reach at its end),
    `cap` (inf: uncapped). A day inside one window needs reach ≥ impressions ÷ cap; a day
    split by a window boundary needs it for each piece, not only for the day as a whole
    (impressions ÷ (cap × windows): a 14-hour cap of 1 whose window held the whole day's
    159,494 impressions got a day reach of 159,492, and the stream's households could not
    carry them).
    """
    if not imps.size:
        return np.zeros(0, np.int64)
    piece_start = day_start | np.r_[True, window[1:] != window[:-1]]
    piece = Groups.from_gid(np.cumsum(piece_start) - 1, int(piece_start.sum()))
    piece_day = (np.cumsum(day_start) - 1)[piece.first]
    piece_imps = groups.sums(imps.astype(np.float64), piece)
    c = cap[piece_day]
    finite = np.isfinite(c)
    seen = np.where(finite, np.ceil(piece_imps / np.where(finite, c, 1.0)),
                    np.minimum(piece_imps, 1.0)).astype(np.int64)
    later = day_cum[piece_day] - cum[piece.first + piece.lengths - 1]
    floor: I64 = np.maximum.reduceat(seen + later, np.flatnonzero(day_start[piece.first]))
    return floor


def _union_unreached(x: F64, devices: NDArray[np.bool_], own: F64, shape: F64) -> F64:
    """Share of the base population never reached, over device-ownership bundles.

    `x` (rows, 3): offered impressions per owning household on each device; `devices`
    (rows, 3) the targeted ones; `own` (3,) ownership shares; `shape` (rows,) the NBD k.
    """
    unreached = np.zeros(x.shape[0])
    for bundle in itertools.product((False, True), repeat=len(DEVICES)):
        owned = np.array(bundle)
        weight = float(np.prod(np.where(owned, own, 1.0 - own)))
        if weight == 0.0:
            continue
        exposure = (x * (devices & owned[None, :])).sum(axis=1)
        unreached += weight * np.exp(-shape * np.log1p(exposure / shape))
    return unreached


def reach_rows(
    grid: Grid,
    cw: CapWindows,
    *,
    delivered: I64,
    reach: I64,
    offered: F64,
    pop: F64,
    union: F64,
    ownership: F64,
    shape: F64,
) -> dict[str, NDArray[np.generic]]:
    """The reach table's columns for a batch (see the module), unsorted numpy arrays.

    Per cell: `delivered`, cumulative `reach` and cumulative `offered` impressions; per
    pair (line item × device) `pop`; per line item `union` (targetable over its devices)
    and `shape`; `ownership` (3,) per device.
    """
    order = cw.order
    imps = delivered[order]
    li_dm = grid.cell_li[order]
    pair_dm = grid.pair_index[order]
    hour = grid.start[li_dm] + 3600 * grid.cell_h[order]
    day = hour // 86400
    new = np.r_[True, (pair_dm[1:] != pair_dm[:-1]) | (day[1:] != day[:-1])] if day.size \
        else np.zeros(0, np.bool_)
    pd = Groups.from_gid(np.cumsum(new) - 1, int(new.sum()))
    last = pd.first + pd.lengths - 1
    pd_pair = pair_dm[pd.first]
    pd_li = li_dm[pd.first]
    pd_day = day[pd.first]
    pd_imps = groups.sums(imps.astype(np.float64), pd).astype(np.int64)
    off_cum = offered[order]
    pair_start = np.r_[True, pair_dm[1:] != pair_dm[:-1]] if day.size else new
    before = np.where(pair_start[pd.first], 0.0, off_cum[np.maximum(pd.first - 1, 0)])
    pd_offered = np.maximum(off_cum[last] - before, 0.0)
    pd_cum = reach[order][last]
    n = pop[pd_pair]
    k = shape[pd_li]
    cap = np.where(cw.capped[pd.first] > 0, cw.cap[pd.first], np.inf)
    windows_in_day = cw.windows.gid[last] - cw.windows.gid[pd.first] + 1
    most = cap * windows_in_day
    low = _day_reach_floor(imps, reach[order], new, cw.windows.gid, pd_cum, cap)
    day_reach = np.rint(_nbd_share(pd_offered / np.maximum(n, 1.0), k) * n).astype(np.int64)
    day_reach = np.clip(day_reach, low, np.minimum(pd_imps, pd_cum))

    # flight rows per pair: the last day's cumulative values
    pair_last = np.r_[pd_pair[1:] != pd_pair[:-1], True] if pd_pair.size else pd_pair.astype(bool)
    flight = np.flatnonzero(pair_last)
    pair_of_flight = pd_pair[flight]
    f_imps = np.bincount(pd_pair, weights=pd_imps, minlength=pop.size).astype(np.int64)
    f_cap = np.zeros(pop.size)
    f_cap[pd_pair] = cap
    windows_of_pair = np.bincount(pair_dm[cw.windows.first], minlength=pop.size)
    f_most = f_cap * np.maximum(windows_of_pair, 1)

    # de-duplicated over devices ("all"), per line item × day and over the flight
    new_cum = pd_cum - groups.previous(pd_cum, Groups(np.bincount(pd_pair, minlength=pop.size)))
    n_days = np.bincount(pd_pair, minlength=pop.size)
    pair_li = grid.pair_li
    li_days = n_days[grid.pair_first]
    pair_first = np.cumsum(n_days) - n_days
    ld_li = np.repeat(np.arange(grid.n), li_days)
    ld_t = np.arange(ld_li.size) - np.repeat(np.cumsum(li_days) - li_days, li_days)
    targeted = np.zeros((grid.n, len(DEVICES)), dtype=np.bool_)
    x_day = np.zeros((ld_li.size, len(DEVICES)))
    x_cum = np.zeros((ld_li.size, len(DEVICES)))
    cum_sum = np.zeros(ld_li.size, dtype=np.int64)
    cum_max = np.zeros(ld_li.size, dtype=np.int64)
    day_sum = np.zeros(ld_li.size, dtype=np.int64)
    day_max = np.zeros(ld_li.size, dtype=np.int64)
    old_max = np.zeros(ld_li.size, dtype=np.int64)
    imps_all = np.zeros(ld_li.size, dtype=np.int64)
    most_all = np.zeros(ld_li.size)
    for r in range(int(grid.n_dev.max()) if grid.n else 0):
        has = grid.n_dev[ld_li] > r
        pairs = grid.pair_first[ld_li[has]] + r
        g = pair_first[pairs] + ld_t[has]
        dev = grid.dev_codes[ld_li[has], r]
        targeted[ld_li[has], dev] = True
        per_household = np.maximum(pop[pairs], 1.0)
        cum_offered = off_cum[last[g]]
        x_day[np.flatnonzero(has), dev] = pd_offered[g] / per_household
        x_cum[np.flatnonzero(has), dev] = cum_offered / per_household
        cum_sum[has] += pd_cum[g]
        cum_max[has] = np.maximum(cum_max[has], pd_cum[g])
        day_sum[has] += day_reach[g]
        day_max[has] = np.maximum(day_max[has], day_reach[g])
        old_max[has] = np.maximum(old_max[has], day_reach[g] - new_cum[g])
        imps_all[has] += pd_imps[g]
        most_all[has] += most[g]
    k_ld = np.maximum(shape[ld_li], 1e-12)
    own_any = 1.0 - np.prod(1.0 - ownership[None, :] * targeted, axis=1)
    base = union / np.maximum(own_any, 1e-12)
    devices = targeted[ld_li]
    all_cum = np.rint(base[ld_li] * (1.0 - _union_unreached(x_cum, devices, ownership, k_ld)))
    all_cum = np.clip(all_cum.astype(np.int64), cum_max, np.maximum(cum_sum, cum_max))
    li_groups = Groups(li_days)
    all_cum = groups.cummax(all_cum, li_groups)
    # a household new to the union on a day is new to one of its devices that day
    all_cum = cum_sum + groups.cummin(all_cum - cum_sum, li_groups)
    all_new = all_cum - groups.previous(all_cum, li_groups)
    all_day = np.rint(base[ld_li] * (1.0 - _union_unreached(x_day, devices, ownership, k_ld)))
    all_day = np.clip(all_day.astype(np.int64),
                      np.maximum(day_max, all_new + old_max),
                      np.minimum(np.minimum(day_sum, imps_all), all_cum))
    li_last = np.cumsum(li_days) - 1
    li_imps = np.bincount(ld_li, weights=imps_all, minlength=grid.n).astype(np.int64)

    # assemble: day rows (devices, then all), flight rows (devices, then all)
    all_code = len(DEVICES)
    li_id = grid.li_id
    pair_dev = grid.pair_dev
    columns: dict[str, list[NDArray[np.generic]]] = {
        name: [] for name in ("line_item_id", "device", "day", "flight", "impressions",
                              "reach", "cumulative_reach", "population", "most")
    }

    def add(li: I64, dev: I64, days: I64, is_flight: bool, imps_: I64, reach_: I64,
            cum_: I64, population: F64, most_: F64) -> None:
        columns["line_item_id"].append(li_id[li])
        columns["device"].append(dev)
        columns["day"].append(days)
        columns["flight"].append(np.full(li.size, is_flight))
        columns["impressions"].append(imps_)
        columns["reach"].append(reach_)
        columns["cumulative_reach"].append(cum_)
        columns["population"].append(population)
        columns["most"].append(most_)

    add(pd_li, pair_dev[pd_pair], pd_day, False, pd_imps, day_reach, pd_cum, n, most)
    first_day = grid.start // 86400
    add(ld_li, np.full(ld_li.size, all_code), first_day[ld_li] + ld_t, False, imps_all,
        all_day, all_cum, union[ld_li], most_all)
    add(pd_li[flight], pair_dev[pair_of_flight], pd_day[flight], True,
        f_imps[pair_of_flight], pd_cum[flight], pd_cum[flight], pop[pair_of_flight],
        f_most[pair_of_flight])
    li_range = np.arange(grid.n)
    add(li_range, np.full(grid.n, all_code), first_day + li_days - 1, True, li_imps,
        all_cum[li_last], all_cum[li_last], union,
        np.bincount(pair_li, weights=f_most, minlength=grid.n).astype(np.float64))
    out = {name: np.concatenate(parts) for name, parts in columns.items()}
    out["frequency"] = frequency_counts(out["population"], out["reach"], out["impressions"],
                                        out["most"])
    return out


def reach_table(columns: dict[str, NDArray[np.generic]]) -> pa.Table:
    """The REACH_SCHEMA table of `reach_rows`, sorted by line item, device, flight last, day."""
    names = np.array([d.value for d in DEVICES] + ["all"])
    device = np.asarray(columns["device"], dtype=np.int64)
    flight = np.asarray(columns["flight"], dtype=np.bool_)
    order = np.lexsort((columns["day"], flight, names[device], columns["line_item_id"]))
    imps = np.asarray(columns["impressions"], dtype=np.int64)[order]
    reach = np.asarray(columns["reach"], dtype=np.int64)[order]
    freq = np.asarray(columns["frequency"], dtype=np.int64)[order]
    average = np.zeros(imps.size)
    np.divide(imps, reach, out=average, where=reach > 0)
    arrays: list[pa.Array] = [
        pa.array(np.asarray(columns["line_item_id"], dtype=np.int64)[order]),
        pa.array(names[device[order]]),
        pa.array(np.where(flight[order], "flight", "day")),
        pa.array(np.asarray(columns["day"], dtype=np.int64)[order].astype(np.int32),
                 type=pa.int32()).cast(pa.date32()),
        pa.array(imps),
        pa.array(reach),
        pa.array(np.asarray(columns["cumulative_reach"], dtype=np.int64)[order]),
        pa.array(average),
        pa.array(np.floor(np.asarray(columns["population"], dtype=np.float64)[order])
                 .astype(np.int64)),
        *[pa.array(freq[:, j]) for j in range(FREQUENCY_BUCKETS)],
    ]
    return pa.Table.from_arrays(arrays, schema=without_platform(REACH_SCHEMA))
