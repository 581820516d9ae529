"""Every invariant of realism.md section C, on 100 % of rows, over random plans and seeds."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from adsgen.build.items import SimLineItem
from adsgen.domain.enums import DeviceType, PacingPeriod, PacingType
from adsgen.simulate import simulate
from simfactory import (
    assert_invariants,
    creative,
    line_item,
    platform,
    random_line_item,
    sim_items,
)


@settings(max_examples=300, deadline=None)
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


def test_invariants_hold_when_row_counts_exceed_float32_precision() -> None:
    item = line_item(
        1, devices=(DeviceType.ctv,), creatives=(creative(7),),
        pacing_type=PacingType.asap, pacing_period=PacingPeriod.daily,
        cpm_micros=500_000, budget_micros=10**9 * 10**6,
        extra={"win_rate": 1.0, "frequency_target": 0.01},
    )
    result = simulate([item], platform=platform(), seed=1)
    assert result.performance["impressions"].to_numpy().max() > 2**24
    assert_invariants(result, [item], platform())
