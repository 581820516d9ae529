"""Scale plans in columns: exact counts, one flight, budgets that fit, every schema rule.

The planner never builds Pydantic objects, so these tests rebuild the Pydantic tree from its
tables and validate it with the schemas, over many seeds, days and sizes: the bulk checks
must agree with the rules the schemas enforce one entity at a time.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adsgen.build import at_scale
from adsgen.build.at_scale import DEFAULT_SCALE_START, ScaledPlan, build_scaled, scaled_flight
from adsgen.build.numbering import ENTITY_TABLES, number_plan
from adsgen.build.scale_checks import check_plan
from adsgen.domain.fields import from_micros
from adsgen.domain.schemas import AdvertiserCreate
from adsgen.exceptions import AdsgenError
from adsgen.templates import catalog
from planfactory import sample_advertiser

PLATFORM = catalog.get_platform("netflix_like")
PROFILES = catalog.profiles()
START = datetime(2026, 10, 5, 6)


def rows(plan: ScaledPlan, table: str) -> list[dict[str, Any]]:
    return plan.tables[table].to_pylist()


def owned(plan: ScaledPlan, table: str) -> dict[tuple[str, int], dict[str, Any]]:
    """Rows of an exclusive-arc table by owner ("campaign" or "line_item", id)."""
    found = {}
    for row in rows(plan, table):
        owner = ("campaign", row["campaign_id"]) if row["campaign_id"] else (
            "line_item", row["line_item_id"])
        found[owner] = {k: v for k, v in row.items()
                        if k not in ("id", "campaign_id", "line_item_id")}
    return found


def budget(row: dict[str, Any]) -> dict[str, Any]:
    cap = row["daily_cap_micros"]
    return {
        "budget_type": row["budget_type"], "amount": from_micros(row["amount_micros"]),
        "currency": row["currency"], "pacing_type": row["pacing_type"],
        "pacing_period": row["pacing_period"],
        "daily_cap": None if cap is None else from_micros(cap),
    }


def flight(row: dict[str, Any]) -> dict[str, Any]:
    start, end = (v for k, v in row.items())
    return {"start": start, "end": end}


def trees(plan: ScaledPlan) -> list[AdvertiserCreate]:
    """The plan as AdvertiserCreate trees, validated by the Pydantic schemas."""
    flights, budgets = owned(plan, "flights"), owned(plan, "budgets")
    caps = owned(plan, "frequency_caps")
    targeting: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for row in rows(plan, "targeting"):
        targeting[row["line_item_id"]][row["key"]].append(row["value"])
    creatives = defaultdict(list)
    for row in rows(plan, "creatives"):
        creatives[row.pop("line_item_id")].append({k: v for k, v in row.items() if k != "id"})
    items = defaultdict(list)
    for row in rows(plan, "line_items"):
        key = ("line_item", row["id"])
        items[row["campaign_id"]].append({
            "name": row["name"], "status": row["status"], "ad_format": row["ad_format"],
            "position": row["position"], "cpm": from_micros(row["cpm_micros"]),
            "budget": budget(budgets[key]), "flight": flight(flights[key]),
            "frequency_cap": caps.get(key), "targeting": dict(targeting[row["id"]]),
            "creatives": creatives[row["id"]],
        })
    campaigns = defaultdict(list)
    for row in rows(plan, "campaigns"):
        key = ("campaign", row["id"])
        campaigns[row["advertiser_id"]].append({
            "name": row["name"], "status": row["status"], "objective": row["objective"],
            "dsp_partner": row["dsp_partner"], "budget": budget(budgets[key]),
            "flight": flight(flights[key]), "frequency_cap": caps.get(key),
            "line_items": items[row["id"]],
        })
    return [AdvertiserCreate.model_validate({
        "name": row["name"], "status": row["status"], "industry": row["industry"],
        "domain": row["domain"], "currency": row["currency"], "campaigns": campaigns[row["id"]],
    }) for row in rows(plan, "advertisers")]


@settings(max_examples=40, derandomize=True, deadline=None)
@given(count=st.integers(1, 40), days=st.integers(1, 366), seed=st.integers(0, 2**31),
       by_items=st.booleans())
def test_counts_flights_and_every_schema_rule(
    count: int, days: int, seed: int, by_items: bool
) -> None:
    options: dict[str, Any] = {"line_items" if by_items else "advertisers": count}
    plan = build_scaled(seed=seed, platform=PLATFORM, days=days, start=START,
                        profiles=PROFILES, **options)
    advertisers = trees(plan)  # every Pydantic rule: budgets fit, flights nested, formats …
    assert len(plan.items) == plan.counts()["line_items"]
    if by_items:
        assert len(plan.items) == count
        assert all(c.line_items for a in advertisers for c in a.campaigns)
    else:
        assert len(advertisers) == count
    end = START + timedelta(days=days)
    names = [a.name for a in advertisers]
    assert len(set(names)) == len(names)
    for advertiser in advertisers:
        for campaign in advertiser.campaigns:
            assert (campaign.flight.start, campaign.flight.end) == (START, end)
            assert sum(i.budget.amount for i in campaign.line_items) <= campaign.budget.amount
            for item in campaign.line_items:
                assert campaign.flight.contains(item.flight)
                cap = item.budget.daily_cap
                assert cap is None or cap <= item.budget.amount
                assert item.creatives
                assert all(c.ad_format is item.ad_format and c.qa_status.servable
                           for c in item.creatives)
    # The simulation's view says what the tables say.
    numbered = number_plan(advertisers)
    assert [(i.budget_micros, i.cpm_micros, i.daily_cap_micros, i.devices, i.genres, i.geos,
             i.dayparts, i.frequency_cap, i.creatives, i.objective, i.pacing_type, i.industry)
            for i in plan.items] == [
        (i.budget_micros, i.cpm_micros, i.daily_cap_micros, i.devices, i.genres, i.geos,
         i.dayparts, i.frequency_cap, i.creatives, i.objective, i.pacing_type, i.industry)
        for i in numbered.items]
    assert all(i.industry is not None for i in plan.items)  # the advertisers table's


def test_tables_have_the_columns_of_numbered_plans() -> None:
    """Same names, order and types as `number_plan` gives (what `adsgen load` expects)."""
    plan = build_scaled(seed=2, platform=PLATFORM, advertisers=30, profiles=PROFILES)
    reference = number_plan([sample_advertiser("A")]).arrow_tables()
    assert list(plan.tables) == list(ENTITY_TABLES)
    for name, table in reference.items():
        assert table.column_names == plan.tables[name].column_names, name
        for column in table.schema:
            if column.type != pa.null():
                assert plan.tables[name].schema.field(column.name).type == column.type
    for name, table in plan.tables.items():
        assert table.column("id").to_pylist() == list(range(1, table.num_rows + 1)), name


@settings(max_examples=15, derandomize=True, deadline=None)
@given(days=st.integers(1, 366), seed=st.integers(0, 2**31))
def test_daily_spend_and_every_other_draw_stay_whatever_the_days(days: int, seed: int) -> None:
    """A budget per day is the same for any flight length (within the cents lost rounding
    down twice: campaign, then line item); nothing else moves."""
    short = build_scaled(seed=seed, platform=PLATFORM, advertisers=6, days=days, start=START)
    month = build_scaled(seed=seed, platform=PLATFORM, advertisers=6, days=30, start=START)
    for a, b in zip(owned(short, "budgets").values(), owned(month, "budgets").values(),
                    strict=True):
        assert abs(a["amount_micros"] / days - b["amount_micros"] / 30) <= 20_000
    for table in ("advertisers", "campaigns", "line_items", "creatives", "targeting"):
        assert short.tables[table].equals(month.tables[table]), table


def test_deterministic_and_a_prefix_of_larger_runs() -> None:
    small = build_scaled(seed=3, platform=PLATFORM, advertisers=5, days=10, start=START)
    again = build_scaled(seed=3, platform=PLATFORM, advertisers=5, days=10, start=START)
    large = build_scaled(seed=3, platform=PLATFORM, advertisers=9, days=10, start=START)
    assert all(small.tables[t].equals(again.tables[t]) for t in ENTITY_TABLES)
    assert small.items == again.items
    for table in ENTITY_TABLES:
        part = small.tables[table]
        assert large.tables[table].slice(0, part.num_rows).equals(part), table
    assert large.items[: len(small.items)] == small.items
    other = build_scaled(seed=4, platform=PLATFORM, advertisers=5, days=10, start=START)
    assert rows(other, "advertisers") != rows(small, "advertisers")


def test_line_items_truncate_only_the_last_advertiser() -> None:
    whole = trees(build_scaled(seed=8, platform=PLATFORM, advertisers=12, days=30, start=START))
    total = sum(len(c.line_items) for a in whole for c in a.campaigns)
    assert total > 13  # some advertiser has several line items to cut
    for count in range(1, total + 1):
        plan = trees(build_scaled(seed=8, platform=PLATFORM, line_items=count, days=30,
                                  start=START))
        assert sum(len(c.line_items) for a in plan for c in a.campaigns) == count
        assert plan[:-1] == whole[: len(plan) - 1]
        last, full = plan[-1].campaigns[0], whole[len(plan) - 1].campaigns[0]
        assert last.line_items == full.line_items[: len(last.line_items)]
        kept = sum(i.budget.amount for i in last.line_items)
        assert kept <= last.budget.amount <= full.budget.amount
        if len(last.line_items) < len(full.line_items):
            assert last.budget.amount < full.budget.amount  # the dropped share is not kept


def test_profiles_keep_what_they_fix() -> None:
    """The multi-device profile lists its line items: names, shares, CPM ranges, caps,
    targeting and creatives are the profile's; only the rest is drawn."""
    profile = catalog.get_profile("multi_device_advanced")
    plan = build_scaled(seed=5, platform=PLATFORM, advertisers=25, profiles=[profile])
    for advertiser in trees(plan):
        campaign = advertiser.campaigns[0]
        assert campaign.objective == profile.objective
        assert campaign.frequency_cap == profile.campaign_frequency_cap
        assert profile.budget is not None
        low, high = (x * 30 / profile.flight_days for x in profile.budget)  # type: ignore[operator]
        assert low - 1 <= campaign.budget.amount <= high + 1
        for item, fixed in zip(campaign.line_items, profile.line_item_settings(), strict=True):
            assert item.name == fixed.name
            assert fixed.cpm is not None and fixed.cpm[0] <= item.cpm <= fixed.cpm[1]
            assert item.frequency_cap == fixed.frequency_cap
            assert fixed.targeting is not None
            assert item.targeting.device == fixed.targeting.device
            assert item.targeting.daypart == fixed.targeting.daypart
            share = Decimal(str(fixed.budget_share))
            assert abs(item.budget.amount - campaign.budget.amount * share) <= Decimal("0.01")
            spec = fixed.creatives
            assert spec is not None
            assert not spec.count or len(item.creatives) == spec.count
            assert {c.duration_s for c in item.creatives} <= set(spec.durations)


