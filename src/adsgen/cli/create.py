"""The create-* commands: one advertiser, campaign, line item or creative at a time.

Options become the same spec objects a YAML profile does (`--budget` → `Profile.budget`,
`--device` → `targeting.device` …): what you give is fixed, the providers draw the rest,
and `--auto` draws everything. Validation is the schemas' own; a problem is reported on one
line naming the option (`--budget: ...`). New line items are simulated unless
`--no-simulate`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from adsgen.cli.application import State, command, int64_from
from adsgen.cli.commands import (
    PlatformOption,
    SimulateOption,
    TemplatesDir,
    date_option,
    run_and_show,
)
from adsgen.domain.enums import (
    AdFormat,
    AdPosition,
    CreativeMimeType,
    Currency,
    DeviceType,
    DspPartner,
    Genre,
    Industry,
    Objective,
    PacingPeriod,
    PacingType,
)
from adsgen.exceptions import AdsgenError, SpecError

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError

    from adsgen.templates.spec import Profile

__all__ = ["validated_options", "validated_value"]

_M = TypeVar("_M", bound="BaseModel")


def _one_of(enum: type[Any]) -> str:
    return "one of " + ", ".join(str(member) for member in enum)


def _durations() -> str:
    return ", ".join(map(str, sorted(AdFormat.video.allowed_durations)))


# --- options shared by several create-* commands -----------------------------------------

Auto = Annotated[bool, typer.Option("--auto", help="Draw every value (realistic mixes).")]
Name = Annotated[str | None, typer.Option("--name", help="Its name (drawn when left out).")]
Budget = Annotated[
    str | None,
    typer.Option("--budget", metavar="AMOUNT", help="Lifetime budget, e.g. 50000 or 50000.00."),
]
Cpm = Annotated[
    str | None, typer.Option("--cpm", metavar="AMOUNT", help="CPM, 0.50 to 500.00, e.g. 25.")
]
Start = Annotated[
    datetime | None, date_option("--start", "First hour of the flight (a date means 00:00).")
]
Days = Annotated[int | None, typer.Option("--days", help="Flight length in days.")]
End = Annotated[
    datetime | None, date_option("--end", "End of the flight, excluded (instead of --days).")
]
Devices = Annotated[
    list[str] | None,
    typer.Option("--device", metavar="DEVICE", help=f"Target a device ({_one_of(DeviceType)}); "
                                                    "repeat for more."),
]
Genres = Annotated[
    list[str] | None,
    typer.Option("--genre", metavar="GENRE", help=f"Target a genre ({_one_of(Genre)}); "
                                                  "repeat for more."),
]
Geos = Annotated[
    list[str] | None,
    typer.Option("--geo", metavar="CC", help="Target a country (ISO 3166-1 alpha-2, e.g. US); "
                                             "repeat for more."),
]
Dmas = Annotated[
    list[str] | None,
    typer.Option("--dma", metavar="CODE", help="Target a US DMA by its Nielsen code (e.g. 501 "
                                               "New York), where the platform sells it; "
                                               "repeat for more."),
]
States = Annotated[
    list[str] | None,
    typer.Option("--state", metavar="ST", help="Target a US state (USPS code, e.g. CA), where "
                                               "the platform sells it; repeat for more."),
]
Segments = Annotated[
    list[str] | None,
    typer.Option("--segment", metavar="SEGMENT", help="Target an audience segment (e.g. "
                                                      "age_18_34, in_market_auto), where the "
                                                      "platform sells its kind; repeat for more."),
]
Position = Annotated[
    str | None, typer.Option("--position", help=f"Ad position, {_one_of(AdPosition)}.")
]
Creatives = Annotated[
    int | None, typer.Option("--creatives", min=1, help="Creatives per line item.")
]
Durations = Annotated[
    list[int] | None,
    typer.Option("--duration", metavar="SECONDS",
                 help=f"Allowed spot length ({_durations()} s); repeat for more."),
]
Qr = Annotated[
    bool | None, typer.Option("--qr/--no-qr", help="Creatives with (or without) a QR code.")
]

# Where a key path of the spec models comes from on the command line.
_FLAGS: dict[str, str] = {
    "name": "--name", "industry": "--industry", "domain": "--domain", "currency": "--currency",
    "objective": "--objective", "dsp_partner": "--dsp", "budget": "--budget", "cpm": "--cpm",
    "start": "--start", "end": "--end", "flight_days": "--days", "pacing_type": "--pacing",
    "pacing_period": "--pacing-period", "position": "--position",
    "line_item_count": "--line-items", "targeting.device": "--device",
    "targeting.genre": "--genre", "targeting.geo": "--geo", "creatives.count": "--creatives",
    "targeting.dma": "--dma", "targeting.state": "--state", "targeting.segment": "--segment",
    "creatives.durations": "--duration", "creatives.qr": "--qr", "durations": "--duration",
    "ad_format": "--format", "creatives.ad_format": "--format", "mime_type": "--mime-type",
    "qr": "--qr", "interactive": "--interactive", "profile": "--profile",
    "line_items": "--line-items", "targeting": "--device/--genre/--geo/--dma/--state/--segment",
    "creatives": "--creatives/--duration/--qr", "time_zone": "--time-zone",
}


def validated_options(model: type[_M], data: Mapping[str, Any], *, what: str) -> _M:
    """`model` from option values; SpecError naming the option (`--budget: ...`) if invalid.

    `what` names the thing when the problem is not one option's (`flight: end ... before`).
    """
    from pydantic import ValidationError

    try:
        return model.model_validate(dict(data))
    except ValidationError as error:
        raise _option_error(error, what=what) from None


def validated_value(kind: Any, value: Any, *, option: str) -> Any:
    """One option's value checked as a field type (Money, Name …); SpecError naming it."""
    from pydantic import TypeAdapter, ValidationError

    try:
        return TypeAdapter(kind).validate_python(value)
    except ValidationError as error:
        raise _option_error(error, what=option) from None


