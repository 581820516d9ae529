"""Counter-based random draws, vectorized across line items.

A draw is a pure function of (seed, stream, line item id, counter): a stream key comes from
`adsgen.seeding.child_seed(seed, "simulate.<stream>")`, each line item's key is that key
mixed with its id, and each value is a SplitMix64 hash of the line item key plus a counter
that names the cell (creative id, hour offset, device, variable). Nothing depends on which
other line items are simulated, in which order or batch — the property that makes
`simulate(subset)` equal the subset of `simulate(all)` — and millions of draws cost a few
NumPy passes instead of one generator call per line item. The hashing itself (keys,
counters, uniforms, standard normals) lives in `adsgen.seeding`, shared with the planner and
the world; this module adds the count distributions.

Distributions: uniforms (24-bit, float32), normals (Box–Muller), gamma noise
(Wilson–Hilferty), and binomial / Poisson counts that are exact by inversion when the
smaller tail's mean is below `EXACT_BELOW`, and above it a skew-corrected (Cornish–Fisher)
normal approximation, rounded and clipped to [0, n] so every count is a valid integer.
Against exact draws the approximation is within 1 % total variation distance from a mean of
2 on (plain rounding of a normal: 4–7 %) and its mean bias is below 0.1 % from a mean of 4.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from adsgen.seeding import entity_keys, hash_counters, normal, rehash, uniform

__all__ = [
    "COUNTS",
    "EXACT_BELOW",
    "binomial",
    "gamma_noise",
    "hash_counters",
    "line_item_keys",
    "normal",
    "poisson",
    "rehash",
    "uniform",
]

U64 = NDArray[np.uint64]
F64 = NDArray[np.float64]
F32 = NDArray[np.float32]
COUNTS = np.dtype(np.float32)
"""Draws run in float32: exact for counts below 2**24, half the memory traffic of float64.
Always the same dtype, so values never depend on what else is in a batch."""
Real = NDArray[np.floating[Any]]
"""Counts or rates in float32 or float64, chosen per batch by `count_dtype`."""

EXACT_BELOW = 3.0
"""Counts whose smaller-tail mean n·min(p, 1-p) (or λ) is below this are drawn exactly."""

_MAX_INVERSION_STEPS = 400
_UNROLLED = 4  # CDF terms summed without compaction (means here are below 3)


def line_item_keys(seed: int, stream: str, line_item_ids: NDArray[np.int64]) -> U64:
    """One 64-bit key per line item for `stream` (`adsgen.seeding.entity_keys` of
    "simulate.<stream>")."""
    return entity_keys(seed, f"simulate.{stream}", line_item_ids)


def gamma_noise(h: U64, shape: float) -> F64:
    """Gamma(shape, 1/shape) multipliers (mean 1) by the Wilson–Hilferty cube, clipped at 0."""
    z = normal(h).astype(np.float64)
    c = 1.0 / (9.0 * shape)
    g = 1.0 - c + z * np.sqrt(c)
    np.maximum(g, 0.0, out=g)
    cube: F64 = g * g * g
    return cube


def binomial(n: Real, p: Real, h: U64) -> Real:
    """Binomial(n, p) counts as floats holding integers in [0, n]; `n` integral, p in [0, 1].

    Computes in the dtype of `n` (see COUNTS). Exact inversion
    on the smaller tail when n·min(p, 1-p) < EXACT_BELOW, otherwise
    round(np + σ(z + γ(z² − 1)/6)) clipped to [0, n], σ² = np(1-p), γ = (1 − 2p)/σ.
    """
    out = n * p
    q = 1.0 - p
    tail_mean = np.minimum(out, n - out)  # n·min(p, 1-p)
    big = tail_mean >= EXACT_BELOW
    count = int(np.count_nonzero(big))
    if 2 * count >= big.size:  # mostly large: approximate everywhere, then fix the rest
        _normal_count(out, out * q, q - p, h, n)
        if count < big.size:
            rest = ~big
            out[rest] = n[rest] * p[rest]
    elif count:
        idx = np.flatnonzero(big)
        part = out[idx]
        pi, qi = p[idx], q[idx]
        _normal_count(part, part * qi, qi - pi, h[idx], n[idx])
        out[idx] = part
    idx = np.flatnonzero((tail_mean > 0.0) & ~big)
    if idx.size:
        pi, ni = p[idx], n[idx]
        small = np.minimum(pi, 1.0 - pi).astype(np.float64)
        tail = _invert(ni.astype(np.float64), small, uniform(h[idx])).astype(n.dtype)
        out[idx] = np.where(pi > 0.5, ni - tail, tail)
    return out


def poisson(lam: Real, h: U64) -> Real:
    """Poisson(λ) counts as floats holding integers (dtype of `lam`); exact below EXACT_BELOW."""
    out = lam.copy()
    big = lam >= EXACT_BELOW
    idx = np.flatnonzero(big)
    if idx.size:
        part = out[idx]
        _normal_count(part, part.copy(), np.ones_like(part), h[idx], None)
        out[idx] = part
    idx = np.flatnonzero((lam > 0.0) & ~big)
    if idx.size:
        out[idx] = _invert(None, lam[idx].astype(np.float64), uniform(h[idx])).astype(lam.dtype)
    return out


def _normal_count(mean: Real, variance: Real, skew: Real, h: U64, upper: Real | None) -> None:
    """In place: mean + σ(z + γ(z² − 1)/6), rounded and clipped to [0, upper].

    `skew` is γ·σ (1 − 2p for a binomial, 1 for a Poisson), so the correction term is
    skew·(z² − 1)/6 and needs no division.
    """
    z = normal(h).astype(mean.dtype, copy=False)
    np.sqrt(variance, out=variance)
    variance *= z
    mean += variance
    np.multiply(z, z, out=z)
    z -= 1.0
    z *= skew
    z *= 1.0 / 6.0
    mean += z
    np.rint(mean, out=mean)
    np.maximum(mean, 0.0, out=mean)
    if upper is not None:
        np.minimum(mean, upper, out=mean)


def _invert(n: F64 | None, p: F64, u: F32) -> F64:
    """Inverse-CDF counts: Binomial(n, p) for small n·p, or Poisson(p) when `n` is None.

    X = #{k ≥ 0 : u > F(k)}. The first `_UNROLLED` terms are summed over every element
    (plain array arithmetic); the few elements beyond them continue in a loop that
    compacts its active set each step, so the cost follows the mean, not the largest count.
    """
    uu = u.astype(np.float64)
    binom = n is not None
    if n is None:
        pmf = np.exp(-p)
        ratio = p.copy()
        left = p  # unused for Poisson
    else:
        pmf = np.exp(n * np.log1p(-p))
        ratio = p / (1.0 - p)
        left = n.copy()  # n − k + 1 at step k
    cdf = pmf.copy()
    result = (uu > cdf).astype(np.float64)
    for k in range(1, _UNROLLED):
        pmf *= ratio
        if binom:
            pmf *= left
            left -= 1.0
        pmf *= 1.0 / k
        cdf += pmf
        result += uu > cdf
    active = np.flatnonzero(uu > cdf)
    if active.size:
        uu, cdf, pmf, ratio = uu[active], cdf[active], pmf[active], ratio[active]
        left = left[active] if binom else left
        for k in range(_UNROLLED, _MAX_INVERSION_STEPS):
            pmf *= ratio
            if binom:
                pmf *= left
                left -= 1.0
            pmf *= 1.0 / k
            cdf += pmf
            go = uu > cdf
            if not go.any():
                break
            active, uu, cdf, pmf, ratio = active[go], uu[go], cdf[go], pmf[go], ratio[go]
            if binom:
                left = left[go]
            result[active] = k + 1
    if n is not None:
        np.minimum(result, n, out=result)
    return result