def test_mixes_follow_the_providers() -> None:
    """Over many line items the drawn shares are the providers' weights."""
    plan = build_scaled(seed=11, platform=PLATFORM, advertisers=4000,
                        profiles=[catalog.get_profile("mobile_consideration")])
    from adsgen.build import pools

    positions = plan.tables["line_items"].column("position").to_numpy(zero_copy_only=False)
    for position, weight in pools.POSITION_MIX.items():
        assert abs(float(np.mean(positions == str(position))) - weight) < 0.03
    counts = np.bincount(plan.tables["creatives"].column("line_item_id").to_numpy())[1:]
    for count, weight in pools.CREATIVE_COUNT.items():
        assert abs(float(np.mean(counts == count)) - weight) < 0.03


def test_bulk_checks_catch_a_broken_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bulk validation is not a formality: a line item over its campaign's budget or a
    creative in the wrong format stops the plan."""
    def breaking(field: str, change: Any) -> Any:
        def check(cols: Any) -> None:
            setattr(cols, field, change(getattr(cols, field)))
            check_plan(cols)
        return check

    for field, change, rule in [
        ("li_amount", lambda a: a * 3, "line item budgets fit their campaign's"),
        ("cr_format", lambda f: f * 0 + 2, "a creative has its line item's format"),
        ("li_cpm", lambda c: c * 0, "a CPM is within the allowed range"),
    ]:
        monkeypatch.setattr(at_scale, "check_plan", breaking(field, change))
        with pytest.raises(ValueError, match=rule):
            build_scaled(seed=1, platform=PLATFORM, advertisers=20)


def test_defaults_start_on_the_scale_start() -> None:
    plan = build_scaled(seed=1, platform=PLATFORM, advertisers=1)
    assert plan.items[0].start == DEFAULT_SCALE_START == datetime(2026, 9, 1)
    assert plan.items[0].end == datetime(2026, 10, 1)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"advertisers": 2, "line_items": 3}, "either --advertisers N or --line-items N"),
        ({}, "either --advertisers N or --line-items N"),
        ({"advertisers": 0}, "--advertisers must be at least 1, got 0"),
        ({"line_items": -4}, "--line-items must be at least 1, got -4"),
        ({"advertisers": 1, "days": 0}, "--days must be between 1 and 366, got 0"),
        ({"advertisers": 1, "days": 367}, "--days must be between 1 and 366, got 367"),
        ({"advertisers": 1, "start": datetime(2026, 9, 1, 10, 30)}, "whole UTC hour"),
    ],
)
def test_bad_requests_name_the_option(options: dict[str, object], message: str) -> None:
    with pytest.raises(AdsgenError, match=message.replace("-", r"\-")):
        build_scaled(seed=1, platform=PLATFORM, **options)  # type: ignore[arg-type]


def test_scaled_flight_takes_dates_and_aware_times() -> None:
    from datetime import UTC, timezone

    assert scaled_flight(datetime(2026, 9, 1), 2).end == datetime(2026, 9, 3)
    aware = datetime(2026, 9, 1, 2, tzinfo=timezone(timedelta(hours=2)))
    assert scaled_flight(aware, 1).start == datetime(2026, 9, 1, 0)
    assert scaled_flight(datetime(2026, 9, 1, tzinfo=UTC), 1).start == datetime(2026, 9, 1)