def _option_error(error: ValidationError, *, what: str) -> SpecError:
    item = error.errors(include_url=False)[0]
    parts = [str(p) for p in item["loc"] if isinstance(p, int) or not re.search(r"[\[\]()-]", p)]
    keys = [p for p in parts if not p.isdigit()]
    path = ".".join(keys)
    prefixes = (".".join(keys[:n]) for n in range(len(keys), 0, -1))
    flag = next((_FLAGS[prefix] for prefix in prefixes if prefix in _FLAGS), None)
    message = str(item["msg"]).removeprefix("Value error, ")
    if item["type"] in ("enum", "literal_error"):
        allowed = re.findall(r"'([^']*)'", str(item.get("ctx", {}).get("expected", "")))
        close = difflib.get_close_matches(str(item["input"]), allowed, n=2, cutoff=0.6)
        hint = f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""
        message = f"{item['input']!r} is not allowed{hint}; allowed: {', '.join(allowed)}"
    elif item["type"] == "missing":
        message = "required"
    where = flag or (f"{what}: {path}" if path else what)
    more = len(error.errors()) - 1
    return SpecError(message + (f" [{more} more problems]" if more else ""), where=where)


def _given(**values: Any) -> dict[str, Any]:
    """The options the user gave (None and empty lists are options left out)."""
    return {key: value for key, value in values.items() if value not in (None, [])}


def _flight_days(start: datetime | None, days: int | None, end: datetime | None) -> int | None:
    """--days, or the whole days from --start to --end (validated as a flight)."""
    if end is None:
        return days
    if start is None or days is not None:
        raise AdsgenError("--end needs --start and replaces --days; give --start with one of them")
    from adsgen.domain.schemas import FlightSchema

    flight = validated_options(FlightSchema, {"start": start, "end": end}, what="--start/--end")
    if flight.hours % 24:
        raise SpecError(f"the flight must last whole days; it lasts {flight.hours} hours",
                        where="--end")
    return flight.days


def _auto_or_given(auto: bool, given: Mapping[str, Any], *, entity: str) -> None:
    if auto and given:
        options = ", ".join(sorted(_FLAGS.get(k, f"--{k}") for k in given))
        raise AdsgenError(f"--auto draws every value of the {entity}; drop {options} or --auto")
    if not auto and not given:
        raise AdsgenError(
            f"give --auto to draw the {entity}, or the values to fix (see --help)"
        )


# --- commands -----------------------------------------------------------------------------


@command("create-advertiser", rich_help_panel="Create one entity")
def create_advertiser_command(
    ctx: typer.Context,
    auto: Auto = False,
    name: Name = None,
    industry: Annotated[
        str | None, typer.Option("--industry", help=f"Industry, {_one_of(Industry)}.")
    ] = None,
    domain: Annotated[
        str | None,
        typer.Option("--domain", help="Its web host, e.g. luxuryautoco.example "
                                      "(default: from the name)."),
    ] = None,
    currency: Annotated[
        str | None, typer.Option("--currency", help=f"Currency, {_one_of(Currency)}.")
    ] = None,
    campaigns: Annotated[
        int, typer.Option("--campaigns", min=0, help="Also draw this many campaigns.")
    ] = 0,
    templates_dir: TemplatesDir = None,
    platform: PlatformOption = None,
    simulate: SimulateOption = True,
) -> None:
    """Create an advertiser: --auto, or --name and --industry.

    It has no campaigns unless --campaigns N draws some (with line items, creatives and
    their performance).
    """
    state = State.of(ctx)
    given = _given(name=name, industry=industry, domain=domain, currency=currency)
    _auto_or_given(auto, given, entity="advertiser")
    from adsgen.build.providers.advertiser import slugify
    from adsgen.domain.schemas import AdvertiserCreate
    from adsgen.runs import grow

    advertiser = None
    if not auto:
        if name is not None and domain is None:
            given["domain"] = f"{slugify(name)}.example"
        advertiser = validated_options(AdvertiserCreate, given, what="advertiser")
    run_and_show(
        state, grow.create_advertiser, advertiser, campaigns=campaigns,
        templates_dir=templates_dir, simulate=simulate, title="Advertiser created",
        platform=platform,
    )


