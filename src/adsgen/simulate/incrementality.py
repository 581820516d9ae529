"""Causal conversions: baseline + incremental per line item × UTC day, and what attribution
credits.

Three quantities per line item and UTC day d of its flight (flight hours in the day h_d):

- **Baseline** (would have happened without ads), among the line item's targetable
  households N (ground_truth.targetable_households):
  B_d = b · c_d · (h_d / 24) · N, where b is the advertiser's base rate (conversions per
  household per day, drawn per advertiser) and c_d the platform calendar's weekday multiplier
  (normalised to a mean of 1) × the season's demand multiplier of day d.
- **Incremental** (caused by the ads): the day's effective exposures
  E_d = Σ (impressions − invalid) × q over the day's rows, q = the row's completion
  probability for video (p_complete after creative wear-out) and viewability (p_viewable)
  for static formats — so
  invalid traffic never converts and a half-watched ad is worth less. Carry-over is a
  geometric adstock A_d = E_d + λ · A_{d−1} (λ = adstock_decay per day, CTV-like 0.3–0.8,
  realism.md G). The response saturates with the line item's average frequency so far
  f_d = cumulative impressions ÷ cumulative reach (summed over its devices) at the day's end,
  by a Hill curve H(f) = f^s / (f^s + K^s): I_d = r · H(f_d) · A_d / f_d. A_d / f_d is the
  (adstocked, quality-weighted) number of households exposed, so a household at frequency f
  converts incrementally at r · H(f) per day of adstock: rising with frequency, saturating at
  r; the per-impression effect r · H(f) / f falls with frequency. No exposure → I_d = 0.
- **Attributed** (what the ad server reports, last touch within the window): the day's
  incremental conversions plus the baseline converters among the households exposed so far
  (P_d = min(cumulative reach, N)): T_d = I_d + b · c_d · (h_d / 24) · P_d, the
  conversions that happen on day d and that last-touch attribution credits to a touch. The
  performance rows' click_conversions and view_conversions are drawn from it: the touches'
  propensities (clicks × p_click_conversion, valid impressions × p_view_conversion, lagged
  as in `conversions.conversion_means`) give the means L landing in each row; the rows of
  day d are scaled by m_d = T_d / L_d (L_d = their sum), so they split T_d between click-
  and view-through, creatives, devices and hours as the recent touches do, and the day's
  expected attributed count is exactly T_d. A day no touch within the window reaches
  (L_d = 0) credits nothing: its incremental conversions go unattributed. So the expected
  over-count T_d − I_d is the exposed baseline, ≥ 0 on every day with a touch.

Drawn counts: incremental and baseline conversions are Poisson(I_d) and Poisson(B_d), keyed by
(seed, "incrementality", line item, day); the attributed count of a day is the sum of its
rows' click_conversions + view_conversions (a reconciling grain). Parameters are drawn per
line item (per advertiser for b), keyed like every other draw: no value depends on the batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from adsgen.seeding import entity_keys
from adsgen.simulate.columns import CONVERSION_TRUTH_SCHEMA
from adsgen.simulate.draws import Real, hash_counters, line_item_keys, poisson, uniform
from adsgen.simulate.funnel import RowProbabilities, SeriesProbabilities
from adsgen.simulate.grid import Grid
from adsgen.simulate.groups import Groups, cumsum
from adsgen.templates.spec import Platform
from adsgen.world.calendar import season_multipliers, weekday_of

__all__ = [
    "ADSTOCK_DECAY",
    "BASELINE_RATE",
    "HILL_HALF_SATURATION",
    "HILL_SLOPE",
    "INCREMENTAL_RATE_MAX",
    "Incrementality",
    "attributed_probabilities",
    "attribution_multiplier",
    "conversion_truth_table",
    "drawn_counts",
    "hill",
    "incrementality",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

ADSTOCK_DECAY = (0.3, 0.8)
"""Geometric adstock decay per day, uniform: TV's rule-of-thumb range (Robyn docs)."""
HILL_HALF_SATURATION = (1.5, 6.0)
"""Average frequency at half the saturated response K, uniform (impressions per household)."""
HILL_SLOPE = (1.0, 3.0)
"""Hill shape s, uniform: 1 is concave from the start, above 1 an S-curve."""
INCREMENTAL_RATE_MAX = (1e-4, 1.2e-3)
"""Saturated incremental rate r, log-uniform: conversions per exposed household per day of
adstock. With `BASELINE_RATE` it sets the true lift r · H(f) · A/f ÷ b among exposed
households; the two ranges put its median near +10 % with a tail to about +50 %, where field
experiments find it: median conversion lift +8.1 % over 432 Google display experiments
(Johnson, Lewis & Nubbemeyer 2017, ghost ads) and +6 % for lower-funnel outcomes over 663
Facebook RCTs (Gordon, Moakler & Zettelmeyer 2022). benchmarks/measurement.py prints it."""
BASELINE_RATE = (1.2e-4, 1.2e-3)
"""Base rate b, log-uniform per advertiser: conversions per household per day without ads
(about 4–35 % of households convert in a year). Last-touch attribution credits the exposed
households' baseline conversions too, so b sets the observed conversions per impression:
0.1–0.3 % (realism.md B) at the planned frequencies."""

