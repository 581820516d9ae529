"""Creative wear-out: CTR and completion fall with a household's exposures to the creative.

The model (simulate/wearout.py, creative_truth.wear_out_rate): a row's CTR is its series'
first-exposure p_click × exp(−r·x) and its completion p_complete × exp(−0.1·r·x), x = the
series' impressions before the row's hour ÷ the row's cumulative_reach. These tests read
the model from the data dictionary's side (`wearutil`), never from the simulation's code.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adsgen.build.items import SimLineItem
from adsgen.simulate import simulate
from adsgen.simulate.columns import CREATIVE_TRUTH_SCHEMA
from adsgen.simulate.conversions import conversion_means, lag_weights
from adsgen.simulate.funnel import draw_funnel, series_probabilities, worn_probabilities
from adsgen.simulate.grid import build_grid
from adsgen.simulate.ground_truth import QUARTILE_DROP, draw_params
from adsgen.simulate.wearout import COMPLETION_WEAR_SHARE, WEAR_OUT_RANGE, WearOut
from simfactory import START, assert_invariants, columns, creative, line_item, platform, sim_items
from wearutil import COMPLETION_SHARE, exposures_before, per_row

Z = 1.959963984540054


def _item(line_item_id: int, **extra: float) -> SimLineItem:
    """A 21-day line item with one 15 s creative, sized so households see it 5-9 times."""
    return line_item(
        line_item_id, end=START + timedelta(days=21), budget_micros=150_000 * 1_000_000,
        creatives=(creative(line_item_id * 100 + 1, duration_s=15),),
        extra={"frequency_target": 12.0, **extra},
    )


def _by_exposure(rows: dict[str, np.ndarray], on: np.ndarray, bins: int) -> np.ndarray:
    """Bin of each row by its exposures x: equal numbers of impressions per bin."""
    x = exposures_before(rows)
    order = np.argsort(x[on], kind="stable")
    share = np.cumsum(rows["impressions"][on][order]) / rows["impressions"][on].sum()
    out = np.empty(order.size, dtype=np.int64)
    out[order] = np.minimum((share * bins).astype(np.int64), bins - 1)
    return out


def test_ctr_and_completion_fall_with_frequency_at_a_high_rate() -> None:
    rate = 0.4
    result = simulate([_item(1, wear_out_rate=rate)], platform=platform(), seed=3)
    rows = columns(result.performance)
    truth = columns(result["creative_truth"])
    assert (truth["wear_out_rate"] == rate).all()
    x = exposures_before(rows)
    for device, count, trials, factor in [
        ("mobile", "clicks", "valid", rate), ("ctv", "completes", "impressions", rate / 10),
    ]:
        on = (rows["device"] == device) & (rows["impressions"] > 0)
        assert x[on].max() > 4
        n = rows["impressions"] - rows["invalid"] if trials == "valid" else rows["impressions"]
        bins = _by_exposure(rows, on, 6)
        hits = np.bincount(bins, weights=rows[count][on])
        tried = np.bincount(bins, weights=n[on])
        observed = hits / tried
        assert (np.diff(observed) < 0).all(), (device, observed)  # falls bin after bin
        first = float(truth["p_click" if count == "clicks" else "p_complete"][
            truth["device"] == device][0])
        expected = np.bincount(bins, weights=(n * first * np.exp(-factor * x))[on])
        assert (np.abs(hits - expected) <= 4 * np.sqrt(expected)).all(), (hits, expected)
    assert_invariants(result, [_item(1, wear_out_rate=rate)], platform())


def test_rate_zero_draws_exactly_the_unworn_funnel() -> None:
    """Pinned at 0, every count is what the funnel draws from the series' probabilities alone
    (the simulation before wear-out), bit for bit, and the worn probabilities equal them."""
    items = [_item(2, wear_out_rate=0.0), _item(3, wear_out_rate=0.0)]
    plat, seed = platform(), 8
    result = simulate(items, platform=plat, seed=seed)
    rows = columns(result.performance)
    assert (columns(result["creative_truth"])["wear_out_rate"] == 0).all()
    grid = build_grid(items, plat)
    params = draw_params(grid, seed=seed, invalid_rate=plat.invalid_traffic_rate, cpm_mid=40.0)
    probs = series_probabilities(grid, params)
    ones = np.ones(grid.row_series.size)
    for name, values in worn_probabilities(grid, probs, WearOut(ctr=ones, completion=ones)).items():
        assert np.array_equal(values, probs[name][grid.row_series]), name
    counts = draw_funnel(grid, probs, rows["impressions"], seed=seed)
    for name, values in counts.items():
        assert np.array_equal(values, rows[name]), name
    # Conversions are scaled to the causal model's attributed level per day
    # (test_simulate_incrementality); unworn, their propensities are the series' own.
    valid = (rows["impressions"] - rows["invalid"]).astype(np.float32)
    clicked = rows["clicks"].astype(np.float32)
    lags = lag_weights(params.lag_mean_hours)
    worn = worn_probabilities(grid, probs, WearOut(ctr=ones, completion=ones))
    for mine, plain in zip(conversion_means(grid, probs, valid, clicked, lags, worn=worn),
                           conversion_means(grid, probs, valid, clicked, lags), strict=True):
        assert np.array_equal(mine, plain)


def test_wear_out_leaves_the_start_alone_and_lowers_no_conversion_rise() -> None:
    """Same line item, rate 0 and a high rate: p_start draws the same starts; the worn
    events fall, and so can conversions (a worn video completes less, so it causes fewer
    incremental conversions: simulate/incrementality.py) — never more."""
    low = columns(simulate([_item(4, wear_out_rate=0.0)], platform=platform(), seed=6).performance)
    high = columns(simulate([_item(4, wear_out_rate=1.0)], platform=platform(), seed=6).performance)
    assert np.array_equal(low["impressions"], high["impressions"])
    assert np.array_equal(low["starts"], high["starts"])
    for name in ("first_quartile", "completes", "clicks"):
        assert high[name].sum() < 0.97 * low[name].sum(), name
    conversions = [(r["click_conversions"] + r["view_conversions"]).sum() for r in (low, high)]
    assert conversions[1] <= conversions[0] + 4 * np.sqrt(conversions[0])
    assert high["click_conversions"].sum() < low["click_conversions"].sum()


def test_a_series_first_hour_draws_with_the_first_exposure_rates() -> None:
    """x = 0 before any impression: at any rate, the first hour with impressions of each
    line item × creative × device draws exactly what rate 0 draws (same keyed draws, same
    probabilities), and later hours differ."""
    low, high = (columns(simulate([_item(5, wear_out_rate=r)], platform=platform(),
                                  seed=9).performance) for r in (0.0, 2.0))
    x = exposures_before(high)
    served = high["impressions"] > 0
    assert (x[served] == 0).any() and (x[served] > 0).any()
    for name in ("completes", "third_quartile", "clicks", "view_conversions"):
        fresh = served & (x == 0)
        assert np.array_equal(low[name][fresh], high[name][fresh]), name
    assert (low["completes"][x > 1] > high["completes"][x > 1]).mean() > 0.9


def _fit_decay(hits: np.ndarray, trials: np.ndarray, x: np.ndarray, series: np.ndarray,
               groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Per series: (b̂, its standard error) of hits ~ Binomial(trials, exp(a − b·x)).

    Maximum likelihood by Fisher scoring on (a, b), every series at once (2 × 2 systems).
    """
    def total(values: np.ndarray) -> np.ndarray:
        return np.bincount(series, weights=values, minlength=groups)

    a = np.log(total(hits) / total(trials))
    b = np.zeros(groups)
    for _ in range(30):
        p = np.minimum(np.exp(a[series] - b[series] * x), 1 - 1e-9)
        residual = (hits - trials * p) / (1 - p)
        weight = trials * p / (1 - p)
        u_a, u_b = total(residual), -total(x * residual)
        i_aa, i_ab, i_bb = total(weight), -total(weight * x), total(weight * x * x)
        det = i_aa * i_bb - i_ab * i_ab
        a = a + (i_bb * u_a - i_ab * u_b) / det
        b = b + (i_aa * u_b - i_ab * u_a) / det
    return b, np.sqrt(i_aa / det)


