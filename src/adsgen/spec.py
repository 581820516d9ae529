"""The YAML contract: strict Pydantic models for platforms, examples and profiles.

Every model forbids unknown keys, so a typo in a template is an error naming the key path,
never silently ignored. Variants are told apart by a `type: Literal[...]` field.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from adsgen.enums import DeviceType, Genre

__all__ = ["DEFAULT_DAYPART_CURVE", "DEFAULT_WEEKDAY_MULTIPLIERS", "Platform", "StrictModel"]

# Share (%) of a day's CTV impressions by local hour 0-23: Conviva + BLS ATUS (realism.md B).
DEFAULT_DAYPART_CURVE: tuple[float, ...] = (
    4.5, 2.8, 1.8, 1.1, 1.0, 1.2, 2.1, 3.0, 3.6, 3.9, 3.87, 3.87,
    3.87, 3.87, 3.87, 3.87, 3.87, 5.4, 6.4, 7.2, 7.47, 7.47, 7.47, 6.5,
)
# Monday first: Mon-Thu 0.95, Fri 1.00, Sat-Sun 1.12 (realism.md B).
DEFAULT_WEEKDAY_MULTIPLIERS: tuple[float, ...] = (0.95, 0.95, 0.95, 0.95, 1.00, 1.12, 1.12)


class StrictModel(BaseModel):
    """Base of every YAML model: unknown keys are errors, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_assignment=True)


class Platform(StrictModel):
    """A streaming service's audience and supply: what the simulation draws impressions from.

    `households` is the ad-supported audience; `device_mix` the share of impressions by
    device; `ad_seconds_per_hour` the ad load per viewing hour; `viewing_hours_per_day` the
    average ad-tier viewing per household. Curves are per device, in local time.
    """

    type: Literal["platform"] = "platform"
    name: str = Field(min_length=1, max_length=255)
    description: str = ""
    households: int = Field(gt=0)
    device_mix: dict[DeviceType, float]
    ad_seconds_per_hour: float = Field(gt=0, le=1200)
    viewing_hours_per_day: float = Field(gt=0, le=24)
    daypart_curves: dict[DeviceType, tuple[float, ...]]
    weekday_multipliers: tuple[float, ...] = DEFAULT_WEEKDAY_MULTIPLIERS
    genre_share: dict[Genre, float]
    geo_timezones: dict[str, str] = Field(min_length=1)
    default_geo: str = "US"
    cpm_range: tuple[float, float] = (20.0, 65.0)
    dispersion: float = Field(default=20.0, gt=0, description="gamma shape of hourly supply noise")
    invalid_traffic_rate: float = Field(default=0.013, ge=0, le=0.2)

    @field_validator("device_mix", "genre_share")
    @classmethod
    def _shares_sum_to_one(cls, value: dict[str, float]) -> dict[str, float]:
        total = sum(value.values())
        if any(v < 0 for v in value.values()) or abs(total - 1.0) > 1e-6:
            raise ValueError(f"shares must be >= 0 and sum to 1 (they sum to {total:.6f})")
        return value

    @field_validator("daypart_curves")
    @classmethod
    def _curves_have_24_hours(
        cls, value: dict[DeviceType, tuple[float, ...]]
    ) -> dict[DeviceType, tuple[float, ...]]:
        for device, curve in value.items():
            if len(curve) != 24 or any(v < 0 for v in curve) or sum(curve) <= 0:
                raise ValueError(f"{device}: a day-part curve needs 24 non-negative values")
        return value

    @field_validator("weekday_multipliers")
    @classmethod
    def _seven_days(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if len(value) != 7 or any(v <= 0 for v in value):
            raise ValueError("weekday_multipliers needs 7 positive values, Monday first")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Platform:
        missing = set(self.device_mix) - set(self.daypart_curves)
        if missing:
            raise ValueError(f"daypart_curves lacks devices {sorted(missing)}")
        if self.default_geo not in self.geo_timezones:
            raise ValueError(f"default_geo {self.default_geo!r} is not in geo_timezones")
        low, high = self.cpm_range
        if not 0 < low <= high:
            raise ValueError("cpm_range must be (low, high) with 0 < low <= high")
        return self
