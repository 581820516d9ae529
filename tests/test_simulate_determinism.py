"""Determinism: same seed identical, other seed different, any subset or batching identical."""

from __future__ import annotations

import random

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adsgen.build.items import SimLineItem
from adsgen.simulate import SimResult, simulate, simulate_batches
from simfactory import line_item, platform, random_line_item, sim_items


def _plan(count: int = 12, seed: int = 3) -> list[SimLineItem]:
    rng = random.Random(seed)
    return [random_line_item(rng, i, max_days=10) for i in range(1, count + 1)]


def _rows_of(result: SimResult, ids: list[int]) -> tuple[pa.Table, pa.Table]:
    keep = pa.array(ids)
    perf = result.performance.filter(pc.is_in(result.performance["line_item_id"], keep))
    truth = result.ground_truth.filter(pc.is_in(result.ground_truth["line_item_id"], keep))
    return perf.combine_chunks(), truth.combine_chunks()


def test_same_seed_gives_identical_tables() -> None:
    items = _plan()
    first = simulate(items, platform=platform(), seed=99)
    second = simulate(items, platform=platform(), seed=99)
    assert first.performance.equals(second.performance)
    assert first.ground_truth.equals(second.ground_truth)


def test_different_seed_gives_different_values() -> None:
    items = [line_item(1), line_item(2)]
    first = simulate(items, platform=platform(), seed=1).performance
    second = simulate(items, platform=platform(), seed=2).performance
    assert first.num_rows == second.num_rows
    assert first.select(["line_item_id", "creative_id", "hour", "device"]).equals(
        second.select(["line_item_id", "creative_id", "hour", "device"])
    )
    for name in ("impressions", "completes", "clicks", "cumulative_reach"):
        assert not first[name].equals(second[name]), name


@settings(max_examples=80, deadline=None)
@given(items=sim_items(max_items=8, max_days=8), data=st.data())
def test_subset_gives_exactly_its_rows_of_the_full_run(
    items: list[SimLineItem], data: st.DataObject
) -> None:
    seed = data.draw(st.integers(0, 2**40))
    subset = data.draw(st.lists(st.sampled_from(items), unique_by=lambda i: i.line_item_id))
    full = simulate(items, platform=platform(), seed=seed)
    part = simulate(subset, platform=platform(), seed=seed)
    perf, truth = _rows_of(full, [i.line_item_id for i in subset])
    assert part.performance.combine_chunks().equals(perf)
    assert part.ground_truth.combine_chunks().equals(truth)


@pytest.mark.parametrize("batch_rows", [1, 500, 10_000])
def test_batching_and_input_order_do_not_change_values(batch_rows: int) -> None:
    items = _plan()
    reference = simulate(items, platform=platform(), seed=5)
    shuffled = list(reversed(items))
    other = simulate(shuffled, platform=platform(), seed=5, batch_rows=batch_rows)
    assert other.performance.combine_chunks().equals(reference.performance.combine_chunks())
    assert other.ground_truth.combine_chunks().equals(reference.ground_truth.combine_chunks())
    batches = list(simulate_batches(items, platform=platform(), seed=5, batch_rows=batch_rows))
    assert sum(b.performance.num_rows for b in batches) == reference.performance.num_rows


def test_duplicate_line_item_ids_are_rejected() -> None:
    with pytest.raises(ValueError, match="unique"):
        simulate([line_item(1), line_item(1)], platform=platform(), seed=0)


def test_nothing_to_simulate_gives_empty_tables_with_the_schemas() -> None:
    from adsgen.simulate.columns import GROUND_TRUTH_SCHEMA, PERFORMANCE_SCHEMA

    result = simulate([line_item(1, active=False)], platform=platform(), seed=0)
    assert result.performance.num_rows == 0 and result.ground_truth.num_rows == 0
    assert result.performance.schema.equals(PERFORMANCE_SCHEMA)
    assert result.ground_truth.schema.equals(GROUND_TRUTH_SCHEMA)
