"""Grouped scans equal a per-group Python loop, for any group lengths (Hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from adsgen.simulate import groups
from adsgen.simulate.groups import Groups

lengths = st.lists(st.integers(0, 6), min_size=1, max_size=12)


def _split(values: np.ndarray, g: Groups) -> list[np.ndarray]:
    return [values[f : f + n] for f, n in zip(g.first, g.lengths, strict=True)]


@given(lengths=lengths, data=st.data())
def test_grouped_scans_match_per_group_loops(lengths: list[int], data: st.DataObject) -> None:
    g = Groups(np.array(lengths))
    size = int(sum(lengths))
    ints = np.array(data.draw(st.lists(st.integers(-10**9, 10**9), min_size=size,
                                       max_size=size)), dtype=np.int64)
    floats = np.array(data.draw(st.lists(st.floats(-1e6, 1e6), min_size=size, max_size=size)))
    for name, function in [("cumsum", np.cumsum), ("cummax", np.maximum.accumulate),
                           ("cummin", np.minimum.accumulate)]:
        got = _split(getattr(groups, name)(ints, g), g)
        assert all((a == function(b)).all() for a, b in zip(got, _split(ints, g), strict=True))
    got = _split(groups.fixed_cumsum(floats, g, bits=20), g)
    for a, b in zip(got, _split(floats, g), strict=True):
        assert np.allclose(a, np.cumsum(b), atol=1e-4 * max(1, len(b)))
    previous = _split(groups.previous(ints, g), g)
    for a, b in zip(previous, _split(ints, g), strict=True):
        assert (a == np.r_[0, b[:-1]][: len(b)]).all()
    assert np.allclose(groups.sums(floats, g), [b.sum() for b in _split(floats, g)])


def test_fixed_cumsum_of_a_group_ignores_other_groups() -> None:
    values = np.array([0.1, 0.2, 0.3])
    alone = groups.fixed_cumsum(values, Groups(np.array([3])), bits=40)
    after = groups.fixed_cumsum(np.r_[1e6 / 3, values], Groups(np.array([1, 3])), bits=40)
    assert (alone == after[1:]).all()


@given(lengths=lengths)
def test_position_numbers_each_element_within_its_group(lengths: list[int]) -> None:
    """`world.positions` and `Groups.position`: 0, 1, … again from each group's start."""
    from adsgen.world.positions import positions

    expected = [i for n in lengths for i in range(n)]
    assert positions(np.array(lengths)).tolist() == expected
    g = Groups(np.array(lengths))
    assert g.position.tolist() == expected and g.position.dtype == np.int64
    assert (g.first[g.gid] + g.position == np.arange(sum(lengths))).all()
