"""A plan with ids: the tree of Create schemas numbered and flattened, still pure.

`number_plan` walks advertisers → campaigns → line items → creatives once, in tree order,
assigning consecutive ids. It yields what the simulation reads (`SimLineItem`) and the
entity tables (columns named as the ORM's, timestamps UTC-aware in µs, so a generated
directory loads straight into a database). `sim_item` is the single place where a line
item becomes a simulation input, whether it comes from a plan or from database rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from adsgen.build.items import (
    SimCreative,
    SimExperiment,
    SimFrequencyCap,
    SimLineItem,
    interned,
)
from adsgen.domain.enums import (
    BudgetType,
    CampaignStatus,
    EntityStatus,
    ExperimentType,
    Industry,
    Objective,
    TargetingKey,
)
from adsgen.domain.experiment import ExperimentSchema, control_geos
from adsgen.domain.fields import DEFAULT_TIME_ZONE, utc_timestamps
from adsgen.domain.schemas import (
    AdvertiserBase,
    AdvertiserCreate,
    BudgetSchema,
    CampaignBase,
    CreativeBase,
    FlightSchema,
    FrequencyCapSchema,
    LineItemBase,
)

__all__ = [
    "ENTITY_TABLES",
    "NumberedPlan",
    "advertiser_columns",
    "budget_columns",
    "campaign_active",
    "campaign_columns",
    "creative_columns",
    "experiment_columns",
    "flight_columns",
    "frequency_cap_columns",
    "line_item_columns",
    "number_plan",
    "sim_experiment",
    "sim_item",
]

# Entity tables in foreign-key order: a loader inserts them in this order.
ENTITY_TABLES: tuple[str, ...] = (
    "advertisers",
    "campaigns",
    "line_items",
    "creatives",
    "flights",
    "budgets",
    "frequency_caps",
    "targeting",
)


def sim_item(
    item: LineItemBase,
    *,
    line_item_id: int,
    campaign_id: int,
    advertiser_id: int,
    creatives: Sequence[tuple[int, CreativeBase]],
    active: bool,
    objective: Objective,
    campaign_cap: FrequencyCapSchema | None = None,
    time_zone: str | None = None,
    industry: Industry | None = None,
) -> SimLineItem:
    """The simulation's view of a line item; `active` folds the parents' statuses in,
    `time_zone` is its campaign's (None: DEFAULT_TIME_ZONE), `industry` its advertiser's.

    A daily budget becomes a lifetime budget of amount × flight days with a daily cap of
    the amount; the line item's own frequency cap wins over the campaign's.
    """
    budget, flight = item.budget, item.flight
    daily_cap = budget.daily_cap_micros
    if budget.budget_type is BudgetType.daily:
        daily_cap = min(daily_cap or budget.amount_micros, budget.amount_micros)
    cap = item.frequency_cap or campaign_cap
    targeting = item.targeting
    experiment = sim_experiment(item)
    geos = tuple(targeting.geo)
    if experiment is not None and experiment.control_geos:
        geos = tuple(g for g in geos if g not in experiment.control_geos)
    return SimLineItem(
        line_item_id=line_item_id,
        campaign_id=campaign_id,
        advertiser_id=advertiser_id,
        start=flight.start,
        end=flight.end,
        active=active and item.status is EntityStatus.active,
        objective=objective,
        ad_format=item.ad_format,
        position=item.position,
        cpm_micros=item.cpm_micros,
        currency=budget.currency,
        budget_micros=budget.lifetime_micros(flight),
        daily_cap_micros=daily_cap,
        pacing_type=budget.pacing_type,
        pacing_period=budget.pacing_period,
        frequency_cap=None
        if cap is None
        else SimFrequencyCap(
            max_impressions=cap.max_impressions,
            time_unit=cap.time_unit,
            time_unit_count=cap.time_unit_count,
        ),
        creatives=tuple(
            SimCreative(
                creative_id=creative_id,
                ad_format=creative.ad_format,
                duration_s=creative.duration_s,
                has_qr=creative.has_qr,
                interactive=creative.interactive,
                servable=creative.qa_status.servable and creative.status is EntityStatus.active,
            )
            for creative_id, creative in creatives
        ),
        devices=tuple(targeting.device),
        genres=tuple(targeting.genre),
        platform=item.platform or "",
        geos=geos,
        dayparts=tuple(targeting.daypart),
        dmas=interned(tuple(targeting.dma)),
        states=interned(tuple(targeting.state)),
        segments=interned(tuple(targeting.segment)),
        time_zone=time_zone or DEFAULT_TIME_ZONE,
        experiment=experiment,
        industry=industry,
    )


@dataclass
class NumberedPlan:
    """Entity rows by table (ORM column names) and the simulation inputs, ids assigned."""

    tables: dict[str, dict[str, list[Any]]] = field(
        default_factory=lambda: {name: {} for name in ENTITY_TABLES}
    )
    items: list[SimLineItem] = field(default_factory=list)

    def add(self, table: str, **row: Any) -> None:
        """Append one row; the first row of a table fixes its columns."""
        columns = self.tables[table]
        if not columns:
            columns.update({name: [] for name in row})
        for name, value in row.items():
            columns[name].append(value)

    def arrow_tables(self) -> dict[str, pa.Table]:
        """Each entity table as Arrow, timestamps `timestamp[us, tz=UTC]` (empty ones left out)."""
        return {name: utc_timestamps(pa.table(cols)) for name, cols in self.tables.items() if cols}

    def counts(self) -> dict[str, int]:
        """Rows per entity table."""
        return {name: len(next(iter(cols.values()), [])) for name, cols in self.tables.items()}


# --- one entity's column values (the ORM's names): one home for the Arrow and ORM paths ------


def advertiser_columns(advertiser: AdvertiserBase) -> dict[str, Any]:
    """An advertiser's own columns (no id)."""
    return {
        "status": advertiser.status.value, "name": advertiser.name,
        "industry": advertiser.industry, "domain": advertiser.domain,
        "currency": advertiser.currency,
    }


