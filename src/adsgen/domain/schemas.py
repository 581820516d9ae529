"""Pydantic v2 schemas of the domain: what a plan may contain, with the reason when it may not.

Per entity a Base (its fields), a Create (input: a full nested plan tree, or one row with an
optional parent id) and a Read (Base + id, parent id and timestamps, built from ORM rows with
`from_attributes`; money read from `*_micros` columns). The value objects FlightSchema,
BudgetSchema, FrequencyCapSchema and Targeting carry the rules campaigns and line items share.
Field-level rules live once in adsgen.domain.fields (Name, Money, Cpm, ...); cross-field
rules live in one model validator each. Every model forbids unknown keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from adsgen.domain.enums import (
    AdFormat,
    AdPosition,
    BudgetType,
    CampaignStatus,
    CreativeMimeType,
    Currency,
    Daypart,
    DeviceType,
    DspPartner,
    EntityStatus,
    ExperimentType,
    FrequencyPeriod,
    Genre,
    Industry,
    MediaRating,
    Objective,
    PacingPeriod,
    PacingType,
    QAStatus,
    TargetingKey,
)
from adsgen.domain.experiment import ExperimentSchema, control_geos, control_size_problem
from adsgen.domain.fields import (
    MAX_FLIGHT_DAYS,
    MAX_IMPRESSIONS_PER_CAP,
    MAX_PIXELS,
    CountryCode,
    Cpm,
    DmaCode,
    FlightStart,
    Hostname,
    HttpsUrl,
    Money,
    Name,
    TimeZoneName,
    UniqueList,
    UsStateCode,
    UtcHour,
    decode_micros,
    from_micros,
    to_micros,
)
from adsgen.domain.fields import rule_error as _fail
from adsgen.domain.markets import AudienceSegment, audience_problem
from adsgen.domain.money import cpm_bounds, minor_unit, shown_amount
from adsgen.exceptions import shown

__all__ = [
    "AdvertiserBase",
    "AdvertiserCreate",
    "AdvertiserRead",
    "BudgetSchema",
    "CampaignBase",
    "CampaignCreate",
    "CampaignRead",
    "CreativeBase",
    "CreativeCreate",
    "CreativeRead",
    "FlightSchema",
    "FrequencyCapSchema",
    "LineItemBase",
    "LineItemCreate",
    "LineItemRead",
    "Targeting",
]


def _mime_by_name(value: Any) -> Any:
    """Accept the member name ("mp4") as well as the MIME type ("video/mp4")."""
    if isinstance(value, str) and value.strip() in CreativeMimeType.__members__:
        return CreativeMimeType[value.strip()]
    return value


_MimeType = Annotated[CreativeMimeType, BeforeValidator(_mime_by_name)]


class _Schema(BaseModel):
    """Base of every schema: unknown keys are errors, assignments are validated too."""

    model_config = ConfigDict(extra="forbid", from_attributes=True, validate_assignment=True)


# --- value objects -------------------------------------------------------------------------


class FlightSchema(_Schema):
    """When an entity may deliver: [start, end) in whole UTC hours, at most 366 days."""

    start: FlightStart
    end: UtcHour

    @model_validator(mode="after")
    def _check_span(self) -> Self:
        if self.end <= self.start:
            raise _fail(
                f"end {self.end.isoformat()} must be after start {self.start.isoformat()} "
                "(a flight runs from start up to, not including, end)"
            )
        if self.end - self.start > timedelta(days=MAX_FLIGHT_DAYS):
            raise _fail(
                f"flight lasts {self.hours / 24:.1f} days; at most {MAX_FLIGHT_DAYS} days allowed"
            )
        return self

    @property
    def hours(self) -> int:
        """Number of whole hours in the flight."""
        return (self.end - self.start) // timedelta(hours=1)

    @property
    def days(self) -> int:
        """Length in days, a partial day counted as a whole one (ceil of hours / 24)."""
        return -(-self.hours // 24)

    def contains(self, other: FlightSchema) -> bool:
        """True when `other` lies within this flight."""
        return self.start <= other.start and other.end <= self.end


class BudgetSchema(_Schema):
    """A money budget with DV360 pacing; `amount` covers the flight (lifetime) or each day."""

    budget_type: BudgetType = BudgetType.lifetime
    amount: Money
    currency: Currency = Currency.USD
    pacing_type: PacingType = PacingType.even
    pacing_period: PacingPeriod = PacingPeriod.flight
    daily_cap: Money | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_micros(cls, data: Any) -> Any:
        return decode_micros(data, cls, ("amount", "daily_cap"))

    @model_validator(mode="after")
    def _check_pacing(self) -> Self:
        if self.pacing_type is PacingType.asap and self.pacing_period is PacingPeriod.flight:
            raise _fail(
                "pacing_type asap needs pacing_period daily (DV360 does not pace ASAP over "
                "the whole flight); use pacing_period daily or pacing_type even/ahead"
            )
        if (
            self.budget_type is BudgetType.lifetime
            and self.daily_cap is not None
            and self.daily_cap > self.amount
        ):
            raise _fail(
                f"daily_cap {self.daily_cap} is more than the lifetime amount {self.amount}; "
                "a daily cap must be at most the budget"
            )
        unit = minor_unit(self.currency)
        for key in ("amount", "daily_cap"):
            value = getattr(self, key)
            if value is not None and value % unit:
                raise _fail(
                    f"{key} {value} {self.currency}: {self.currency} amounts are in whole "
                    f"{'units' if unit == 1 else 'cents'} (ISO 4217 minor unit {unit})"
                )
        return self

    @property
    def amount_micros(self) -> int:
        """`amount` in integer micros."""
        return to_micros(self.amount)

    @property
    def daily_cap_micros(self) -> int | None:
        """`daily_cap` in integer micros, None when uncapped."""
        return None if self.daily_cap is None else to_micros(self.daily_cap)

    def lifetime_micros(self, flight: FlightSchema) -> int:
        """Total spend allowed over `flight`: the amount, or a daily amount times flight days."""
        if self.budget_type is BudgetType.daily:
            return self.amount_micros * flight.days
        return self.amount_micros


class FrequencyCapSchema(_Schema):
    """At most `max_impressions` per household per `time_unit_count` × `time_unit` (DV360)."""

    max_impressions: int = Field(gt=0, le=MAX_IMPRESSIONS_PER_CAP)
    time_unit: FrequencyPeriod
    time_unit_count: int = 1

    @model_validator(mode="after")
    def _check_count(self) -> Self:
        limit = self.time_unit.max_count
        if not 1 <= self.time_unit_count <= limit:
            allowed = "1" if limit == 1 else f"1 to {limit}"
            limits = ", ".join(
                f"{unit} 1-{unit.max_count}" if unit.max_count > 1 else f"{unit} 1"
                for unit in FrequencyPeriod
            )
            raise _fail(
                f"time_unit_count {self.time_unit_count} is out of range for time_unit "
                f"{self.time_unit}: allowed {allowed} (DV360 limits: {limits})"
            )
        return self


class Targeting(_Schema):
    """What a line item may serve on, per TargetingKey; an empty list means no restriction.

    Accepts the field form, the generic mapping {"device": [...], ...} (a single value may
    stand for a one-item list, null for an empty one) and rows [(key, value), ...] or objects
    with `.key` / `.value` (ORM targeting rows).
    """

    device: UniqueList[DeviceType] = Field(default_factory=list)
    genre: UniqueList[Genre] = Field(default_factory=list)
    geo: UniqueList[CountryCode] = Field(default_factory=list)
    daypart: UniqueList[Daypart] = Field(default_factory=list)
    media_rating: UniqueList[MediaRating] = Field(default_factory=list)
    dma: UniqueList[DmaCode] = Field(default_factory=list)
    state: UniqueList[UsStateCode] = Field(default_factory=list)
    segment: UniqueList[AudienceSegment] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _generic_form(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            return _targeting_mapping(data.items())
        if isinstance(data, Sequence) and not isinstance(data, str | bytes):
            return _targeting_mapping(_targeting_row(row) for row in data)
        return data

    @model_validator(mode="after")
    def _matches_households(self) -> Self:
        """A targeting whose audience is 0 households (or a US market outside the US) is an
        error naming the keys and why (`adsgen.domain.markets.audience_problem`)."""
        if self.dma or self.state or self.segment:
            problem = audience_problem(geo=self.geo, dma=self.dma, state=self.state,
                                       segment=self.segment)
            if problem:
                raise _fail(problem)
        return self

    def rows(self) -> list[tuple[TargetingKey, str]]:
        """(key, value) pairs in TargetingKey order, as stored in the targeting table."""
        return [(key, str(value)) for key in TargetingKey for value in getattr(self, key.value)]

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[TargetingKey | str, str]]) -> Self:
        """Targeting from (key, value) pairs, the inverse of `rows()`."""
        return cls.model_validate(list(rows))


def _targeting_row(row: Any) -> tuple[Any, Any]:
    if isinstance(row, tuple | list) and len(row) == 2:
        return row[0], row[1]
    if hasattr(row, "key") and hasattr(row, "value"):
        return row.key, row.value
    raise _fail(f"targeting rows must be (key, value) pairs, got {shown(row)}")


def _targeting_mapping(items: Iterable[tuple[Any, Any]]) -> dict[str, list[Any]]:
    """Group (key, values) items by key, rejecting unknown keys with the allowed ones."""
    allowed = [key.value for key in TargetingKey]
    grouped: dict[str, list[Any]] = {}
    for key, value in items:
        name = str(key)
        if name not in allowed:
            raise _fail(
                f"unknown targeting key {shown(name)}; allowed keys: {', '.join(allowed)}"
            )
        if value is None:
            values: list[Any] = []
        elif isinstance(value, str) or not isinstance(value, Iterable):
            values = [value]
        else:
            values = list(value)
        grouped.setdefault(name, []).extend(values)
    return grouped


# --- entities ------------------------------------------------------------------------------


class _Stored(_Schema):
    """Fields the database adds to a row."""

    id: int
    created_at: datetime
    updated_at: datetime


class CreativeBase(_Schema):
    """An ad asset; MIME type, duration and interactivity must fit its ad format."""

    name: Name
    ad_format: AdFormat = AdFormat.video
    mime_type: _MimeType = CreativeMimeType.mp4
    duration_s: int | None = None
    asset_url: HttpsUrl
    width: int = Field(default=1920, ge=1, le=MAX_PIXELS)
    height: int = Field(default=1080, ge=1, le=MAX_PIXELS)
    has_qr: bool = False
    interactive: bool = False
    qa_status: QAStatus = QAStatus.approved_servable
    status: EntityStatus = EntityStatus.active

    @model_validator(mode="after")
    def _fits_format(self) -> Self:
        fmt = self.ad_format
        if self.mime_type not in fmt.allowed_mime_types:
            allowed = ", ".join(sorted(fmt.allowed_mime_types))
            raise _fail(
                f"mime_type {self.mime_type} does not fit ad_format {fmt}; allowed: {allowed}"
            )
        durations = sorted(fmt.allowed_durations)
        if durations and self.duration_s not in durations:
            raise _fail(
                f"duration_s {self.duration_s} is not allowed for ad_format {fmt}; "
                f"use one of {', '.join(map(str, durations))} seconds"
            )
        if not durations and self.duration_s is not None:
            raise _fail(
                f"duration_s must be empty (null) for the static ad_format {fmt}, "
                f"got {self.duration_s}"
            )
        if self.interactive and fmt is not AdFormat.interactive_video:
            raise _fail(f"interactive: true needs ad_format interactive_video, got {fmt}")
        return self


class CreativeCreate(CreativeBase):
    """A creative to create; `line_item_id` only when created on its own."""

    line_item_id: int | None = None


class CreativeRead(_Stored, CreativeBase):
    """A stored creative."""

    line_item_id: int


class LineItemBase(_Schema):
    """What is bought: format, position, price, budget, flight, cap and targeting."""

    name: Name
    status: EntityStatus = EntityStatus.active
    ad_format: AdFormat = AdFormat.video
    position: AdPosition = AdPosition.mid_roll
    cpm: Cpm
    budget: BudgetSchema
    flight: FlightSchema
    frequency_cap: FrequencyCapSchema | None = None
    targeting: Targeting = Field(default_factory=Targeting)
    experiment: ExperimentSchema | None = Field(
        default=None, description="opt-in lift experiment (adsgen.domain.experiment)")
    platform: str | None = Field(
        default=None, pattern=r"^[a-z][a-z0-9_]*$", max_length=64,
        description="the platform the line item buys on (`adsgen list platforms`): a line "
        "item buys on exactly one, as a DSP buys one line item per supply source; unset: the "
        "run's platform")

    @model_validator(mode="before")
    @classmethod
    def _from_micros(cls, data: Any) -> Any:
        return decode_micros(data, cls, ("cpm",))

    @model_validator(mode="after")
    def _experiment_fits(self) -> Self:
        """A geo experiment splits the targeted geos; a holdout or PSA line item holds its
        control group (adsgen.domain.experiment)."""
        if self.experiment is None:
            return self
        if self.experiment.type is ExperimentType.geo:
            try:
                control_geos(self.experiment, self.targeting.geo)
            except ValueError as error:
                raise _fail(str(error)) from None
        problem = control_size_problem(
            self.experiment, budget_micros=self.budget.lifetime_micros(self.flight),
            cpm_micros=self.cpm_micros)
        if problem:
            raise _fail(problem)
        return self

    @model_validator(mode="after")
    def _cpm_in_currency(self) -> Self:
        currency = self.budget.currency
        low, high = cpm_bounds(currency)
        if not low <= self.cpm <= high:
            raise _fail(
                f"cpm: CPM must be between {low} and {high} {currency}, got {shown(self.cpm)}"
            )
        if self.cpm % minor_unit(currency):
            raise _fail(f"cpm: {currency} CPMs are in whole units, got {shown(self.cpm)}")
        return self

    @property
    def cpm_micros(self) -> int:
        """`cpm` in integer micros."""
        return to_micros(self.cpm)


class LineItemCreate(LineItemBase):
    """A line item to create with its creatives; `campaign_id` only when created on its own."""

    campaign_id: int | None = None
    creatives: list[CreativeCreate] = Field(default_factory=list)


class LineItemRead(_Stored, LineItemBase):
    """A stored line item."""

    campaign_id: int


class CampaignBase(_Schema):
    """An advertiser's campaign: objective, budget and flight its line items share."""

    name: Name
    objective: Objective
    status: CampaignStatus = CampaignStatus.active
    dsp_partner: DspPartner = DspPartner.direct
    budget: BudgetSchema
    flight: FlightSchema
    frequency_cap: FrequencyCapSchema | None = None
    time_zone: TimeZoneName | None = Field(
        default=None,
        description="IANA time zone of the campaign's pacing day (its days start at local "
        "midnight); unset, the plan builders give the platform's zone of the campaign's first "
        "targeted geo (US: the platform's US zone), and a plan stored without one is in UTC",
    )


