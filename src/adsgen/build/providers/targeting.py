"""Targeting provider: device, genre, geo, day-part and rating mixes, and frequency caps.

Devices follow the impression share by device (CTV 53 %, mobile 35 %, desktop 12 %,
Innovid 2023); genres follow the platform's `genre_share`; geos come only from the
platform's markets. Most line items leave day-part and rating open, as real buys do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from adsgen.domain.enums import Daypart, DeviceType, FrequencyPeriod, Genre, MediaRating, Objective
from adsgen.build.providers.base import WeightedProvider
from adsgen.domain.schemas import FrequencyCapSchema, Targeting
from adsgen.templates.spec import Platform

__all__ = ["TargetingProvider"]

_CapKey = tuple[int, FrequencyPeriod, int] | None


class TargetingProvider(WeightedProvider):
    """Targeting and frequency-cap draws; a key the caller fixes is never redrawn."""

    DEVICE_MIX: ClassVar[Mapping[DeviceType, float]] = {
        DeviceType.ctv: 0.53,
        DeviceType.mobile: 0.35,
        DeviceType.desktop: 0.12,
    }
    DEVICE_COUNT: ClassVar[Mapping[int, float]] = {1: 0.70, 2: 0.18, 3: 0.12}
    GENRE_COUNT: ClassVar[Mapping[int, float]] = {0: 0.15, 1: 0.45, 2: 0.28, 3: 0.12}
    # Market sets a line item buys; only those inside the platform's geos are drawn.
    GEO_MIX: ClassVar[Mapping[tuple[str, ...], float]] = {
        ("US",): 0.72,
        ("US", "CA"): 0.10,
        ("CA",): 0.05,
        ("GB",): 0.05,
        ("GB", "FR", "DE"): 0.03,
        ("MX",): 0.02,
        ("JP",): 0.02,
        ("AU",): 0.01,
    }
    DAYPART_MIX: ClassVar[Mapping[tuple[Daypart, ...], float]] = {
        (): 0.74,
        (Daypart.prime_time,): 0.10,
        (Daypart.prime_access, Daypart.prime_time): 0.07,
        (Daypart.daytime, Daypart.early_fringe): 0.05,
        (Daypart.late_night,): 0.04,
    }
    MEDIA_RATING_MIX: ClassVar[Mapping[tuple[MediaRating, ...], float]] = {
        (): 0.70,
        (MediaRating.all_audiences, MediaRating.over_12): 0.20,
        (MediaRating.all_audiences,): 0.06,
        (MediaRating.mature,): 0.04,
    }
    # (max impressions, unit, unit count) per objective; None = no cap.
    FREQUENCY_CAP_MIX: ClassVar[Mapping[Objective, Mapping[_CapKey, float]]] = {
        Objective.awareness: {
            (3, FrequencyPeriod.days, 1): 0.35,
            (2, FrequencyPeriod.days, 1): 0.15,
            (10, FrequencyPeriod.weeks, 1): 0.25,
            (1, FrequencyPeriod.hours, 2): 0.10,
            None: 0.15,
        },
        Objective.consideration: {
            (4, FrequencyPeriod.days, 1): 0.30,
            (12, FrequencyPeriod.weeks, 1): 0.30,
            (2, FrequencyPeriod.hours, 6): 0.15,
            None: 0.25,
        },
        Objective.conversion: {
            (6, FrequencyPeriod.days, 1): 0.30,
            (20, FrequencyPeriod.weeks, 1): 0.25,
            (30, FrequencyPeriod.months, 1): 0.10,
            None: 0.35,
        },
    }

    def devices(self) -> list[DeviceType]:
        """One to three devices, the first drawn by impression share, in that order."""
        return self.weighted_sample(self.DEVICE_MIX, self.weighted(self.DEVICE_COUNT))

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
        """A valid Targeting; keys set explicitly in `fixed` are kept, the others drawn."""
        kept = fixed.model_dump(include=fixed.model_fields_set) if fixed is not None else {}
        drawn = {
            "device": self.devices,
            "genre": lambda: self.genres(platform),
            "geo": lambda: self.geos(platform),
            "daypart": self.dayparts,
            "media_rating": self.media_ratings,
        }
        values = {key: kept[key] if key in kept else draw() for key, draw in drawn.items()}
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
