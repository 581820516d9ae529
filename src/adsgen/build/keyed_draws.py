"""Columns of random draws keyed by (seed, stream, entity): what a plan at scale draws with.

`Draws(seed, stream, ids)` holds one 64-bit key per entity (`adsgen.seeding.entity_keys` of
"scale.<stream>"); variable v of entity i is a pure function of (seed, stream, id_i, v), so
a plan's values never depend on how many entities are drawn with it or in which order.
On top of uniforms: weighted picks from a mix, picks from per-group mixes, integers in a
range rounded to a step, and ordered samples without replacement (several genres).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from adsgen.seeding import entity_keys, rehash, uniform

__all__ = ["Draws", "fixed_or", "index_of", "unique_within"]

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]


class Draws:
    """Uniforms for the entities `ids` of one stream: `u(v)` is variable v of each."""

    def __init__(self, seed: int, stream: str, ids: NDArray[np.integer[Any]]) -> None:
        self.keys = entity_keys(seed, f"scale.{stream}", ids)

    def u(self, variable: int) -> F64:
        """One uniform in [0, 1) per entity."""
        return uniform(rehash(self.keys, variable)).astype(np.float64)

    def pick(self, variable: int, weights: Sequence[float]) -> I64:
        """An index into `weights` per entity, drawn by weight."""
        cum = np.cumsum(np.asarray(weights, dtype=np.float64))
        found = np.searchsorted(cum / cum[-1], self.u(variable), side="right")
        return np.minimum(found, len(cum) - 1).astype(np.int64)

    def pick_from(self, variable: int, mix: Mapping[Any, float], pool: Sequence[Any]) -> I64:
        """A code into `pool` per entity: a value of `mix` drawn by its weight."""
        return index_of(list(mix), pool)[self.pick(variable, list(mix.values()))]

    def between(self, variable: int, low: I64, high: I64, step: I64) -> I64:
        """Integers uniform in [low, high] rounded to a multiple of `step` inside the range
        (low where low >= high)."""
        value = low + (high - low) * self.u(variable)
        rounded = np.rint(value / step) * step
        return np.where(low >= high, low, np.clip(rounded, low, high)).astype(np.int64)

    def pick_by(self, variable: int, group: I64, mixes: Mapping[int, Mapping[Any, float]],
                pool: Sequence[Any]) -> I64:
        """Per entity, a code into `pool` drawn from the mix of its group (`mixes[group]`)."""
        out = np.full(group.size, -1, dtype=np.int64)
        u = self.u(variable)
        for key in np.unique(group).tolist():
            mix = mixes[key]
            rows = group == key
            cum = np.cumsum(np.asarray(list(mix.values()), dtype=np.float64))
            found = np.minimum(np.searchsorted(cum / cum[-1], u[rows], side="right"), len(cum) - 1)
            out[rows] = index_of(list(mix), pool)[found]
        return out

    def ordered_sample(self, first: int, weights: Sequence[float], counts: I64) -> I64:
        """Per entity, `counts` distinct indices of `weights` drawn one after another by
        weight (exponential race: the same law as drawing without replacement), padded
        with -1; zero weights are never drawn. Shape (entities, len(weights))."""
        w = np.asarray(weights, dtype=np.float64)
        if not w.size:
            return np.full((self.keys.size, 0), -1, dtype=np.int64)
        u = np.stack([self.u(first + c) for c in range(w.size)], axis=1) + 2.0**-26
        with np.errstate(divide="ignore"):
            score = np.where(w > 0, np.log(u) / np.where(w > 0, w, 1.0), -np.inf)
        order = np.argsort(-score, axis=1, kind="stable")
        take = np.minimum(counts, int(np.count_nonzero(w > 0)))
        return np.where(np.arange(w.size) < take[:, None], order, -1).astype(np.int64)


def index_of(values: Sequence[Any], pool: Sequence[Any]) -> I64:
    """Positions of `values` in `pool`."""
    where = {value: i for i, value in enumerate(pool)}
    return np.array([where[v] for v in values], dtype=np.int64)


def fixed_or(code: I64, drawn: I64) -> I64:
    """`code` where it is set (>= 0), else `drawn`."""
    return np.where(code >= 0, code, drawn)


def unique_within(group: I64, names: list[str], mark: str) -> list[str]:
    """`names` with `mark`2, `mark`3 … appended to repeats within a group (rows of a group
    are adjacent)."""
    out, seen, current = [], set[str](), -1
    for g, name in zip(group.tolist(), names, strict=True):
        if g != current:
            seen, current = set(), g
        candidate, number = name, 1
        while candidate in seen:
            number += 1
            candidate = f"{name}{mark}{number}"
        seen.add(candidate)
        out.append(candidate)
    return out
