"""Keyed column draws of plans at scale: values depend on the entity, not on its company;
weighted picks and ordered samples follow their weights."""

from __future__ import annotations

import numpy as np

from adsgen.build.keyed_draws import Draws, unique_within

IDS = np.arange(20_000, dtype=np.int64)


def test_an_entity_draws_the_same_whatever_else_is_drawn() -> None:
    whole = Draws(4, "test", IDS)
    part = Draws(4, "test", IDS[::-7])
    assert np.array_equal(whole.u(3)[::-7], part.u(3))
    assert not np.array_equal(whole.u(3), whole.u(4))
    assert not np.array_equal(whole.u(3), Draws(5, "test", IDS).u(3))
    assert not np.array_equal(whole.u(3), Draws(4, "other", IDS).u(3))


def test_picks_follow_their_weights() -> None:
    weights = [0.6, 0.3, 0.1, 0.0]
    picked = Draws(1, "pick", IDS).pick(0, weights)
    shares = np.bincount(picked, minlength=4) / IDS.size
    assert np.allclose(shares, weights, atol=0.015)


def test_ordered_samples_are_distinct_and_weighted() -> None:
    weights = [0.5, 0.3, 0.2, 0.0]
    counts = np.array([1, 2, 3, 4] * (IDS.size // 4), dtype=np.int64)
    sample = Draws(2, "sample", IDS).ordered_sample(10, weights, counts)
    drawn = (sample >= 0).sum(axis=1)
    assert np.array_equal(drawn, np.minimum(counts, 3))  # a zero weight is never drawn
    assert not (sample == 3).any()
    for row in sample[:500]:
        values = row[row >= 0]
        assert len(set(values.tolist())) == values.size
    first = np.bincount(sample[:, 0], minlength=4) / IDS.size
    assert np.allclose(first, weights, atol=0.015)
    # The second pick is drawn from what is left: P(second = 1 | first = 0) = 0.3 / 0.5.
    pairs = sample[counts >= 2]
    given = pairs[pairs[:, 0] == 0]
    assert abs(float(np.mean(given[:, 1] == 1)) - 0.6) < 0.03


def test_between_keeps_the_range_and_the_step() -> None:
    low = np.full(IDS.size, 2_000, dtype=np.int64)
    high = np.full(IDS.size, 3_400, dtype=np.int64)
    step = np.full(IDS.size, 500, dtype=np.int64)
    values = Draws(3, "between", IDS).between(0, low, high, step)
    assert values.min() >= 2_000 and values.max() <= 3_400
    assert set(np.unique(values).tolist()) <= {2_000, 2_500, 3_000, 3_400}
    fixed = Draws(3, "between", IDS).between(0, low, low, step)
    assert (fixed == 2_000).all()


def test_unique_within_numbers_repeats_per_group() -> None:
    groups = np.array([0, 0, 0, 1, 1], dtype=np.int64)
    names = unique_within(groups, ["a", "a", "b", "a", "a"], " #")
    assert names == ["a", "a #2", "b", "a", "a #2"]
