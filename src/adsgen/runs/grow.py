"""Growing a dataset: the `create-*` commands, each adding entities to what the database
holds (an example, advertisers from a profile, a drawn advertiser or campaign, line items
and creatives for existing parents).

Each public command runs in one transaction (a failure leaves the database
as it was) and simulates what it adds unless told not to. What the caller fixes is kept,
the providers draw the rest (the way a profile works), and the result must fit its parent:
a line item within the campaign's budget and flight, a creative within its line item's
format and devices. Draws are keyed by the seed and the number of rows already in the
table, so the same commands on the same database give the same data.
"""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from adsgen.domain.enums import Currency
from adsgen.domain.fields import error_lines, from_micros
from adsgen.domain.money import minor_unit, shown_amount
from adsgen.domain.schemas import (
    AdvertiserCreate,
    CampaignCreate,
    FlightSchema,
    LineItemCreate,
    check_currency,
)
from adsgen.exceptions import AdsgenError, SpecError
from adsgen.runs.jobs import (
    Job,
    Progress,
    RunSummary,
    job,
    no_progress,
    platform_names,
    taken_names,
    template_dirs,
    template_file,
)
from adsgen.storage import orm
from adsgen.templates.catalog import check_buys_on
from adsgen.templates.spec import Platform, Profile, ProfileCreatives, ProfileLineItem

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.orm import Session

__all__ = [
    "CAMPAIGN_DRAW_INDEX",
    "campaign_for",
    "create_advertiser",
    "create_campaign",
    "create_creative",
    "create_example",
    "create_line_item",
    "create_profile",
    "with_drawn_campaigns",
]

CAMPAIGN_DRAW_INDEX = 1_000_000
"""Campaigns drawn for existing advertisers take provider indices from here on, apart from
the indices of drawn advertisers (0, 1, …), so the two never repeat each other's draws."""

_M = TypeVar("_M", bound=BaseModel)


# --- commands --------------------------------------------------------------------------------


def create_example(
    name: str,
    *,
    db: str | None = None,
    seed: int = 42,
    template: Path | str | None = None,
    templates_dir: Path | None = None,
    platform: str = "netflix_like",
    simulate: bool = True,
    progress: Progress = no_progress,
) -> RunSummary:
    """Create one example and its performance: from `template` (a path, or the name of a
    bundled examples file such as netflix-ads-examples.yml), else from the bundled ones."""
    from adsgen.build.plans import build_example
    from adsgen.registry import registry
    from adsgen.templates.catalog import get_example

    file = template_file(template)
    example = (
        registry.example(name, extra_dirs=template_dirs(templates_dir))
        if file is None
        else get_example(name, template=file, extra_dirs=template_dirs(templates_dir))
    )
    check_buys_on(example, platform, known=platform_names(templates_dir))
    with job(
        db=db, seed=seed, platform=platform, templates_dir=templates_dir, progress=progress
    ) as run:
        advertiser = build_example(example, seed=seed, platform=run.include([example]))
        run.persist([advertiser], simulate=simulate)
    return run.summary


def create_profile(
    name: str,
    *,
    db: str | None = None,
    seed: int = 42,
    count: int = 1,
    templates_dir: Path | None = None,
    platform: str = "netflix_like",
    simulate: bool = True,
    progress: Progress = no_progress,
) -> RunSummary:
    """Create `count` advertisers from a profile, with their performance."""
    from adsgen.build.plans import build_profile
    from adsgen.registry import registry

    if count < 1:
        raise AdsgenError(f"--count must be at least 1, got {count}")
    profile = registry.profile(name, extra_dirs=template_dirs(templates_dir))
    check_buys_on(profile, platform, known=platform_names(templates_dir))
    with job(
        db=db, seed=seed, platform=platform, templates_dir=templates_dir, progress=progress
    ) as run:
        taken = taken_names(run.session)
        advertisers: list[AdvertiserCreate] = []
        for i in range(count):
            made = build_profile(
                profile, seed=seed, index=len(taken) + i, platform=run.include([profile]),
                avoid=taken,
            )
            advertisers.append(made)
            taken.add(made.name)
        run.persist(advertisers, simulate=simulate)
    return run.summary