def campaign_columns(campaign: CampaignBase) -> dict[str, Any]:
    """A campaign's own columns (no id, no advertiser_id)."""
    return {
        "status": campaign.status.value, "name": campaign.name,
        "objective": campaign.objective, "dsp_partner": campaign.dsp_partner,
        "time_zone": campaign.time_zone or DEFAULT_TIME_ZONE,
    }


def sim_experiment(item: LineItemBase) -> SimExperiment | None:
    """The line item's experiment with its control geos resolved (None: none)."""
    spec = item.experiment
    if spec is None:
        return None
    chosen = (control_geos(spec, item.targeting.geo) if spec.type is ExperimentType.geo
              else ())
    return SimExperiment(type=spec.type, control_share=spec.control_share, control_geos=chosen)


def experiment_columns(experiment: ExperimentSchema | None) -> dict[str, Any]:
    """The line_items columns that store an experiment (all null without one)."""
    if experiment is None:
        return {"experiment_type": None, "experiment_control_share": None,
                "experiment_control_geos": None}
    return {"experiment_type": experiment.type.value,
            "experiment_control_share": experiment.control_share,
            "experiment_control_geos": ",".join(experiment.control_geos) or None}


def line_item_columns(item: LineItemBase) -> dict[str, Any]:
    """A line item's own columns (no id, no campaign_id)."""
    return {
        "status": item.status.value, "name": item.name, "ad_format": item.ad_format,
        "position": item.position, "cpm_micros": item.cpm_micros, "platform": item.platform,
        **experiment_columns(item.experiment),
    }


def creative_columns(creative: CreativeBase) -> dict[str, Any]:
    """A creative's own columns (no id, no line_item_id)."""
    return {
        "status": creative.status.value, "name": creative.name,
        "ad_format": creative.ad_format, "mime_type": creative.mime_type,
        "duration_s": creative.duration_s, "asset_url": str(creative.asset_url),
        "width": creative.width, "height": creative.height, "has_qr": creative.has_qr,
        "interactive": creative.interactive, "qa_status": creative.qa_status,
    }


def flight_columns(flight: FlightSchema) -> dict[str, Any]:
    """A flight's columns (no id, no owner): `start_at`/`end_at`, never the reserved "end"."""
    return {"start_at": flight.start, "end_at": flight.end}


