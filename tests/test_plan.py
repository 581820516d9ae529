"""The plan numbering: ids in tree order, statuses folded in, tables shaped like the ORM's."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from adsgen import orm
from adsgen.enums import (
    BudgetType,
    CampaignStatus,
    DeviceType,
    EntityStatus,
    FrequencyPeriod,
    Genre,
    Industry,
    Objective,
    QAStatus,
)
from adsgen.plan import ENTITY_TABLES, number_plan
from adsgen.schemas import AdvertiserCreate

START, END = datetime(2026, 9, 1), datetime(2026, 9, 11)


def _advertiser(
    name: str, *, campaign_status: CampaignStatus = CampaignStatus.active
) -> AdvertiserCreate:
    creative = {"name": "spot", "duration_s": 30, "asset_url": "https://cdn.example/a.mp4"}
    item = {
        "name": "li",
        "cpm": Decimal("25"),
        "budget": {"amount": Decimal("1000")},
        "flight": {"start": START, "end": END},
        "targeting": {"device": [DeviceType.ctv], "genre": [Genre.drama]},
        "creatives": [creative, {**creative, "name": "rejected",
                                 "qa_status": QAStatus.rejected_not_servable}],
    }
    daily = {**item, "name": "daily", "budget": {"amount": Decimal("50"),
                                                 "budget_type": BudgetType.daily}}
    return AdvertiserCreate.model_validate({
        "name": name, "industry": Industry.automotive, "domain": "x.example",
        "campaigns": [{
            "name": "c", "objective": Objective.awareness, "status": campaign_status,
            "budget": {"amount": Decimal("5000")}, "flight": {"start": START, "end": END},
            "frequency_cap": {"max_impressions": 3, "time_unit": FrequencyPeriod.days},
            "line_items": [item, daily],
        }],
    })


def test_ids_follow_tree_order_and_continue_from_start_ids() -> None:
    plan = number_plan([_advertiser("A"), _advertiser("B")], start_ids={"line_items": 10})
    assert plan.counts()["advertisers"] == 2
    assert plan.tables["line_items"]["id"] == [11, 12, 13, 14]
    assert plan.tables["line_items"]["campaign_id"] == [1, 1, 2, 2]
    assert plan.tables["creatives"]["line_item_id"] == [11, 11, 12, 12, 13, 13, 14, 14]
    assert [i.line_item_id for i in plan.items] == [11, 12, 13, 14]


def test_sim_items_fold_statuses_budgets_and_caps() -> None:
    plan = number_plan([_advertiser("A")])
    lifetime, daily = plan.items
    assert lifetime.active and lifetime.objective is Objective.awareness
    assert lifetime.budget_micros == 1000 * 10**6 and lifetime.daily_cap_micros is None
    assert daily.budget_micros == 50 * 10 * 10**6 and daily.daily_cap_micros == 50 * 10**6
    assert lifetime.frequency_cap is not None and lifetime.frequency_cap.max_impressions == 3
    assert [c.servable for c in lifetime.creatives] == [True, False]
    assert lifetime.devices == (DeviceType.ctv,) and lifetime.genres == (Genre.drama,)
    paused = number_plan([_advertiser("P", campaign_status=CampaignStatus.paused)])
    assert not any(i.active for i in paused.items)
    archived = _advertiser("Z")
    archived.status = EntityStatus.archived
    assert not any(i.active for i in number_plan([archived]).items)


@pytest.mark.parametrize("table", ENTITY_TABLES)
def test_entity_tables_use_orm_column_names(table: str) -> None:
    tables = number_plan([_advertiser("A")]).arrow_tables()
    orm_columns = set(orm.Base.metadata.tables[table].columns.keys())
    assert set(tables[table].column_names) <= orm_columns
    assert orm_columns - set(tables[table].column_names) <= {"created_at", "updated_at"}
