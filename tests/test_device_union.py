"""`pick_earlier` meets a day's union whenever some picks can: checked against every pick
on small random layouts (three devices, a dozen households).

Each device d picks `old[d]` of its earlier households (`earlier[d]`, the line item's
numbers of its local numbers); the day's union is the devices' new households (`fresh`)
plus the picks. Brute force lists every count of households the picks can add; the solver
must hit each of them exactly and report a miss only for the others, and pick no full
household (one the cap leaves no room) where picks of households with room hit it.
"""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from adsgen.stream.device_union import pick_earlier

HOUSEHOLDS = 12


@st.composite
def layouts(draw: st.DrawFn) -> tuple[list[np.ndarray], list[np.ndarray], list[int],
                                      list[np.ndarray]]:
    """(fresh, earlier, old, scores) of three devices: a device's new households are not
    its earlier ones; some households are full (score ≥ 2, the cap leaves no room)."""
    fresh, earlier, old, scores = [], [], [], []
    for _ in range(3):
        mine = draw(st.lists(st.integers(0, HOUSEHOLDS - 1), max_size=5, unique=True))
        others = [h for h in range(HOUSEHOLDS) if h not in mine]
        new = draw(st.lists(st.sampled_from(others), max_size=4, unique=True))
        earlier.append(np.array(mine, np.int64))
        fresh.append(np.array(new, np.int64))
        old.append(draw(st.integers(0, len(mine))))
        scores.append(np.array([draw(st.sampled_from([0.1, 0.5, 0.9, 2.5])) for _ in mine],
                               np.float32))
    return fresh, earlier, old, scores


def _adds(fresh: list[np.ndarray], earlier: list[np.ndarray], picks: list[np.ndarray]) -> int:
    """Households the picks add to the day's new ones."""
    day = set(np.concatenate(fresh).tolist())
    return len({int(earlier[d][i]) for d, ids in enumerate(picks) for i in ids} - day)


@settings(max_examples=400, deadline=None)
@given(layout=layouts())
def test_every_reachable_union_is_met_exactly(layout: tuple) -> None:
    fresh, earlier, old, scores = layout
    choices = [list(itertools.combinations(range(len(e)), k)) for e, k in zip(earlier, old,
                                                                               strict=True)]
    possible = {_adds(fresh, earlier, [np.array(c, np.int64) for c in combo])
                for combo in itertools.product(*choices)}
    roomy = [[c for c in cs if all(scores[d][i] < 2 for i in c)] for d, cs in enumerate(choices)]
    roomy = [r or cs for r, cs in zip(roomy, choices, strict=True)]  # too few: any
    full_ok = [any(any(scores[d][i] >= 2 for i in c) for c in r) for d, r in enumerate(roomy)]
    with_room = {_adds(fresh, earlier, [np.array(c, np.int64) for c in combo])
                 for combo in itertools.product(*roomy)}
    base = len(set(np.concatenate(fresh).tolist()))
    for target in range(-1, HOUSEHOLDS + 2):
        picks, miss = pick_earlier(fresh, earlier, old, base + target, scores)
        for d in range(3):
            assert len(picks[d]) == old[d] and len(set(picks[d].tolist())) == old[d]
        got = _adds(fresh, earlier, picks)
        assert abs(got - target) == miss
        assert (miss == 0) == (target in possible), (target, sorted(possible), got)
        if target in with_room:
            assert all(full_ok[d] or (scores[d][picks[d]] < 2).all() for d in range(3)), (
                target, picks)
