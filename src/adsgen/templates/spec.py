"""The YAML contract: strict Pydantic models for platforms, examples and profiles.

Every model forbids unknown keys, so a typo in a template is an error naming the key path,
never silently ignored. Variants are told apart by a `type: Literal[...]` field:
`example` (one fully specified advertiser plan, reusing the Create schemas), `examples`
(several by name), `profile` (a partial plan the providers complete) and `platform`.
`parse_template` validates a loaded document and turns Pydantic errors into one SpecError
naming the file, key path, allowed keys or values and closest match.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from adsgen.domain.enums import (
    AdFormat,
    AdPosition,
    CreativeMimeType,
    Currency,
    DeviceType,
    DspPartner,
    ExperimentType,
    Genre,
    Industry,
    Objective,
    PacingPeriod,
    PacingType,
)
from adsgen.domain.experiment import ExperimentSchema, control_geos
from adsgen.domain.fields import (
    MAX_FLIGHT_DAYS,
    Cpm,
    FlightStart,
    Money,
    Name,
    TimeZoneName,
    check_time_zone,
    rule_error,
)
from adsgen.domain.money import cpm_bounds, minor_unit
from adsgen.domain.schemas import (
    AdvertiserCreate,
    CampaignCreate,
    FrequencyCapSchema,
    Targeting,
    check_currency,
    inherit_currency,
)
from adsgen.exceptions import SpecError, shown
from adsgen.templates.base import StrictModel
from adsgen.templates.platform_calendar import Holiday, Seasonality, SupplyShocks, TentPoleEvent
from adsgen.templates.platform_rules import (
    MEZZANINE_MIME_TYPES,
    CreativeRules,
    Measurement,
    PlatformSales,
    Pods,
    check_format,
    check_targeting,
    fit_durations,
)

__all__ = [
    "DEFAULT_DAYPART_CURVE",
    "DEFAULT_WEEKDAY_MULTIPLIERS",
    "TEMPLATE_TYPES",
    "CpmRange",
    "Example",
    "ExampleFile",
    "LineItemSettings",
    "MoneyRange",
    "Platform",
    "PlatformNames",
    "Profile",
    "ProfileCreatives",
    "ProfileLineItem",
    "StrictModel",
    "Template",
    "TemplateName",
    "parse_template",
]

TemplateName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=100)]
"""A template, profile or example name: lower-case letters, digits and underscores."""


def _unique_names(value: tuple[str, ...]) -> tuple[str, ...]:
    twice = sorted({name for name in value if value.count(name) > 1})
    if twice:
        raise ValueError(f"platforms must be unique; given twice: {twice}")
    return value


PlatformNames = Annotated[tuple[TemplateName, ...], AfterValidator(_unique_names)]
"""Platform names (each checked against the known platforms where a run uses them)."""

# Share (%) of a day's CTV impressions by local hour 0-23: Conviva + BLS ATUS (realism.md B).
DEFAULT_DAYPART_CURVE: tuple[float, ...] = (
    4.5, 2.8, 1.8, 1.1, 1.0, 1.2, 2.1, 3.0, 3.6, 3.9, 3.87, 3.87,
    3.87, 3.87, 3.87, 3.87, 3.87, 5.4, 6.4, 7.2, 7.47, 7.47, 7.47, 6.5,
)
# Monday first: Mon-Thu 0.95, Fri 1.00, Sat-Sun 1.12 (realism.md B).
DEFAULT_WEEKDAY_MULTIPLIERS: tuple[float, ...] = (0.95, 0.95, 0.95, 0.95, 1.00, 1.12, 1.12)


class Platform(StrictModel):
    """A streaming service's audience and supply: what the simulation draws impressions from.

    `households` is the ad-supported audience; `device_mix` the share of impressions by
    device; `ad_seconds_per_hour` the ad load per viewing hour; `viewing_hours_per_day` the
    average ad-tier viewing per household. Curves are per device, in local time. The calendar
    (`holidays`, `seasonality`, `events`, `supply_shocks`; templates/platform_calendar.py)
    gives each geo and local day its viewing and demand multipliers (world/calendar.py).
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
    geo_weights: dict[str, float] = Field(
        default_factory=dict,
        description="relative ad-tier households per served geo; empty = equal weights",
    )
    default_geo: str = "US"
    cpm_range: tuple[float, float] = (20.0, 65.0)
    dispersion: float = Field(default=20.0, gt=0, description="gamma shape of hourly supply noise")
    invalid_traffic_rate: float = Field(default=0.013, ge=0, le=0.2)
    holidays: tuple[Holiday, ...] = Field(
        default=(), description="holidays by rule, each with its geos; none when left out"
    )
    seasonality: Seasonality = Field(
        default_factory=Seasonality,
        description="month multipliers of viewing and advertiser demand, January first",
    )
    events: tuple[TentPoleEvent, ...] = Field(
        default=(), description="dated tent-pole events (finales, live finals) and their geos"
    )
    supply_shocks: SupplyShocks = Field(
        default_factory=SupplyShocks,
        description="daily log-normal supply shocks per geo, correlated day to day",
    )
    subscriber_overlap: dict[TemplateName, float] = Field(
        default_factory=dict,
        description="share of this platform's households that also watch the named platform "
        "(the pairwise overlap of `adsgen.world.platforms.Overlap`: de-duplicated reach)",
    )
    pods: Pods | None = Field(
        default=None, description="break structure: slot positions and competitive separation"
    )
    creative_rules: CreativeRules = Field(
        default_factory=CreativeRules,
        description="spot-length windows, mezzanine, interactive: checked on every creative",
    )
    sells: PlatformSales = Field(
        default_factory=PlatformSales,
        description="targeting keys, segment kinds, formats and features it sells",
    )
    measurement: Measurement = Field(
        default_factory=Measurement, description="viewability / completion claims, partners"
    )

    @field_validator("subscriber_overlap")
    @classmethod
    def _overlap_shares(cls, value: dict[str, float]) -> dict[str, float]:
        wrong = {name: share for name, share in value.items() if not 0 <= share <= 1}
        if wrong:
            raise ValueError(f"overlap shares must be between 0 and 1, got {wrong}")
        return value

    @field_validator("device_mix", "genre_share")
    @classmethod
    def _shares_sum_to_one(cls, value: dict[str, float]) -> dict[str, float]:
        total = sum(value.values())
        if any(v < 0 for v in value.values()) or abs(total - 1.0) > 1e-6:
            raise ValueError(f"shares must be >= 0 and sum to 1 (they sum to {total:.6f})")
        return value

    @field_validator("geo_timezones")
    @classmethod
    def _known_zones(cls, value: dict[str, str]) -> dict[str, str]:
        for geo, zone in value.items():
            try:
                check_time_zone(zone)
            except ValueError as error:
                raise ValueError(f"{geo}: {error}") from None
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
        if self.geo_weights:
            unserved = sorted(set(self.geo_weights) - set(self.geo_timezones))
            unweighted = sorted(set(self.geo_timezones) - set(self.geo_weights))
            if unserved or unweighted or any(w <= 0 for w in self.geo_weights.values()):
                raise ValueError(
                    "geo_weights needs a positive weight for every geo of geo_timezones and no "
                    f"other (not served: {unserved or 'none'}; no weight: {unweighted or 'none'})"
                )
        if self.default_geo not in self.geo_timezones:
            raise ValueError(f"default_geo {self.default_geo!r} is not in geo_timezones")
        low, high = self.cpm_range
        if not 0 < low <= high:
            raise ValueError("cpm_range must be (low, high) with 0 < low <= high")
        if self.name in self.subscriber_overlap:
            raise ValueError("subscriber_overlap names the platform itself")
        self._calendar_consistent()
        return self

    def _calendar_consistent(self) -> None:
        """Holiday and event names are unique, and their geos are served ones."""
        served = ", ".join(sorted(self.geo_timezones))
        for kind, entries in (("holiday", self.holidays), ("event", self.events)):
            names = [entry.name for entry in entries]
            twice = sorted({name for name in names if names.count(name) > 1})
            if twice:
                raise ValueError(f"{kind} names must be unique; given twice: {twice}")
            for entry in entries:
                unserved = [geo for geo in entry.geos if geo not in self.geo_timezones]
                if unserved:
                    raise ValueError(
                        f"{kind} {entry.name}: geos {unserved} are not served by this "
                        f"platform; served geos (geo_timezones): {served}"
                    )

    def time_zone(self, geos: Iterable[str] = ()) -> str:
        """The zone of the first of `geos` this platform serves, else of its default geo:
        the pacing day of a campaign that names no time zone (US: the platform's US zone)."""
        for geo in geos:
            if geo in self.geo_timezones:
                return self.geo_timezones[geo]
        return self.geo_timezones[self.default_geo]

    def check_profile(self, profile: Profile) -> None:
        """SpecError when the profile fixes a geo this platform does not serve: checked once
        per profile, before anything is drawn (plans and the columnar planner alike)."""
        where = (
            "--geo" if profile.name in OPTION_PROFILES else f"profile {profile.name}: targeting.geo"
        )
        for settings in (profile.defaults(), *profile.line_item_settings()):
            if settings.targeting is not None:
                self.check_geos(settings.targeting.geo, where=where)
        self.check_sold(profile)

    def check_sold(self, profile: Profile) -> None:
        """SpecError when the profile fixes a targeting key, segment, ad format, spot length,
        MIME type or interactivity this platform does not sell or accept."""
        option = profile.name in OPTION_PROFILES
        listed = profile.line_item_settings()
        for index, settings in enumerate(listed or [profile.defaults()]):
            at = f"profile {profile.name}: " + (f"line_items.{index}." if listed else "")
            if settings.targeting is not None:
                fixed = settings.targeting.model_dump(include=settings.targeting.model_fields_set)
                check_targeting(fixed, self.sells, platform=self.name, where=f"{at}targeting",
                                option=option)
            spec = settings.creatives or ProfileCreatives()
            fmt = spec.ad_format or (
                AdFormat.interactive_video if spec.interactive else AdFormat.video
            )
            check_format(fmt, self.sells, platform=self.name,
                         where="--format" if option else f"{at}creatives.ad_format")
            rules = self.creative_rules
            if spec.durations:
                fit_durations(spec.durations, rules, platform=self.name,
                              where="--duration" if option else f"{at}creatives.durations")
            if (rules.mezzanine_required and spec.mime_type is not None
                    and spec.mime_type.is_video and spec.mime_type not in MEZZANINE_MIME_TYPES):
                raise SpecError(
                    f"platform {self.name} needs a VAST mezzanine file (video/mp4 or "
                    f"video/quicktime); mime_type {spec.mime_type.value} is not one",
                    where="--mime-type" if option else f"{at}creatives.mime_type",
                )
            if (spec.interactive or fmt is AdFormat.interactive_video) and not rules.interactive:
                raise SpecError(
                    f"platform {self.name} runs no interactive (VPAID-style) creatives",
                    where="--interactive" if option else f"{at}creatives.interactive",
                )

    def check_geos(self, geos: Iterable[str], *, where: str) -> None:
        """SpecError at `where` naming the served geos when `geos` holds one this platform
        does not serve (targeting it would deliver nothing)."""
        unserved = [geo for geo in geos if geo not in self.geo_timezones]
        if unserved:
            served = ", ".join(sorted(self.geo_timezones))
            raise SpecError(
                f"{', '.join(unserved)} {'is' if len(unserved) == 1 else 'are'} not served by "
                f"platform {self.name}; served geos: {served}",
                where=where,
            )