def create_advertiser(
    advertiser: AdvertiserCreate | None = None,
    *,
    db: str | None = None,
    seed: int = 42,
    campaigns: int = 0,
    platform: str = "netflix_like",
    templates_dir: Path | None = None,
    simulate: bool = True,
    progress: Progress = no_progress,
    changes: bool = False,
) -> RunSummary:
    """Create an advertiser as given, or (None) one drawn by the providers, with its plan
    and `campaigns` more drawn campaigns (a drawn advertiser has none otherwise).
    `changes`: log every created row as a change event (the API's creates do)."""
    from adsgen.build.plans import build_random
    from adsgen.runs import capacity

    if campaigns < 0:
        raise AdsgenError(f"--campaigns must be 0 or more, got {campaigns}")
    capacity.check_memory(capacity.BASE_BYTES + campaigns * capacity.CAMPAIGN_BYTES,
                          f"create-advertiser --campaigns {campaigns:,}")
    with job(
        db=db, seed=seed, platform=platform, templates_dir=templates_dir, progress=progress,
        changes=changes,
    ) as run:
        if advertiser is None:
            taken = taken_names(run.session)
            advertiser = build_random(
                seed=seed, index=len(taken), platform=run.platform, avoid=taken
            ).model_copy(update={"campaigns": []})
        if campaigns:
            advertiser = with_drawn_campaigns(
                run.session, advertiser, campaigns, seed=seed, platform=run.platform
            )
        run.persist([advertiser], simulate=simulate)
    return run.summary


def create_campaign(
    advertiser_id: int,
    campaign: CampaignCreate | None = None,
    *,
    profile: Profile | None = None,
    name: str | None = None,
    line_items: bool = True,
    db: str | None = None,
    seed: int = 42,
    platform: str = "netflix_like",
    templates_dir: Path | None = None,
    simulate: bool = True,
    progress: Progress = no_progress,
    changes: bool = False,
) -> RunSummary:
    """Add a campaign to an existing advertiser: as given, else built from `profile` (None:
    a random bundled profile), renamed to `name`, without line items unless `line_items`.
    `changes`: log every created row as a change event (the API's creates do)."""
    from adsgen.storage.persist import add_campaign

    with job(
        db=db, seed=seed, platform=platform, templates_dir=templates_dir, progress=progress,
        changes=changes,
    ) as run:
        campaign = campaign_for(
            run.session,
            advertiser_id,
            campaign,
            profile=profile,
            name=name,
            line_items=line_items,
            seed=seed,
            platform=run.platform,
        )
        saved = add_campaign(run.session, advertiser_id, campaign)
        run.record("campaigns", [saved])
        run.record("line_items", saved.line_items)
        run.record("creatives", [c for item in saved.line_items for c in item.creatives])
        if simulate:
            run.simulate([item.id for item in saved.line_items])
    return run.summary



