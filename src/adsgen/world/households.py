"""The households of a platform: how many, where they live, which devices they own, which
genres they watch and how much — a compact description, not one row per household.

- **Geo**: the platform's households split over its served geos by `geo_weights`.
- **Devices**: a household owns each device independently with `OWNERSHIP[device]`; the
  platform's `device_mix` is the share of viewing (and so of ad slots) by device, so an owner
  of a device watches `viewing_hours_per_day × mix ÷ ownership` hours a day on it.
- **Genres**: a household watches several genres; the share of households that watch any of
  a set of genres whose share of viewing is s is 1 − (1 − s)^`GENRE_BREADTH` (1 for all).
- **How much they watch**: viewing intensity λ is gamma distributed with mean 1 and shape
  `VIEWING_SHAPE` (heavy and light viewers). Exposure to one line item is more concentrated
  still (the ad server wins it in some households far more than in others): its shape is
  the line item's own, see `nbd_shape_for_frequency`, and reach follows the negative
  binomial (NBD) curve R = N·(1 − (1 + I/(N·k))^(−k)) (Ehrenberg 1959), which grows more
  slowly than the Poisson curve N·(1 − e^(−I/N)) and never saturates N.

Targeting selects a sub-population: `targetable` gives its size per line item and device
(and de-duplicated over devices), the true audience a reach curve is measured against.
DMAs and states narrow the US geo to its targeted TV homes (`geo_audience`: the US
households × the targeted DMAs' TV homes ÷ all 210 DMAs', in integers), and audience
segments keep their household share (`adsgen.domain.markets.segment_shares`), independent of
geo, device and genre.
`sample_households` draws concrete households (ids, geo, devices, intensity) from the same
description, for features that need ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from adsgen.domain.enums import DeviceType, Genre
from adsgen.domain.markets import total_tv_households
from adsgen.seeding import entity_keys, hash_counters, normal, rehash, uniform
from adsgen.templates.spec import Platform

__all__ = [
    "DEVICE_ORDER",
    "GENRE_BREADTH",
    "OWNERSHIP",
    "US",
    "VIEWING_SHAPE",
    "Households",
    "genre_audience_share",
    "geo_audience",
    "geo_households",
    "nbd_reach",
    "nbd_shape_for_frequency",
    "nbd_shape_for_reach",
    "ownership",
    "sample_households",
    "served_geos",
    "targetable",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

DEVICE_ORDER: tuple[DeviceType, ...] = tuple(sorted(DeviceType, key=lambda d: d.value))
"""Device codes 0..2 (ctv, desktop, mobile): the order of every per-device array here."""

OWNERSHIP: dict[DeviceType, float] = {
    DeviceType.ctv: 0.80,  # ad-tier households watching on a TV set (Nielsen/Leichtman ~80 %)
    DeviceType.mobile: 0.85,
    DeviceType.desktop: 0.45,
}
"""Share of a platform's households that watch on each device (independent draws)."""

GENRE_BREADTH = 4.0
"""Genres' worth of viewing a household samples: 1 − (1 − s)^4 of households watch a set
of genres with share s of viewing (drama, 19 % of viewing → 57 % of households)."""

VIEWING_SHAPE = 1.2
"""Gamma shape of households' viewing hours (mean 1): a heavy/light split in which the top
fifth of households watch about half the hours."""


def served_geos(platform: Platform) -> tuple[str, ...]:
    """The platform's served geos, sorted: the geo codes (index) of every world array."""
    return tuple(sorted(platform.geo_timezones))


def geo_households(platform: Platform) -> I64:
    """Households per served geo (sorted geo order), integers summing to `households`."""
    geos = served_geos(platform)
    raw = np.array([platform.geo_weights.get(g, 1.0) for g in geos], dtype=np.float64)
    exact = platform.households * raw / raw.sum()
    whole = np.floor(exact).astype(np.int64)
    short = platform.households - int(whole.sum())
    whole[np.argsort(-(exact - whole), kind="stable")[:short]] += 1  # largest remainders
    result: I64 = whole
    return result


US = "US"
"""The geo DMAs and states lie in."""


def geo_audience(platform: Platform, geo_masks: NDArray[np.bool_],
                 market_tv: I64 | None = None) -> I64:
    """(n, geos) households of each line item's targeted served geos, 0 elsewhere; the US
    column holds US households × `market_tv` ÷ all DMAs' TV homes (floor) — the share of the
    platform's US households in the line item's DMAs and states (`market_tv` None: all)."""
    households = geo_households(platform)
    out: I64 = np.where(geo_masks, households[None, :], 0).astype(np.int64)
    geos = served_geos(platform)
    if market_tv is not None and US in geos:
        us = geos.index(US)
        out[:, us] = out[:, us] * market_tv.astype(np.int64) // total_tv_households()
    return out


def ownership(platform: Platform) -> F64:
    """(3,) share of households owning each device (0 where the platform does not serve it)."""
    return np.array(
        [OWNERSHIP[d] if platform.device_mix.get(d, 0.0) > 0 else 0.0 for d in DEVICE_ORDER]
    )


def genre_audience_share(platform: Platform, genres: Sequence[Genre]) -> float:
    """Share of households that watch any of `genres` (1.0 when no genre is targeted)."""
    if not genres:
        return 1.0
    share = min(1.0, sum(platform.genre_share.get(g, 0.0) for g in genres))
    return float(1.0 - (1.0 - share) ** GENRE_BREADTH)