OPTION_PROFILES = frozenset({"options", "line_item"})
"""Names of the profiles the CLI (`create-campaign` options) and `create-line-item` make from
command-line options: a problem with what they fix is an option's (`--geo`)."""


# --- templates: examples and profiles --------------------------------------------------------



def _range_of(item: Any) -> Callable[[Any], tuple[Decimal, Decimal]]:
    """A parser of `x` (meaning [x, x]) or `[low, high]`, each checked as `item`."""
    adapter: TypeAdapter[Decimal] = TypeAdapter(item)

    def parse(value: Any) -> tuple[Decimal, Decimal]:
        values = list(value) if isinstance(value, list | tuple) else [value, value]
        if len(values) != 2:
            raise rule_error(f"give one number or a [low, high] pair, got {shown(value)}")
        try:
            low, high = (adapter.validate_python(v) for v in values)
        except ValidationError as error:
            raise rule_error(str(error.errors()[0]["msg"])) from None
        if low > high:
            raise rule_error(f"a range must be [low, high] with low <= high, got {shown(values)}")
        return low, high

    return parse


MoneyRange = Annotated[tuple[Decimal, Decimal], BeforeValidator(_range_of(Money))]
"""A money amount (`250000`) or a range to draw from (`[150000, 400000]`)."""
CpmRange = Annotated[tuple[Decimal, Decimal], BeforeValidator(_range_of(Cpm))]
"""A CPM (`25`) or a range to draw from (`[20, 30]`)."""


