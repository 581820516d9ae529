"""Causal conversions: baseline, incremental and attributed (simulate/incrementality.py)."""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from adsgen.simulate import simulate
from adsgen.simulate.incrementality import hill
from simfactory import platform, random_line_item


def _run(count: int, seed: int, rng_seed: int) -> dict[str, pa.Table]:
    rng = random.Random(rng_seed)
    items = [random_line_item(rng, i + 1) for i in range(count)]
    return dict(simulate(items, platform=platform(), seed=seed))


def test_hill_rises_with_frequency_and_saturates() -> None:
    f = np.array([0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 100.0, 10_000.0])
    h = hill(f, np.full(f.size, 2.0), np.full(f.size, 1.5))
    assert h[0] == 0.0
    assert np.all(np.diff(h) > 0)
    assert h[3] == 0.5  # half at K
    assert h[-1] > 0.999 and h[-1] <= 1.0
    per_impression = h[1:] / f[1:]  # the effect of one more impression falls
    assert np.all(np.diff(per_impression[1:]) < 0)


def test_attributed_reconciles_with_the_rows_each_day() -> None:
    tables = _run(25, seed=11, rng_seed=5)
    perf, truth = tables["performance"], tables["conversion_truth"]
    day = pc.cast(pc.cast(perf["hour"], pa.timestamp("us")), pa.date32())
    daily = pa.table({
        "line_item_id": perf["line_item_id"], "day": day,
        "c": pc.add(perf["click_conversions"], perf["view_conversions"]),
    }).group_by(["line_item_id", "day"]).aggregate([("c", "sum")])
    rows = {(a, d): c for a, d, c in zip(daily["line_item_id"].to_pylist(),
                                         daily["day"].to_pylist(),
                                         daily["c_sum"].to_pylist(), strict=True)}
    keys = list(zip(truth["line_item_id"].to_pylist(), truth["day"].to_pylist(), strict=True))
    assert set(rows) == set(keys)
    assert [rows[k] for k in keys] == truth["attributed_conversions"].to_pylist()
    assert truth["attributed_conversions"].to_numpy().sum() > 0


def test_zero_exposure_means_zero_incremental_and_overcount_is_positive() -> None:
    truth = _run(40, seed=3, rng_seed=9)["conversion_truth"]
    effective = truth["effective_impressions"].to_numpy()
    adstock = truth["adstock"].to_numpy()
    incremental = truth["incremental_expected"].to_numpy()
    assert np.all(incremental[adstock == 0.0] == 0.0)
    assert np.all(truth["incremental_conversions"].to_numpy()[adstock == 0.0] == 0)
    assert np.all(adstock >= effective)
    over = truth["overcount_expected"].to_numpy()
    drawn = truth["overcount"].to_numpy()
    assert over.sum() > 0 and drawn.sum() > 0
    np.testing.assert_allclose(over, truth["attributed_expected"].to_numpy() - incremental)
    # Per line item, attributed exceeds incremental in most line items.
    ids = truth["line_item_id"].to_numpy()
    per_item = np.bincount(np.unique(ids, return_inverse=True)[1], weights=over)
    assert np.mean(per_item > 0) > 0.7
    assert np.all(truth["baseline_expected"].to_numpy() > 0)


def test_incremental_per_household_rises_with_frequency() -> None:
    """Across line item × days, the incremental conversions per adstocked household
    (I ÷ (A / f)) = r·H(f) rise with f and stay below r (saturation)."""
    truth = _run(40, seed=5, rng_seed=2)["conversion_truth"]
    f = truth["average_frequency"].to_numpy()
    adstock = truth["adstock"].to_numpy()
    keep = (f > 0) & (adstock > 0)
    per_household = truth["incremental_expected"].to_numpy()[keep] * f[keep] / adstock[keep]
    r = truth["incremental_rate_max"].to_numpy()[keep]
    assert np.all(per_household <= r * (1 + 1e-12))
    share = per_household / r
    expected = hill(f[keep], truth["hill_half_saturation"].to_numpy()[keep],
                    truth["hill_slope"].to_numpy()[keep])
    np.testing.assert_allclose(share, expected, rtol=1e-9)


def test_adstock_recursion_and_parameters_in_range() -> None:
    truth = _run(20, seed=8, rng_seed=4)["conversion_truth"]
    ids = truth["line_item_id"].to_numpy()
    decay = truth["adstock_decay"].to_numpy()
    assert np.all((decay >= 0.3) & (decay <= 0.8))
    e, a = truth["effective_impressions"].to_numpy(), truth["adstock"].to_numpy()
    first = np.r_[True, ids[1:] != ids[:-1]]
    np.testing.assert_allclose(a[first], e[first])
    later = np.flatnonzero(~first)
    np.testing.assert_allclose(a[later], e[later] + decay[later] * a[later - 1], rtol=1e-9)


def test_a_simple_estimator_recovers_the_incremental_total() -> None:
    """Over many line items, the drawn incremental total ± 1.96 √count covers the true
    expected total (the count is Poisson) about 95 % of the time."""
    truth = _run(60, seed=21, rng_seed=13)["conversion_truth"]
    ids = truth["line_item_id"].to_numpy()
    _, index = np.unique(ids, return_inverse=True)
    drawn = np.bincount(index, weights=truth["incremental_conversions"].to_numpy())
    expected = np.bincount(index, weights=truth["incremental_expected"].to_numpy())
    live = expected > 0
    half = 1.96 * np.sqrt(np.maximum(drawn[live], 1.0))
    covered = np.abs(drawn[live] - expected[live]) <= half
    assert live.sum() >= 30
    assert covered.mean() >= 0.85
