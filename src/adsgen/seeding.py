"""Seed derivation: every random draw comes from a generator keyed by (seed, stream, entity).

Keys never depend on order, process or partitioning, so simulating any subset of entities
gives exactly the draws the whole run gives for them (DESIGN.md, Determinism).
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["child_seed", "rng", "stream_id"]


def stream_id(stream: str) -> int:
    """Stable 64-bit integer for a stream name (not Python's salted `hash`)."""
    return int.from_bytes(hashlib.blake2b(stream.encode(), digest_size=8).digest(), "little")


def child_seed(seed: int, stream: str, entity_id: int = 0) -> int:
    """An integer seed for Faker or other libraries, derived from (seed, stream, entity)."""
    seq = np.random.SeedSequence([seed & 0xFFFFFFFFFFFFFFFF, stream_id(stream), entity_id])
    return int(seq.generate_state(1, dtype=np.uint64)[0])


def rng(seed: int, stream: str, entity_id: int = 0) -> np.random.Generator:
    """A NumPy generator for (seed, stream, entity): Philox keyed by a SeedSequence."""
    seq = np.random.SeedSequence([seed & 0xFFFFFFFFFFFFFFFF, stream_id(stream), entity_id])
    return np.random.Generator(np.random.Philox(seq))