class Example(StrictModel):
    """A fully specified example: one advertiser with one campaign, its line items and creatives.

    Reuses the Create schemas, so every rule of the domain (budgets, flights, durations …)
    applies as written. Line items without creatives get provider-made ones.
    """

    type: Literal["example"] = "example"
    name: TemplateName
    description: str = ""
    platforms: PlatformNames = Field(
        default=(),
        description="the platforms the campaign buys on; empty: whichever the run uses",
    )
    advertiser: AdvertiserCreate
    campaign: CampaignCreate

    @model_validator(mode="before")
    @classmethod
    def _currency_inherited(cls, data: Any) -> Any:
        """The campaign's budgets are in the advertiser's currency unless they name one."""
        if not isinstance(data, Mapping) or not isinstance(data.get("advertiser"), Mapping):
            return data
        currency = data["advertiser"].get("currency")
        inherited = inherit_currency({"currency": currency, "campaigns": [data.get("campaign")]},
                                     "campaigns")
        return {**data, "campaign": inherited["campaigns"][0]}

    @model_validator(mode="after")
    def _one_campaign(self) -> Example:
        if self.advertiser.campaigns:
            raise ValueError(
                "advertiser.campaigns must be empty in an example; put the campaign under "
                "`campaign` (one campaign per example)"
            )
        check_currency(self.campaign, self.advertiser.currency, where="campaign")
        return self


