"""Targeting provider: device, genre, geo, day-part and rating mixes, and frequency caps.

Devices are a set drawn from `DEVICE_SETS`: most line items buy two or three screens, some
CTV alone, so that impressions land near the share by device (CTV 53 %, mobile 35 %,
desktop 12 %, Innovid 2023) once the simulation splits them by the platform's device mix
(on a platform with another mix the sets are reweighted for it: `pools.device_sets`);
genres follow the platform's `genre_share`; geos come only from the
platform's markets. Most line items leave day-part and rating open, as real buys do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from adsgen.build import pools
from adsgen.build.providers.base import WeightedProvider
from adsgen.domain.enums import Daypart, DeviceType, Genre, MediaRating, Objective
from adsgen.domain.schemas import FrequencyCapSchema, Targeting
from adsgen.templates.spec import Platform

__all__ = ["TargetingProvider"]

class TargetingProvider(WeightedProvider):
    """Targeting and frequency-cap draws; a key the caller fixes is never redrawn."""

    DEVICE_SETS: ClassVar[Mapping[tuple[DeviceType, ...], float]] = pools.DEVICE_SETS
    GENRE_COUNT: ClassVar[Mapping[int, float]] = pools.GENRE_COUNT
    GEO_MIX: ClassVar[Mapping[tuple[str, ...], float]] = pools.GEO_MIX
    DAYPART_MIX: ClassVar[Mapping[tuple[Daypart, ...], float]] = pools.DAYPART_MIX
    MEDIA_RATING_MIX: ClassVar[Mapping[tuple[MediaRating, ...], float]] = pools.MEDIA_RATING_MIX
    FREQUENCY_CAP_MIX: ClassVar[Mapping[Objective, Mapping[pools.CapKey, float]]] = (
        pools.FREQUENCY_CAP_MIX
    )

    def devices(self, platform: Platform | None = None) -> list[DeviceType]:
        """A device set, mostly two or three screens (CTV first when it is one of them),
        weighted for the platform's screens (`pools.device_sets`)."""
        sets = pools.device_sets(platform.device_mix) if platform else self.DEVICE_SETS
        devices: tuple[DeviceType, ...] = self.weighted(sets)
        return list(devices)

    def genres(self, platform: Platform | None = None) -> list[Genre]:
        """Zero to three genres weighted by the platform's genre share (equal if none)."""
        shares: Mapping[Genre, float] = (
            platform.genre_share if platform else dict.fromkeys(Genre, 1.0)
        )
        return self.weighted_sample(shares, self.weighted(self.GENRE_COUNT))

    def geos(self, platform: Platform | None = None) -> list[str]:
        """A market set the platform serves; the platform's default geo if none fits."""
        markets = set(platform.geo_timezones) if platform else {"US"}
        mix = {geos: w for geos, w in self.GEO_MIX.items() if markets.issuperset(geos)}
        if not mix:
            return [platform.default_geo] if platform else ["US"]
        geos: tuple[str, ...] = self.weighted(mix)
        return list(geos)

    def dayparts(self) -> list[Daypart]:
        """Usually no day-part restriction, sometimes prime time or daytime."""
        dayparts: tuple[Daypart, ...] = self.weighted(self.DAYPART_MIX)
        return list(dayparts)

    def media_ratings(self) -> list[MediaRating]:
        """Usually no rating restriction, sometimes brand-safe (all audiences, over 12)."""
        ratings: tuple[MediaRating, ...] = self.weighted(self.MEDIA_RATING_MIX)
        return list(ratings)

    def fake_targeting(
        self, platform: Platform | None = None, *, fixed: Targeting | None = None
    ) -> Targeting:
        """A valid Targeting; keys set explicitly in `fixed` are kept, the others drawn (a key
        the platform does not sell is left open rather than drawn)."""
        kept = fixed.model_dump(include=fixed.model_fields_set) if fixed is not None else {}
        if (kept.get("dma") or kept.get("state")) and "geo" not in kept:
            kept["geo"] = ["US"]  # DMAs and states are US markets: the line item buys there
        drawn = {
            "device": lambda: self.devices(platform),
            "genre": lambda: self.genres(platform),
            "geo": lambda: self.geos(platform),
            "daypart": self.dayparts,
            "media_rating": self.media_ratings,
        }
        sold = set(platform.sells.targeting_keys) if platform else set(drawn)
        values = {key: kept[key] if key in kept else (draw() if key in sold else [])
                  for key, draw in drawn.items()}
        # Keys never drawn (dma, state, segment) are kept as fixed.
        values.update({key: value for key, value in kept.items() if key not in drawn})
        return Targeting.model_validate(values)

    def fake_frequency_cap(self, objective: Objective) -> FrequencyCapSchema | None:
        """A per-household cap typical of the objective, or None (uncapped)."""
        cap = self.weighted(self.FREQUENCY_CAP_MIX[objective])
        if cap is None:
            return None
        max_impressions, unit, count = cap
        return FrequencyCapSchema(
            max_impressions=max_impressions, time_unit=unit, time_unit_count=count
        )
