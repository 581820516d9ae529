"""What the simulation needs to know of one line item: a flat, frozen, persisted view.

The pipeline builds these from the database (ORM rows) or from an in-memory plan with
assigned ids; the simulation reads nothing else. All money is integer micros of the line
item's `currency`, all times are hour-aligned naive datetimes in UTC.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from adsgen.domain.enums import (
    AdFormat,
    AdPosition,
    Currency,
    Daypart,
    DeviceType,
    ExperimentType,
    FrequencyPeriod,
    Genre,
    Industry,
    Objective,
    PacingPeriod,
    PacingType,
)
from adsgen.domain.markets import AudienceSegment

__all__ = ["SimCreative", "SimExperiment", "SimFrequencyCap", "SimLineItem", "interned"]

_T = TypeVar("_T")
_INTERNED: dict[tuple[object, ...], tuple[object, ...]] = {}


def interned(values: tuple[_T, ...]) -> tuple[_T, ...]:
    """One shared tuple per distinct value (strings interned too): a 20,000-line-item plan
    whose line items target a few DMA, state or segment lists holds each list once."""
    if not values:
        return ()
    key = tuple(sys.intern(v) if isinstance(v, str) and type(v) is str else v for v in values)
    found = _INTERNED.setdefault(key, key)
    return found  # type: ignore[return-value]


@dataclass(frozen=True, slots=True)
class SimCreative:
    """A creative as delivery sees it; `servable` folds QA status and entity status."""

    creative_id: int
    ad_format: AdFormat
    duration_s: int | None
    has_qr: bool
    interactive: bool
    servable: bool


@dataclass(frozen=True, slots=True)
class SimFrequencyCap:
    """At most `max_impressions` per household per `time_unit_count` × `time_unit`."""

    max_impressions: int
    time_unit: FrequencyPeriod
    time_unit_count: int


@dataclass(frozen=True, slots=True)
class SimExperiment:
    """A line item's experiment as the simulation sees it (adsgen.domain.experiment):
    `control_geos` are resolved (geo experiments only) and already left out of the line
    item's `geos`, which are its treated geos."""

    type: ExperimentType
    control_share: float
    control_geos: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SimLineItem:
    """One line item with everything delivery depends on.

    `active` is true only when the advertiser, campaign and line item are all ACTIVE.
    `budget_micros` is the lifetime budget (a daily budget already multiplied by days); it,
    the daily cap and the CPM are micros of `currency`.
    Empty targeting tuples mean "no restriction" on that key; `dmas` (Nielsen codes as text),
    `states` (USPS codes) and `segments` narrow the audience (`adsgen.domain.markets`) and
    are shared tuples (`interned`). `time_zone` is the campaign's
    IANA zone: its pacing days run from local midnight to local midnight. `industry` is its
    advertiser's (it scales the planned frequency, `adsgen.simulate.ground_truth`); None
    when the caller does not know it (such a line item plans an average frequency).
    `experiment` is its opt-in lift experiment (None: none; `adsgen.simulate.experiments`).
    """

    line_item_id: int
    campaign_id: int
    advertiser_id: int
    start: datetime
    end: datetime
    active: bool
    objective: Objective
    ad_format: AdFormat
    position: AdPosition
    cpm_micros: int
    budget_micros: int
    daily_cap_micros: int | None
    pacing_type: PacingType
    pacing_period: PacingPeriod
    frequency_cap: SimFrequencyCap | None
    creatives: tuple[SimCreative, ...]
    devices: tuple[DeviceType, ...] = ()
    genres: tuple[Genre, ...] = ()
    geos: tuple[str, ...] = ()
    dayparts: tuple[Daypart, ...] = ()
    extra: dict[str, float] = field(default_factory=dict)
    currency: Currency = Currency.USD
    time_zone: str = "UTC"
    industry: Industry | None = None
    experiment: SimExperiment | None = None
    platform: str = ""
    """The platform it buys on (`adsgen.world.platforms`); "": the run's first platform."""
    dmas: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    segments: tuple[AudienceSegment, ...] = ()
