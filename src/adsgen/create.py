"""Growing a dataset one entity at a time: line items and creatives for existing parents,
and the campaigns `pipeline.create_advertiser` / `pipeline.create_campaign` draw.

Like `pipeline`, each public command runs in one transaction (a failure leaves the database
as it was) and simulates what it adds unless told not to. What the caller fixes is kept,
the providers draw the rest (the way a profile works), and the result must fit its parent:
a line item within the campaign's budget and flight, a creative within its line item's
format and devices. Draws are keyed by the seed and the number of rows already in the
table, so the same commands on the same database give the same data.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError

from adsgen import orm
from adsgen.exceptions import AdsgenError, SpecError
from adsgen.fields import error_lines, from_micros
from adsgen.pipeline import Progress, RunSummary, _no_progress, job
from adsgen.schemas import AdvertiserCreate, CampaignCreate, FlightSchema, LineItemCreate
from adsgen.spec import Platform, Profile, ProfileCreatives, ProfileLineItem

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.orm import Session

__all__ = [
    "CAMPAIGN_DRAW_INDEX",
    "campaign_for",
    "create_creative",
    "create_line_item",
    "with_drawn_campaigns",
]

CAMPAIGN_DRAW_INDEX = 1_000_000
"""Campaigns drawn for existing advertisers take provider indices from here on, apart from
the indices of drawn advertisers (0, 1, …), so the two never repeat each other's draws."""

_M = TypeVar("_M", bound=BaseModel)


# --- commands --------------------------------------------------------------------------------


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
    progress: Progress = _no_progress,
) -> RunSummary:
    """Add a line item (with creatives) to an existing campaign.

    `settings` fixes what it names, the providers draw the rest. The flight defaults to the
    campaign's, the budget to what the campaign's line items leave of its budget. Raises
    AdsgenError for an unknown campaign or no budget left, SpecError when the line item
    does not fit the campaign (budget, flight, duplicate name).
    """
    from adsgen.entities import build_profile
    from adsgen.persist import add_line_item, require

    with job(
        db=db, seed=seed, platform=platform, templates_dir=templates_dir, progress=progress
    ) as run:
        session, plat = run.session, run.platform
        row = require(session, orm.Campaign, campaign_id, option="--campaign-id")
        campaign = validated(CampaignCreate, row, where=f"campaign {campaign_id}")
        flight = flight or campaign.flight
        amount = budget if budget is not None else _budget_left(campaign, campaign_id)
        plan = Profile(
            name="line_item",
            objective=campaign.objective,
            start=flight.start,
            flight_days=flight.days,
            budget=(amount, amount),
            pacing_type=campaign.budget.pacing_type,
            pacing_period=campaign.budget.pacing_period,
            line_items=[settings or ProfileLineItem()],
        )
        drawn = build_profile(plan, seed=seed, index=_count(session, orm.LineItem), platform=plat)
        item = drawn.campaigns[0].line_items[0].model_copy(update={"flight": flight})
        item = rehosted(item, f"cdn.{row.advertiser.domain}")
        tree = {**campaign.model_dump(), "line_items": [*campaign.line_items, item]}
        validated(CampaignCreate, tree, where=f"--campaign-id {campaign_id}")
        saved = add_line_item(session, campaign_id, item)
        run.record("line_items", [saved.id])
        run.record("creatives", [c.id for c in saved.creatives])
        if simulate:
            run.simulate([saved.id])
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
    progress: Progress = _no_progress,
) -> RunSummary:
    """Add a creative that fits an existing line item's format and devices, then re-simulate
    that line item (its performance rows are replaced, now with the new creative).

    `spec` fixes what it names (format, MIME type, durations, QR, interactive); the rest is
    drawn. Raises AdsgenError for an unknown line item, SpecError for a creative that does
    not fit or a name the line item already uses.
    """
    from adsgen.persist import add_creative, require
    from adsgen.providers import Fakes

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
            )
        except ValidationError as error:
            raise spec_error(error, where="creative") from None
        if creative.name in {c.name for c in item.creatives}:
            raise SpecError(
                f"line item {line_item_id} already has a creative {creative.name!r}; "
                "choose another name",
                where="--name",
            )
        saved = add_creative(session, line_item_id, creative)
        run.record("creatives", [saved.id])
        if simulate:
            run.simulate([line_item_id])
    return run.summary


# --- what pipeline.create_advertiser / create_campaign draw ----------------------------------


def with_drawn_campaigns(
    session: Session, advertiser: AdvertiserCreate, count: int, *, seed: int, platform: Platform
) -> AdvertiserCreate:
    """The advertiser with `count` more campaigns, each from a random bundled profile."""
    drawn = _drawn(session, count, seed=seed, platform=platform, domain=advertiser.domain)
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
    (None: a random bundled one); renamed to `name`; emptied of line items unless
    `line_items`. AdsgenError when the advertiser does not exist.
    """
    from adsgen.persist import require

    owner = require(session, orm.Advertiser, advertiser_id, option="--advertiser-id")
    if campaign is None:
        (campaign,) = _drawn(
            session, 1, seed=seed, platform=platform, domain=owner.domain, profile=profile
        )
    update: dict[str, Any] = {} if name is None else {"name": name}
    if not line_items:
        update["line_items"] = []
    if not update:
        return campaign
    return validated(CampaignCreate, {**campaign.model_dump(), **update}, where="campaign")


def _drawn(
    session: Session,
    count: int,
    *,
    seed: int,
    platform: Platform,
    domain: str,
    profile: Profile | None = None,
) -> list[CampaignCreate]:
    """`count` campaigns from `profile` (None: a random bundled profile each), keyed by the
    number of campaigns in the database, with creatives hosted on the advertiser's CDN."""
    from adsgen.entities import build_profile, build_random

    first = CAMPAIGN_DRAW_INDEX + _count(session, orm.Campaign)
    drawn: list[CampaignCreate] = []
    for index in range(first, first + count):
        if profile is None:
            advertiser = build_random(seed=seed, index=index, platform=platform)
        else:
            advertiser = build_profile(profile, seed=seed, index=index, platform=platform)
        campaign = advertiser.campaigns[0]
        items = [rehosted(item, f"cdn.{domain}") for item in campaign.line_items]
        drawn.append(campaign.model_copy(update={"line_items": items}))
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


def _budget_left(campaign: CampaignCreate, campaign_id: int) -> Decimal:
    """What the campaign's line items leave of its lifetime budget; AdsgenError if nothing."""
    limit = campaign.budget.lifetime_micros(campaign.flight)
    used = sum(item.budget.lifetime_micros(item.flight) for item in campaign.line_items)
    if used >= limit:
        raise AdsgenError(
            f"--campaign-id {campaign_id}: its line items already take the whole campaign "
            f"budget ({from_micros(used):,} of {from_micros(limit):,} "
            f"{campaign.budget.currency}); add line items to a campaign created with "
            "--line-items 0"
        )
    return from_micros(limit - used)


def _count(session: Session, model: type[orm.Base]) -> int:
    """Rows in the model's table (the key of draws that depend on what exists)."""
    from sqlalchemy import func, select

    return int(session.execute(select(func.count()).select_from(model)).scalar_one())