def create_line_item(
    campaign_id: int,
    *,
    settings: ProfileLineItem | None = None,
    budget: Decimal | None = None,
    flight: FlightSchema | None = None,
    db: str | None = None,
    seed: int = 42,
    platform: str = "netflix_like",
    templates_dir: Path | None = None,
    simulate: bool = True,
    progress: Progress = no_progress,
) -> RunSummary:
    """Add a line item (with creatives) to an existing campaign.

    `settings` fixes what it names, the providers draw the rest; money (`budget`, a fixed
    CPM) is in the campaign's currency. The flight defaults to the campaign's, the budget to
    what the campaign's line items leave of its budget. Raises AdsgenError for an unknown
    campaign or a budget below the smallest viable line item (`min_line_item_budget`),
    SpecError when the line item does not fit the campaign (budget, flight, duplicate name)
    or targets a geo the platform does not serve.
    """
    from adsgen.build.plans import build_profile, renamed
    from adsgen.storage.persist import require

    with job(
        db=db, seed=seed, platform=platform, templates_dir=templates_dir, progress=progress
    ) as run:
        session, plat = run.session, run.platform
        row = require(session, orm.Campaign, campaign_id, option="--campaign-id")
        campaign = validated(CampaignCreate, row, where=f"campaign {campaign_id}")
        flight = flight or campaign.flight
        unit = minor_unit(campaign.budget.currency)
        if budget is not None and budget % unit:
            raise SpecError(
                f"campaign {campaign_id} is in {campaign.budget.currency}, whose amounts are "
                f"multiples of {unit}, got {budget}",
                where="--budget",
            )
        amount = budget if budget is not None else _budget_left(campaign, campaign_id)
        plan = Profile(
            name="line_item",
            objective=campaign.objective,
            start=flight.start,
            flight_days=flight.days,
            budget=(amount, amount),
            currency=campaign.budget.currency,
            pacing_type=campaign.budget.pacing_type,
            pacing_period=campaign.budget.pacing_period,
            line_items=[settings or ProfileLineItem()],
        )
        drawn = build_profile(plan, seed=seed, index=_count(session, orm.LineItem), platform=plat)
        item = drawn.campaigns[0].line_items[0].model_copy(update={"flight": flight})
        item = rehosted(item, f"cdn.{row.advertiser.domain}")
        if settings is None or settings.name is None:  # a drawn name: apart from the others'
            item = renamed(item, {other.name for other in campaign.line_items})
        validated(CampaignCreate, with_line_item(campaign, item),
                  where=f"--campaign-id {campaign_id}")
        _check_viable(item, campaign_id, left=budget is None)
        add_to_campaign(run, campaign_id, item, simulate=simulate)
    return run.summary


def create_creative(
    line_item_id: int,
    *,
    spec: ProfileCreatives | None = None,
    name: str | None = None,
    db: str | None = None,
    seed: int = 42,
    platform: str = "netflix_like",
    templates_dir: Path | None = None,
    simulate: bool = True,
    progress: Progress = no_progress,
) -> RunSummary:
    """Add a creative that fits an existing line item's format and devices, then re-simulate
    that line item (its performance rows are replaced, now with the new creative).

    `spec` fixes what it names (format, MIME type, durations, QR, interactive); the rest is
    drawn. Raises AdsgenError for an unknown line item, SpecError for a creative that does
    not fit or a name the line item already uses.
    """
    from adsgen.build.plans import renamed
    from adsgen.build.providers import Fakes
    from adsgen.storage.persist import add_creative, require
    from adsgen.templates.platform_rules import check_creative

    with job(
        db=db, seed=seed, platform=platform, templates_dir=templates_dir, progress=progress
    ) as run:
        session = run.session
        row = require(session, orm.LineItem, line_item_id, option="--line-item-id")
        item = validated(LineItemCreate, row, where=f"line item {line_item_id}")
        spec = spec or ProfileCreatives()
        fakes = Fakes.seeded(seed, "creative", _count(session, orm.Creative))
        try:
            creative = fakes.creative.make_profile_creative(
                name=name,
                host=f"cdn.{row.campaign.advertiser.domain}",
                devices=item.targeting.device,
                ad_format=spec.ad_format or (None if spec.interactive else item.ad_format),
                durations=spec.durations,
                mime_type=spec.mime_type,
                has_qr=spec.qr,
                interactive=spec.interactive,
                rules=run.platform.creative_rules,
            )
        except ValidationError as error:
            raise spec_error(error, where="creative") from None
        check_creative(creative, run.platform.creative_rules, platform=run.platform.name,
                       where="creative")
        if name is None:  # a drawn name: apart from the line item's other creatives'
            creative = renamed(creative, {c.name for c in item.creatives})
        if creative.name in {c.name for c in item.creatives}:
            raise SpecError(
                f"line item {line_item_id} already has a creative {creative.name!r}; "
                "choose another name",
                where="--name",
            )
        saved = add_creative(session, line_item_id, creative)
        run.record("creatives", [saved])
        if simulate:
            run.simulate([line_item_id])
    return run.summary


# --- what create_advertiser / create_campaign draw ----------------------------------


