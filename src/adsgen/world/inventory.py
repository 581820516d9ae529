"""Ad slots: the inventory every line item of a plan draws from.

A viewing household-hour carries `ad_seconds_per_hour` of ads, sold in slots of
`SLOT_SECONDS` (a 30 s spot takes two slots, a static or pause ad one). Slots per
served geo × device × UTC hour:

    households(geo) × viewing_hours_per_day × device_mix(device)
        × share of a day's viewing in that local hour (the device's day-part curve)
        × the local day's calendar factor (weekday × holiday × season × event × supply shock,
          `world.calendar.day_factors`)
        × ad_seconds_per_hour ÷ SLOT_SECONDS

so a week of the default platform (40 M households, 2 h a day, 240 s of ads an hour) holds
about 9 billion slots. The inventory covers a set of whole UTC days (the days flights touch,
however far apart); its values depend only on (platform, seed, the hour), so blocks compute
their own and agree with the allocation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from adsgen.templates.spec import Platform
from adsgen.world.calendar import day_factors
from adsgen.world.curves import utc_offsets
from adsgen.world.households import DEVICE_ORDER, geo_households, served_geos

__all__ = ["SLOT_SECONDS", "Inventory", "hourly_slots", "slot_units"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

SLOT_SECONDS = 15.0
"""Length of one ad slot: the unit of the shared-slot law (Σ impressions × units ≤ slots)."""


def slot_units(duration_s: I64, video: NDArray[np.bool_]) -> I64:
    """Slots one impression takes: ⌈duration ÷ 15 s⌉ for video, 1 for static formats."""
    units = np.ceil(np.maximum(duration_s, 1) / SLOT_SECONDS).astype(np.int64)
    return np.where(video, np.maximum(units, 1), 1).astype(np.int64)


@dataclass(frozen=True, slots=True)
class Inventory:
    """Slots of a set of UTC days: hours are `position of the day × 24 + hour of the day`."""

    days: I64  # sorted UTC day numbers (days since 1970-01-01)
    slots: F64  # (geos, 3, 24 × days)
    local_hour: I64  # (geos, 24 × days): local hour of the day 0..23
    demand: F64  # (geos, days): advertisers' demand (CPM pressure) on each UTC day

    def hour_index(self, epoch_seconds: I64) -> I64:
        """Index of UTC hours (epoch seconds, on covered days) in the hour axis."""
        day = epoch_seconds // 86400
        position: I64 = np.searchsorted(self.days, day) * 24 + (epoch_seconds // 3600) % 24
        return position


def hourly_slots(platform: Platform, seed: int, days: I64) -> Inventory:
    """The inventory of these UTC days (sorted, unique): slots per geo × device × hour."""
    geos = served_geos(platform)
    days = np.asarray(days, dtype=np.int64)
    clock = (days[:, None] * 86400 + 3600 * np.arange(24, dtype=np.int64)[None, :]).ravel()
    mix = np.array([platform.device_mix.get(d, 0.0) for d in DEVICE_ORDER])
    curves = np.array([platform.daypart_curves.get(d, (1.0,) * 24) for d in DEVICE_ORDER],
                      dtype=np.float64)
    curves /= curves.sum(axis=1, keepdims=True)
    per_hour = platform.ad_seconds_per_hour / SLOT_SECONDS
    households = geo_households(platform).astype(np.float64)
    slots = np.empty((len(geos), len(DEVICE_ORDER), clock.size), dtype=np.float64)
    local_day = np.empty((len(geos), clock.size), dtype=np.int64)
    for g, geo in enumerate(geos):
        local_day[g] = clock + utc_offsets(platform.geo_timezones[geo], clock)
    local_hour = (local_day // 3600) % 24
    local_day //= 86400
    wanted = np.unique(np.concatenate([local_day.ravel(), days]))
    factors = day_factors(platform, seed, geos, wanted)  # one call: every geo, every day
    rows = np.arange(len(geos))[:, None]
    viewing = factors.viewing[rows, np.searchsorted(wanted, local_day)]
    demand = factors.demand[rows, np.searchsorted(wanted, days)[None, :]]
    for g in range(len(geos)):
        viewing_hours = households[g] * platform.viewing_hours_per_day * mix[:, None]
        slots[g] = viewing_hours * curves[:, local_hour[g]] * viewing[g][None, :] * per_hour
    return Inventory(days=days, slots=slots, local_hour=local_hour, demand=demand)
