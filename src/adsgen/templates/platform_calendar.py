"""The platform's calendar, as users write it: holidays by rule, seasons, tent-pole events, shocks.

Part of the YAML contract of a `Platform` (templates/spec.py), kept here so that spec stays
small. What each piece means for the data, and how it is turned into one number per geo and
local day, is `adsgen.world.calendar.day_factors`:

- `holidays`: dates given by a rule (a fixed day of a month, or the n-th / last weekday of a
  month, plus an offset in days), so they hold for any year with no table that runs out;
  each lifts viewing (and optionally advertiser demand) in the geos listed with it only.
- `seasonality`: twelve mid-month multipliers (January first) for viewing and for advertiser
  demand / CPM pressure, interpolated day by day so that no month boundary shows a step.
- `events`: dated tent-poles (a season finale, a live final), a number of days from a start.
- `supply_shocks`: the day-to-day texture of supply: a log-normal multiplier per geo and day
  with a stationary standard deviation and a lag-1 autocorrelation.

Every multiplier must be positive; every geo must be one the platform serves (checked by
`Platform`, which knows its geos).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from adsgen.templates.base import StrictModel

__all__ = [
    "DEFAULT_SEASON_DEMAND",
    "DEFAULT_SEASON_VIEWING",
    "WEEKDAYS",
    "CalendarName",
    "Holiday",
    "Seasonality",
    "SupplyShocks",
    "TentPoleEvent",
    "Weekday",
]

# Streaming viewing by month (January first), mean 1: more at home in winter, less in summer
# (Nielsen's The Gauge: streaming minutes peak December-January, low in June-August).
DEFAULT_SEASON_VIEWING: tuple[float, ...] = (
    1.08, 1.05, 1.02, 0.98, 0.95, 0.93, 0.94, 0.95, 0.97, 1.01, 1.04, 1.08,
)
# Advertiser demand / CPM pressure by month: January soft after the holidays, Q4 up 20-40 %
# with November-December highest (industry CPM seasonality; the "Q4 squeeze").
DEFAULT_SEASON_DEMAND: tuple[float, ...] = (
    0.80, 0.88, 0.95, 0.97, 1.00, 0.97, 0.92, 0.95, 1.02, 1.12, 1.30, 1.35,
)
WEEKDAYS: tuple[str, ...] = (
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
)
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
CalendarName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=100)]
"""A holiday or event name: lower-case letters, digits and underscores."""

Multiplier = Annotated[float, Field(gt=0, le=5)]
"""A positive multiplier of viewing or demand; 1 leaves it as it is."""
_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # February: every year


class Holiday(StrictModel):
    """A holiday given by a rule that holds for every year, and what it does to the day.

    Either `day` (a fixed date, e.g. 12-25) or `weekday` with `nth` (1-4 for the first to
    fourth, -1 for the last of the month: Thanksgiving is the 4th Thursday of November),
    then `offset_days` moves it (Black Friday: Thanksgiving + 1). The date is the holiday
    itself, not a weekday on which it is observed: the viewing happens on the day.
    """

    name: CalendarName = Field(description="unique name, e.g. thanksgiving")
    month: int = Field(ge=1, le=12, description="month of the rule, 1 = January")
    day: int | None = Field(
        default=None, ge=1, le=31, description="a fixed day of the month (no weekday/nth then)"
    )
    weekday: Weekday | None = Field(
        default=None, description="the weekday of an n-th-weekday rule (with nth)"
    )
    nth: Literal[1, 2, 3, 4, -1] | None = Field(
        default=None, description="which weekday of the month: 1-4, or -1 for the last"
    )
    offset_days: int = Field(
        default=0, ge=-7, le=7, description="days added to the rule's date (Black Friday: +1)"
    )
    viewing: Multiplier = Field(description="viewing multiplier on the day, e.g. 1.10-1.25")
    demand: Multiplier = Field(
        default=1.0, description="advertiser demand / CPM pressure multiplier on the day"
    )
    geos: tuple[str, ...] = Field(min_length=1, description="served geos that observe it")

    @model_validator(mode="after")
    def _one_rule(self) -> Holiday:
        if self.day is not None:
            if self.weekday is not None or self.nth is not None:
                raise ValueError(
                    f"holiday {self.name}: give either day (a fixed date) or weekday with nth, "
                    "not both"
                )
            if self.day > _DAYS_IN_MONTH[self.month - 1]:
                raise ValueError(
                    f"holiday {self.name}: month {self.month} has no day {self.day} in every "
                    f"year (at most {_DAYS_IN_MONTH[self.month - 1]}); use a weekday rule or "
                    "an earlier day"
                )
        elif self.weekday is None or self.nth is None:
            raise ValueError(
                f"holiday {self.name}: give day (a fixed date, e.g. day: 25) or both weekday "
                "and nth (e.g. weekday: thursday, nth: 4)"
            )
        return self


class TentPoleEvent(StrictModel):
    """A dated event that spikes viewing for a few days in some geos (a finale, a live final)."""

    name: CalendarName = Field(description="unique name, e.g. live_sports_final")
    start: date = Field(description="first local day of the event, YYYY-MM-DD")
    days: int = Field(default=1, ge=1, le=366, description="how many days it lasts")
    viewing: Multiplier = Field(description="viewing multiplier on its days")
    demand: Multiplier = Field(
        default=1.0, description="advertiser demand / CPM pressure multiplier on its days"
    )
    geos: tuple[str, ...] = Field(min_length=1, description="served geos where it airs")


class Seasonality(StrictModel):
    """Month multipliers, January first: each is the value at mid-month; the days between two
    mid-months are interpolated linearly (December to January wraps), so no month boundary
    shows a step."""

    viewing: tuple[float, ...] = Field(
        default=DEFAULT_SEASON_VIEWING,
        description="12 viewing multipliers, January first (a mean near 1 keeps "
        "viewing_hours_per_day the yearly average)",
    )
    demand: tuple[float, ...] = Field(
        default=DEFAULT_SEASON_DEMAND,
        description="12 advertiser demand / CPM pressure multipliers, January first",
    )

    @field_validator("viewing", "demand")
    @classmethod
    def _twelve_months(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if len(value) != 12 or any(not 0 < v <= 5 for v in value):
            raise ValueError(
                f"needs 12 multipliers in (0, 5], January first (got {len(value)} values)"
            )
        return value


class SupplyShocks(StrictModel):
    """Day-to-day supply texture (weather, releases, news): a log-normal multiplier per geo and
    local day, exp(x - sd²/2) with x stationary Gaussian, so its mean is 1."""

    sd: float = Field(
        default=0.08, ge=0, le=0.5,
        description="stationary standard deviation of the log daily shock (0 turns shocks off)",
    )
    autocorrelation: float = Field(
        default=0.7, ge=0, le=0.95,
        description="lag-1 autocorrelation of the log shock from one day to the next",
    )