class ExampleFile(StrictModel):
    """Several examples in one file, by name: `examples: {luxury_auto_awareness: {...}}`."""

    type: Literal["examples"] = "examples"
    description: str = ""
    examples: dict[TemplateName, Example] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _names_from_keys(cls, data: Any) -> Any:
        """Each example takes its key as its name (an explicit `name` must match it)."""
        if isinstance(data, Mapping) and isinstance(data.get("examples"), Mapping):
            examples = {
                key: {"name": key, **value} if isinstance(value, Mapping) else value
                for key, value in data["examples"].items()
            }
            return {**data, "examples": examples}
        return data

    @model_validator(mode="after")
    def _keys_are_names(self) -> ExampleFile:
        for key, example in self.examples.items():
            if example.name != key:
                raise ValueError(f"examples.{key}: name {example.name!r} differs from its key")
        return self


class ProfileCreatives(StrictModel):
    """What a profile fixes about each line item's creatives; the rest is drawn."""

    count: int | None = Field(default=None, ge=1, le=20)
    ad_format: AdFormat | None = None
    mime_type: CreativeMimeType | None = None
    durations: list[int] = Field(default_factory=list)
    qr: bool | None = None
    interactive: bool | None = None

    @field_validator("durations")
    @classmethod
    def _known_durations(cls, value: list[int]) -> list[int]:
        allowed = sorted(AdFormat.video.allowed_durations)
        wrong = [d for d in value if d not in allowed]
        if wrong:
            raise ValueError(f"durations {wrong} not allowed; use {allowed} seconds")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ProfileCreatives:
        fmt = self.ad_format
        if self.interactive and fmt not in (None, AdFormat.interactive_video):
            raise ValueError(f"interactive: true needs ad_format interactive_video, got {fmt}")
        if fmt is not None and not fmt.is_video and self.durations:
            raise ValueError(f"durations must be empty for the static ad_format {fmt}")
        if fmt is not None and self.mime_type and self.mime_type not in fmt.allowed_mime_types:
            raise ValueError(f"mime_type {self.mime_type} does not fit ad_format {fmt}")
        return self

    def merged(self, override: ProfileCreatives | None) -> ProfileCreatives:
        """These settings with every field `override` sets replacing ours."""
        if override is None:
            return self
        return self.model_copy(update=override.model_dump(include=override.model_fields_set))


