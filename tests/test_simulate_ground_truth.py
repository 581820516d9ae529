"""Ground truth: its shape, and observed rates of a large line item matching the true ones."""

from __future__ import annotations

import itertools
from datetime import timedelta

import numpy as np
import pytest

from adsgen.build.items import SimFrequencyCap
from adsgen.domain.enums import DeviceType, FrequencyPeriod, Industry
from adsgen.simulate import simulate
from adsgen.simulate.columns import GROUND_TRUTH_SCHEMA
from adsgen.simulate.engine import SimResult
from adsgen.simulate.ground_truth import industry_factor
from simfactory import START, columns, creative, line_item, platform
from wearutil import per_row, worn

PROBABILITIES = [n for n in GROUND_TRUTH_SCHEMA.names if n.startswith("p_")]


@pytest.fixture(scope="module")
def large_result() -> SimResult:
    item = line_item(
        7, end=START + timedelta(days=30), budget_micros=400_000 * 1_000_000,
        devices=(DeviceType.ctv, DeviceType.mobile, DeviceType.desktop),
    )
    return simulate([item], platform=platform(), seed=77)


@pytest.fixture(scope="module")
def large(large_result: SimResult) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    return columns(large_result.performance), columns(large_result.ground_truth)


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
    large_result: SimResult, large: tuple[dict[str, np.ndarray], dict[str, np.ndarray]],
    device: str, count: str, probability: str,
) -> None:
    """Completes and clicks wear out: their truth is the first-exposure rate, so the rate
    the rows should show is the creatives' first-exposure rates × each row's wear-out factor
    (creative_truth.wear_out_rate), averaged over the rows' impressions."""
    rows, truth = large
    on = rows["device"] == device
    impressions = rows["impressions"][on].sum()
    assert impressions > 500_000
    trials = rows["impressions"].astype(np.float64)
    if count == "clicks":  # per valid impression: invalid traffic never clicks
        impressions -= rows["invalid"][on].sum()
        trials -= rows["invalid"]
    observed = rows[count][on].sum() / impressions
    true = float(truth[probability][truth["device"] == device][0])
    if count in ("completes", "clicks"):
        ctr_factor, completion_factor = worn(rows, large_result["creative_truth"])
        factor = ctr_factor if count == "clicks" else completion_factor
        first = per_row(rows, large_result["creative_truth"], probability)
        assert (factor[on] < 1).mean() > 0.9  # the rows did wear out
        true = float((trials * first * factor)[on].sum() / trials[on].sum())
    standard_error = np.sqrt(max(true * (1 - true), 1e-12) / impressions)
    # binomial noise plus the creative mix's rotation noise (15 s vs 30 s differ ~3 points)
    assert abs(observed - true) <= 5 * standard_error + 0.002 * true, (observed, true)


def test_uncapped_reach_follows_the_nbd_curve(
    large: tuple[dict[str, np.ndarray], dict[str, np.ndarray]],
) -> None:
    """Reach = N·(1 − (1 + I/(N·k))^(−k)) of the cumulative impressions, N and k the truth's."""
    rows, truth = large
    for device, audience, shape in zip(truth["device"], truth["audience"],
                                       truth["exposure_shape"], strict=True):
        on = (rows["device"] == device) & (rows["creative_id"] == rows["creative_id"].min())
        hours = rows["hour"][rows["device"] == device]
        per_hour = np.bincount((hours - hours.min()) // 3600,
                               weights=rows["impressions"][rows["device"] == device])
        cumulative = np.cumsum(per_hour)
        expected = audience * -np.expm1(-shape * np.log1p(cumulative / (audience * shape)))
        assert np.allclose(rows["cumulative_reach"][on], expected, rtol=1e-6, atol=1)
        poisson = audience * -np.expm1(-cumulative / audience)
        assert (rows["cumulative_reach"][on][-1] < poisson[-1])  # slower than Poisson


def test_industry_scales_the_planned_and_the_delivered_frequency() -> None:
    """The same line item and seed for three advertisers: automotive (11.5) plans its
    frequency 11.5 ÷ 7.4 times the average, pharma (5.05) 5.05 ÷ 7.4, no industry the average;
    fewer households then see more impressions each, in the reach table too."""
    planned, delivered = {}, {}
    for industry in (Industry.automotive, None, Industry.pharma):
        item = line_item(5, devices=(DeviceType.ctv,), industry=industry,
                         budget_micros=400_000 * 1_000_000)
        result = simulate([item], platform=platform(), seed=11)
        truth, reach = columns(result.ground_truth), columns(result["reach"])
        assert truth["industry"].tolist() == [None if industry is None else industry.value]
        planned[industry] = float(truth["planned_frequency"][0])
        flight = (reach["period"] == "flight") & (reach["device"] == "all")
        delivered[industry] = float(reach["impressions"][flight][0] / reach["reach"][flight][0])
    assert planned[Industry.automotive] / planned[None] == pytest.approx(11.5 / 7.4)
    assert planned[Industry.pharma] / planned[None] == pytest.approx(5.05 / 7.4)
    assert delivered[Industry.automotive] > delivered[None] > delivered[Industry.pharma]
    unlisted = [line_item(k, industry=industry) for k, industry in enumerate(
        (Industry.retail, Industry.telecom, None, Industry.travel))]
    assert industry_factor(unlisted).tolist() == [1.0, 1.0, 1.0, pytest.approx(12.9 / 7.4)]


