"""Positions within consecutive runs of a flat array (0, 1, … again from each run's start).

The world and the simulation lay nested things out flat as consecutive runs of given
lengths — a line item's geo × device pairs and days, its creative × device series, a
pair's frequency-cap windows, a line item's pacing days — and number each element within
its run to find its place in the nesting. This is the one home of that idiom
(`arange − repeat(cumsum − lengths)`); `adsgen.simulate.groups.Groups.position` is the same
for a Groups.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["positions"]


def positions(lengths: NDArray[np.integer]) -> NDArray[np.int64]:
    """Each element's index within its run, for runs of `lengths` laid end to end.

    `positions([2, 0, 3]) == [0, 1, 0, 1, 2]`; zero lengths are allowed (they add nothing).
    """
    sizes = np.asarray(lengths, dtype=np.int64)
    starts = np.cumsum(sizes) - sizes
    return np.arange(int(sizes.sum()), dtype=np.int64) - np.repeat(starts, sizes)
