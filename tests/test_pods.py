"""Ad pods (issue 12 item 3): pod_delivery splits each video creative's day over break and
slot positions and adds up to the performance rows exactly, on random plans, whatever the
batches or engine; completion by position lands in realism.md B's ranges on a bundled
profile; competitive separation holds in the data and binds in the allocation."""

from __future__ import annotations

import dataclasses
import itertools
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest
from hypothesis import given, settings

from adsgen.build.at_scale import build_scaled
from adsgen.build.items import SimLineItem
from adsgen.domain.enums import AdPosition, Industry
from adsgen.runs.blocks import export
from adsgen.runs.pods import industry_use, pod_violations, separation_check
from adsgen.simulate import simulate
from adsgen.simulate.columns import FUNNEL
from adsgen.templates import catalog
from adsgen.world.allocation import allocate
from adsgen.world.households import served_geos
from adsgen.world.inventory import hourly_slots
from adsgen.world.pods import DEFAULT_PODS, SLOT_POSITIONS, pods_per_slot, slot_shares
from simfactory import line_item, platform, random_line_item, sim_items

PLATFORM = platform()
DAY_KEYS = ["line_item_id", "creative_id", "device", "day"]


def video_days(result: pa.Table, items: list[SimLineItem]) -> pa.Table:
    """Performance rows of video creatives, with their UTC day."""
    video = [c.creative_id for i in items for c in i.creatives
             if c.ad_format.is_video and c.duration_s]
    perf = result.filter(pc.is_in(result["creative_id"], pa.array(video, pa.int64())))
    day = pc.cast(pc.cast(perf["hour"], pa.timestamp("us")), pa.date32())
    return perf.append_column("day", day)


def sums(table: pa.Table, keys: list[str]) -> dict[tuple[object, ...], tuple[int, ...]]:
    rows = table.group_by(keys).aggregate([(c, "sum") for c in FUNNEL]).to_pylist()
    return {tuple(r[k] for k in keys): tuple(r[f"{c}_sum"] for c in FUNNEL) for r in rows
            if r["impressions_sum"]}


def assert_pods_reconcile(result: dict[str, pa.Table] | object, items: list[SimLineItem]) -> None:
    pods = result["pod_delivery"]  # type: ignore[index]
    perf = video_days(result["performance"], items)  # type: ignore[index]
    assert sums(pods, DAY_KEYS) == sums(perf, DAY_KEYS)
    for wide, narrow in itertools.pairwise(FUNNEL):
        assert pc.all(pc.less_equal(pods[narrow], pods[wide])).as_py() in (True, None)
    assert pods.num_rows == 0 or pc.min(pods["impressions"]).as_py() > 0  # no empty rows
    position = {i.line_item_id: i.position.value for i in items}
    assert pods["break_position"].to_pylist() == [
        position[i] for i in pods["line_item_id"].to_pylist()]
    assert set(pods["slot_position"].to_pylist()) <= set(SLOT_POSITIONS)
    key = pods.select([*DAY_KEYS, "slot_position"]).to_pylist()
    assert len({tuple(k.values()) for k in key}) == pods.num_rows  # one row per key
    assert pod_violations(result, items)[1] == 0  # type: ignore[arg-type]


@settings(max_examples=25, deadline=None)
@given(items=sim_items(max_items=5, max_days=12))
def test_pods_add_up_to_the_performance_rows_on_random_plans(items: list[SimLineItem]) -> None:
    result = simulate(items, platform=PLATFORM, seed=3)
    assert_pods_reconcile(result, items)
    alone = simulate(items, platform=PLATFORM, seed=3, batch_rows=1)  # a batch per line item
    assert alone["pod_delivery"].equals(result["pod_delivery"])


def test_the_check_catches_a_moved_impression() -> None:
    items = [line_item(1), line_item(2, position=AdPosition.post_roll)]
    result = dict(simulate(items, platform=PLATFORM, seed=1).items())
    pods = result["pod_delivery"]
    checked, bad = pod_violations(result, items)
    assert checked > 0 and bad == 0
    impressions = pods["impressions"].to_numpy().copy()
    impressions[0] += 1
    result["pod_delivery"] = pods.set_column(
        pods.schema.get_field_index("impressions"), "impressions", pa.array(impressions))
    assert pod_violations(result, items) == (checked, 1)


@pytest.mark.parametrize(("ads", "expected"), [
    ((2, 4), (1 / 3, 1 / 3, 1 / 3)), ((1, 3), (1 / 2, 1 / 6, 1 / 3)), ((1, 1), (1, 0, 0)),
    ((3, 5), (1 / 4, 1 / 2, 1 / 4)),
])
def test_ads_per_break_decide_the_slot_shares(ads: tuple[int, int],
                                              expected: tuple[float, ...]) -> None:
    pods = DEFAULT_PODS.model_copy(update={"ads_per_break": ads})
    assert slot_shares(pods) == pytest.approx(expected)
    plat = PLATFORM.model_copy(update={"pods": pods})
    items = [line_item(i) for i in range(1, 4)]
    table = simulate(items, platform=plat, seed=2)["pod_delivery"]
    by_slot = dict(zip(*table.group_by("slot_position").aggregate(
        [("impressions", "sum")]).to_pydict().values(), strict=True))
    total = sum(by_slot.values())
    for name, share in zip(SLOT_POSITIONS, expected, strict=True):
        assert by_slot.get(name, 0) / total == pytest.approx(share, abs=0.002)