class CampaignCreate(CampaignBase):
    """A campaign to create with its line items, which must fit its budget and flight."""

    advertiser_id: int | None = None
    line_items: list[LineItemCreate] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _currency_inherited(cls, data: Any) -> Any:
        """Line-item budgets that name no currency are in the campaign budget's."""
        return inherit_currency(data, "line_items")

    @model_validator(mode="after")
    def _line_items_fit(self) -> Self:
        budget, flight = self.budget, self.flight
        names: set[str] = set()
        total = 0
        for index, item in enumerate(self.line_items):
            where = f"line_items.{index} ({item.name!r})"
            if item.name in names:
                raise _fail(f"{where}: duplicate name; line-item names must be unique per campaign")
            names.add(item.name)
            if item.budget.currency != budget.currency:
                raise _fail(
                    f"{where}: budget currency {item.budget.currency} differs from the campaign "
                    f"budget currency {budget.currency}; use one currency per campaign"
                )
            if not flight.contains(item.flight):
                raise _fail(
                    f"{where}: flight {_span(item.flight)} is outside the campaign flight "
                    f"{_span(flight)}"
                )
            total += item.budget.lifetime_micros(item.flight)
        limit = budget.lifetime_micros(flight)
        if total > limit:
            raise _fail(
                f"line-item budgets total {shown_amount(from_micros(total), budget.currency)}, "
                "more than the campaign budget "
                f"{shown_amount(from_micros(limit), budget.currency)}; lower the line-item "
                "budgets or raise the campaign budget"
            )
        return self