_SECONDS_PER_DAY = 86400


@dataclass(frozen=True, slots=True)
class Incrementality:
    """Per line item × UTC day (`days` groups them by line item) of one batch."""

    days: Groups
    day: I64  # days since 1970-01-01 (UTC)
    row_day: I64  # each performance row's line item × day index
    decay: F64  # per line item
    half_saturation: F64
    slope: F64
    rate_max: F64
    baseline_rate: F64
    effective: F64
    adstock: F64
    frequency: F64
    exposed: F64
    targetable: F64
    baseline_expected: F64
    incremental_expected: F64
    attributed_source: F64  # T_d: what attribution credits to the day's touches


def hill(frequency: F64, half: F64, slope: F64) -> F64:
    """H(f) = f^s / (f^s + K^s), 0 at f = 0, 1/2 at f = K, → 1 as f grows."""
    ratio = np.power(np.maximum(frequency, 0.0) / half, slope)
    out: F64 = ratio / (1.0 + ratio)
    return out


def _between(u: F64, low: float, high: float, *, log: bool = False) -> F64:
    if log:
        out: F64 = np.exp(np.log(low) + u * (np.log(high) - np.log(low)))
        return out
    return low + u * (high - low)


def _uniforms(keys: NDArray[np.uint64], variable: int) -> F64:
    counters = np.full(keys.size, variable, dtype=np.uint64)
    return uniform(hash_counters(keys, counters)).astype(np.float64)