def with_drawn_campaigns(
    session: Session, advertiser: AdvertiserCreate, count: int, *, seed: int, platform: Platform
) -> AdvertiserCreate:
    """The advertiser with `count` more campaigns, each from a random bundled profile,
    named apart from the advertiser's other campaigns, its money in the advertiser's currency."""
    drawn = _drawn(session, count, seed=seed, platform=platform, domain=advertiser.domain,
                   taken={campaign.name for campaign in advertiser.campaigns},
                   currency=advertiser.currency)
    tree = {**advertiser.model_dump(), "campaigns": [*advertiser.campaigns, *drawn]}
    return validated(AdvertiserCreate, tree, where="advertiser")


def campaign_for(
    session: Session,
    advertiser_id: int,
    campaign: CampaignCreate | None,
    *,
    profile: Profile | None,
    name: str | None,
    line_items: bool,
    seed: int,
    platform: Platform,
) -> CampaignCreate:
    """The campaign to add to an existing advertiser: as given, else built from `profile`
    (None: a random bundled one, named apart from the advertiser's campaigns); renamed to
    `name`; emptied of line items unless `line_items`. AdsgenError when the advertiser does
    not exist, SpecError when it already has a campaign of that name.
    """
    from adsgen.build.plans import campaign_time_zone
    from adsgen.storage.persist import require

    owner = require(session, orm.Advertiser, advertiser_id, option="--advertiser-id")
    taken = {row.name for row in owner.campaigns}
    if campaign is None:
        (campaign,) = _drawn(session, 1, seed=seed, platform=platform, domain=owner.domain,
                             profile=profile, taken=taken, currency=owner.currency)
    else:
        try:
            check_currency(campaign, owner.currency, where="campaign")
        except PydanticCustomError as error:
            raise SpecError(str(error), where=f"--advertiser-id {advertiser_id}") from None
        for index, item in enumerate(campaign.line_items):
            platform.check_geos(
                item.targeting.geo, where=f"campaign: line_items.{index}.targeting.geo"
            )
    update: dict[str, Any] = {} if name is None else {"name": name}
    if campaign.time_zone is None:
        update["time_zone"] = campaign_time_zone(campaign.line_items, platform)
    if not line_items:
        update["line_items"] = []
    if update:
        campaign = validated(CampaignCreate, {**campaign.model_dump(), **update},
                             where="campaign")
    if campaign.name in taken:
        raise SpecError(
            f"advertiser {advertiser_id} already has a campaign {campaign.name!r}; "
            "choose another name",
            where="--name",
        )
    return campaign


def _drawn(
    session: Session,
    count: int,
    *,
    seed: int,
    platform: Platform,
    domain: str,
    taken: Collection[str],
    currency: Currency,
    profile: Profile | None = None,
) -> list[CampaignCreate]:
    """`count` campaigns from `profile` (None: a random bundled profile each), keyed by the
    number of campaigns in the database, with creatives hosted on the advertiser's CDN and
    names apart from `taken` (the advertiser's other campaigns) and from each other, money
    in the advertiser's `currency`."""
    from adsgen.build.plans import build_profile, build_random, renamed

    first = CAMPAIGN_DRAW_INDEX + _count(session, orm.Campaign)
    names = set(taken)
    drawn: list[CampaignCreate] = []
    for index in range(first, first + count):
        if profile is None:
            advertiser = build_random(
                seed=seed, index=index, platform=platform, currency=currency
            )
        else:
            advertiser = build_profile(
                profile, seed=seed, index=index, platform=platform, currency=currency
            )
        campaign = advertiser.campaigns[0]
        items = [rehosted(item, f"cdn.{domain}") for item in campaign.line_items]
        campaign = renamed(campaign.model_copy(update={"line_items": items}), names)
        names.add(campaign.name)
        drawn.append(campaign)
    return drawn


# --- helpers ---------------------------------------------------------------------------------


def rehosted(item: LineItemCreate, host: str) -> LineItemCreate:
    """The line item with its creatives' asset URLs moved to `host` (the advertiser's CDN)."""
    creatives = [
        c.model_copy(
            update={"asset_url": urlsplit(str(c.asset_url))._replace(netloc=host).geturl()}
        )
        for c in item.creatives
    ]
    return item.model_copy(update={"creatives": creatives})


