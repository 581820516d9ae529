"""Every grain from one world: the `daily` table (line item × device × UTC day) and the
geo split every coarser grain (the MMM table, `simulate.mmm`) is summed from.

The daily table is the hourly performance rows summed per line item × device × UTC day, so
its counts equal the hourly ones exactly, with the causal truth beside them:

- incremental conversions: the day's drawn count of `conversion_truth`
  (Poisson(I_d), line item × day) split over the line item's devices by keyed systematic
  sampling (each device ⌊n·p⌋ or ⌈n·p⌉, mean n·p) whose shares p are each device's part of
  the day's adstock, A_d,c = E_d,c + λ·A_(d−1),c
  (E_d,c: the quality-weighted valid impressions of the device on day d; Σ_c A_d,c = A_d).
  The devices' counts add up to conversion_truth.incremental_conversions exactly;
- their value: each advertiser has a value per conversion v (log-uniform
  VALUE_PER_CONVERSION in its currency, keyed by advertiser), incremental value = count × v;
- the marginal value: what 1 % more spend would add, from the model itself — every
  impression of the line item × 1.01 gives effective impressions and adstock × 1.01 and
  reach on each device R(1.01·O)/R(O) times its own (the NBD curve of the offered
  impressions O), so frequency f' = 1.01·f·R/R'; I'_d = r·H(f')·1.01·A_d/f' and
  marginal_value_micros = round((I'_d − I_d) × share × v ÷ 0.01). SUM(marginal_value_micros)
  ÷ SUM(spend_micros) over any rows is their marginal ROI (d incremental value / d spend).

The MMM table has geos, performance rows do not: `geo_split` sums the daily rows per line
item × device × ISO week and splits each over the line item's targeted geos with integer,
keyed draws, so geo sums equal the weekly sums exactly: valid impressions by systematic
sampling with the geos' household weights (each geo ⌊n·p⌋ or ⌈n·p⌉, mean n·p, from one keyed
uniform start); invalid impressions, spend and marginal value in proportion to the geos'
valid impressions by largest remainders (ties to the first geo); attributed and incremental
conversions by systematic sampling with the geos' valid impressions (the household weights
in a week with none). Every draw is keyed by (seed, line item, week,
device, geo), so no value depends on the batch or block.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from adsgen.seeding import entity_keys
from adsgen.simulate.columns import DAILY_SCHEMA, without_platform
from adsgen.simulate.draws import hash_counters, line_item_keys, uniform
from adsgen.simulate.funnel import RowProbabilities, SeriesProbabilities
from adsgen.simulate.grid import DEVICES, Grid
from adsgen.simulate.incrementality import Incrementality, hill
from adsgen.world.calendar import weekday_of

__all__ = [
    "DAILY_SUMS",
    "MARGINAL_STEP",
    "VALUE_PER_CONVERSION",
    "DailyGrain",
    "GeoSplit",
    "daily_grain",
    "daily_table",
    "device_adstock",
    "geo_split",
    "integer_split",
    "largest_remainder",
    "marginal_incremental",
    "systematic_split",
    "value_per_conversion",
    "week_of",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
U64 = NDArray[np.uint64]

VALUE_PER_CONVERSION = (100.0, 1000.0)
"""Value of one conversion, log-uniform per advertiser, in units of its currency (a
lifetime value: a subscription, a lead, a basket and its repeats). With the incremental
conversions of `incrementality` it puts the mean true ROI per advertiser × channel near the
$1.83 of value per $1 that TV returns on average (Keen, "Marketing ROI Insights");
benchmarks/measurement.py prints it."""
MARGINAL_STEP = 0.01
"""The spend step of the marginal truth: the response at spend × (1 + MARGINAL_STEP)."""
DAILY_SUMS: tuple[str, ...] = (
    "impressions", "starts", "first_quartile", "midpoint", "third_quartile", "completes",
    "measurable", "viewable", "invalid", "clicks", "qr_scans", "click_conversions",
    "view_conversions", "spend_micros",
)
"""The performance columns the daily table sums (every count; not cumulative_reach)."""

_SECONDS_PER_DAY = 86400
_N_DEV = len(DEVICES)

_DAILY = without_platform(DAILY_SCHEMA)  # the engine adds `platform`


def value_per_conversion(seed: int, advertiser_ids: I64) -> I64:
    """v per advertiser, micros of its currency (log-uniform VALUE_PER_CONVERSION, whole
    cents), keyed by (seed, advertiser)."""
    keys = entity_keys(seed, "simulate.conversion_value", advertiser_ids)
    u = uniform(hash_counters(keys, np.zeros(keys.size, dtype=np.uint64))).astype(np.float64)
    low, high = np.log(VALUE_PER_CONVERSION[0]), np.log(VALUE_PER_CONVERSION[1])
    cents = np.rint(np.exp(low + u * (high - low)) * 100.0)
    out: I64 = cents.astype(np.int64) * 10_000
    return out


def device_adstock(
    grid: Grid, inc: Incrementality, probs: SeriesProbabilities, *, valid: I64,
    worn: RowProbabilities | None = None,
) -> F64:
    """(line item × day, device) adstock A_d,c: the incrementality's adstock kept per device
    (same quality weights and decay), so each device's share of a day's effect is known."""
    series = grid.row_series
    video = probs["p_start"][series] > 0.0
    complete = (worn["p_complete"] if worn and "p_complete" in worn
                else probs["p_complete"][series])
    quality = np.where(video, complete, probs["p_viewable"][series])
    n_days = inc.day.size
    code = inc.row_day * _N_DEV + grid.cell_dev[grid.row_cell]
    adstock = np.bincount(code, weights=valid * quality, minlength=n_days * _N_DEV).astype(
        np.float64).reshape(n_days, _N_DEV)
    li = inc.days.gid
    offset = np.arange(n_days) - inc.days.first[li]
    for k in range(1, int(inc.days.lengths.max(initial=1))):
        at = np.flatnonzero(offset == k)
        adstock[at] += inc.decay[li[at], None] * adstock[at - 1]
    return adstock


def marginal_incremental(
    grid: Grid, inc: Incrementality, *, reach: I64, offered: F64, pop: F64, shape: F64,
) -> F64:
    """I'_d − I_d per line item × day: the incremental conversions every impression × (1 +
    MARGINAL_STEP) would add (module docstring); `reach` and `offered` per cell (cumulative),
    `pop` per line item × device pair, `shape` per line item."""
    step = 1.0 + MARGINAL_STEP
    n_days = inc.day.size
    day0 = grid.start // _SECONDS_PER_DAY
    cell_abs = grid.start[grid.cell_li] + 3600 * grid.cell_h
    cell_day = inc.days.first[grid.cell_li] + cell_abs // _SECONDS_PER_DAY - day0[grid.cell_li]
    last = ((cell_abs + 3600) % _SECONDS_PER_DAY == 0) | (
        grid.cell_h == grid.hours[grid.cell_li] - 1)
    at = np.flatnonzero(last & (reach > 0))
    n = np.maximum(pop[grid.pair_index[at]], 1.0)
    k = np.maximum(shape[grid.cell_li[at]], 1e-9)
    o = offered[at]

    def curve(x: F64) -> F64:
        out: F64 = n * -np.expm1(-k * np.log1p(x / (n * k)))
        return out

    base = curve(o)
    ratio = np.divide(curve(o * step), base, out=np.ones_like(base), where=base > 0)
    reached = np.bincount(cell_day[at], weights=reach[at], minlength=n_days)
    reached_up = np.bincount(cell_day[at], weights=reach[at] * ratio, minlength=n_days)
    li = inc.days.gid
    freq_up = np.divide(step * inc.frequency * reached, reached_up, out=np.zeros(n_days),
                        where=reached_up > 0)
    response = inc.rate_max[li] * hill(freq_up, inc.half_saturation[li], inc.slope[li])
    up = np.divide(response * step * inc.adstock, freq_up, out=np.zeros(n_days),
                   where=freq_up > 0)
    out: F64 = np.where(inc.frequency > 0, up - inc.incremental_expected, 0.0)
    return out


def systematic_split(n: I64, weights: F64, keys: U64, counters: U64) -> I64:
    """(m, G) integers summing to `n` per row, each ⌊n·p⌋ or ⌈n·p⌉ with mean n·p (p = the
    row's weights ÷ their sum): systematic sampling from one keyed uniform start u per row,
    count_g = ⌊n·P_g + u⌋ − ⌊n·P_(g−1) + u⌋ over the cumulative shares P. One pass for all
    columns: no loop over geos."""
    mass = weights.sum(axis=1)
    share = np.divide(weights, mass[:, None], out=np.zeros_like(weights),
                      where=mass[:, None] > 0)
    cumulative = np.cumsum(share, axis=1)
    cumulative[:, -1] = 1.0  # exactly: the last edge is ⌊n + u⌋ = n
    u = uniform(hash_counters(keys, counters)).astype(np.float64)
    edges = np.floor(cumulative * n[:, None].astype(np.float64) + u[:, None]).astype(np.int64)
    out: I64 = np.diff(edges, axis=1, prepend=0)
    return out


def integer_split(n: I64, weights: I64, keys: U64, counters: U64) -> I64:
    """`systematic_split` with integer weights, in exact integer arithmetic: (m, G) integers
    summing to `n` per row, count_g = ⌊(n·C_g + U) ÷ W⌋ − ⌊(n·C_(g−1) + U) ÷ W⌋ over the
    cumulative weights C (W = the row's total) from one keyed integer start U in [0, W).
    Each count is ⌊n·w_g ÷ W⌋ or ⌈n·w_g ÷ W⌉, so a part of a count split by the parts of a
    larger one (completes by impressions) never passes its part, whatever the float
    rounding; a zero weight gets 0. n·W must stay below 2**63. A row without weight puts
    its n in its last column."""
    cumulative = np.cumsum(weights, axis=1)
    total = cumulative[:, -1]
    empty = total <= 0
    cumulative[empty, -1] = 1
    total = np.where(empty, 1, total)
    start = (hash_counters(keys, counters) >> np.uint64(1)).astype(np.int64) % total
    edges = (n[:, None] * cumulative + start[:, None]) // total[:, None]
    edges[empty] = np.where(np.arange(weights.shape[1]) == weights.shape[1] - 1,
                            n[empty, None], 0)
    out: I64 = np.diff(edges, axis=1, prepend=0)
    return out


def largest_remainder(total: I64, weights: I64, fallback: I64) -> I64:
    """(m, G) integers summing to `total` per row in proportion to integer `weights` (to
    `fallback` in a row without weight), by largest remainders, ties to the lower column."""
    m, g = weights.shape
    empty = weights.sum(axis=1) == 0
    w = np.where(empty[:, None], fallback, weights)
    mass = w.sum(axis=1)
    quotient, rest = np.divmod(total, mass)
    top = rest[:, None] * w  # rest < mass and w ≤ mass: below 2**63 for counts below 3e9
    floor = quotient[:, None] * w + top // mass[:, None]
    fraction = top % mass[:, None]
    short = total - floor.sum(axis=1)
    order = np.lexsort((np.broadcast_to(np.arange(g), (m, g)), -fraction), axis=-1)
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.broadcast_to(np.arange(g), (m, g)), axis=-1)
    out: I64 = floor + (rank < short[:, None])
    return out


@dataclass(frozen=True, slots=True)
class DailyGrain:
    """The daily rows of a batch, sorted by line item, day, device."""

    li: I64  # batch line item index
    device: I64  # device code (DEVICES)
    inc_day: I64  # index of the row's line item × day in the Incrementality
    sums: Mapping[str, I64]  # DAILY_SUMS
    incremental: I64
    value: I64  # per conversion, micros (the advertiser's)
    marginal_value: I64


def daily_grain(
    grid: Grid, inc: Incrementality, columns: Mapping[str, I64], *, adstock: F64,
    incremental: I64, marginal: F64, seed: int,
) -> DailyGrain:
    """Sum the performance `columns` (per row) to line item × device × UTC day and split the
    day's drawn `incremental` conversions and `marginal` (I'_d − I_d) over its devices by
    `adstock` (`device_adstock`)."""
    code = inc.row_day * _N_DEV + grid.cell_dev[grid.row_cell]
    size = inc.day.size * _N_DEV  # dense: line item × day × device
    present = np.flatnonzero(np.bincount(code, minlength=size))
    sums = {name: np.bincount(code, weights=columns[name], minlength=size)[present].astype(
        np.int64) for name in DAILY_SUMS}
    inc_day, device = np.divmod(present, _N_DEV)
    li = inc.days.gid[inc_day]
    keys = line_item_keys(seed, "grains", grid.li_id)[inc.days.gid]
    counters = (inc.day.astype(np.uint64) << np.uint64(8)) | np.uint64(1)
    split = systematic_split(incremental, adstock, keys, counters)
    total = adstock.sum(axis=1)
    share = np.divide(adstock, total[:, None], out=np.zeros_like(adstock),
                      where=total[:, None] > 0)
    advertisers = np.array([item.advertiser_id for item in grid.items], dtype=np.int64)
    value = value_per_conversion(seed, advertisers)[li]
    marginal_value = np.rint(marginal[inc_day] * share[inc_day, device] * value
                             / MARGINAL_STEP).astype(np.int64)
    return DailyGrain(li=li, device=device, inc_day=inc_day, sums=sums,
                      incremental=split[inc_day, device], value=value,
                      marginal_value=marginal_value)


def daily_table(grid: Grid, inc: Incrementality, grain: DailyGrain, *, seed: int) -> pa.Table:
    """The `daily` rows of a batch (DAILY_SCHEMA)."""
    names = pa.array([d.value for d in DEVICES], type=pa.string())
    columns: dict[str, pa.Array | NDArray[np.generic]] = {
        "line_item_id": grid.li_id[grain.li],
        "device": names.take(pa.array(grain.device)),
        "day": pa.array(inc.day[grain.inc_day].astype(np.int32), type=pa.date32()),
        **grain.sums,
        "seed": np.full(grain.li.size, seed, dtype=np.int64),
        "incremental_conversions": grain.incremental,
        "value_per_conversion_micros": grain.value,
        "incremental_value_micros": grain.incremental * grain.value,
        "marginal_value_micros": grain.marginal_value,
    }
    return pa.Table.from_arrays(
        [c if isinstance(c := columns[f.name], pa.Array) else pa.array(c, type=f.type)
         for f in _DAILY], schema=_DAILY)


@dataclass(frozen=True, slots=True)
class GeoSplit:
    """Daily rows summed per line item × device × ISO week and split over geos: every (m, G)
    matrix sums over G to the week's daily sum."""

    li: I64  # batch line item index per weekly row
    device: I64
    week: I64  # Monday, days since 1970-01-01
    valid: I64
    invalid: I64
    spend: I64
    attributed: I64
    incremental: I64
    marginal_value: I64


def week_of(days: I64) -> I64:
    """The Monday (days since 1970-01-01) of each day's ISO week."""
    out: I64 = days - weekday_of(days)
    return out


def geo_split(
    grid: Grid, inc: Incrementality, grain: DailyGrain, *, geo_weights: I64, seed: int,
) -> GeoSplit:
    """Sum the daily rows per line item × device × ISO week and split them over geos (module
    docstring); `geo_weights` (line item, G) holds the households of each targeted geo (0
    elsewhere)."""
    week = week_of(inc.day[grain.inc_day])
    first = int(week.min(initial=0))
    key = (grain.li << np.int64(32)) | ((week - first) << np.int64(2)) | grain.device
    present, at = np.unique(key, return_inverse=True)
    m = present.size

    def weekly(values: I64) -> I64:
        out: I64 = np.bincount(at, weights=values, minlength=m).astype(np.int64)
        return out

    li = present >> np.int64(32)
    device = present & np.int64(3)
    week_start = ((present >> np.int64(2)) & np.int64(0x3FFFFFFF)) + first
    invalid = weekly(grain.sums["invalid"])
    valid = weekly(grain.sums["impressions"]) - invalid
    attributed = weekly(grain.sums["click_conversions"] + grain.sums["view_conversions"])
    incremental = weekly(grain.incremental)
    spend = weekly(grain.sums["spend_micros"])
    marginal = weekly(grain.marginal_value)
    row_keys = line_item_keys(seed, "grains", grid.li_id)[li]
    counter = (week_start.astype(np.uint64) << np.uint64(8)) | (
        device.astype(np.uint64) << np.uint64(4))
    households = geo_weights[li]
    weights = households.astype(np.float64)
    valid_g = systematic_split(valid, weights, row_keys, counter | np.uint64(2))
    by_valid = np.where((valid > 0)[:, None], valid_g.astype(np.float64), weights)
    return GeoSplit(
        li=li, device=device, week=week_start, valid=valid_g,
        invalid=largest_remainder(invalid, valid_g, households),
        spend=largest_remainder(spend, valid_g, households),
        attributed=systematic_split(attributed, by_valid, row_keys, counter | np.uint64(4)),
        incremental=systematic_split(incremental, by_valid, row_keys, counter | np.uint64(5)),
        marginal_value=np.sign(marginal)[:, None] * largest_remainder(
            np.abs(marginal), valid_g, households),
    )