def incrementality(
    grid: Grid,
    probs: SeriesProbabilities,
    *,
    valid: I64,
    delivered: I64,
    reach: I64,
    targetable: I64,
    platform: Platform,
    seed: int,
    worn: RowProbabilities | None = None,
) -> Incrementality:
    """The model's expected values for a batch.

    `valid` (impressions − invalid) is per row, `delivered` and `reach` (cumulative) per cell,
    `targetable` the de-duplicated households per line item; `worn`
    (`funnel.worn_probabilities`) gives each row's completion after creative wear-out, so a
    worn creative causes fewer conversions.
    """
    day0 = grid.start // _SECONDS_PER_DAY
    last = (grid.start + 3600 * grid.hours - 1) // _SECONDS_PER_DAY
    days = Groups(last - day0 + 1)
    li = days.gid
    offset = days.position  # a day's index within its line item's flight
    day = day0[li] + offset
    cell_abs = grid.start[grid.cell_li] + 3600 * grid.cell_h
    cell_day = days.first[grid.cell_li] + cell_abs // _SECONDS_PER_DAY - day0[grid.cell_li]
    row_day = cell_day[grid.row_cell]
    n_days = li.size

    keys = line_item_keys(seed, "incrementality", grid.li_id)
    decay = _between(_uniforms(keys, 0), *ADSTOCK_DECAY)
    half = _between(_uniforms(keys, 1), *HILL_HALF_SATURATION)
    slope = _between(_uniforms(keys, 2), *HILL_SLOPE)
    # in-market and retailer audiences respond more (adsgen.domain.markets)
    rate_max = _between(_uniforms(keys, 3), *INCREMENTAL_RATE_MAX, log=True) * \
        grid.targets.conversion_lift
    advertisers = np.array([item.advertiser_id for item in grid.items], dtype=np.int64)
    baseline_rate = _between(
        _uniforms(entity_keys(seed, "simulate.baseline", advertisers), 0), *BASELINE_RATE,
        log=True)

    series = grid.row_series
    video = probs["p_start"][series] > 0.0
    complete = (worn["p_complete"] if worn and "p_complete" in worn
                else probs["p_complete"][series])
    quality = np.where(video, complete, probs["p_viewable"][series])
    effective: F64 = np.bincount(row_day, weights=valid * quality,
                                 minlength=n_days).astype(np.float64)
    adstock: F64 = effective.copy()
    for k in range(1, int(days.lengths.max(initial=1))):  # over days, all line items at once
        at = np.flatnonzero(offset == k)
        adstock[at] += decay[li[at]] * adstock[at - 1]

    # Cumulative impressions and reach at each day's last hour (reach is cumulative per cell).
    daily_impressions = np.bincount(cell_day, weights=delivered, minlength=n_days)
    cumulative = cumsum(daily_impressions.astype(np.int64), days)
    last_hour = ((cell_abs + 3600) % _SECONDS_PER_DAY == 0) | (
        grid.cell_h == grid.hours[grid.cell_li] - 1)
    reached = np.bincount(cell_day, weights=np.where(last_hour, reach, 0), minlength=n_days)
    frequency = np.divide(cumulative, reached, out=np.zeros(n_days), where=reached > 0)
    per_household = rate_max[li] * hill(frequency, half[li], slope[li])
    incremental = np.divide(per_household * adstock, frequency, out=np.zeros(n_days),
                            where=frequency > 0)

    hours_in_day = np.bincount(_lh_day(grid, days, day0), minlength=n_days)
    weekday = np.asarray(platform.weekday_multipliers, dtype=np.float64)
    calendar = (weekday / weekday.mean())[weekday_of(day)] * season_multipliers(
        platform.seasonality, day, kind="demand")
    per_household_day = baseline_rate[li] * calendar * hours_in_day / 24.0
    population = targetable.astype(np.float64)[li]
    exposed = np.minimum(reached, population)
    return Incrementality(
        days=days, day=day, row_day=row_day, decay=decay, half_saturation=half, slope=slope,
        rate_max=rate_max, baseline_rate=baseline_rate, effective=effective, adstock=adstock,
        frequency=frequency, exposed=exposed, targetable=population,
        baseline_expected=per_household_day * population,
        incremental_expected=incremental,
        attributed_source=incremental + per_household_day * exposed,
    )


def _lh_day(grid: Grid, days: Groups, day0: I64) -> I64:
    """Line item × day index of every line-item hour (to count the flight hours of a day)."""
    seconds = grid.start[grid.lh_li] + 3600 * grid.lh_h
    out: I64 = days.first[grid.lh_li] + seconds // _SECONDS_PER_DAY - day0[grid.lh_li]
    return out


def attribution_multiplier(inc: Incrementality, landing: Real) -> F64:
    """m per row: T_d ÷ L_d of the row's UTC day, L_d = the day's unscaled landing means
    (`landing`, per row); 0 on a day no touch within the window reaches (L_d = 0)."""
    touched = np.bincount(inc.row_day, weights=landing, minlength=inc.day.size)
    scale = np.divide(inc.attributed_source, touched, out=np.zeros(inc.day.size),
                      where=touched > 0)
    out: F64 = scale[inc.row_day]
    return out