def budget_columns(budget: BudgetSchema) -> dict[str, Any]:
    """A budget's columns in micros (no id, no owner)."""
    return {
        "budget_type": budget.budget_type, "amount_micros": budget.amount_micros,
        "currency": budget.currency, "pacing_type": budget.pacing_type,
        "pacing_period": budget.pacing_period, "daily_cap_micros": budget.daily_cap_micros,
    }


def frequency_cap_columns(cap: FrequencyCapSchema) -> dict[str, Any]:
    """A frequency cap's columns (no id, no owner)."""
    return {
        "max_impressions": cap.max_impressions, "time_unit": cap.time_unit,
        "time_unit_count": cap.time_unit_count,
    }


def _owned(
    plan: NumberedPlan,
    ids: dict[str, int],
    owner: tuple[str, int],
    flight: FlightSchema,
    budget: BudgetSchema,
    cap: FrequencyCapSchema | None,
) -> None:
    """Rows of the exclusive-arc tables for one campaign or line item."""
    campaign_id = owner[1] if owner[0] == "campaign" else None
    line_item_id = owner[1] if owner[0] == "line_item" else None
    arc = {"campaign_id": campaign_id, "line_item_id": line_item_id}
    plan.add("flights", id=_next(ids, "flights"), **arc, **flight_columns(flight))
    plan.add("budgets", id=_next(ids, "budgets"), **arc, **budget_columns(budget))
    if cap is not None:
        plan.add("frequency_caps", id=_next(ids, "frequency_caps"), **arc,
                 **frequency_cap_columns(cap))


def _next(ids: dict[str, int], table: str) -> int:
    ids[table] = ids.get(table, 0) + 1
    return ids[table]


def campaign_active(advertiser_status: EntityStatus, campaign: CampaignBase) -> bool:
    """Only an ACTIVE advertiser's active campaign may deliver."""
    return advertiser_status is EntityStatus.active and campaign.status is CampaignStatus.active


def number_plan(
    advertisers: Sequence[AdvertiserCreate], *, start_ids: dict[str, int] | None = None
) -> NumberedPlan:
    """Assign ids in tree order (starting after `start_ids[table]`, default 0) and flatten."""
    ids = dict(start_ids or {})
    plan = NumberedPlan()
    for advertiser in advertisers:
        advertiser_id = _next(ids, "advertisers")
        plan.add("advertisers", id=advertiser_id, **advertiser_columns(advertiser))
        for campaign in advertiser.campaigns:
            campaign_id = _next(ids, "campaigns")
            plan.add("campaigns", id=campaign_id, advertiser_id=advertiser_id,
                     **campaign_columns(campaign))
            _owned(
                plan,
                ids,
                ("campaign", campaign_id),
                campaign.flight,
                campaign.budget,
                campaign.frequency_cap,
            )
            live = campaign_active(advertiser.status, campaign)
            for item in campaign.line_items:
                line_item_id = _next(ids, "line_items")
                plan.add("line_items", id=line_item_id, campaign_id=campaign_id,
                         **line_item_columns(item))
                _owned(
                    plan,
                    ids,
                    ("line_item", line_item_id),
                    item.flight,
                    item.budget,
                    item.frequency_cap,
                )
                for key, value in item.targeting.rows():
                    plan.add(
                        "targeting",
                        id=_next(ids, "targeting"),
                        line_item_id=line_item_id,
                        key=TargetingKey(key).value,
                        value=value,
                    )
                creatives: list[tuple[int, CreativeBase]] = []
                for creative in item.creatives:
                    creative_id = _next(ids, "creatives")
                    creatives.append((creative_id, creative))
                    plan.add("creatives", id=creative_id, line_item_id=line_item_id,
                             **creative_columns(creative))
                plan.items.append(
                    sim_item(
                        item,
                        line_item_id=line_item_id,
                        campaign_id=campaign_id,
                        advertiser_id=advertiser_id,
                        creatives=creatives,
                        active=live,
                        campaign_cap=campaign.frequency_cap,
                        objective=campaign.objective,
                        time_zone=campaign.time_zone,
                        industry=advertiser.industry,
                    )
                )
    return plan