def test_a_cap_of_one_per_day_makes_daily_reach_equal_daily_impressions() -> None:
    item = line_item(
        3, frequency_cap=SimFrequencyCap(1, FrequencyPeriod.days, 1),
        devices=(DeviceType.ctv,), extra={"win_rate": 0.5, "frequency_target": 40.0},
        budget_micros=300_000 * 1_000_000,
    )
    result = simulate([item], platform=platform(), seed=3)
    rows = columns(result.performance)
    audience = int(columns(result.ground_truth)["audience"][0])
    first = rows["creative_id"] == rows["creative_id"].min()
    day = (rows["hour"] - rows["hour"].min()) // 86400
    per_day = np.bincount(day, weights=rows["impressions"])
    assert (per_day <= audience).all()
    assert columns(result["pacing"])["lost_to_frequency_cap"].sum() > 0  # the cap binds
    reach = rows["cumulative_reach"][first]
    assert reach[23] == per_day[0]  # first window: one impression per household reached


def test_invalid_traffic_is_not_billed_and_never_clicks_scans_or_converts() -> None:
    """IVT share of every row: spend on valid impressions; clicks, scans, conversions only
    from valid ones (a line item whose traffic is all invalid gets nothing of them)."""
    base = dict(devices=(DeviceType.mobile,), creatives=(creative(71, has_qr=True),))
    clean = line_item(71, **base)
    plat = platform().model_copy(update={"invalid_traffic_rate": 0.02})
    rows = columns(simulate([clean], platform=plat, seed=5).performance)
    invalid = rows["invalid"]
    assert invalid.sum() > 0 and rows["clicks"].sum() > 0
    valid = rows["impressions"] - invalid
    assert (rows["spend_micros"] == valid * clean.cpm_micros // 1000).all()
    assert (rows["spend_micros"] < rows["impressions"] * clean.cpm_micros // 1000).any()


def test_all_invalid_traffic_earns_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    from adsgen.simulate import ground_truth

    monkeypatch.setattr(ground_truth, "MAX_IVT", 1.0)
    plat = platform().model_copy(update={"invalid_traffic_rate": 1.0})
    item = line_item(72, devices=(DeviceType.desktop,), extra={"conversion_rate": 0.5},
                     creatives=(creative(72, has_qr=True),))
    rows = columns(simulate([item], platform=plat, seed=6).performance)
    assert rows["impressions"].sum() > 10_000
    assert (rows["invalid"] == rows["impressions"]).all()
    for name in ("clicks", "qr_scans", "click_conversions", "view_conversions", "spend_micros"):
        assert rows[name].sum() == 0, name


@pytest.mark.parametrize("lag_hours", [0.0, 10.0])
def test_conversion_share_in_flight_of_a_one_hour_flight(lag_hours: float) -> None:
    """One hour of delivery: only lag-0 conversions (lag < 0.5 h) land inside the flight."""
    item = line_item(73, end=START + timedelta(hours=1), devices=(DeviceType.ctv,),
                     extra={"win_rate": 0.5, "lag_mean_hours": lag_hours})
    truth = columns(simulate([item], platform=platform(), seed=8).ground_truth)
    within_window = 1.0 if lag_hours == 0 else -np.expm1(-168 / lag_hours)
    landed = 1.0 if lag_hours == 0 else -np.expm1(-0.5 / lag_hours)
    assert truth["conversion_share_in_flight"][0] == pytest.approx(landed / within_window)


def test_conversion_share_in_flight_rises_with_the_flight_and_explains_the_rows() -> None:
    """Longer flights lose a smaller share past the end; the rows show p × share × valid."""
    shares = []
    for days in (2, 28):
        item = line_item(74, end=START + timedelta(days=days), devices=(DeviceType.mobile,),
                         budget_micros=days * 40_000 * 1_000_000,
                         extra={"win_rate": 0.5, "lag_mean_hours": 24.0,
                                "conversion_rate": 0.01})
        result = simulate([item], platform=platform(), seed=9)
        rows, truth = columns(result.performance), columns(result.ground_truth)
        share = float(truth["conversion_share_in_flight"][0])
        valid = (rows["impressions"] - rows["invalid"]).sum()
        expected = float(truth["p_conversion"][0]) * share * valid
        observed = (rows["click_conversions"] + rows["view_conversions"]).sum()
        assert abs(observed - expected) <= 4 * np.sqrt(expected), (observed, expected)
        shares.append(share)
    assert 0.5 < shares[0] < shares[1] < 1.0, shares