def with_line_item(campaign: CampaignCreate, item: LineItemCreate) -> dict[str, Any]:
    """The campaign's tree with `item` added, to validate before anything is written."""
    return {**campaign.model_dump(), "line_items": [*campaign.line_items, item]}


def add_to_campaign(run: Job, campaign_id: int, item: LineItemCreate, *, simulate: bool) -> None:
    """Write a validated line item (and its creatives) into the run's session, record both
    for the summary and simulate it: the one way the CLI and the API add a line item."""
    from adsgen.storage.persist import add_line_item

    saved = add_line_item(run.session, campaign_id, item)
    run.record("line_items", [saved])
    run.record("creatives", saved.creatives)
    if simulate:
        run.simulate([saved.id])


def validated(model: type[_M], data: Any, *, where: str) -> _M:
    """`model` validated from a mapping or an ORM row; SpecError with the key path if not."""
    try:
        return model.model_validate(data, from_attributes=not isinstance(data, dict))
    except ValidationError as error:
        raise spec_error(error, where=where) from None


def spec_error(error: ValidationError, *, where: str) -> SpecError:
    """The first problem of a ValidationError as one line, `where: key.path: message`."""
    lines = error_lines(error)
    more = f" [{len(lines) - 1} more problems]" if len(lines) > 1 else ""
    return SpecError(lines[0] + more, where=where)


MIN_DAILY_IMPRESSIONS = 1_000
"""The smallest viable line item buys this many impressions a day over its flight: a budget
of at least CPM × flight days (one thousand impressions a day at its CPM). Less delivers
next to nothing and fills the performance table with zero rows."""


def min_line_item_budget(cpm: Decimal, days: int) -> Decimal:
    """The smallest viable budget of a line item at `cpm` over `days` (MIN_DAILY_IMPRESSIONS
    a day), in the CPM's currency."""
    return (cpm * MIN_DAILY_IMPRESSIONS * days / 1000).quantize(cpm)


def _check_viable(item: LineItemCreate, campaign_id: int, *, left: bool) -> None:
    """AdsgenError when the line item's budget is below `min_line_item_budget`; `left`: the
    budget is what the campaign had left (else it came from --budget)."""
    currency, days = item.budget.currency, item.flight.days
    amount = from_micros(item.budget.lifetime_micros(item.flight))
    needed = min_line_item_budget(item.cpm, days)
    if amount >= needed:
        return
    what = (
        f"{MIN_DAILY_IMPRESSIONS:,} impressions a day for {days} days at a "
        f"{shown_amount(item.cpm, currency)} CPM"
    )
    if left:
        raise AdsgenError(
            f"campaign {campaign_id} has {shown_amount(amount, currency)} of budget left; the "
            f"smallest line item needs {shown_amount(needed, currency)} ({what})"
        )
    raise AdsgenError(
        f"--budget {shown_amount(amount, currency)} is below the smallest line item, "
        f"{shown_amount(needed, currency)} ({what})"
    )


def _budget_left(campaign: CampaignCreate, campaign_id: int) -> Decimal:
    """What the campaign's line items leave of its lifetime budget; AdsgenError if nothing."""
    limit = campaign.budget.lifetime_micros(campaign.flight)
    used = sum(item.budget.lifetime_micros(item.flight) for item in campaign.line_items)
    currency = campaign.budget.currency
    if used >= limit:
        raise AdsgenError(
            f"--campaign-id {campaign_id}: its line items already take the whole campaign "
            f"budget ({from_micros(used).quantize(minor_unit(currency)):,} of "
            f"{shown_amount(from_micros(limit), currency)}); add line items to a campaign "
            "created with --line-items 0"
        )
    return from_micros(limit - used)


def _count(session: Session, model: type[orm.Base]) -> int:
    """Rows in the model's table (the key of draws that depend on what exists)."""
    from sqlalchemy import func, select

    return int(session.execute(select(func.count()).select_from(model)).scalar_one())