def completion(table: pa.Table, column: str) -> dict[str, float]:
    grouped = table.group_by(column).aggregate([("completes", "sum"), ("impressions", "sum")])
    return {r[column]: r["completes_sum"] / r["impressions_sum"] for r in grouped.to_pylist()}


def test_completion_by_position_lands_in_realism_b_on_a_bundled_profile() -> None:
    """The same cross-screen plan bought pre-, mid- and post-roll: mid-roll 78-88 %,
    post-roll 45-65 %, pre-roll not above mid-roll; first slots complete more than last."""
    plan = build_scaled(seed=8, platform=PLATFORM, line_items=24,
                        profiles=[catalog.get_profile("cross_screen")])
    tables = []
    for position in AdPosition:
        items = [dataclasses.replace(i, position=position) for i in plan.items]
        tables.append(simulate(items, platform=PLATFORM, seed=8)["pod_delivery"])
    pods = pa.concat_tables(tables)
    by_break = completion(pods, "break_position")
    assert 0.78 <= by_break["mid_roll"] <= 0.88
    assert 0.45 <= by_break["post_roll"] <= 0.65
    assert by_break["pre_roll"] <= by_break["mid_roll"]
    by_slot = completion(pods, "slot_position")
    assert by_slot["first"] > by_slot["middle"] > by_slot["last"]


def crowded(industry: Industry | None) -> list[SimLineItem]:
    """Six big line items of one industry that could win every slot of their segments."""
    return [line_item(i, industry=industry, budget_micros=3_000_000 * 1_000_000,
                      geos=("US",), extra={"win_rate": 1.0}) for i in range(1, 7)]


def test_competitive_separation_binds_in_the_allocation_and_holds_in_the_data() -> None:
    items = crowded(Industry.automotive)
    free = allocate(crowded(None), PLATFORM, 4)
    world = allocate(items, PLATFORM, 4)
    units = 2  # each line item's longest creative is 30 s: two slots
    assert free.need.sum() / units > pods_per_slot(PLATFORM)  # unseparated, it would pass
    assert world.need.sum() / units <= pods_per_slot(PLATFORM)
    assert (world.granted < 1).all() and (free.granted == 1).all()
    result = simulate(items, platform=PLATFORM, seed=4, allocation=world)
    use = industry_use(result.performance, items)
    check = separation_check([use], PLATFORM, 4)
    assert check.checked > 0 and check.passed
    # per geo too (the allocation's law): the US hours fill up to half their pods, no more
    hours = use[0] // len(Industry) // 3
    inventory = hourly_slots(PLATFORM, 4, np.unique(hours // 24))
    us = inventory.slots[served_geos(PLATFORM).index("US")][
        use[0] // len(Industry) % 3, inventory.hour_index(hours * 3600)]
    filled = use[1] / (us * pods_per_slot(PLATFORM))
    assert 0.4 < filled.max() <= 1.0
    mixed = [dataclasses.replace(i, industry=list(Industry)[i.line_item_id % 2]) for i in items]
    assert separation_check([industry_use(result.performance, mixed)], PLATFORM, 4).passed


def test_export_checks_pods_and_separation_and_engines_agree(tmp_path: Path) -> None:
    rng = random.Random(12)
    industries = list(Industry)
    items = [dataclasses.replace(random_line_item(rng, i + 1, max_days=8),
                                 industry=industries[i % 3]) for i in range(10)]
    tables = {}
    for name, options in {"one": {"block_size": 1},
                          "pool": {"block_size": 3, "engine": "processes", "workers": 2}}.items():
        out = tmp_path / name
        manifest = export(items, entities={}, platform=PLATFORM, seed=6, out=out,
                          **options)  # type: ignore[arg-type]
        for check in ("pods_reconcile", "competitive_separation"):
            assert manifest.checks[check].passed and manifest.checks[check].checked > 0, check
        tables[name] = ds.dataset(out / "pod_delivery", format="parquet",
                                  partitioning="hive").to_table(columns=[
                                      *DAY_KEYS, "break_position", "slot_position", *FUNNEL]
                                  ).sort_by([(k, "ascending") for k in (*DAY_KEYS,
                                                                       "slot_position")])
    expected = simulate(items, platform=PLATFORM, seed=6)["pod_delivery"].sort_by(
        [(k, "ascending") for k in (*DAY_KEYS, "slot_position")])
    assert tables["one"].num_rows == expected.num_rows > 0
    assert tables["one"].equals(tables["pool"])
    assert np.array_equal(tables["one"]["completes"].to_numpy(),
                          expected["completes"].to_numpy())
