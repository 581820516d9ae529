"""The plan numbering: ids in tree order, statuses folded in, tables shaped like the ORM's."""

from __future__ import annotations

import pytest

from adsgen.build.numbering import ENTITY_TABLES, number_plan
from adsgen.domain.enums import (
    CampaignStatus,
    DeviceType,
    EntityStatus,
    Genre,
    Industry,
    Objective,
)
from adsgen.storage import orm
from planfactory import sample_advertiser


def test_ids_follow_tree_order_and_continue_from_start_ids() -> None:
    plan = number_plan(
        [sample_advertiser("A"), sample_advertiser("B")], start_ids={"line_items": 10}
    )
    assert plan.counts()["advertisers"] == 2
    assert plan.tables["line_items"]["id"] == [11, 12, 13, 14]
    assert plan.tables["line_items"]["campaign_id"] == [1, 1, 2, 2]
    assert plan.tables["creatives"]["line_item_id"] == [11, 11, 12, 12, 13, 13, 14, 14]
    assert [i.line_item_id for i in plan.items] == [11, 12, 13, 14]


def test_sim_items_carry_their_advertisers_industry() -> None:
    """The planned frequency depends on it (`ground_truth.INDUSTRY_FREQUENCY`)."""
    plan = number_plan([sample_advertiser("A"), sample_advertiser("B", industry=Industry.pharma)])
    assert [i.industry for i in plan.items] == [Industry.automotive] * 2 + [Industry.pharma] * 2


def test_sim_items_fold_statuses_budgets_and_caps() -> None:
    plan = number_plan([sample_advertiser("A")])
    lifetime, daily = plan.items
    assert lifetime.active and lifetime.objective is Objective.awareness
    assert lifetime.budget_micros == 1000 * 10**6 and lifetime.daily_cap_micros is None
    assert daily.budget_micros == 50 * 10 * 10**6 and daily.daily_cap_micros == 50 * 10**6
    assert lifetime.frequency_cap is not None and lifetime.frequency_cap.max_impressions == 3
    assert [c.servable for c in lifetime.creatives] == [True, False]
    assert lifetime.devices == (DeviceType.ctv,) and lifetime.genres == (Genre.drama,)
    paused = number_plan([sample_advertiser("P", campaign_status=CampaignStatus.paused)])
    assert not any(i.active for i in paused.items)
    archived = sample_advertiser("Z")
    archived.status = EntityStatus.archived
    assert not any(i.active for i in number_plan([archived]).items)


@pytest.mark.parametrize("table", ENTITY_TABLES)
def test_entity_tables_use_orm_column_names(table: str) -> None:
    tables = number_plan([sample_advertiser("A")]).arrow_tables()
    orm_columns = set(orm.Base.metadata.tables[table].columns.keys())
    assert set(tables[table].column_names) <= orm_columns
    assert orm_columns - set(tables[table].column_names) <= {"created_at", "updated_at"}
