"""Plans from templates: spec + seeded providers -> a complete, valid AdvertiserCreate tree.

Pure: no files, no database, no global random state. An example is taken as written; a
profile fixes what it names and the providers (adsgen.build.providers) draw everything else,
keyed by (seed, profile, index), so the same call always gives the same plan. Within one
run, give every profile or random build its own `index`: advertiser names are distinct
per index (AdvertiserProvider.indexed_name).

Money: the providers draw in USD and a profile states its amounts in its `currency` (USD by
default); both are converted to the advertiser's currency (adsgen.domain.money, fixed rates,
rounded down to the minor unit), so a JPY advertiser gets yen budgets and CPMs. The plan is
checked against the platform here, where the two meet: a line item may only target geos the
platform serves and keys, segments and formats it sells, and its creatives must obey the
platform's creative rules (spot-length windows, mezzanine, interactive) — Platform.check_profile
for what a profile or option fixes, `platform_rules.check_line_item` for an example's line
items; what the providers draw is drawn within those rules.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from adsgen.build.platform_set import PlatformSet, platform_set
from adsgen.build.pools import DEFAULT_START, budget_shares
from adsgen.build.providers import Fakes
from adsgen.build.providers.budget import CENT, BudgetProvider
from adsgen.domain.enums import (
    AdFormat,
    Currency,
    DeviceType,
    Genre,
    Objective,
    PacingPeriod,
    PacingType,
)
from adsgen.domain.experiment import control_size_problem
from adsgen.domain.fields import to_micros, to_utc_naive
from adsgen.domain.markets import segment_cpm_factor
from adsgen.domain.money import convert
from adsgen.domain.schemas import (
    AdvertiserCreate,
    BudgetSchema,
    CampaignCreate,
    CreativeCreate,
    FlightSchema,
    LineItemCreate,
    Targeting,
)
from adsgen.exceptions import SpecError
from adsgen.seeding import rng
from adsgen.templates.platform_rules import CreativeRules, check_line_item
from adsgen.templates.spec import Example, Platform, Profile, ProfileCreatives, ProfileLineItem

__all__ = [
    "DEFAULT_START",
    "RANDOM_START_SPREAD_DAYS",
    "build_example",
    "build_profile",
    "build_random",
    "build_run_all",
    "campaign_time_zone",
    "renamed",
]

RANDOM_START_SPREAD_DAYS = 60
"""Random builds start on a day drawn from DEFAULT_START + [0, 60] when no start is given."""


def build_example(
    example: Example, *, seed: int, platform: Platform | PlatformSet | None = None
) -> AdvertiserCreate:
    """The example's advertiser with its campaign attached.

    Every field is the example's; only a line item listed without creatives gets
    provider-made ones (seeded by `seed`, the example name and the line item's position),
    so it can deliver. With `platform` (the run's platforms), each line item buys on the
    platform it names, else on each platform the example names (else the run's): a line
    item for several platforms becomes one per platform, named '<name> - <platform>', its
    budget split equally. SpecError naming the platform for a line item or creative that
    platform does not take (a geo it does not serve, a key it does not sell, a spot length
    outside its windows …); AdsgenError for a platform the run did not load.
    """
    campaign = example.campaign
    plats = None if platform is None else platform_set(platform)
    line_items = []
    for position, listed in enumerate(campaign.line_items):
        where = f"example {example.name}: campaign.line_items.{position}"
        for on, item in _per_platform(example, listed, plats, seed=seed, position=position):
            at = where
            if on is not None:
                on.check_geos(item.targeting.geo, where=f"{at}.targeting.geo")
                check_line_item(item, item.creatives, sales=on.sells,
                                rules=on.creative_rules, platform=on.name, where=at)
            if not item.creatives:
                fakes = Fakes.seeded(seed, f"example:{example.name}", position)
                creative = fakes.creative.make_profile_creative(
                    host=f"cdn.{example.advertiser.domain}",
                    devices=item.targeting.device,
                    ad_format=item.ad_format,
                    rules=on.creative_rules if on is not None else CreativeRules(),
                )
                item = item.model_copy(update={"creatives": [creative]})
            line_items.append(item)
    update: dict[str, object] = {"line_items": line_items}
    if plats is not None and campaign.time_zone is None:
        first = plats.by_name(line_items[0].platform or "") if line_items else plats.primary
        update["time_zone"] = campaign_time_zone(line_items, first)
    campaign = campaign.model_copy(update=update)
    return _revalidated(example.advertiser.model_copy(update={"campaigns": [campaign]}))


def _per_platform(
    example: Example, item: LineItemCreate, plats: PlatformSet | None, *, seed: int,
    position: int,
) -> list[tuple[Platform | None, LineItemCreate]]:
    """The line item on each platform it buys on (see `build_example`), with its platform."""
    if plats is None:
        return [(None, item)]
    names = [item.platform] if item.platform else (
        list(example.platforms) or list(plats.default_names))
    if len(names) == 1:
        return [(plats.by_name(names[0]), item.model_copy(update={"platform": names[0]}))]
    fakes = Fakes.seeded(seed, f"example:{example.name}", position)
    budgets = fakes.budget.split(item.budget, [1.0 / len(names)] * len(names))
    return [(plats.by_name(name), item.model_copy(update={
        "platform": name, "name": f"{item.name} - {name}", "budget": budget}))
        for name, budget in zip(names, budgets, strict=True)]


def build_profile(
    profile: Profile,
    *,
    seed: int,
    index: int = 0,
    platform: Platform | PlatformSet,
    start: datetime | None = None,
    avoid: Collection[str] = frozenset(),
    currency: Currency | None = None,
) -> AdvertiserCreate:
    """One advertiser with one campaign following `profile`; the providers fill the rest.

    `start` (hour-aligned UTC) overrides the profile's start, which overrides DEFAULT_START.
    Deterministic per (seed, profile name, index). Different indices give different
    advertiser names; a name in `avoid` (say, already in the database) gets ' 2', ' 3' …
    appended. Money is in `currency` (None: the profile's). Raises SpecError for a geo the
    platform does not serve, ValueError only when fixed values contradict each other in a
    way validation cannot see (a budget too small to split between the line items).
    """
    return _build(profile, seed=seed, index=index, platform=platform, start=start,
                  stream=f"profile:{profile.name}", avoid=avoid, currency=currency)


def build_random(
    *,
    seed: int,
    index: int,
    platform: Platform | PlatformSet,
    profiles: Sequence[Profile] | None = None,
    start: datetime | None = None,
    avoid: Collection[str] = frozenset(),
    currency: Currency | None = None,
) -> AdvertiserCreate:
    """An advertiser from a profile drawn at random by the profiles' `weight` (`run-all
    --scale N`), its money in `currency` (None: the profile's).

    `profiles` defaults to the bundled ones. Without a `start` (from the caller or the
    profile), the flight starts on a random day within RANDOM_START_SPREAD_DAYS of
    DEFAULT_START, so a scaled dataset has staggered campaigns.
    """
    if profiles is None:
        from adsgen.templates.catalog import profiles as bundled_profiles

        profiles = bundled_profiles()
    if not profiles:
        raise ValueError("build_random needs at least one profile")
    draw = rng(seed, "random-profile", index)
    weights = [p.weight for p in profiles]
    profile = profiles[int(draw.choice(len(profiles), p=[w / sum(weights) for w in weights]))]
    offset = int(draw.integers(RANDOM_START_SPREAD_DAYS + 1))
    if start is None and profile.start is None:
        start = DEFAULT_START + timedelta(days=offset)
    return _build(profile, seed=seed, index=index, platform=platform, start=start,
                  stream=f"random:{profile.name}", avoid=avoid, currency=currency)


def build_run_all(
    *,
    seed: int,
    platform: Platform | PlatformSet,
    scale: int = 0,
    examples: Sequence[Example] | None = None,
    profiles: Sequence[Profile] | None = None,
    avoid: Collection[str] = frozenset(),
) -> list[AdvertiserCreate]:
    """The default dataset: every example, one advertiser per profile, then `scale` random ones.

    Examples and profiles default to the bundled ones (sorted by name; examples only those
    buying on platforms `platform` holds). Profiles take
    indices 0..P-1 and random builds P..P+scale-1, so all names differ from each other,
    from the examples' and from `avoid`.
    """
    if examples is None or profiles is None:
        from adsgen.templates import catalog

        if examples is None:  # the bundled ones whose platforms the run loads
            loaded = set(platform_set(platform).names)
            examples = [example for example in map(catalog.get_example, catalog.names("examples"))
                        if set(example.platforms) <= loaded]
        if profiles is None:
            profiles = catalog.profiles()
    plan = [build_example(example, seed=seed, platform=platform) for example in examples]
    taken = set(avoid) | {advertiser.name for advertiser in plan}
    for index in range(len(profiles) + scale):
        if index < len(profiles):
            advertiser = build_profile(
                profiles[index], seed=seed, index=index, platform=platform, avoid=taken
            )
        else:
            advertiser = build_random(
                seed=seed, index=index, platform=platform, profiles=profiles, avoid=taken
            )
        taken.add(advertiser.name)
        plan.append(advertiser)
    return plan


def campaign_time_zone(line_items: Sequence[LineItemCreate], platform: Platform) -> str:
    """The pacing-day zone of a campaign that names none: the platform's zone of the first
    geo its line items target (in their order), else of the platform's default geo."""
    return platform.time_zone(geo for item in line_items for geo in item.targeting.geo)


# --- the profile build, step by step ---------------------------------------------------------


def _build(
    profile: Profile,
    *,
    seed: int,
    index: int,
    platform: Platform | PlatformSet,
    start: datetime | None,
    stream: str,
    avoid: Collection[str],
    currency: Currency | None,
) -> AdvertiserCreate:
    """The profile's advertiser; its campaign buys on the platforms the profile names, else
    on the run's: one platform's line items exactly as drawn, several platforms' as each
    drawn line item on each platform ('<name> - <platform>', the budget split equally)."""
    plats = platform_set(platform)
    buying = [plats.by_name(name) for name in (profile.platforms or plats.default_names)]
    for on in buying:
        on.check_profile(profile)
    first = buying[0]
    fakes = Fakes.seeded(seed, stream, index)
    currency = currency or profile.currency
    industry = profile.industry or fakes.advertiser.industry()
    name = _free_name(fakes.advertiser.indexed_name(industry, seed=seed, index=index), avoid)
    domain = fakes.advertiser.advertiser_domain(name)
    objective = profile.objective or fakes.budget.objective()
    first_hour = to_utc_naive(start or profile.start or DEFAULT_START)
    days = profile.flight_days or fakes.budget.flight_days()
    flight = FlightSchema(start=first_hour, end=first_hour + timedelta(days=days))
    budget = _campaign_budget(
        profile, fakes, flight, objective=objective, platform=first, currency=currency
    )
    settings = profile.line_item_settings() or [profile.defaults()] * (
        profile.line_item_count or fakes.budget.line_item_count()
    )
    shares = [share / len(buying) for _ in buying for share in budget_shares(settings)]
    budgets = fakes.budget.split(budget, shares)
    line_items: list[LineItemCreate] = []
    for (on, item_settings), item_budget in zip(
            [(on, s) for on in buying for s in settings], budgets, strict=True):
        line_item = _line_item(
            item_settings, fakes, budget=item_budget, flight=flight, objective=objective,
            platform=on, host=f"cdn.{domain}", source=profile.currency,
            profile=profile.name,
        )
        if len(buying) > 1:
            line_item = line_item.model_copy(
                update={"name": f"{line_item.name} - {on.name}"})
        line_items.append(renamed(line_item, {li.name for li in line_items}))
    campaign = CampaignCreate(
        name=fakes.advertiser.campaign_name(objective),
        objective=objective,
        dsp_partner=profile.dsp_partner or fakes.budget.dsp_partner(),
        budget=budget,
        flight=flight,
        frequency_cap=profile.campaign_frequency_cap,
        time_zone=profile.time_zone or campaign_time_zone(line_items, first),
        line_items=line_items,
    )
    return AdvertiserCreate(
        name=name, industry=industry, domain=domain, currency=currency, campaigns=[campaign]
    )


def _campaign_budget(
    profile: Profile, fakes: Fakes, flight: FlightSchema, *, objective: Objective,
    platform: Platform, currency: Currency,
) -> BudgetSchema:
    """The profile's budget range and pacing where fixed, drawn where not (DV360-valid),
    in `currency`: drawn USD and the profile's amounts converted."""
    drawn, _ = fakes.budget.fake_budget_and_cpm(objective, platform, flight)
    amount = convert(drawn.amount, currency)
    if profile.budget is not None:
        fixed = _draw_between(fakes, profile.budget, BudgetProvider.BUDGET_STEP)
        amount = convert(fixed, currency, source=profile.currency)
    pacing_type = profile.pacing_type or drawn.pacing_type
    pacing_period = profile.pacing_period or drawn.pacing_period
    if (pacing_type, pacing_period) == (PacingType.asap, PacingPeriod.flight):
        if profile.pacing_type is PacingType.asap:
            pacing_period = PacingPeriod.daily
        else:
            pacing_type = PacingType.even
    return fakes.budget.budget(
        amount, flight, pacing=(pacing_type, pacing_period), currency=currency
    )


def _draw_between(fakes: Fakes, bounds: tuple[Decimal, Decimal], step: Decimal) -> Decimal:
    """A fixed value, or a draw in [low, high] in whole `step`s when the range allows."""
    low, high = bounds
    return fakes.budget.amount_between(low, high, step if high - low >= step else CENT)


def _line_item(
    settings: ProfileLineItem,
    fakes: Fakes,
    *,
    budget: BudgetSchema,
    flight: FlightSchema,
    objective: Objective,
    platform: Platform,
    host: str,
    source: Currency,
    profile: str,
) -> LineItemCreate:
    """One line item: fixed settings kept, the rest drawn, creatives made to fit it; its
    CPM in the budget's currency (a fixed one converted from `source`, a drawn one from USD).
    """
    fixed = settings.model_fields_set
    budget = fakes.budget.with_daily_cap(budget, flight)
    targeting = fakes.targeting.fake_targeting(platform, fixed=settings.targeting)
    currency = budget.currency
    if settings.cpm is not None:
        cpm = convert(
            _draw_between(fakes, settings.cpm, BudgetProvider.CPM_STEP), currency, source=source
        )
    else:  # a drawn CPM carries the data premium of the audience segments targeted
        cpm = convert(fakes.budget.cpm(objective, platform, premium=segment_cpm_factor(
            targeting.segment)), currency)
    frequency_cap = (
        settings.frequency_cap
        if "frequency_cap" in fixed
        else fakes.targeting.fake_frequency_cap(objective)
    )
    spec = settings.creatives or ProfileCreatives()
    ad_format = spec.ad_format or (
        AdFormat.interactive_video if spec.interactive else AdFormat.video
    )
    creatives = _creatives(spec, fakes, ad_format=ad_format, devices=targeting.device, host=host,
                           rules=platform.creative_rules)
    problem = control_size_problem(
        settings.experiment, budget_micros=budget.lifetime_micros(flight),
        cpm_micros=to_micros(cpm))
    if problem:
        raise SpecError(problem, where=f"profile {profile}")
    return LineItemCreate(
        name=settings.name or _line_item_name(targeting),
        experiment=settings.experiment,
        ad_format=ad_format,
        position=settings.position or fakes.creative.ad_position(),
        cpm=cpm,
        budget=budget,
        flight=flight,
        frequency_cap=frequency_cap,
        targeting=targeting,
        creatives=creatives,
        platform=platform.name,
    )


def _creatives(
    spec: ProfileCreatives,
    fakes: Fakes,
    *,
    ad_format: AdFormat,
    devices: Sequence[DeviceType],
    host: str,
    rules: CreativeRules,
) -> list[CreativeCreate]:
    made: list[CreativeCreate] = []
    for _ in range(spec.count or fakes.creative.creative_count()):
        creative = fakes.creative.make_profile_creative(
            host=host,
            devices=devices,
            ad_format=ad_format,
            durations=spec.durations,
            mime_type=spec.mime_type,
            has_qr=spec.qr,
            interactive=spec.interactive,
            rules=rules,
        )
        made.append(renamed(creative, {c.name for c in made}))
    return made


def _line_item_name(targeting: Targeting) -> str:
    """'CTV - Drama', 'Mobile + Desktop - Comedy + Reality', 'All Devices - All Genres'."""
    devices = " + ".join(_device_label(d) for d in targeting.device) or "All Devices"
    genres = " + ".join(_genre_label(g) for g in targeting.genre) or "All Genres"
    return f"{devices} - {genres}"


def _device_label(device: DeviceType) -> str:
    return "CTV" if device is DeviceType.ctv else device.value.title()


def _genre_label(genre: Genre) -> str:
    return genre.value.replace("_", " ").title()


_Named = TypeVar("_Named", CampaignCreate, LineItemCreate, CreativeCreate)


def renamed(entity: _Named, taken: Collection[str]) -> _Named:
    """The entity with ' #2', ' #3' … appended to its name while the name is taken.

    Names are unique per parent (campaigns per advertiser, line items per campaign,
    creatives per line item) and the drawn name pools are small, so every drawn entity
    goes through here with its siblings' names; the result depends only on those names.
    """
    name, number = entity.name, 1
    while name in taken:
        number += 1
        name = f"{entity.name} #{number}"
    return entity if name == entity.name else entity.model_copy(update={"name": name})


def _free_name(name: str, taken: Collection[str]) -> str:
    """`name`, or `name 2`, `name 3` … the first not in `taken`."""
    candidate, number = name, 1
    while candidate in taken:
        number += 1
        candidate = f"{name} {number}"
    return candidate


def _revalidated(advertiser: AdvertiserCreate) -> AdvertiserCreate:
    """Run every cross-entity rule again on a tree assembled with `model_copy`."""
    return AdvertiserCreate.model_validate(advertiser.model_dump())
