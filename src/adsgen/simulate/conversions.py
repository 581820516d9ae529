"""Attributed conversions: click- and view-through, landing in later hours by a lag.

These are what an ad server reports (last touch within the window), not what the ads caused:
`adsgen.simulate.incrementality` decides how many conversions attribution credits to a
line item's touches each UTC day (its incremental conversions plus the baseline converters
among the exposed households) and scales the conversions landing on that day by the day's
multiplier m (see there).
Before that scaling, each valid impression (invalid traffic never converts) converts
(view-through) with the series' view probability and each click with the line item's
click-conversion probability; the conversion lands `lag` hours later,
lag ~ exponential with the line item's mean, discretised on the taps 0, 1, 2, 4, … 128 h and
limited to a 7-day attribution window. By Poisson thinning, the conversions landing in an
hour of a series (line item × creative × device) are Poisson with mean
Σ_lag w_lag · rate · source(hour − lag): one draw per row, no per-conversion work.

Conversions that would land at or after the flight end have no row (the data stops there),
and lags beyond the attribution window are not attributed: the ground truth's `p_conversion`
is the attributed rate within the window (the series' propensity × the ratio of its
scaled to unscaled in-flight means), counting those landing after the flight, and a row's
conversions may come from earlier hours' impressions. So that an estimator can recover
`p_conversion` from the rows alone, `in_flight_conversions` gives the truth of the cut: the
expected conversions the delivered valid impressions cause, and the part of them that lands
inside the flight (ground_truth.conversion_share_in_flight is their ratio).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from adsgen.simulate.draws import Real, hash_counters, line_item_keys, poisson, rehash
from adsgen.simulate.funnel import RowProbabilities, SeriesProbabilities, row_counters
from adsgen.simulate.grid import Grid

__all__ = [
    "ATTRIBUTION_WINDOW_HOURS",
    "LAG_TAPS",
    "conversion_means",
    "draw_conversions",
    "in_flight_conversions",
    "lag_weights",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

ATTRIBUTION_WINDOW_HOURS = 168
LAG_TAPS: tuple[int, ...] = (0, 1, 2, 4, 8, 16, 32, 64, 128)
_EDGES = np.array([0.0, 0.5, 1.5, 3.0, 6.0, 12.0, 24.0, 48.0, 96.0, ATTRIBUTION_WINDOW_HOURS])
_PAD = max(LAG_TAPS)


def lag_weights(mean_hours: F64) -> F64:
    """(n, taps): probability of each lag tap for exponential lags with these means."""
    scale = np.maximum(mean_hours, 1e-9)[:, None]
    cdf = -np.expm1(-_EDGES[None, :] / scale)
    weights = np.diff(cdf, axis=1)
    return weights / cdf[:, -1:]


def lag_mean(weights: F64) -> F64:
    """Mean lag in hours of the discretised distribution (what the ground truth records)."""
    mean = np.zeros(weights.shape[0])
    for tap, lag in enumerate(LAG_TAPS):  # a fixed order (a matmul's order depends on size)
        mean += weights[:, tap] * lag
    return mean


def _landing(grid: Grid, sources: tuple[Real, ...], weights: F64) -> list[Real]:
    """Expected conversions landing per row from each per-row source rate.

    Works in a series-major layout where each series (line item × creative × device) is
    preceded by `max(LAG_TAPS)` zeros, so a lag is a contiguous slice that never reads
    another series' hours.
    """
    per_li_series = grid.n_cre * grid.n_dev
    series_len = np.repeat(grid.hours, per_li_series)
    padded_len = series_len + _PAD
    series_off = np.cumsum(padded_len) - series_len
    position = series_off[grid.row_series] + grid.cell_h[grid.row_cell]
    total = int(padded_len.sum())
    li_len = np.bincount(
        np.repeat(np.arange(grid.n), per_li_series), weights=padded_len, minlength=grid.n
    ).astype(np.int64)
    dtype = sources[0].dtype
    tap_weights = [
        np.repeat(weights[:, tap].astype(dtype), li_len) for tap in range(len(LAG_TAPS))
    ]
    landed: list[Real] = []
    for source in sources:
        padded = np.zeros(total, dtype=dtype)
        padded[position] = source
        landing = padded * tap_weights[0]
        scratch = np.empty(total, dtype=dtype)
        for tap, lag in enumerate(LAG_TAPS[1:], start=1):
            part = scratch[lag:]
            np.multiply(padded[:-lag], tap_weights[tap][lag:], out=part)
            landing[lag:] += part
        landed.append(landing[position])
    return landed


def conversion_means(
    grid: Grid,
    probs: SeriesProbabilities,
    impressions: Real,
    clicks: Real,
    weights: F64,
    *,
    worn: RowProbabilities | None = None,
) -> tuple[Real, Real]:
    """(click-through, view-through) propensity landing in each row: the Poisson means
    before attribution scales them (`incrementality.attribution_multiplier`).

    `impressions` are the rows' valid impressions (impressions − invalid): only they convert.
    `worn` (`funnel.worn_probabilities`) gives the view-through probability per row when
    wear-out moved it.
    """
    series = grid.row_series
    dtype = impressions.dtype
    by_click = clicks * probs["p_click_conversion"].astype(dtype)[series]
    view = (worn["p_view_conversion"].astype(dtype) if worn and "p_view_conversion" in worn
            else probs["p_view_conversion"].astype(dtype)[series])
    by_view = impressions * view
    click_mean, view_mean = _landing(grid, (by_click, by_view), weights)
    return click_mean, view_mean


def draw_conversions(
    grid: Grid, click_mean: Real, view_mean: Real, *, seed: int
) -> tuple[Real, Real]:
    """(click-through, view-through) conversions per row, float integers: Poisson draws of
    the rows' attributed means."""
    keys = line_item_keys(seed, "conversions", grid.li_id)
    base = hash_counters(keys[grid.rows.gid], row_counters(grid))
    return poisson(click_mean, rehash(base, 0)), poisson(view_mean, rehash(base, 1))


def in_flight_conversions(
    grid: Grid, probs: SeriesProbabilities, valid: I64, weights: F64
) -> tuple[F64, F64]:
    """Per series: (expected conversions caused, the part landing before the flight end).

    Conditioned on the valid impressions delivered (`valid`, per row): a row's valid
    impressions cause p_conversion × valid conversions in expectation (the click-through
    part at the expected CTR; before attribution's scaling, which
    `incrementality.attributed_probabilities` folds into p_conversion), of which the share
    P(lag < end − hour) lands inside the flight — the lag taps below the hours left after the
    row's hour. float64 sums per series, in row order (the same whatever the batch).
    """
    series = grid.row_series
    count = probs["p_conversion"].size
    caused = valid.astype(np.float64) * probs["p_conversion"][series]
    total = np.bincount(series, weights=caused, minlength=count).astype(np.float64)
    # Only rows within max(LAG_TAPS) hours of the end lose anything: look at those alone.
    cell_left = grid.hours[grid.cell_li] - grid.cell_h  # hours from the cell's to the end
    near = np.flatnonzero(cell_left[grid.row_cell] <= _PAD)
    left = cell_left[grid.row_cell[near]]
    taps = np.searchsorted(np.asarray(LAG_TAPS), left, side="left")  # taps with lag < left
    inside = np.minimum(np.cumsum(weights, axis=1), 1.0)[grid.rows.gid[near], taps - 1]
    lost = np.bincount(series[near], weights=caused[near] * (1.0 - inside), minlength=count)
    return total, np.maximum(total - lost, 0.0)