class LineItemSettings(StrictModel):
    """Line-item settings a profile may fix, for all its line items or for one."""

    cpm: CpmRange | None = None
    position: AdPosition | None = None
    targeting: Targeting | None = None
    frequency_cap: FrequencyCapSchema | None = None
    creatives: ProfileCreatives | None = None
    experiment: ExperimentSchema | None = None


class ProfileLineItem(LineItemSettings):
    """One line item of a profile; unset fields take the profile's, then the providers'."""

    name: Name | None = None
    budget_share: float | None = Field(default=None, gt=0, le=1)


class Profile(LineItemSettings):
    """A partial plan: fixes what it names and lets the providers fill the rest.

    Campaign keys (industry, objective, flight, budget …) sit at the top; `cpm`, `position`,
    `targeting`, `frequency_cap` and `creatives` at the top apply to every line item, and
    `line_items` lists line items that override them (per-device buys, say). Targeting
    merges key by key: keys nobody names are drawn by the targeting provider.
    """

    type: Literal["profile"] = "profile"
    name: TemplateName
    description: str = ""
    weight: float = Field(
        default=1.0,
        gt=0,
        le=1000,
        description="how often `run-all --scale` and `generate` draw this profile, relative "
        "to the other profiles' weights (a common buy weighs more than a niche one)",
    )
    platforms: PlatformNames = Field(
        default=(),
        description="the platforms its campaigns buy on; empty: whichever the run uses",
    )
    industry: Industry | None = None
    objective: Objective | None = None
    dsp_partner: DspPartner | None = None
    start: FlightStart | None = None
    flight_days: int | None = Field(default=None, ge=1, le=MAX_FLIGHT_DAYS)
    budget: MoneyRange | None = None
    currency: Currency = Field(
        default=Currency.USD,
        description="currency of `budget` and `cpm`; converted to the advertiser's at the "
        "fixed rates of adsgen.domain.money, and the currency of advertisers it creates",
    )
    pacing_type: PacingType | None = None
    pacing_period: PacingPeriod | None = None
    time_zone: TimeZoneName | None = Field(
        default=None,
        description="IANA time zone of the campaign's pacing day; unset: the platform's zone "
        "of the first geo its line items target",
    )
    campaign_frequency_cap: FrequencyCapSchema | None = None
    line_item_count: int | None = Field(default=None, ge=1, le=50)
    line_items: list[ProfileLineItem] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Profile:
        if self.line_items and self.line_item_count not in (None, len(self.line_items)):
            raise ValueError(
                f"line_item_count {self.line_item_count} differs from the "
                f"{len(self.line_items)} line_items listed; drop one of the two"
            )
        shares = [item.budget_share for item in self.line_items if item.budget_share]
        unset = len(self.line_items) - len(shares)
        if sum(shares) > 1 + 1e-9 or (unset and sum(shares) >= 1):
            raise ValueError(
                f"line_items budget_share values sum to {sum(shares):g}; they must leave "
                "room for every line item (sum <= 1)"
            )
        if self.pacing_type is PacingType.asap and self.pacing_period is not PacingPeriod.daily:
            raise ValueError("pacing_type asap needs pacing_period daily")
        names = [item.name for item in self.line_items if item.name]
        if len(names) != len(set(names)):
            raise ValueError("line_items names must be unique")
        listed = [(f"line_items.{i}.", item) for i, item in enumerate(self.line_item_settings())]
        for prefix, merged in listed or [("", self.defaults())]:
            experiment = merged.experiment
            if experiment is not None and experiment.type is ExperimentType.geo:
                geos = merged.targeting.geo if merged.targeting is not None else []
                try:  # a geo experiment splits geos the profile fixes, never drawn ones
                    control_geos(experiment, geos)
                except ValueError as error:
                    raise ValueError(f"{prefix}{error}") from None
        unit = minor_unit(self.currency)
        if self.budget is not None and any(value % unit for value in self.budget):
            raise ValueError(
                f"budget: {self.currency} amounts are multiples of {unit}, got "
                f"{shown(list(self.budget))}"
            )
        low, high = cpm_bounds(self.currency)
        for where, settings in [("cpm", self), *(
            (f"line_items.{i}.cpm", item) for i, item in enumerate(self.line_items)
        )]:
            cpm = settings.cpm
            if cpm is not None and (
                not low <= cpm[0] <= cpm[1] <= high or any(value % unit for value in cpm)
            ):
                raise ValueError(
                    f"{where}: CPM must be between {low} and {high} {self.currency} in "
                    f"multiples of {unit}, got {shown(list(cpm))}"
                )
        return self

    def line_item_settings(self) -> list[ProfileLineItem]:
        """One settings object per line item with the profile-wide settings merged in.

        Empty when the profile does not list its line items (their count is then drawn).
        """
        return [self._merge(item) for item in self.line_items]

    def defaults(self) -> ProfileLineItem:
        """The profile-wide line-item settings, as for a line item the profile does not list."""
        return self._merge(ProfileLineItem())

    def _merge(self, item: ProfileLineItem) -> ProfileLineItem:
        """Keys set on the line item win, then keys set on the profile; `model_fields_set`
        of the result tells which keys are fixed (an explicit null frequency cap = uncapped).
        """
        inherited = (self.model_fields_set & set(LineItemSettings.model_fields)) - (
            item.model_fields_set
        )
        update: dict[str, Any] = {key: getattr(self, key) for key in inherited}
        targeting = _merge_targeting(self.targeting, item.targeting)
        creatives = (self.creatives or ProfileCreatives()).merged(item.creatives)
        update.update(targeting=targeting, creatives=creatives)
        return item.model_copy(update=update)