class CampaignRead(_Stored, CampaignBase):
    """A stored campaign."""

    advertiser_id: int


class AdvertiserBase(_Schema):
    """A brand that buys ads."""

    name: Name
    industry: Industry
    domain: Hostname
    currency: Currency = Currency.USD
    status: EntityStatus = EntityStatus.active


class AdvertiserCreate(AdvertiserBase):
    """An advertiser to create with its whole plan tree; its budgets are in its currency."""

    campaigns: list[CampaignCreate] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _currency_inherited(cls, data: Any) -> Any:
        """Campaign budgets that name no currency are in the advertiser's."""
        return inherit_currency(data, "campaigns")

    @model_validator(mode="after")
    def _one_currency(self) -> Self:
        for index, campaign in enumerate(self.campaigns):
            check_currency(campaign, self.currency, where=f"campaigns.{index}")
        return self


def inherit_currency(data: Any, children: str) -> Any:
    """`data` (a mapping) with its `currency` (or its budget's) given to every child in
    `children` whose budget names none; anything else is returned as it is."""
    if not isinstance(data, Mapping) or not isinstance(data.get(children), list):
        return data
    budget = data.get("budget")
    currency = data.get("currency") or (
        budget.get("currency") if isinstance(budget, Mapping) else None
    )
    if currency is None:
        return data
    inherited = []
    for child in data[children]:
        child_budget = child.get("budget") if isinstance(child, Mapping) else None
        if isinstance(child_budget, Mapping) and "currency" not in child_budget:
            child = {**child, "budget": {**child_budget, "currency": currency}}
        inherited.append(child)
    return {**data, children: inherited}


def check_currency(campaign: CampaignBase, currency: Currency, *, where: str) -> None:
    """A rule error unless the campaign's budget is in `currency` (its advertiser's)."""
    if campaign.budget.currency != currency:
        raise _fail(
            f"{where}: budget currency {campaign.budget.currency} differs from the "
            f"advertiser's currency {currency}; budgets are in the advertiser's currency "
            "(leave the budget's currency out to use it)"
        )


class AdvertiserRead(_Stored, AdvertiserBase):
    """A stored advertiser."""


def _span(flight: FlightSchema) -> str:
    return f"{flight.start:%Y-%m-%dT%H:%M} to {flight.end:%Y-%m-%dT%H:%M}"