def test_the_wear_out_rate_is_recoverable_from_the_rows() -> None:
    """40 line items with drawn rates: per line item × device, fit completion (every device)
    and CTR (mobile: desktop and CTV click too rarely to say much) by maximum likelihood
    against x from the rows; the 95 % intervals cover creative_truth.wear_out_rate and the
    estimates track it."""
    items = [_item(i) for i in range(10, 50)]
    result = simulate(items, platform=platform(), seed=5)
    rows = columns(result.performance)
    truth = per_row(rows, result["creative_truth"], "wear_out_rate")
    assert np.unique(truth).size == len(items)  # drawn per creative
    assert WEAR_OUT_RANGE[0] <= truth.min() and truth.max() <= WEAR_OUT_RANGE[1]
    x = exposures_before(rows)
    valid = rows["impressions"] - rows["invalid"]
    fits = [
        ("completion", rows["completes"], rows["impressions"], COMPLETION_SHARE,
         np.ones(x.size, bool), 0.9),
        ("ctr", rows["clicks"], valid, 1.0, rows["device"] == "mobile", 0.7),
    ]
    for name, hits, trials, share, on, correlation in fits:
        _, device = np.unique(rows["device"][on], return_inverse=True)
        _, series = np.unique(np.stack([rows["line_item_id"][on], device.ravel()]), axis=1,
                              return_inverse=True)
        series = series.ravel()
        groups = int(series.max()) + 1
        true = np.bincount(series, weights=truth[on]) / np.bincount(series)
        slope, se = _fit_decay(hits[on], trials[on], x[on], series, groups)
        estimate, half = slope / share, Z * se / share
        covered = np.abs(estimate - true) <= half
        assert covered.mean() >= 0.85, (name, covered.mean())
        assert np.corrcoef(estimate, true)[0, 1] > correlation, name
        assert abs(np.mean(estimate) - np.mean(true)) < 0.005, name