@dataclass(frozen=True, slots=True)
class Households:
    """Targetable households of line items: per device (n, 3) and de-duplicated (n,)."""

    by_device: I64  # (n, 3): households owning the device in the targeted geos and genres
    union: I64  # (n,): households owning any targeted device there


def targetable(
    platform: Platform,
    geo_masks: NDArray[np.bool_],
    device_masks: NDArray[np.bool_],
    genre_shares: F64,
    *,
    market_tv: I64 | None = None,
    segment_shares: F64 | None = None,
) -> Households:
    """Targetable households for line items given as masks.

    `geo_masks` (n, geos) marks the targeted served geos, `device_masks` (n, 3) the targeted
    devices, `genre_shares` (n,) the genre audience share (`genre_audience_share`),
    `market_tv` (n,) the TV homes of the targeted DMAs and states (`geo_audience`) and
    `segment_shares` (n,) the audience segments' share (None: no narrowing).
    """
    in_geos = geo_audience(platform, geo_masks, market_tv).sum(axis=1).astype(np.float64)
    base = in_geos * genre_shares
    if segment_shares is not None:
        base = base * segment_shares
    own = ownership(platform)
    by_device = np.floor(base[:, None] * own[None, :] * device_masks)
    any_device = 1.0 - np.prod(1.0 - own[None, :] * device_masks, axis=1)
    return Households(
        by_device=by_device.astype(np.int64), union=np.floor(base * any_device).astype(np.int64)
    )


def nbd_reach(population: F64, exposures: F64, shape: F64) -> F64:
    """Expected households reached by `exposures` spread over `population` (NBD curve)."""
    n = np.maximum(population, 1.0)
    k = np.maximum(shape, 1e-9)
    reach: F64 = n * -np.expm1(-k * np.log1p(exposures / (n * k)))
    return reach


def nbd_shape_for_frequency(mean_exposures: F64, frequency: F64) -> F64:
    """The NBD shape k at which `mean_exposures` per household reach 1/`frequency` of them.

    Reach share m/f is kept in (0, 0.95] — a frequency below m (more than everyone reached)
    is raised. Small k: exposure concentrated on few households (high frequency); k → ∞:
    the Poisson curve (frequency ≈ 1 for small m).
    """
    m = np.maximum(mean_exposures, 1e-12)
    return nbd_shape_for_reach(m, np.clip(m / np.maximum(frequency, 1.0), 1e-12, 0.95))


def nbd_shape_for_reach(mean_exposures: F64, reached: F64) -> F64:
    """The NBD shape k with 1 − (1 + m/k)^(−k) = `reached` (share of households), by
    bisection on log k (vectorized); a share above the Poisson curve's gives k = 10^6."""
    m = np.maximum(mean_exposures, 1e-12)
    target = np.minimum(reached, -np.expm1(-m) * (1 - 1e-9))  # at most the Poisson reach
    low = np.full(m.shape, np.log(1e-6))
    high = np.full(m.shape, np.log(1e6))
    for _ in range(60):  # reach share increases with k: 60 halvings of a 28-unit interval
        mid = (low + high) / 2
        k = np.exp(mid)
        share = -np.expm1(-k * np.log1p(m / k))
        too_low = share < target
        low = np.where(too_low, mid, low)
        high = np.where(too_low, high, mid)
    shape: F64 = np.exp((low + high) / 2)
    return shape


@dataclass(frozen=True, slots=True)
class HouseholdSample:
    """Concrete households: ids, geo code, owned devices (bit d = DEVICE_ORDER[d]), λ."""

    household_id: I64
    geo: I64
    devices: I64
    viewing: F64


def sample_households(platform: Platform, seed: int, household_ids: I64) -> HouseholdSample:
    """Households with these ids (0 ≤ id < households), each a pure function of (seed, id).

    Geo follows the platform's weights, each device is owned with `OWNERSHIP`, and viewing
    intensity is gamma(VIEWING_SHAPE) with mean 1 (Wilson–Hilferty from a normal).
    """
    ids = np.asarray(household_ids, dtype=np.int64)
    base = hash_counters(entity_keys(seed, "world.households", ids), np.zeros(ids.size, np.uint64))
    per_geo = geo_households(platform).astype(np.float64)
    cdf = np.cumsum(per_geo / per_geo.sum())
    geo = np.minimum(np.searchsorted(cdf, uniform(rehash(base, 0)), side="right"), cdf.size - 1)
    own = ownership(platform)
    devices = np.zeros(ids.size, dtype=np.int64)
    for code in range(len(DEVICE_ORDER)):
        owned = uniform(rehash(base, 1 + code)) < own[code]
        devices |= owned.astype(np.int64) << code
    z = normal(rehash(base, 8)).astype(np.float64)
    k = VIEWING_SHAPE
    c = 1.0 / (9.0 * k)
    viewing = np.maximum(1.0 - c + z * np.sqrt(c), 0.0) ** 3  # Wilson–Hilferty, mean ≈ 1
    return HouseholdSample(household_id=ids, geo=geo.astype(np.int64), devices=devices,
                           viewing=viewing)
