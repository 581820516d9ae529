"""Each line item's true parameters, drawn from realistic ranges, and the ground-truth table.

Per line item × device the simulation draws a base completion rate, start, measurability,
viewability, invalid-traffic and click-through probabilities; per line item a post-roll
factor, a QR scan rate, a conversion rate with its click-through share and attribution lag,
a win rate (the share of its audience's ad slots it can buy) and a planned frequency (which
sizes its audience; it grows with the line item's size and its industry's figure, see
`INDUSTRY_FREQUENCY`). Ranges come from ../shared/realism.md section B; each is the uniform
range the value is drawn from. `SimLineItem.extra` may pin some of them (see `OVERRIDES`).

The ground-truth table holds, per line item × device, the expected per-impression
probability of every event across the line item's creatives (weighted by rotation), so a
model fitted on the performance rows can be scored against it. Where the rows cannot show
a rate whole, the table says how much is missing: conversions landing after the flight end
have no row, so `conversion_share_in_flight` is the expected share of the conversions
caused that land inside the flight, and p_conversion ≈ Σ conversions / (share × Σ valid
impressions) from the rows alone. Completion (with the quartiles) and CTR are the rates at a
household's first exposure to a creative: rows fall from them as it wears out (`wearout`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from adsgen.build.items import SimLineItem
from adsgen.domain.enums import Industry
from adsgen.simulate.columns import GROUND_TRUTH_SCHEMA, without_platform
from adsgen.simulate.draws import hash_counters, line_item_keys, uniform
from adsgen.simulate.grid import DEVICES, Grid
from adsgen.simulate.wearout import draw_wear_out_rates

__all__ = [
    "DEVICE_RANGES",
    "INDUSTRY_FREQUENCY",
    "LINE_ITEM_RANGES",
    "OVERRIDES",
    "PLANNED_FREQUENCY_RANGE",
    "Params",
    "draw_params",
    "ground_truth_table",
    "industry_factor",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
Range = tuple[float, float]

# (ctv, desktop, mobile) ranges, in DEVICES order. Completion is for a 15 s mid-roll video
# at first exposure; 30 s lands ~2 points lower and wear-out (wearout.py) takes ~1 point off
# a campaign, so a 15/30 mix averages CTV 0.93-0.97, mobile 0.72-0.81, desktop 0.70-0.83
# (Extreme Reach). Viewability given measurable: IAS 2020-21.
DEVICE_RANGES: dict[str, tuple[Range, Range, Range]] = {
    "completion": ((0.975, 0.995), (0.725, 0.835), (0.745, 0.815)),
    "start": ((0.994, 0.999), (0.950, 0.985), (0.960, 0.990)),
    "measurable": ((0.80, 0.95), (0.90, 0.98), (0.85, 0.97)),
    "viewable_given_measurable": ((0.92, 0.945), (0.73, 0.77), (0.78, 0.93)),
    "invalid_factor": ((0.7, 1.4), (1.4, 2.6), (1.0, 1.9)),  # × platform IVT rate
    # CTV: interactive creatives only (clicks ≈ 0 otherwise); desktop 0.1-0.3 %, mobile 0.2-0.6 %.
    "ctr": ((0.003, 0.012), (0.001, 0.003), (0.002, 0.006)),
}
LINE_ITEM_RANGES: dict[str, Range] = {
    "post_roll_factor": (0.62, 0.78),  # post-roll completion 45-65 % (industry blogs)
    "qr_rate": (0.00004, 0.0003),  # 0.004-0.03 % of impressions (Innovid 2021)
    "conversion_rate": (0.001, 0.003),  # per impression (Criteo ≈ 0.27 %)
    "click_conversion": (0.02, 0.10),  # share of clicks that convert
    "lag_mean_hours": (4.0, 36.0),  # exponential attribution lag
    # planned frequency at 30 M impressions; scaled by size (see FREQUENCY_SIZE_POWER)
    "frequency_base": (6.0, 11.0),
}
FREQUENCY_SIZE_POWER = 0.2
"""Planned frequency = base × (planned impressions ÷ 30 M)^0.2 × industry factor, within
[2, 20]: it rises with size as Innovid 2023 reports (5.2 for 20-39 M impressions, 12.1 above
200 M, realism.md E); base 6-11 gives 8.5 on average at 30 M and about 5 at the ~2 M
impressions of a median line item of the default datasets (`generate`, `run-all`)."""
PLANNED_FREQUENCY_RANGE: Range = (2.0, 20.0)
"""The planned frequency stays within these bounds (size, industry and narrow targeting)."""
AVERAGE_FREQUENCY = 7.4
INDUSTRY_FREQUENCY: dict[Industry, float] = {
    Industry.travel: 12.9,
    Industry.automotive: 11.5,
    Industry.finance: 8.7,  # Innovid's "financial services"
    Industry.cpg_food: 6.6,  # "CPG"
    Industry.pharma: 5.05,
}
"""Average campaign frequency by industry (Innovid 2023, realism.md E), against 7.4 over all
campaigns: a line item's planned frequency is scaled by its advertiser's figure ÷ 7.4
(automotive 1.55, CPG 0.89 …). Industries with no figure of their own plan the average
(factor 1.0): retail (Innovid's home & garden, 16.7, is one corner of it, not all),
technology, entertainment, telecom and restaurants (Innovid's "services", 5.1, names
neither), and a line item whose industry is unknown (`SimLineItem.industry` None)."""
OVERRIDES: tuple[str, ...] = ("win_rate", "frequency_target", "conversion_rate", "lag_mean_hours",
                              "wear_out_rate")
"""Keys of `SimLineItem.extra` that pin a line item's drawn value (tests, what-if runs);
`win_rate` is read by the world's allocation (`adsgen.world.allocation.win_rates`)."""

QUARTILE_DROP: tuple[float, float, float] = (0.45, 0.70, 0.88)
"""Share of the start→complete drop-off lost before the 1st quartile, midpoint, 3rd quartile."""
DURATION_SLOPE = 0.0015  # completion lost per second beyond 15 s (30 s: 2.25 points lower)
PRE_ROLL_SHIFT = -0.01
"""Completion points a pre-roll adds: realism.md B has pre-roll not above mid-roll (viewers
not yet settled into the programme leave a pre-roll more often than a mid-roll)."""
MIN_IVT, MAX_IVT = 0.005, 0.04


@dataclass(frozen=True, slots=True)
class Params:
    """True parameters of a batch: (n,) per line item, (n, 3) per line item × device code."""

    completion: F64
    start: F64
    measurable: F64
    viewable_given_measurable: F64
    invalid: F64
    ctr: F64
    post_roll_factor: F64
    qr_rate: F64
    conversion_rate: F64
    click_conversion: F64
    lag_mean_hours: F64
    frequency_target: F64
    rotation_weight: F64  # per batch creative, normalised within each line item
    wear_out: F64  # per batch creative: CTR's relative drop per extra exposure (wearout.py)


def _uniform_draws(grid: Grid, seed: int, variable: int, slots: int) -> F64:
    """(n, slots) uniforms keyed by (seed, 'params', line item, variable, slot)."""
    keys = line_item_keys(seed, "params", grid.li_id)
    slot = np.arange(slots, dtype=np.uint64)
    counters = np.uint64(variable * 8) + slot[None, :] + np.zeros((grid.n, 1), np.uint64)
    hashed = hash_counters(np.repeat(keys, slots), counters.ravel())
    return uniform(hashed).astype(np.float64).reshape(grid.n, slots)


def _between(u: F64, bounds: Range) -> F64:
    return bounds[0] + u * (bounds[1] - bounds[0])


def _override(grid: Grid, key: str, drawn: F64) -> F64:
    pinned = [item.extra.get(key) for item in grid.items]
    if all(value is None for value in pinned):
        return drawn
    values = np.array([np.nan if v is None else v for v in pinned], dtype=np.float64)
    return np.where(np.isnan(values), drawn, values)


def draw_params(grid: Grid, *, seed: int, invalid_rate: float, cpm_mid: float) -> Params:
    """Draw every true parameter of the batch's line items (vectorized over line items)."""
    by_device: dict[str, F64] = {}
    for variable, (name, ranges) in enumerate(DEVICE_RANGES.items()):
        u = _uniform_draws(grid, seed, variable, len(DEVICES))
        lows = np.array([r[0] for r in ranges])
        highs = np.array([r[1] for r in ranges])
        by_device[name] = lows + u * (highs - lows)
    per_item: dict[str, F64] = {}
    base = len(DEVICE_RANGES)
    for offset, (name, bounds) in enumerate(LINE_ITEM_RANGES.items()):
        per_item[name] = _between(_uniform_draws(grid, seed, base + offset, 1)[:, 0], bounds)
    size = np.maximum(grid.targets.planned, 1) / 30e6
    planned_frequency = np.clip(
        per_item["frequency_base"] * size**FREQUENCY_SIZE_POWER * industry_factor(grid.items),
        *PLANNED_FREQUENCY_RANGE,
    )
    start = by_device["start"]
    completion = np.minimum(by_device["completion"], start - 0.001)
    invalid = np.clip(invalid_rate * by_device["invalid_factor"], MIN_IVT, MAX_IVT)
    weights = _rotation_weights(grid, seed)
    return Params(
        completion=completion,
        start=start,
        measurable=by_device["measurable"],
        viewable_given_measurable=by_device["viewable_given_measurable"],
        invalid=np.minimum(invalid, 1.0),
        ctr=by_device["ctr"],
        post_roll_factor=per_item["post_roll_factor"],
        qr_rate=per_item["qr_rate"],
        conversion_rate=np.clip(_override(grid, "conversion_rate", per_item["conversion_rate"]),
                                0.0, 1.0),
        click_conversion=per_item["click_conversion"],
        lag_mean_hours=np.maximum(
            _override(grid, "lag_mean_hours", per_item["lag_mean_hours"]), 0.0
        ),
        frequency_target=np.maximum(
            _override(grid, "frequency_target", planned_frequency), 1.0
        ),
        rotation_weight=weights,
        wear_out=draw_wear_out_rates(
            grid, seed, pinned=_override(grid, "wear_out_rate", np.full(grid.n, np.nan))),
    )


def industry_factor(items: Sequence[SimLineItem]) -> F64:
    """Per line item: its industry's frequency ÷ the average (`INDUSTRY_FREQUENCY`), 1.0
    without a figure."""
    return np.array([INDUSTRY_FREQUENCY.get(item.industry, AVERAGE_FREQUENCY)
                     if item.industry is not None else AVERAGE_FREQUENCY
                     for item in items], dtype=np.float64) / AVERAGE_FREQUENCY


def _rotation_weights(grid: Grid, seed: int) -> F64:
    """Per creative weight 0.5-1.5 keyed by (seed, line item, creative id), normalised."""
    keys = line_item_keys(seed, "rotation_weights", grid.li_id)
    owner = np.repeat(np.arange(grid.n), grid.n_cre)
    raw = 0.5 + uniform(hash_counters(keys[owner], grid.cre_id.astype(np.uint64)))
    weight = raw.astype(np.float64)
    totals = np.bincount(owner, weights=weight, minlength=grid.n)
    return weight / totals[owner]


GT_PROBABILITIES: tuple[str, ...] = (
    "p_start", "p_first_quartile", "p_midpoint", "p_third_quartile", "p_complete",
    "p_measurable", "p_viewable", "p_invalid", "p_click", "p_qr_scan", "p_conversion",
)


@dataclass(frozen=True, slots=True)
class WorldTruth:
    """Per line item: what the shared world made of it (see the ground-truth columns)."""

    targetable: I64  # households owning any targeted device in its geos and genres
    exposure_shape: F64  # NBD shape k of its exposures across them
    win_rate: F64  # share of a segment's slots it could win against the market
    allocated_share: F64  # share of the slots it asked for that competition left it


def ground_truth_table(
    grid: Grid,
    params: Params,
    *,
    series_probabilities: dict[str, F64],
    audience: I64,
    world: WorldTruth,
    lag_mean_hours: F64,
    in_flight_conversions: tuple[F64, F64],
    seed: int,
) -> pa.Table:
    """One row per line item × device: the rotation-weighted true probabilities.

    `series_probabilities` maps each GT_PROBABILITIES name to its per-series (line item ×
    creative × device) unconditional probability; `audience` is per line item × device;
    `in_flight_conversions` is, per series, (expected conversions caused, the part landing
    inside the flight) — see `conversions.in_flight_conversions`.
    """
    pairs = int(grid.n_dev.sum())
    pair_off = grid.pair_first
    series_li = np.repeat(np.arange(grid.n), grid.n_cre * grid.n_dev)
    series_local = np.arange(series_li.size) - np.repeat(
        np.cumsum(grid.n_cre * grid.n_dev) - grid.n_cre * grid.n_dev, grid.n_cre * grid.n_dev
    )
    series_rank = series_local % grid.n_dev[series_li]
    series_cre = grid.cre_off[series_li] + series_local // grid.n_dev[series_li]
    series_pair = pair_off[series_li] + series_rank
    weight = params.rotation_weight[series_cre]
    pair_li, pair_dev = grid.pair_li, grid.pair_dev
    columns: dict[str, object] = {
        "line_item_id": grid.li_id[pair_li],
        "device": pa.array([d.value for d in DEVICES]).take(pa.array(pair_dev)),
        "seed": np.full(pairs, seed, dtype=np.int64),
        "audience": audience.astype(np.int64),
        "cpm_micros": np.array([i.cpm_micros for i in grid.items], dtype=np.int64)[pair_li],
        "industry": pa.array([None if i.industry is None else i.industry.value
                              for i in grid.items], pa.string()).take(pa.array(pair_li)),
        "targetable_households": world.targetable[pair_li].astype(np.int64),
        "exposure_shape": world.exposure_shape[pair_li],
        "planned_frequency": params.frequency_target[pair_li],
        "win_rate": world.win_rate[pair_li],
        "allocated_share": world.allocated_share[pair_li],
    }
    for name in GT_PROBABILITIES:
        mixed = np.bincount(
            series_pair, weights=weight * series_probabilities[name], minlength=pairs
        )
        columns[name] = np.clip(mixed, 0.0, 1.0)
    columns["conversion_lag_mean_hours"] = lag_mean_hours[pair_li]
    caused, inside = (np.bincount(series_pair, weights=v, minlength=pairs)
                      for v in in_flight_conversions)
    share = np.ones(pairs)  # nothing caused, nothing lost
    np.divide(inside, caused, out=share, where=caused > 0)
    columns["conversion_share_in_flight"] = np.clip(share, 0.0, 1.0)
    return pa.table(columns, schema=without_platform(GROUND_TRUTH_SCHEMA))