@settings(max_examples=25, deadline=None)
@given(items=sim_items(max_items=5, max_days=6), rate=st.sampled_from([0.0, 0.5, 5.0]),
       seed=st.integers(0, 2**31))
def test_every_invariant_holds_whatever_the_rate(
    items: list[SimLineItem], rate: float, seed: int,
) -> None:
    pinned = [replace(item, extra={**item.extra, "wear_out_rate": rate}) for item in items]
    result = simulate(pinned, platform=platform(), seed=seed)
    assert_invariants(result, pinned, platform())
    rates = result["creative_truth"]["wear_out_rate"].to_numpy()
    assert (rates == rate).all()


def test_documented_constants_match_the_simulation() -> None:
    """The data dictionary's numbers are the simulation's (and `wearutil` reads by them)."""
    assert COMPLETION_SHARE == COMPLETION_WEAR_SHARE
    described = CREATIVE_TRUTH_SCHEMA.field("wear_out_rate").metadata[b"description"].decode()
    assert f"{WEAR_OUT_RANGE[0]:.2f}-{WEAR_OUT_RANGE[1]:.2f}" in described
    assert "a tenth as fast" in described
    assert pytest.approx(0.1) == COMPLETION_WEAR_SHARE
    for name, drop in zip(("p_first_quartile", "p_midpoint", "p_third_quartile"),
                          QUARTILE_DROP, strict=True):
        text = CREATIVE_TRUTH_SCHEMA.field(name).metadata[b"description"].decode()
        assert f"keeps {round(100 * (1 - drop))} %" in text, name
