"""Scale plans: exact counts, one flight for everything, budgets scaled to it, valid trees."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adsgen.build.at_scale import DEFAULT_SCALE_START, build_scaled, scaled_flight
from adsgen.build.plans import build_random
from adsgen.domain.enums import BudgetType
from adsgen.domain.schemas import AdvertiserCreate, LineItemCreate
from adsgen.exceptions import AdsgenError
from adsgen.templates import catalog

PLATFORM = catalog.get_platform("netflix_like")
PROFILES = catalog.profiles()
START = datetime(2026, 10, 5, 6)


def line_items(plan: list[AdvertiserCreate]) -> list[LineItemCreate]:
    return [item for a in plan for c in a.campaigns for item in c.line_items]


def revalidated(advertiser: AdvertiserCreate) -> AdvertiserCreate:
    """Every cross-entity rule checked again (model_copy skips validation)."""
    return AdvertiserCreate.model_validate(advertiser.model_dump())


@settings(max_examples=40, derandomize=True, deadline=None)
@given(count=st.integers(1, 14), days=st.integers(1, 366), seed=st.integers(0, 2**31),
       by_items=st.booleans())
def test_counts_flights_and_every_rule(count: int, days: int, seed: int, by_items: bool) -> None:
    counts: dict[str, Any] = {"line_items" if by_items else "advertisers": count}
    plan = build_scaled(seed=seed, platform=PLATFORM, days=days, start=START,
                        profiles=PROFILES, **counts)
    if by_items:
        assert len(line_items(plan)) == count
        assert all(c.line_items for a in plan for c in a.campaigns)
    else:
        assert len(plan) == count
    end = START + timedelta(days=days)
    for advertiser in plan:
        assert revalidated(advertiser) == advertiser
        for campaign in advertiser.campaigns:
            assert (campaign.flight.start, campaign.flight.end) == (START, end)
            for item in campaign.line_items:
                assert (item.flight.start, item.flight.end) == (START, end)
                cap = item.budget.daily_cap
                assert cap is None or cap <= item.budget.amount
    names = [a.name for a in plan]
    assert len(set(names)) == len(names)


@settings(max_examples=25, derandomize=True, deadline=None)
@given(days=st.integers(1, 366), seed=st.integers(0, 2**31))
def test_daily_spend_stays_as_drawn(days: int, seed: int) -> None:
    """A campaign's budget per day is the drawn one's (to the cent, before any cap)."""
    plan = build_scaled(seed=seed, platform=PLATFORM, advertisers=3, days=days, start=START,
                        profiles=PROFILES)
    for index, advertiser in enumerate(plan):
        drawn = build_random(seed=seed, index=index, platform=PLATFORM, profiles=PROFILES,
                             start=START)
        assert advertiser.name == drawn.name
        for scaled, original in zip(advertiser.campaigns, drawn.campaigns, strict=True):
            assert scaled.budget.budget_type is BudgetType.lifetime
            per_day = original.budget.amount / original.flight.days
            assert abs(scaled.budget.amount - per_day * days) <= Decimal("0.01")
            for new, old in zip(scaled.line_items, original.line_items, strict=True):
                assert abs(new.budget.amount - old.budget.amount / original.flight.days * days) \
                    <= Decimal("0.01")
                assert new.budget.daily_cap == (
                    None if old.budget.daily_cap is None
                    else min(old.budget.daily_cap, new.budget.amount))
                assert (new.name, new.cpm, new.targeting) == (old.name, old.cpm, old.targeting)


def test_deterministic_and_a_prefix_of_larger_runs() -> None:
    small = build_scaled(seed=3, platform=PLATFORM, advertisers=5, days=10, start=START)
    again = build_scaled(seed=3, platform=PLATFORM, advertisers=5, days=10, start=START)
    large = build_scaled(seed=3, platform=PLATFORM, advertisers=9, days=10, start=START)
    assert small == again
    assert large[:5] == small
    other = build_scaled(seed=4, platform=PLATFORM, advertisers=5, days=10, start=START)
    assert [a.name for a in other] != [a.name for a in small]


def test_line_items_truncate_only_the_last_advertiser() -> None:
    whole = build_scaled(seed=8, platform=PLATFORM, advertisers=12, days=30, start=START)
    total = len(line_items(whole))
    assert total > 13  # some advertiser has several line items to cut
    for count in range(1, total + 1):
        plan = build_scaled(seed=8, platform=PLATFORM, line_items=count, days=30, start=START)
        assert len(line_items(plan)) == count
        assert plan[:-1] == whole[: len(plan) - 1]
        last, full = plan[-1], whole[len(plan) - 1]
        kept = line_items([last])
        assert kept == line_items([full])[: len(kept)]
        budget, full_budget = last.campaigns[0].budget, full.campaigns[0].budget
        assert sum(i.budget.amount for i in kept) <= budget.amount <= full_budget.amount
        if len(kept) < len(line_items([full])):
            assert budget.amount < full_budget.amount  # the dropped share is not kept
        assert revalidated(last) == last


def test_defaults_start_on_the_scale_start() -> None:
    plan = build_scaled(seed=1, platform=PLATFORM, advertisers=1)
    assert plan[0].campaigns[0].flight.start == DEFAULT_SCALE_START == datetime(2026, 9, 1)
    assert plan[0].campaigns[0].flight.days == 30


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
