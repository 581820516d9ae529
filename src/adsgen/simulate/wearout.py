"""Creative wear-out: CTR and completion fall slowly as a household sees the same creative again.

Repetition first builds and then wears out a creative's effect (Pechmann & Stewart 1988,
"Advertising repetition: a critical review of wearin and wearout"): after a few exposures
viewers attend less, click less and drop off the video earlier. Each creative of a line item
draws a true rate r (keyed by (seed, 'wear_out', line item, creative id); pinned for all of
a line item's creatives by `SimLineItem.extra["wear_out_rate"]`), and every row scales its
series' first-exposure probabilities by

    CTR × exp(−r · x),    completion × exp(−r · x · COMPLETION_WEAR_SHARE)

where x is the mean number of times a household the line item reached on this device had
already seen this creative when the row's hour began:

    x = (impressions of this line item × creative × device before the row's hour)
        ÷ (the row's cumulative_reach: households the line item reached on the device so far)

so x = 0 until the series' first impressions (they draw with the first-exposure rates that
ground_truth and creative_truth hold) and grows with frequency. Everything in x is in the
performance rows themselves (impressions and cumulative_reach, in hour order), so an analyst
can rebuild it and fit r. The ratio counts households the line item reached, not the
creative (with two creatives in rotation x is about half the line item's frequency), and
one device at a time, as reach is kept (a household's exposures on its other screens do not
count).

The exponential keeps every factor in (0, 1] however high the frequency, and makes r the
relative drop per extra exposure (log CTR falls linearly in x). r is drawn uniform in
`WEAR_OUT_RANGE` = 2-8 % per exposure: over the 5-12 exposures of a typical campaign
(realism.md section E; x ≈ 2-6 per creative) CTR falls 4-40 %, slow but noticeable. The
literature gives the direction and the shape, not one rate: the range is a modelling
choice, and creative_truth.wear_out_rate holds each draw. Completion falls a tenth as fast
(`COMPLETION_WEAR_SHARE`, 0.2-0.8 % per exposure): CTV ads are not skippable and complete at
93-97 % in every benchmark (realism.md section B, Extreme Reach), so only a slow drift is
credible; it takes about a point off a campaign's CTV completion, which the first-exposure
range in `ground_truth.DEVICE_RANGES` makes up. The video quartiles follow the worn
completion (`funnel.worn_probabilities`) so the funnel's order holds on every row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from adsgen.simulate import groups
from adsgen.simulate.draws import hash_counters, line_item_keys, uniform
from adsgen.simulate.grid import Grid
from adsgen.simulate.groups import Groups

__all__ = [
    "COMPLETION_WEAR_SHARE",
    "WEAR_OUT_RANGE",
    "WearOut",
    "draw_wear_out_rates",
    "exposures_before",
    "wear_out",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

WEAR_OUT_RANGE: tuple[float, float] = (0.02, 0.08)
"""Relative CTR drop per extra exposure to the creative (uniform per creative)."""
COMPLETION_WEAR_SHARE = 0.1
"""Completion wears out at this share of the CTR's rate (0.2-0.8 % per exposure)."""


@dataclass(frozen=True, slots=True)
class WearOut:
    """Per row: the factors scaling the series' first-exposure CTR and completion."""

    ctr: F64
    completion: F64


def draw_wear_out_rates(grid: Grid, seed: int, *, pinned: F64) -> F64:
    """Per batch creative: its wear-out rate r ≥ 0.

    Drawn uniform in WEAR_OUT_RANGE, keyed by (seed, line item, creative id) like the
    rotation weights; `pinned` (per line item, NaN where not pinned) replaces the draw for
    every creative of its line item.
    """
    keys = line_item_keys(seed, "wear_out", grid.li_id)
    owner = np.repeat(np.arange(grid.n), grid.n_cre)
    u = uniform(hash_counters(keys[owner], grid.cre_id.astype(np.uint64))).astype(np.float64)
    low, high = WEAR_OUT_RANGE
    drawn = low + u * (high - low)
    chosen = pinned[owner]
    rates: F64 = np.maximum(np.where(np.isnan(chosen), drawn, chosen), 0.0)
    return rates


def exposures_before(grid: Grid, impressions: I64, reach: I64) -> F64:
    """Per row: x = the series' impressions before the row's hour ÷ the row's cumulative reach.

    `impressions` are per row and `reach` per cell (the line item × device's cumulative
    reach at the hour). Rows run (line item, creative, hour, device); the running sum of
    each series (line item × creative × device) is taken in a series-major copy (line item,
    creative, device, hour), in exact int64, so it depends on the line item's rows only.
    """
    # A row at hour h, device rank d moves from h·n_dev + d to d·hours + h within its
    # creative's block: the shift depends on the cell alone.
    shift = (grid.cell_h * (1 - grid.n_dev[grid.cell_li])
             + grid.cell_rank * (grid.hours[grid.cell_li] - 1))
    position = np.arange(grid.row_cell.size, dtype=np.int64) + shift[grid.row_cell]
    series_major = np.empty_like(impressions)
    series_major[position] = impressions
    series = Groups(np.repeat(grid.hours, grid.n_cre * grid.n_dev))
    before = groups.cumsum(series_major, series) - series_major
    households = np.maximum(reach, 1).astype(np.float64)
    exposures: F64 = before[position] / households[grid.row_cell]
    return exposures


def wear_out(grid: Grid, rates: F64, impressions: I64, reach: I64) -> WearOut:
    """Per row: the CTR and completion factors of its creative's wear-out (see the module)."""
    decay = rates[grid.row_cre] * exposures_before(grid, impressions, reach)
    return WearOut(ctr=np.exp(-decay), completion=np.exp(-COMPLETION_WEAR_SHARE * decay))
