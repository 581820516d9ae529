"""Counter-based draws: keyed determinism and the distributions of the count samplers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from adsgen.simulate import draws

N = 200_000


def _hashes(key: int = 12345, size: int = N) -> np.ndarray:
    return draws.hash_counters(np.full(size, np.uint64(key)), np.arange(size, dtype=np.uint64))


def test_line_item_keys_depend_only_on_seed_stream_and_id() -> None:
    ids = np.array([5, 9, 13], dtype=np.int64)
    keys = draws.line_item_keys(1, "funnel", ids)
    assert (draws.line_item_keys(1, "funnel", ids[::-1])[::-1] == keys).all()
    assert (draws.line_item_keys(1, "funnel", ids[1:]) == keys[1:]).all()
    assert not (draws.line_item_keys(2, "funnel", ids) == keys).any()
    assert not (draws.line_item_keys(1, "supply", ids) == keys).any()


def test_uniforms_and_normals_are_well_distributed() -> None:
    h = _hashes()
    u = draws.uniform(h)
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.005
    z = draws.normal(h)
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1) < 0.01
    assert abs(float(np.corrcoef(z, draws.normal(draws.rehash(h, 0)))[0, 1])) < 0.01


def _binomial_pmf(n: int, p: float, k: np.ndarray) -> np.ndarray:
    return np.array([math.comb(n, int(i)) * p**i * (1 - p) ** (n - i) for i in k])


@pytest.mark.parametrize(("n", "p"), [(3, 0.5), (400, 0.005), (60, 0.97), (1, 0.3)])
def test_small_binomials_are_exact(n: int, p: float) -> None:
    x = draws.binomial(np.full(N, float(n), np.float32), np.full(N, p, np.float32), _hashes())
    assert x.min() >= 0 and x.max() <= n and (x == np.rint(x)).all()
    k = np.arange(n + 1)
    observed = np.bincount(x.astype(np.int64), minlength=n + 1)
    expected = N * _binomial_pmf(n, p, k)
    big = expected > 20
    chi2 = ((observed[big] - expected[big]) ** 2 / expected[big]).sum()
    assert chi2 < 3 * big.sum() + 30, chi2


@pytest.mark.parametrize("lam", [0.001, 0.7, 2.9])
def test_small_poissons_are_exact(lam: float) -> None:
    x = draws.poisson(np.full(N, lam, np.float32), _hashes(7))
    k = np.arange(20)
    expected = N * np.exp(-lam) * lam**k / np.array([math.factorial(int(i)) for i in k])
    observed = np.bincount(x.astype(np.int64), minlength=20)[:20]
    big = expected > 20
    chi2 = ((observed[big] - expected[big]) ** 2 / expected[big]).sum()
    assert chi2 < 3 * big.sum() + 30, chi2


@pytest.mark.parametrize(("n", "p"), [(100, 0.05), (2000, 0.5), (100_000, 0.97), (800, 0.004)])
def test_large_binomials_have_the_right_moments_and_stay_in_range(n: int, p: float) -> None:
    x = draws.binomial(np.full(N, float(n), np.float32), np.full(N, p, np.float32), _hashes(3))
    assert x.min() >= 0 and x.max() <= n
    mean, var = n * p, n * p * (1 - p)
    assert abs(x.mean() - mean) < 5 * math.sqrt(var / N) + 0.002 * mean
    assert abs(x.var() / var - 1) < 0.05


def test_mixed_parameters_in_one_call() -> None:
    rng = np.random.default_rng(0)
    n = rng.integers(0, 5000, N).astype(np.float32)
    p = rng.choice([0.0, 1.0, 0.001, 0.3, 0.999], N).astype(np.float32)
    x = draws.binomial(n, p, _hashes(9))
    assert ((x >= 0) & (x <= n)).all()
    assert (x[p == 0] == 0).all() and (x[p == 1] == n[p == 1]).all()
    assert abs(x.sum() / (n * p).sum() - 1) < 0.01


def test_gamma_noise_has_mean_one_and_variance_one_over_shape() -> None:
    g = draws.gamma_noise(_hashes(4), 20.0)
    assert g.min() >= 0
    assert abs(g.mean() - 1) < 0.005 and abs(g.var() - 1 / 20) < 0.003
