"""Writes of the API that the `create-*` commands do not cover: a line item or a creative
exactly as given (the commands draw what is left out), changes of status, budget and
flight, and deletes of what has not delivered yet.

Each runs in one transaction through `adsgen.runs.jobs.job`, like every command: the tree
the change lands in (the campaign with its line items, the line item with its creatives) is
validated by the domain's Create schemas first, so a line item still fits its campaign's
budget, flight and currency after any change; then the rows are written through the ORM
and the line items whose delivery the change touches are simulated again (one world: the
facts always follow the plan). Changes and deletes are recorded as change events
(`adsgen.runs.changelog`) in the same transaction. A failure leaves the database as it was.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from adsgen.domain.enums import CampaignStatus, EntityStatus
from adsgen.domain.fields import to_micros
from adsgen.domain.schemas import (
    BudgetSchema,
    CampaignCreate,
    CreativeCreate,
    FlightSchema,
    LineItemCreate,
)
from adsgen.exceptions import ConflictError, SpecError
from adsgen.runs import changelog
from adsgen.runs.grow import add_to_campaign, validated, with_line_item
from adsgen.runs.jobs import Progress, RunSummary, job, no_progress
from adsgen.storage import orm

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.orm import Session

__all__ = ["Change", "change_entity", "create_creative_as_given", "create_line_item_as_given",
           "delete_entity"]


def create_line_item_as_given(
    campaign_id: int,
    item: LineItemCreate,
    *,
    db: str | None = None,
    seed: int = 42,
    platform: str = "netflix_like",
    templates_dir: Path | None = None,
    simulate: bool = True,
    progress: Progress = no_progress,
    changes: bool = False,
) -> RunSummary:
    """Add `item` (with its creatives) to an existing campaign, exactly as given; a budget
    naming no currency is in the campaign's. SpecError (key path `line_item…`) when it does
    not fit the campaign (budget, flight, currency, duplicate name) or targets a geo the
    platform does not serve; AdsgenError for an unknown campaign."""
    from adsgen.storage.persist import require

    with job(db=db, seed=seed, platform=platform, templates_dir=templates_dir,
             progress=progress, changes=changes) as run:
        row = require(run.session, orm.Campaign, campaign_id, option="campaign_id")
        campaign = validated(CampaignCreate, row, where=f"campaign {campaign_id}")
        if "currency" not in item.budget.model_fields_set:
            budget = item.budget.model_copy(update={"currency": campaign.budget.currency})
            item = item.model_copy(update={"budget": budget})
        run.platform.check_geos(item.targeting.geo, where="line_item: targeting.geo")
        validated(CampaignCreate, with_line_item(campaign, item),
                  where=f"line_item (in campaign {campaign_id})")
        add_to_campaign(run, campaign_id, item, simulate=simulate)
    return run.summary


def create_creative_as_given(
    line_item_id: int,
    creative: CreativeCreate,
    *,
    db: str | None = None,
    seed: int = 42,
    platform: str = "netflix_like",
    templates_dir: Path | None = None,
    simulate: bool = True,
    progress: Progress = no_progress,
    changes: bool = False,
) -> RunSummary:
    """Add `creative` to an existing line item, exactly as given, and simulate the line item
    again. SpecError when the line item already has a creative of that name."""
    from adsgen.storage.persist import add_creative, require

    with job(db=db, seed=seed, platform=platform, templates_dir=templates_dir,
             progress=progress, changes=changes) as run:
        row = require(run.session, orm.LineItem, line_item_id, option="line_item_id")
        if creative.name in {c.name for c in row.creatives}:
            raise SpecError(f"line item {line_item_id} already has a creative "
                            f"{creative.name!r}; choose another name", where="creative: name")
        saved = add_creative(run.session, line_item_id, creative)
        run.record("creatives", [saved])
        if simulate:
            run.simulate([line_item_id])
    return run.summary


MODELS: dict[str, Any] = {"advertisers": orm.Advertiser, "campaigns": orm.Campaign,
                          "line_items": orm.LineItem, "creatives": orm.Creative}
"""Entity kind → its ORM model."""


class Change:
    """What a PATCH changes: any of status, budget amount / daily cap, flight start / end."""

    def __init__(
        self,
        *,
        status: str | None = None,
        budget_amount: Decimal | None = None,
        daily_cap: Decimal | None = None,
        clear_daily_cap: bool = False,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> None:
        self.status = status
        self.budget_amount = budget_amount
        self.daily_cap = daily_cap
        self.clear_daily_cap = clear_daily_cap
        self.start = start
        self.end = end

    @property
    def plan_fields(self) -> bool:
        """Whether it touches the budget or the flight (not only the status)."""
        return any(v is not None for v in (self.budget_amount, self.daily_cap, self.start,
                                           self.end)) or self.clear_daily_cap


def _status(kind: str, value: str) -> str:
    allowed = CampaignStatus if kind == "campaigns" else EntityStatus
    if value not in {s.value for s in allowed}:
        raise SpecError(f"{value!r} is not allowed; allowed: "
                        f"{', '.join(s.value for s in allowed)}", where="status")
    return value


def _new_budget(budget: BudgetSchema, change: Change) -> dict[str, Any]:
    data = budget.model_dump()
    if change.budget_amount is not None:
        data["amount"] = change.budget_amount
    if change.clear_daily_cap:
        data["daily_cap"] = None
    elif change.daily_cap is not None:
        data["daily_cap"] = change.daily_cap
    return data


def _new_flight(flight: FlightSchema, change: Change) -> dict[str, Any]:
    return {"start": change.start or flight.start, "end": change.end or flight.end}


def _write_plan(owner: orm.Campaign | orm.LineItem, budget: BudgetSchema,
                flight: FlightSchema) -> None:
    if owner.budget is not None:
        owner.budget.amount_micros = to_micros(budget.amount)
        owner.budget.daily_cap_micros = budget.daily_cap_micros
    if owner.flight is not None:
        owner.flight.start_at = flight.start
        owner.flight.end_at = flight.end


def _change_campaign(session: Session, row: orm.Campaign, change: Change) -> list[int]:
    """Apply to a campaign; the line items to simulate again."""
    if change.status is not None:
        row.status = _status("campaigns", change.status)
    if change.plan_fields:
        campaign = validated(CampaignCreate, row, where=f"campaign {row.id}")
        tree = {**campaign.model_dump(), "budget": _new_budget(campaign.budget, change),
                "flight": _new_flight(campaign.flight, change)}
        checked = validated(CampaignCreate, tree, where="campaign")
        _write_plan(row, checked.budget, checked.flight)
    return [item.id for item in row.line_items]


def _change_line_item(session: Session, row: orm.LineItem, change: Change) -> list[int]:
    if change.status is not None:
        row.status = _status("line_items", change.status)
    if change.plan_fields:
        item = validated(LineItemCreate, row, where=f"line item {row.id}")
        changed = {**item.model_dump(), "budget": _new_budget(item.budget, change),
                   "flight": _new_flight(item.flight, change)}
        checked = validated(LineItemCreate, changed, where="line_item")
        campaign = validated(CampaignCreate, row.campaign, where=f"campaign {row.campaign_id}")
        others = [i for i, other in zip(campaign.line_items, row.campaign.line_items,
                                        strict=True) if other.id != row.id]
        validated(CampaignCreate, {**campaign.model_dump(), "line_items": [*others, checked]},
                  where=f"line_item (in campaign {row.campaign_id})")
        _write_plan(row, checked.budget, checked.flight)
    return [row.id]


def change_entity(
    kind: str,
    entity_id: int,
    change: Change,
    *,
    db: str | None = None,
    seed: int = 42,
    platform: str = "netflix_like",
    templates_dir: Path | None = None,
    progress: Progress = no_progress,
) -> RunSummary:
    """Change an advertiser's or creative's status, or a campaign's or line item's status,
    budget and flight, then simulate the line items it touches again. SpecError naming the
    field when the result breaks a rule (a line item outside its campaign's flight, budgets
    over the campaign's), AdsgenError for an unknown id; budget and flight changes of an
    advertiser or creative are refused (they have none)."""
    from adsgen.storage.persist import require

    with job(db=db, seed=seed, platform=platform, templates_dir=templates_dir,
             progress=progress) as run:
        session = run.session
        row = require(session, MODELS[kind], entity_id, option=kind.removesuffix("s"))
        before = changelog.state(kind, row)
        if kind in ("advertisers", "creatives"):
            if change.plan_fields:
                raise SpecError(f"{kind.removesuffix('s')}s have no budget or flight; change "
                                "those on a campaign or a line item", where="budget/flight")
            if change.status is not None:
                row.status = _status(kind, change.status)
            if kind == "advertisers":
                touched = [i.id for c in row.campaigns for i in c.line_items]
            else:
                touched = [row.line_item_id]
        elif kind == "campaigns":
            touched = _change_campaign(session, row, change)
        else:
            touched = _change_line_item(session, row, change)
        session.flush()
        changelog.record(session, kind, entity_id, before, changelog.state(kind, row))
        run.record(kind, [row])
        run.simulate(touched)
    return run.summary


def _line_items_under(kind: str, row: Any) -> list[orm.LineItem]:
    """The line items an entity holds (a creative: its own line item)."""
    if kind == "advertisers":
        return [i for c in row.campaigns for i in c.line_items]
    if kind == "campaigns":
        return list(row.line_items)
    if kind == "line_items":
        return [row]
    return [row.line_item]


def _delivered(session: Session, kind: str, row: Any) -> int:
    """Impressions the entity has delivered (a creative's own; the others' line items')."""
    from sqlalchemy import func, select

    perf = orm.Performance
    query = select(func.coalesce(func.sum(perf.impressions), 0))
    if kind == "creatives":
        query = query.where(perf.creative_id == row.id)
    else:
        ids = [item.id for item in _line_items_under(kind, row)]
        if not ids:
            return 0
        query = query.where(perf.line_item_id.in_(ids))
    return int(session.execute(query).scalar_one())


def _siblings(session: Session, kind: str, row: Any) -> list[int]:
    """The line items whose delivery a delete touches: the deleted entity's parent's other
    line items (a creative's: its own line item) that were simulated already and have a
    creative left; one never simulated stays so."""
    from sqlalchemy import select

    if kind == "creatives":
        others = [row.line_item] if len(row.line_item.creatives) > 1 else []
    elif kind == "line_items":
        others = [i for i in row.campaign.line_items if i.id != row.id]
    elif kind == "campaigns":
        others = [i for c in row.advertiser.campaigns if c.id != row.id for i in c.line_items]
    else:
        others = []
    ids = [item.id for item in others if item.creatives]
    if not ids:
        return []
    perf = orm.Performance
    simulated = set(session.execute(select(perf.line_item_id).where(
        perf.line_item_id.in_(ids)).distinct()).scalars())
    return [i for i in ids if i in simulated]


def delete_entity(
    kind: str,
    entity_id: int,
    *,
    db: str | None = None,
    seed: int = 42,
    platform: str = "netflix_like",
    templates_dir: Path | None = None,
    progress: Progress = no_progress,
) -> RunSummary:
    """Delete an advertiser, campaign, line item or creative with everything it holds, in one
    transaction, as long as it has delivered nothing (no impression in `performance`: a
    plan not simulated yet, a flight not begun, a creative never served): delivered
    impressions were billed, and the reports must keep adding up, so such an entity is
    paused or archived instead (ConflictError, saying so). Its fact rows go with it (the
    tables cascade); the line items under its parent that were simulated are simulated again,
    so the advertiser's summed tables and the creatives' rotation follow the plan, as after a
    change. AdsgenError
    for an unknown id."""
    from adsgen.storage.database import delete_facts
    from adsgen.storage.persist import require

    with job(db=db, seed=seed, platform=platform, templates_dir=templates_dir,
             progress=progress) as run:
        session = run.session
        row = require(session, MODELS[kind], entity_id, option=kind.removesuffix("s"))
        what = f"{kind.removesuffix('s').replace('_', ' ')} {entity_id}"
        delivered = _delivered(session, kind, row)
        if delivered:
            raise ConflictError(
                f"{what} has delivered {delivered:,} impressions, so it stays in the "
                "reports; pause or archive it instead (PATCH status)")
        touched = _siblings(session, kind, row)
        if kind == "creatives" and not touched:  # its line item is left with no creative
            delete_facts(session.connection(), [row.line_item_id])
        changelog.record(session, kind, entity_id, changelog.state(kind, row), None)
        run.record(kind, [row])
        session.delete(row)
        session.flush()
        session.expire_all()  # the parents' loaded collections still hold the deleted row
        run.simulate(touched)
    return run.summary