def attributed_probabilities(
    grid: Grid, probs: SeriesProbabilities, landing: Real, multiplier: F64
) -> SeriesProbabilities:
    """`probs` with the conversion probabilities the rows were drawn at: each series'
    p_conversion (and its click/view parts) × ρ, ρ = Σ landing × m ÷ Σ landing over the
    series' rows (0 for a series where nothing lands), at most 1 — what ground_truth and
    creative_truth report, so p_conversion × conversion_share_in_flight × valid impressions
    is still the expected attributed count of the rows."""
    count = probs["p_conversion"].size
    unscaled = np.bincount(grid.row_series, weights=landing, minlength=count)
    scaled = np.bincount(grid.row_series, weights=landing * multiplier, minlength=count)
    ratio = np.divide(scaled, unscaled, out=np.zeros(count), where=unscaled > 0)
    out = dict(probs)
    for name in ("p_conversion", "p_view_conversion", "p_click_conversion"):
        out[name] = np.minimum(probs[name] * ratio, 1.0)
    return out


def drawn_counts(grid: Grid, inc: Incrementality, *, seed: int) -> tuple[I64, I64]:
    """(incremental, baseline) conversions drawn per line item × day: Poisson(I_d) and
    Poisson(B_d), keyed by (seed, line item, day) — conversion_truth's counts, which every
    coarser grain splits."""
    keys = line_item_keys(seed, "incrementality", grid.li_id)[inc.days.gid]
    counters = inc.day.astype(np.uint64) << np.uint64(8)
    incremental = poisson(inc.incremental_expected, hash_counters(keys, counters | np.uint64(1)))
    baseline = poisson(inc.baseline_expected, hash_counters(keys, counters | np.uint64(2)))
    return incremental.astype(np.int64), baseline.astype(np.int64)


def conversion_truth_table(
    grid: Grid, inc: Incrementality, *, attributed: Real, attributed_mean: Real, seed: int
) -> pa.Table:
    """The `conversion_truth` rows of a batch; `attributed` (drawn click + view conversions)
    and `attributed_mean` (their Poisson means) are per performance row."""
    n_days = inc.day.size
    li = inc.days.gid
    incremental, baseline = drawn_counts(grid, inc, seed=seed)
    drawn = np.bincount(inc.row_day, weights=attributed, minlength=n_days).astype(np.int64)
    expected = np.bincount(inc.row_day, weights=attributed_mean, minlength=n_days)
    incremental_count = incremental.astype(np.int64)
    columns = {
        "line_item_id": grid.li_id[li],
        "day": pa.array(inc.day.astype(np.int32), type=pa.date32()),
        "seed": np.full(n_days, seed, dtype=np.int64),
        "baseline_rate": inc.baseline_rate[li],
        "hill_half_saturation": inc.half_saturation[li],
        "hill_slope": inc.slope[li],
        "adstock_decay": inc.decay[li],
        "incremental_rate_max": inc.rate_max[li],
        "effective_impressions": inc.effective,
        "adstock": inc.adstock,
        "average_frequency": inc.frequency,
        "exposed_households": inc.exposed.astype(np.int64),
        "targetable_households": inc.targetable.astype(np.int64),
        "baseline_expected": inc.baseline_expected,
        "baseline_conversions": baseline.astype(np.int64),
        "incremental_expected": inc.incremental_expected,
        "incremental_conversions": incremental_count,
        "attributed_expected": expected,
        "attributed_conversions": drawn,
        "overcount_expected": expected - inc.incremental_expected,
        "overcount": drawn - incremental_count,
    }
    return pa.Table.from_arrays(
        [pa.array(columns[f.name], type=f.type) if not isinstance(columns[f.name], pa.Array)
         else columns[f.name] for f in CONVERSION_TRUTH_SCHEMA],
        schema=CONVERSION_TRUTH_SCHEMA,
    )