def _merge_targeting(base: Targeting | None, override: Targeting | None) -> Targeting | None:
    """Key-wise merge; the result's `model_fields_set` is the union, so unnamed keys stay drawn."""
    if base is None or override is None:
        return override or base
    values = {
        **base.model_dump(include=base.model_fields_set),
        **override.model_dump(include=override.model_fields_set),
    }
    return Targeting.model_validate(values)


Template = Example | ExampleFile | Profile | Platform
"""Any validated template document."""
TEMPLATE_TYPES: dict[str, type[StrictModel]] = {
    "example": Example,
    "examples": ExampleFile,
    "profile": Profile,
    "platform": Platform,
}
"""The models a YAML document's `type` selects."""


# --- validation with user-facing errors ------------------------------------------------------

Loc = tuple[int | str, ...]
Locate = Callable[[Loc], int | None]
"""Maps a key path to its 1-based line in the source file, when known."""


def parse_template(
    data: object,
    *,
    source: str,
    expected: type[StrictModel] | None = None,
    locate: Locate | None = None,
) -> Template:
    """Validate one YAML document; the model is `expected`, else chosen by its `type` key.

    Raises SpecError whose `where` is "<source>: <key.path>" and whose message says what is
    allowed: the allowed keys and closest match for an unknown key, the allowed values for
    an enum, the line in the file when `locate` knows it.
    """
    if not isinstance(data, Mapping):
        kind = "an empty file" if data is None else f"a {type(data).__name__}"
        raise SpecError(f"expected a mapping of keys (type: …), got {kind}", where=source)
    model = expected or _model_for(data, source=source, locate=locate)
    try:
        template = model.model_validate(data)
    except ValidationError as error:
        raise _spec_error(error, model, source=source, locate=locate) from None
    assert isinstance(template, Example | ExampleFile | Profile | Platform)
    return template


def _model_for(data: Mapping[Any, Any], *, source: str, locate: Locate | None) -> type[StrictModel]:
    kind = data.get("type")
    if isinstance(kind, str) and kind in TEMPLATE_TYPES:
        return TEMPLATE_TYPES[kind]
    allowed = ", ".join(TEMPLATE_TYPES)
    if kind is None:
        message = f"missing key 'type'; allowed types: {allowed}"
    else:
        hint = _did_you_mean(str(kind), TEMPLATE_TYPES)
        message = f"unknown type {shown(kind)}{hint}; allowed: {allowed}"
    raise SpecError(message + _at_line(locate, ("type",)), where=f"{source}: type")


