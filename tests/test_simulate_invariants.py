"""Every invariant of realism.md section C, on 100 % of rows, over random plans and seeds."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from adsgen.simulate import simulate
from adsgen.simulate.inputs import SimLineItem
from simfactory import assert_invariants, platform, random_line_item, sim_items


@settings(max_examples=60, deadline=None)
@given(items=sim_items(), seed=st.integers(0, 2**63 - 1))
def test_invariants_hold_on_every_row(items: list[SimLineItem], seed: int) -> None:
    result = simulate(items, platform=platform(), seed=seed)
    assert_invariants(result, items, platform())


def test_invariants_on_a_larger_random_plan() -> None:
    rng = random.Random(7)
    items = [random_line_item(rng, i, max_days=45) for i in range(1, 121)]
    result = simulate(items, platform=platform(), seed=11)
    assert result.performance.num_rows > 100_000
    assert_invariants(result, items, platform())
