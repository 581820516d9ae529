"""Supply: each line item's audience and the impressions it can win per hour and device.

Targetable households on a device = platform households × device share × the targeting's
reach share (geo share of the platform's households × share of viewing in the targeted
genres). The line item's audience — the households its impressions land on, the population
of its reach curve — is the segment a planner sizes for it: planned impressions on the
device ÷ planned frequency, never more than the targetable households.

Expected impressions won in an hour = audience × viewing hours per day × share of the day's
viewing in that local hour (day-part curve of the device × weekday multiplier, masked by the
targeted day-parts, averaged over the targeted geos in their own time zones) × ad slots per
viewing hour (ad seconds per hour ÷ creative length) × the line item's win rate. Realised
supply is gamma-Poisson (negative binomial): over-dispersed, gamma shape = platform
`dispersion`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from adsgen.simulate.curves import daypart_mask, hour_of_week_share, local_hour_of_week
from adsgen.simulate.draws import gamma_noise, hash_counters, line_item_keys, poisson, rehash
from adsgen.simulate.grid import DEVICES, Grid
from adsgen.simulate.ground_truth import Params
from adsgen.templates.spec import Platform

__all__ = [
    "audience",
    "cell_counters",
    "expected_supply",
    "planned_impressions",
    "won_supply",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

_STATIC_SLOT_SECONDS = 15.0  # pause ads / overlays take a slot like a 15 s spot


def planned_impressions(grid: Grid) -> I64:
    """Impressions the lifetime budget buys at the line item's CPM (floor)."""
    budget = np.array([i.budget_micros for i in grid.items], dtype=np.int64)
    cpm = np.array([max(i.cpm_micros, 1) for i in grid.items], dtype=np.int64)
    return np.maximum(budget, 0) * 1000 // cpm


def _geo_weights(platform: Platform) -> dict[str, float]:
    """Each served geo's share of the households (the platform's weights, else equal)."""
    raw = {g: platform.geo_weights.get(g, 1.0) for g in platform.geo_timezones}
    total = sum(raw.values())
    return {g: w / total for g, w in raw.items()}


def _targeted_geos(grid: Grid, platform: Platform) -> list[tuple[str, ...]]:
    served = platform.geo_timezones
    return [
        tuple(sorted(g for g in item.geos if g in served)) if item.geos else tuple(sorted(served))
        for item in grid.items
    ]


def audience(grid: Grid, platform: Platform, params: Params) -> I64:
    """Households reachable per line item × device (pair order: line item, device rank)."""
    weights = _geo_weights(platform)
    geo_share = np.array([sum(weights[g] for g in geos) for geos in _targeted_geos(grid, platform)])
    genre_share = np.array([
        min(1.0, sum(platform.genre_share.get(g, 0.0) for g in item.genres)) if item.genres else 1.0
        for item in grid.items
    ])
    mix = np.array([platform.device_mix.get(d, 0.0) for d in DEVICES])
    pair_li = np.repeat(np.arange(grid.n), grid.n_dev)
    pair_dev = grid.dev_codes[pair_li, np.arange(pair_li.size) - np.repeat(
        np.cumsum(grid.n_dev) - grid.n_dev, grid.n_dev)]
    targetable = np.floor(
        platform.households * mix[pair_dev] * (geo_share * genre_share)[pair_li]
    )
    li_mix = np.bincount(pair_li, weights=mix[pair_dev], minlength=grid.n)
    planned = planned_impressions(grid).astype(np.float64)[pair_li] * mix[pair_dev]
    planned /= np.maximum(li_mix[pair_li], 1e-12)
    sized = np.rint(planned / params.frequency_target[pair_li])
    result: I64 = np.minimum(np.maximum(sized, 1.0), targetable).astype(np.int64)
    return result


def _slots_per_hour(grid: Grid, platform: Platform) -> F64:
    seconds = np.where(grid.cre_video, grid.cre_duration, _STATIC_SLOT_SECONDS).astype(np.float64)
    owner = np.repeat(np.arange(grid.n), grid.n_cre)
    mean = np.bincount(owner, weights=seconds, minlength=grid.n) / grid.n_cre
    return platform.ad_seconds_per_hour / np.maximum(mean, 1.0)


def _hour_shares(grid: Grid, platform: Platform) -> F64:
    """Per cell: share of a day's viewing in the cell's local hour, over the targeted geos."""
    t0 = int(grid.start.min())
    span = int(((grid.start + 3600 * grid.hours).max() - t0) // 3600)
    clock = t0 + 3600 * np.arange(span, dtype=np.int64)
    weekly = hour_of_week_share(platform, DEVICES)  # (3, 168)
    weights = _geo_weights(platform)
    local = {g: local_hour_of_week(tz, clock) for g, tz in platform.geo_timezones.items()}
    combos: dict[tuple[tuple[str, ...], bytes], int] = {}
    tables: list[F64] = []
    combo_of = np.empty(grid.n, dtype=np.int64)
    for k, (geos, item) in enumerate(zip(_targeted_geos(grid, platform), grid.items, strict=True)):
        mask = daypart_mask(tuple(d.hours for d in item.dayparts))
        key = (geos, mask.tobytes())
        if key not in combos:
            combos[key] = len(tables)
            table = np.zeros((len(DEVICES), span), dtype=np.float64)
            total = sum(weights[g] for g in geos)
            for g in geos:
                how = local[g]
                table += (weights[g] / total) * weekly[:, how] * mask[how % 24]
            tables.append(table)
        combo_of[k] = combos[key]
    flat = np.concatenate([t.ravel() for t in tables])
    offset = (grid.start - t0) // 3600
    index = (combo_of[grid.cell_li] * len(DEVICES) + grid.cell_dev) * span
    index += offset[grid.cell_li] + grid.cell_h
    shares: F64 = flat[index]
    return shares


def expected_supply(grid: Grid, platform: Platform, params: Params, pop: I64) -> F64:
    """Expected impressions won per cell (noise-free): the shape pacing plans against."""
    per_li = platform.viewing_hours_per_day * _slots_per_hour(grid, platform) * params.win_rate
    return pop[grid.pair_index] * per_li[grid.cell_li] * _hour_shares(grid, platform)


def cell_counters(grid: Grid) -> NDArray[np.uint64]:
    """Counter of each cell within its line item: hour offset and device code."""
    return ((grid.cell_h << 2) | grid.cell_dev).astype(np.uint64)


def won_supply(grid: Grid, expected: F64, *, seed: int, dispersion: float) -> I64:
    """Realised impressions available to the line item per cell: Poisson(mean × Gamma)."""
    keys = line_item_keys(seed, "supply", grid.li_id)
    base = hash_counters(keys[grid.cell_li], cell_counters(grid))
    mean = expected * gamma_noise(rehash(base, 0), dispersion)
    return poisson(mean, rehash(base, 1)).astype(np.int64)
