"""Ground truth: its shape, and observed rates of a large line item matching the true ones."""

from __future__ import annotations

import itertools
from datetime import timedelta

import numpy as np
import pytest

from adsgen.build.items import SimFrequencyCap
from adsgen.domain.enums import DeviceType, FrequencyPeriod
from adsgen.simulate import simulate
from adsgen.simulate.columns import GROUND_TRUTH_SCHEMA
from simfactory import START, columns, line_item, platform

PROBABILITIES = [n for n in GROUND_TRUTH_SCHEMA.names if n.startswith("p_")]


@pytest.fixture(scope="module")
def large() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    item = line_item(
        7, end=START + timedelta(days=30), budget_micros=400_000 * 1_000_000,
        devices=(DeviceType.ctv, DeviceType.mobile, DeviceType.desktop),
    )
    result = simulate([item], platform=platform(), seed=77)
    return columns(result.performance), columns(result.ground_truth)


def test_one_row_per_line_item_and_device_with_valid_probabilities(
    large: tuple[dict[str, np.ndarray], dict[str, np.ndarray]],
) -> None:
    rows, truth = large
    assert sorted(truth["device"].tolist()) == ["ctv", "desktop", "mobile"]
    assert (truth["seed"] == 77).all() and (truth["cpm_micros"] == 40_000_000).all()
    for name in PROBABILITIES:
        assert ((truth[name] >= 0) & (truth[name] <= 1)).all(), name
    chain = ["p_start", "p_first_quartile", "p_midpoint", "p_third_quartile", "p_complete"]
    for wide, narrow in itertools.pairwise(chain):
        assert (truth[narrow] <= truth[wide]).all()
    assert (truth["p_viewable"] <= truth["p_measurable"]).all()
    for device, audience in zip(truth["device"], truth["audience"], strict=True):
        assert rows["cumulative_reach"][rows["device"] == device].max() <= audience


@pytest.mark.parametrize("device", ["ctv", "mobile", "desktop"])
@pytest.mark.parametrize(
    ("count", "probability"),
    [("completes", "p_complete"), ("starts", "p_start"), ("viewable", "p_viewable"),
     ("invalid", "p_invalid"), ("clicks", "p_click")],
)
def test_observed_rates_match_the_true_ones(
    large: tuple[dict[str, np.ndarray], dict[str, np.ndarray]],
    device: str, count: str, probability: str,
) -> None:
    rows, truth = large
    on = rows["device"] == device
    impressions = rows["impressions"][on].sum()
    assert impressions > 500_000
    observed = rows[count][on].sum() / impressions
    true = float(truth[probability][truth["device"] == device][0])
    standard_error = np.sqrt(max(true * (1 - true), 1e-12) / impressions)
    # binomial noise plus the creative mix's rotation noise (15 s vs 30 s differ ~3 points)
    assert abs(observed - true) <= 5 * standard_error + 0.002 * true, (observed, true)


def test_uncapped_reach_follows_the_poisson_curve(
    large: tuple[dict[str, np.ndarray], dict[str, np.ndarray]],
) -> None:
    rows, truth = large
    for device, audience in zip(truth["device"], truth["audience"], strict=True):
        on = (rows["device"] == device) & (rows["creative_id"] == rows["creative_id"].min())
        hours = rows["hour"][rows["device"] == device]
        per_hour = np.bincount((hours - hours.min()) // 3600,
                               weights=rows["impressions"][rows["device"] == device])
        cumulative = np.cumsum(per_hour)
        expected = audience * -np.expm1(-cumulative / audience)
        assert np.allclose(rows["cumulative_reach"][on], expected, rtol=1e-6, atol=1)


def test_a_cap_of_one_per_day_makes_daily_reach_equal_daily_impressions() -> None:
    item = line_item(
        3, frequency_cap=SimFrequencyCap(1, FrequencyPeriod.days, 1),
        devices=(DeviceType.ctv,), extra={"win_rate": 0.5, "frequency_target": 40.0},
        budget_micros=300_000 * 1_000_000,
    )
    rows = columns(simulate([item], platform=platform(), seed=3).performance)
    audience = int(columns(simulate([item], platform=platform(), seed=3).ground_truth)[
        "audience"][0])
    first = rows["creative_id"] == rows["creative_id"].min()
    day = (rows["hour"] - rows["hour"].min()) // 86400
    per_day = np.bincount(day, weights=rows["impressions"])
    assert (per_day <= audience).all()
    assert per_day.max() > 0.5 * audience  # the cap binds
    reach = rows["cumulative_reach"][first]
    assert reach[23] == per_day[0]  # first window: one impression per household reached
