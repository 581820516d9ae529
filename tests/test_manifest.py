"""Manifest: invariant checks catch every broken law, spec hashes are stable, JSON round-trips."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adsgen.build.items import SimLineItem
from adsgen.build.numbering import NumberedPlan, number_plan
from adsgen.runs.manifest import (
    CHECKS,
    CheckResult,
    Manifest,
    TableStats,
    canonical_json,
    check_block,
    merge_checks,
    now_utc,
    spec_hash,
)
from adsgen.simulate import SimResult, simulate
from adsgen.templates.catalog import get_platform
from planfactory import sample_advertiser
from simfactory import sim_items

PLATFORM = get_platform("netflix_like")
SEED = 5


@pytest.fixture(scope="module")
def plan() -> NumberedPlan:
    return number_plan([sample_advertiser("A"), sample_advertiser("B")])


@pytest.fixture(scope="module")
def result(plan: NumberedPlan) -> SimResult:
    return simulate(plan.items, platform=PLATFORM, seed=SEED)


def with_column(table: pa.Table, name: str, values: np.ndarray | pa.Array) -> pa.Table:
    index = table.schema.get_field_index(name)
    array = values if isinstance(values, pa.Array) else pa.array(values)
    return table.set_column(index, table.schema.field(index), array)


def violated(counts: dict[str, tuple[int, int]]) -> set[str]:
    return {name for name, (_, bad) in counts.items() if bad}


def test_simulated_rows_pass_every_check(plan: NumberedPlan, result: SimResult) -> None:
    counts = check_block(result, plan.items)
    # across blocks: export adds them
    assert set(counts) == set(CHECKS) - {"shared_slots", "competitive_separation"}
    assert violated(counts) == set()
    assert counts["funnel_order"][0] == result.performance.num_rows > 0


@settings(max_examples=30, deadline=None)
@given(items=sim_items(max_items=5, max_days=12), seed=st.integers(0, 2**31))
def test_random_plans_pass_every_check(items: list[SimLineItem], seed: int) -> None:
    simulated = simulate(items, platform=PLATFORM, seed=seed)
    counts = check_block(simulated, items)
    assert violated(counts) == set()
    assert counts["funnel_order"][0] == simulated.performance.num_rows


# Each law broken on one row, and the check that must catch it.
BREAKS = {
    "funnel_order": lambda c: c.__setitem__("completes", c["starts"] + 1),
    "viewability": lambda c: c.__setitem__("viewable", c["measurable"] + 1),
    "within_impressions": lambda c: c.__setitem__("clicks", c["impressions"] - c["invalid"] + 1),
    "non_negative": lambda c: c.__setitem__("view_conversions", -1),
    "spend_is_valid_impressions_x_cpm": lambda c: c.__setitem__("spend_micros",
                                                                c["spend_micros"] + 1),
    "qr_needs_qr_creative": lambda c: c.__setitem__("qr_scans", 1),
    "known_creative": lambda c: c.__setitem__("creative_id", 10**9),
    "within_flight": lambda c: c.__setitem__("hour", c["hour"] + 10**14),  # hours in µs
    "hour_aligned": lambda c: c.__setitem__("hour", c["hour"] + 1),  # one microsecond
    "reach_le_audience": lambda c: c.__setitem__("cumulative_reach", 10**12),
}


@settings(max_examples=25, deadline=None)
@given(law=st.sampled_from(sorted(BREAKS)), pick=st.integers(min_value=0))
def test_breaking_a_law_on_one_row_is_caught(
    plan: NumberedPlan, result: SimResult, law: str, pick: int
) -> None:
    perf = result.performance
    delivered = np.flatnonzero(perf.column("impressions").to_numpy() > 0)
    row = int(delivered[pick % delivered.size])
    names = ["impressions", "starts", "completes", "measurable", "viewable", "clicks", "invalid",
             "view_conversions", "spend_micros", "qr_scans", "creative_id",
             "cumulative_reach"]
    current = {n: int(perf.column(n)[row].as_py()) for n in names}
    current["hour"] = int(perf.column("hour").cast(pa.int64())[row].as_py())
    changed = dict(current)
    BREAKS[law](changed)
    for name, value in changed.items():
        if value != current[name]:
            column = perf.column(name)
            values = column.cast(pa.int64()).to_numpy().copy()
            values[row] = value
            perf = with_column(perf, name, pa.array(values).cast(column.type))
    assert law in violated(check_block({**result, "performance": perf}, plan.items))


def test_group_checks_catch_budget_and_reach_breaks(plan: NumberedPlan, result: SimResult) -> None:
    poor = [replace(item, budget_micros=1, daily_cap_micros=1) for item in plan.items]
    assert {"lifetime_budget", "daily_cap"} <= violated(
        check_block(result, poor))
    inactive = [replace(item, active=False) for item in plan.items]
    assert "active_and_servable" in violated(
        check_block(result, inactive))
    reach = result.performance.column("cumulative_reach").to_numpy()
    backwards = with_column(result.performance, "cumulative_reach", reach[::-1].copy())
    assert "reach_non_decreasing" in violated(
        check_block({**result, "performance": backwards}, plan.items))


def test_spend_billed_on_invalid_traffic_is_caught(plan: NumberedPlan, result: SimResult) -> None:
    """The old law (spend on every impression) breaks exactly the rows with billable IVT."""
    perf = result.performance
    imp = perf.column("impressions").to_numpy()
    invalid = perf.column("invalid").to_numpy()
    cpm = {item.line_item_id: item.cpm_micros for item in plan.items}
    row_cpm = np.array([cpm[i] for i in perf.column("line_item_id").to_pylist()])
    on_all = imp * row_cpm // 1000
    differs = int(np.count_nonzero(on_all != (imp - invalid) * row_cpm // 1000))
    assert differs > 0
    counts = check_block({**result, "performance": with_column(perf, "spend_micros", on_all)},
                         plan.items)
    assert counts["spend_is_valid_impressions_x_cpm"] == (perf.num_rows, differs)


def test_empty_block_and_nulls(plan: NumberedPlan, result: SimResult) -> None:
    empty = check_block({name: table.slice(0, 0) for name, table in result.items()}, [])
    assert violated(empty) == set()
    nulls = result.performance.set_column(
        4, "impressions", pa.nulls(result.performance.num_rows, pa.int64()))
    assert violated(check_block({**result, "performance": nulls}, plan.items)) == {"no_nulls"}


def test_grains_reconcile_catches_a_daily_row_off_by_one(
    plan: NumberedPlan, result: SimResult
) -> None:
    assert check_block(result, plan.items)["grains_reconcile"] == (len(plan.items), 0)
    daily = result["daily"]
    for column in ("spend_micros", "incremental_conversions", "view_conversions"):
        values = daily.column(column).to_numpy().copy()
        values[3] += 1
        broken = daily.set_column(daily.schema.get_field_index(column), column,
                                  pa.array(values))
        counts = check_block({**result, "daily": broken}, plan.items)
        assert counts["grains_reconcile"][1] >= 1, column
    mmm = result["mmm"]
    values = mmm.column("conversions").to_numpy().copy()
    values[0] -= 1
    broken = mmm.set_column(mmm.schema.get_field_index("conversions"), "conversions",
                            pa.array(values))
    counts = check_block({**result, "mmm": broken}, plan.items)
    assert counts["grains_reconcile"] == (len(plan.items), len(plan.items))


def test_merge_checks_adds_counts_and_failed_blocks() -> None:
    merged = merge_checks([{"a": (10, 0), "b": (5, 1)}, {"a": (3, 2), "b": (5, 0)}])
    assert merged == {"a": CheckResult(checked=13, violations=2, failed_blocks=1),
                      "b": CheckResult(checked=10, violations=1, failed_blocks=1)}
    assert not merged["a"].passed and CheckResult(checked=1).passed


def test_spec_hash_is_stable_and_sensitive(plan: NumberedPlan) -> None:
    items = plan.items
    first = spec_hash(items, platform=PLATFORM, seed=1)
    assert first == spec_hash(list(items), platform=PLATFORM, seed=1)
    assert len(first) == 64
    assert first != spec_hash(items, platform=PLATFORM, seed=2)
    assert first != spec_hash(items[:1], platform=PLATFORM, seed=1)
    assert first != spec_hash(items, platform=PLATFORM, seed=1, spec={"days": 3})
    # Nested values count too: a creative's QR flag, a cap, a flight end.
    head, creative = items[0], items[0].creatives[0]
    for changed in (
        replace(head, creatives=(replace(creative, has_qr=not creative.has_qr),
                                 *head.creatives[1:])),
        replace(head, frequency_cap=None),
        replace(head, end=head.end + timedelta(hours=1)),
    ):
        assert first != spec_hash([changed, *items[1:]], platform=PLATFORM, seed=1)
    assert canonical_json({"b": 1, "a": [1.5, None]}) == '{"a":[1.5,null],"b":1}'


def test_manifest_json_round_trip(tmp_path: Path) -> None:
    manifest = Manifest(
        adsgen_version="0.1.0", created_at=now_utc(), seed=1, spec_hash="0" * 64,
        platform="netflix_like", format="parquet", engine="local", workers=1, block_size=2,
        blocks=3, line_items=5, tables={"performance": TableStats(rows=9, bytes=100, files=4)},
        elapsed_seconds=0.5, rows_per_second=18.0,
        checks={"funnel_order": CheckResult(checked=9)}, checks_passed=1, checks_failed=0,
    )
    path = manifest.write(tmp_path)
    assert path.name == "manifest.json"
    assert Manifest.read(tmp_path) == manifest == Manifest.read(path)
    assert manifest.ok
