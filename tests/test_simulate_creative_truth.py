"""creative_truth: one row per line item × servable creative × device with the unmixed
probabilities the funnel draws with; mixed by rotation weight they are ground_truth's."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adsgen.build.items import SimLineItem
from adsgen.domain.enums import AdFormat, AdPosition
from adsgen.simulate import simulate
from adsgen.simulate.columns import CREATIVE_TRUTH_SCHEMA, FACT_TABLES, GROUND_TRUTH_SCHEMA
from adsgen.simulate.ground_truth import DURATION_SLOPE
from simfactory import creative, line_item, platform, sim_items

P_NAMES = [n for n in GROUND_TRUTH_SCHEMA.names if n.startswith("p_")]


def mixed(truth: pa.Table) -> pa.Table:
    """creative_truth's probabilities averaged by rotation weight per line item × device."""
    weighted = truth.select(["line_item_id", "device"])
    for name in P_NAMES:
        weighted = weighted.append_column(
            name, pc.multiply(truth[name], truth["rotation_weight"]))
    return weighted.group_by(["line_item_id", "device"], use_threads=False).aggregate(
        [(name, "sum") for name in P_NAMES]).rename_columns(["line_item_id", "device", *P_NAMES])


def by_key(table: pa.Table) -> pa.Table:
    return table.sort_by([("line_item_id", "ascending"), ("device", "ascending")])


@settings(max_examples=40, deadline=None)
@given(items=sim_items(max_items=6, max_days=6), seed=st.integers(0, 2**31))
def test_mixing_by_rotation_weight_gives_ground_truth(items: list[SimLineItem], seed: int) -> None:
    result = simulate(items, platform=platform(), seed=seed)
    truth, ground = result["creative_truth"], result.ground_truth
    assert truth.schema.equals(CREATIVE_TRUTH_SCHEMA)
    assert truth.schema.equals(FACT_TABLES["creative_truth"].schema)
    mix, expected = by_key(mixed(truth)), by_key(ground)
    assert mix["line_item_id"].equals(expected["line_item_id"])
    assert mix["device"].equals(expected["device"])
    for name in P_NAMES:
        np.testing.assert_allclose(mix[name].to_numpy(), expected[name].to_numpy(),
                                   rtol=0, atol=1e-12, err_msg=name)
    if truth.num_rows:
        weights = truth.group_by(["line_item_id", "device"]).aggregate(
            [("rotation_weight", "sum")])["rotation_weight_sum"].to_numpy()
        np.testing.assert_allclose(weights, 1.0, atol=1e-12)
        assert pc.all(pc.equal(truth["seed"], seed)).as_py()


@settings(max_examples=25, deadline=None)
@given(items=sim_items(max_items=6, max_days=4), seed=st.integers(0, 2**31))
def test_one_row_per_series_of_the_performance_rows(items: list[SimLineItem], seed: int) -> None:
    result = simulate(items, platform=platform(), seed=seed)
    keys = ["line_item_id", "creative_id", "device"]
    series = result.performance.group_by(keys, use_threads=False).aggregate([])
    truth = result["creative_truth"].select(keys)
    assert truth.num_rows == series.num_rows
    order = [(k, "ascending") for k in keys]
    assert truth.sort_by(order).equals(series.sort_by(order))
    ids = truth["line_item_id"].to_numpy()
    assert np.all(np.diff(ids) >= 0)  # rows come in line item order


def test_creative_attributes_explain_the_probabilities() -> None:
    """A 15 s and a 30 s video, a pause ad and an interactive QR video, on every device."""
    item = line_item(
        1, position=AdPosition.mid_roll, creatives=(
            creative(11, duration_s=15),
            creative(12, duration_s=30),
            creative(13, ad_format=AdFormat.pause_ad, duration_s=None),
            creative(14, ad_format=AdFormat.interactive_video, interactive=True, has_qr=True),
        ),
    )
    truth = simulate([item], platform=platform(), seed=4)["creative_truth"].to_pylist()
    rows = {(row["creative_id"], row["device"]): row for row in truth}
    devices = {row["device"] for row in truth}
    assert devices == {"ctv", "mobile", "desktop"} and len(rows) == len(truth) == 12
    for device in devices:
        short, long, static, qr = (rows[(c, device)] for c in (11, 12, 13, 14))
        # completion falls DURATION_SLOPE a second beyond 15 s; starts do not depend on it
        assert short["p_complete"] - long["p_complete"] == pytest.approx(
            15 * DURATION_SLOPE, abs=1e-12)
        assert short["p_start"] == long["p_start"] > 0
        assert static["p_start"] == static["p_complete"] == 0.0 < static["p_measurable"]
        assert static["duration_s"] is None and long["duration_s"] == 30
        assert (static["ad_format"], qr["ad_format"]) == ("pause_ad", "interactive_video")
        assert (device == "ctv") == (long["p_click"] == 0.0 < qr["p_click"])
        assert (device != "mobile") == (qr["p_qr_scan"] > 0.0) and long["p_qr_scan"] == 0.0
        assert {r["rotation_weight"] for r in (short, long, static, qr)} == {
            rows[(c, "ctv")]["rotation_weight"] for c in (11, 12, 13, 14)}
