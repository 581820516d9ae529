"""Plans at scale on several platforms (issue 12): which platform each line item buys on,
and each line item's columns drawn on its own platform.

`adsgen.build.at_scale` draws a column once per platform of the run and keeps, for each
line item (or creative), its own platform's draw (`per_platform`, `sets_per_platform`):
draws are keyed by entity, so a line item's value is what a run on its platform alone
would draw for it. On one platform each helper is its draw as is, so a one-platform plan
is exactly what it was before plans took several platforms.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from adsgen.build.keyed_draws import Draws

if TYPE_CHECKING:
    from adsgen.build.platform_set import PlatformSet
    from adsgen.build.scale_tables import Columns
    from adsgen.templates.spec import Platform, Profile

__all__ = ["buying", "cut", "item_platforms", "per_platform", "sets_per_platform"]

I64 = NDArray[np.int64]


def buying(profiles: Sequence[Profile], plats: PlatformSet) -> list[list[int]]:
    """Per profile, the codes (into `plats.platforms`) of the platforms its campaigns buy
    on: those it names that the run loads, else every platform of the run."""
    names = plats.names
    return [[names.index(n) for n in names if n in p.platforms] or list(range(len(names)))
            for p in profiles]


def item_platforms(cols: Columns, adv: I64, position: I64, buying: list[list[int]]) -> I64:
    """Each line item's platform code: its campaign's platforms (`buying` of its profile)
    in turn, from one drawn per advertiser (zeros on one platform: nothing drawn)."""
    if len(cols.platforms) == 1:
        return np.zeros(adv.size, dtype=np.int64)
    width = max(len(codes) for codes in buying)
    table = np.array([codes + [0] * (width - len(codes)) for codes in buying], dtype=np.int64)
    sizes = np.array([len(codes) for codes in buying], dtype=np.int64)
    profile = cols.profile[adv]
    first = np.minimum((Draws(cols.seed, "advertiser_platform", cols.adv_index).u(0)
                        * sizes[cols.profile]).astype(np.int64), sizes[cols.profile] - 1)
    turn: I64 = table[profile, (first[adv] + position) % sizes[profile]]
    return turn


def per_platform(cols: Columns, rows: I64, draw: Callable[[Platform], Any]) -> Any:
    """`draw(platform)` for each of the run's platforms, each row (line item or creative)
    taking its own platform's (`rows`: its platform code); one platform: its draw as is.
    Codes, code matrices (padded with -1 to the widest) or floats alike."""
    if len(cols.platforms) == 1:
        return draw(cols.platforms[0])
    parts = [np.asarray(draw(p)) for p in cols.platforms]
    if parts[0].ndim == 2:
        width = max(part.shape[1] for part in parts)
        parts = [np.pad(part, ((0, 0), (0, width - part.shape[1])), constant_values=-1)
                 for part in parts]
    out = parts[0].copy()
    for code, part in enumerate(parts[1:], start=1):
        out[rows == code] = part[rows == code]
    return out


Sets = tuple[list[tuple[Any, ...]], I64]
"""Value sets and each line item's index into them (`at_scale._sets`)."""


def sets_per_platform(cols: Columns, draw: Callable[[Platform], Sets]) -> Sets:
    """Value sets and each line item's index (as `_sets`), each line item drawn on its own
    platform; the sets of every platform joined into one list (the first platform's first,
    so one platform's are as it draws them)."""
    if len(cols.platforms) == 1:
        return draw(cols.platforms[0])
    joined: list[tuple[Any, ...]] = []
    out = np.zeros(cols.li_platform.size, dtype=np.int64)
    for code, platform in enumerate(cols.platforms):
        sets, index = draw(platform)
        for each in sets:
            if each not in joined:
                joined.append(each)
        remap = np.array([joined.index(each) for each in sets], dtype=np.int64)
        mine = cols.li_platform == code
        out[mine] = remap[index[mine]]
    return joined, out


def cut(matrix: I64) -> I64:
    """A left-packed code matrix cut to its widest row (at least one column)."""
    used = int((matrix >= 0).sum(axis=1).max()) if matrix.size else 0
    return np.ascontiguousarray(matrix[:, : max(used, 1)])