@command("create-campaign", rich_help_panel="Create one entity")
def create_campaign_command(
    ctx: typer.Context,
    advertiser_id: Annotated[
        int, typer.Option("--advertiser-id", callback=int64_from(1), help="Its advertiser.")
    ],
    auto: Auto = False,
    profile: Annotated[
        str | None,
        typer.Option("--profile", help="Start from this profile (`adsgen list profiles`); "
                                       "the options below override it."),
    ] = None,
    name: Name = None,
    objective: Annotated[
        str | None, typer.Option("--objective", help=f"Objective, {_one_of(Objective)}.")
    ] = None,
    budget: Budget = None,
    cpm: Cpm = None,
    start: Start = None,
    days: Days = None,
    end: End = None,
    pacing: Annotated[
        str | None, typer.Option("--pacing", help=f"Pacing, {_one_of(PacingType)}.")
    ] = None,
    pacing_period: Annotated[
        str | None,
        typer.Option("--pacing-period", help=f"Pacing period, {_one_of(PacingPeriod)}."),
    ] = None,
    dsp: Annotated[
        str | None, typer.Option("--dsp", help=f"DSP partner, {_one_of(DspPartner)}.")
    ] = None,
    time_zone: Annotated[
        str | None,
        typer.Option("--time-zone", metavar="ZONE",
                     help="IANA time zone of its pacing day, e.g. America/New_York (default: "
                          "the platform's zone of the first targeted geo)."),
    ] = None,
    device: Devices = None,
    genre: Genres = None,
    geo: Geos = None,
    dma: Dmas = None,
    us_state: States = None,
    segment: Segments = None,
    position: Position = None,
    line_items: Annotated[
        int | None,
        typer.Option("--line-items", min=0,
                     help="Number of line items; 0 for none (add them with create-line-item)."),
    ] = None,
    creatives: Creatives = None,
    duration: Durations = None,
    qr: Qr = None,
    templates_dir: TemplatesDir = None,
    platform: PlatformOption = None,
    simulate: SimulateOption = True,
) -> None:
    """Add a campaign with line items and creatives to an advertiser.

    --auto draws it from a random profile; otherwise the options you give are fixed and the
    rest is drawn, as a profile would (--profile P starts from profile P).
    """
    state = State.of(ctx)
    settings = _given(
        objective=objective, budget=budget, cpm=cpm, start=start,
        flight_days=_flight_days(start, days, end), pacing_type=pacing,
        pacing_period=pacing_period, dsp_partner=dsp, time_zone=time_zone, position=position,
        line_item_count=line_items or None,
        targeting=_given(device=device, genre=genre, geo=geo, dma=dma, state=us_state,
                         segment=segment) or None,
        creatives=_given(count=creatives, durations=duration, qr=qr) or None,
    )
    _auto_or_given(auto, {**settings, **_given(profile=profile, name=name,
                                               line_items=line_items)}, entity="campaign")
    from adsgen.runs import grow

    spec = None if not (settings or profile) else _profile(profile, settings, templates_dir)
    run_and_show(
        state, grow.create_campaign, advertiser_id, profile=spec, name=name,
        line_items=line_items != 0, templates_dir=templates_dir, simulate=simulate,
        title="Campaign created", platform=platform,
    )


def _profile(base: str | None, settings: dict[str, Any], templates_dir: Any) -> Profile:
    """A profile from the options, over the named profile's own settings when given."""
    from adsgen.templates.catalog import get_profile
    from adsgen.templates.spec import Profile

    data: dict[str, Any] = {"name": "options"}
    if base is not None:
        dirs = () if templates_dir is None else (templates_dir,)
        data = get_profile(base, dirs).model_dump(exclude_unset=True)
    for key, value in settings.items():
        merge = isinstance(value, dict) and isinstance(data.get(key), dict)
        data[key] = {**data[key], **value} if merge else value
    return validated_options(Profile, data, what="campaign")


