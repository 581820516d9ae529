"""Seed derivation: every random draw comes from a generator keyed by (seed, stream, entity).

Keys never depend on order, process or partitioning, so simulating any subset of entities
gives exactly the draws the whole run gives for them (DESIGN.md, Determinism).

Two kinds: a NumPy `Generator` per (seed, stream, entity) (`rng`) for a few draws of one
entity, and counter-based hashes for many entities at once — `entity_keys` gives one 64-bit
key per entity of a stream, `hash_counters` one hash per (key, counter), `rehash` more
columns from one hash, `uniform` a [0, 1) value and `normal` a standard normal from each —
so planning, the world and simulation draw columns of thousands of entities in a few NumPy
passes, each value a pure function of (seed, stream, entity, counter).
"""

from __future__ import annotations

import hashlib

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "child_seed",
    "entity_keys",
    "hash_counters",
    "normal",
    "rehash",
    "rng",
    "stream_id",
    "uniform",
]

U64 = NDArray[np.uint64]
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_VARIABLE = np.uint64(0xD1B54A32D192ED03)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S40 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(40)
_LOW24 = np.uint64(0xFFFFFF)
_TWO_24 = np.float32(2.0**-24)


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


def _mix(x: U64) -> U64:
    """SplitMix64 finalizer, in place: a bijective avalanche of 64-bit integers."""
    tmp = np.right_shift(x, _S30)
    np.bitwise_xor(x, tmp, out=x)
    np.multiply(x, _M1, out=x)
    np.right_shift(x, _S27, out=tmp)
    np.bitwise_xor(x, tmp, out=x)
    np.multiply(x, _M2, out=x)
    np.right_shift(x, _S31, out=tmp)
    np.bitwise_xor(x, tmp, out=x)
    return x


def entity_keys(seed: int, stream: str, entity_ids: NDArray[np.integer]) -> U64:
    """One 64-bit key per entity id of `stream` (from `child_seed(seed, stream)`)."""
    base = np.uint64(child_seed(seed, stream))
    keys = np.asarray(entity_ids).astype(np.uint64) * _GOLDEN
    np.bitwise_xor(keys, base, out=keys)
    return _mix(_mix(keys))


def hash_counters(keys: U64, counters: U64) -> U64:
    """A fresh 64-bit hash per element of (key, counter); `keys` is per element."""
    x = counters * _GOLDEN
    np.add(x, keys, out=x)
    return _mix(x)


def rehash(base: U64, variable: int) -> U64:
    """Hash number `variable` derived from per-element base hashes (one per drawn column)."""
    step = np.uint64(((variable + 1) * int(_VARIABLE)) & 0xFFFFFFFFFFFFFFFF)
    return _mix(base + step)


def uniform(h: U64) -> NDArray[np.float32]:
    """Uniform in [0, 1) with 24 bits, from the high bits of the hash."""
    u = np.right_shift(h, _S40).astype(np.float32)
    u *= _TWO_24
    return u


def normal(h: U64) -> NDArray[np.float32]:
    """Standard normal by Box–Muller (cosine branch) from the hash's two 24-bit halves."""
    radius = np.right_shift(h, _S40).astype(np.float32)
    radius += np.float32(1.0)
    radius *= _TWO_24  # (0, 1]
    np.log(radius, out=radius)
    radius *= np.float32(-2.0)
    np.sqrt(radius, out=radius)
    angle = np.bitwise_and(h, _LOW24).astype(np.float32)
    angle *= np.float32(2.0 * np.pi * 2.0**-24)
    np.cos(angle, out=angle)
    radius *= angle
    return radius