def _spec_error(
    error: ValidationError, model: type[BaseModel], *, source: str, locate: Locate | None
) -> SpecError:
    """The first problem in full; the key paths of any further ones after it."""
    problems = []
    # An unknown key first: a typo also makes the key it misspells look missing.
    items = sorted(error.errors(include_url=False), key=lambda i: i["type"] != "extra_forbidden")
    for item in items:
        loc = tuple(part for part in item["loc"] if _is_key(part))
        message = _describe(item, loc, model) + _at_line(locate, loc)
        path = ".".join(shown(part, quote=False) for part in loc)
        problems.append((path or "(top level)", message))
    (path, message), rest = problems[0], problems[1:]
    if rest:
        more = ", ".join(p for p, _ in rest[:3]) + (", …" if len(rest) > 3 else "")
        message += f" [{len(rest)} more problem{'s' if len(rest) > 1 else ''}: {more}]"
    return SpecError(message, where=f"{source}: {path}")


def _describe(item: Any, loc: Loc, model: type[BaseModel]) -> str:
    kind, message = item["type"], str(item["msg"])
    if kind == "extra_forbidden" and loc:
        allowed = sorted(_fields_at(model, loc[:-1]))
        key = str(loc[-1])
        hint = _did_you_mean(key, allowed)
        return f"unknown key {shown(key)}{hint}; allowed keys: {', '.join(allowed)}"
    if kind == "missing" and loc:
        return f"missing required key {shown(str(loc[-1]))}"
    if kind in ("enum", "literal_error"):
        expected = str(item.get("ctx", {}).get("expected", ""))
        # Text values come quoted ("'a', 'b' or 'c'"), numbers bare ("1, 2 or -1").
        allowed = re.findall(r"'([^']*)'", expected) or re.split(r", | or ", expected)
        value = str(item.get("input"))
        hint = _did_you_mean(value, allowed)
        return f"{shown(value)} is not allowed{hint}; allowed: {', '.join(allowed)}"
    return message.removeprefix("Value error, ")


def _did_you_mean(word: str, known: Any) -> str:
    close = difflib.get_close_matches(word, list(known), n=2, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def _at_line(locate: Locate | None, loc: Loc) -> str:
    line = locate(loc) if locate else None
    return f" (line {line})" if line else ""


def _is_key(part: int | str) -> bool:
    """Location parts that are keys or list indices, not Pydantic's union/validator tags."""
    return isinstance(part, int) or not any(mark in part for mark in "[]()-")


def _fields_at(model: type[BaseModel], loc: Loc) -> set[str]:
    """Names of the keys allowed at `loc` inside `model` (empty if it is not a model)."""
    candidates: list[Any] = [model]
    for part in loc:
        candidates = [child for tp in candidates for child in _children(tp, part)]
    return {
        name
        for tp in candidates
        for base in _unwrap(tp)
        if isinstance(base, type) and issubclass(base, BaseModel)
        for name in base.model_fields
    }


def _children(tp: Any, part: int | str) -> list[Any]:
    children = []
    for base in _unwrap(tp):
        origin, args = get_origin(base), get_args(base)
        if isinstance(base, type) and issubclass(base, BaseModel) and isinstance(part, str):
            field = base.model_fields.get(part)
            children += [field.annotation] if field else []
        elif origin in (list, tuple) and isinstance(part, int) and args:
            children.append(args[0])
        elif origin is dict and len(args) == 2:
            children.append(args[1])
    return children


def _unwrap(tp: Any) -> list[Any]:
    """The concrete types behind Annotated, Optional and unions."""
    origin = get_origin(tp)
    if origin is Annotated:
        return _unwrap(get_args(tp)[0])
    if origin is Union or type(tp).__name__ == "UnionType":
        return [base for arg in get_args(tp) for base in _unwrap(arg)]
    return [tp]