@command("create-line-item", rich_help_panel="Create one entity")
def create_line_item_command(
    ctx: typer.Context,
    campaign_id: Annotated[
        int, typer.Option("--campaign-id", callback=int64_from(1), help="Its campaign.")
    ],
    auto: Auto = False,
    name: Name = None,
    budget: Annotated[
        str | None,
        typer.Option("--budget", metavar="AMOUNT",
                     help="Lifetime budget (default: what the campaign has left)."),
    ] = None,
    cpm: Cpm = None,
    start: Start = None,
    days: Days = None,
    end: End = None,
    position: Position = None,
    device: Devices = None,
    genre: Genres = None,
    geo: Geos = None,
    dma: Dmas = None,
    us_state: States = None,
    segment: Segments = None,
    creatives: Creatives = None,
    duration: Durations = None,
    qr: Qr = None,
    templates_dir: TemplatesDir = None,
    platform: PlatformOption = None,
    simulate: SimulateOption = True,
) -> None:
    """Add a line item with creatives to a campaign.

    It must fit the campaign's budget and flight; by default it takes the campaign's flight
    and what is left of its budget.
    """
    state = State.of(ctx)
    settings = _given(
        name=name, cpm=cpm, position=position,
        targeting=_given(device=device, genre=genre, geo=geo, dma=dma, state=us_state,
                         segment=segment) or None,
        creatives=_given(count=creatives, durations=duration, qr=qr) or None,
    )
    flight_options = _given(start=start, flight_days=days, end=end)
    _auto_or_given(auto, {**settings, **flight_options, **_given(budget=budget)},
                   entity="line item")
    from adsgen.domain.fields import FlightStart, Money
    from adsgen.domain.schemas import FlightSchema
    from adsgen.runs.grow import create_line_item
    from adsgen.templates.spec import ProfileLineItem

    line_item = validated_options(ProfileLineItem, settings, what="line item")
    flight = None
    if flight_options:
        if start is not None:  # before the end is computed from it
            validated_value(FlightStart, start, option="--start")
        length = _flight_days(start, days, end)
        if start is None or length is None:
            raise AdsgenError("give --start with --days or --end (or none of them for the "
                              "campaign's flight)")
        flight = validated_options(
            FlightSchema, {"start": start, "end": start + timedelta(days=length)},
            what="--start/--days",
        )
    amount = None if budget is None else validated_value(Money, budget, option="--budget")
    run_and_show(
        state, create_line_item, campaign_id, settings=line_item, budget=amount, flight=flight,
        templates_dir=templates_dir, simulate=simulate, title="Line item created",
        platform=platform,
    )


@command("create-creative", rich_help_panel="Create one entity")
def create_creative_command(
    ctx: typer.Context,
    line_item_id: Annotated[
        int, typer.Option("--line-item-id", callback=int64_from(1), help="Its line item.")
    ],
    auto: Auto = False,
    name: Name = None,
    ad_format: Annotated[
        str | None,
        typer.Option("--format", help=f"Ad format, {_one_of(AdFormat)} (default: the line "
                                      "item's)."),
    ] = None,
    mime_type: Annotated[
        str | None, typer.Option("--mime-type", help=f"MIME type, {_one_of(CreativeMimeType)}.")
    ] = None,
    duration: Annotated[
        int | None,
        typer.Option("--duration", metavar="SECONDS", help=f"Spot length ({_durations()} s)."),
    ] = None,
    qr: Qr = None,
    interactive: Annotated[
        bool | None,
        typer.Option("--interactive/--no-interactive",
                     help="An interactive creative (needs --format interactive_video)."),
    ] = None,
    templates_dir: TemplatesDir = None,
    platform: PlatformOption = None,
    simulate: SimulateOption = True,
) -> None:
    """Add a creative to a line item and re-simulate the line item.

    The creative fits the line item's format and devices; what you leave out is drawn.
    """
    state = State.of(ctx)
    settings = _given(ad_format=ad_format, mime_type=mime_type,
                      durations=None if duration is None else [duration], qr=qr,
                      interactive=interactive)
    _auto_or_given(auto, {**settings, **_given(name=name)}, entity="creative")
    from adsgen.domain.fields import Name as NameType
    from adsgen.runs.grow import create_creative
    from adsgen.templates.spec import ProfileCreatives

    spec = validated_options(ProfileCreatives, settings, what="creative")
    checked_name = None if name is None else validated_value(NameType, name, option="--name")
    run_and_show(
        state, create_creative, line_item_id, spec=spec, name=checked_name,
        templates_dir=templates_dir, simulate=simulate, title="Creative created",
        platform=platform,
    )
