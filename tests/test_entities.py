"""Plans from templates: examples as written, profiles honoured, the rest drawn, reproducibly."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adsgen.build.plans import (
    DEFAULT_START,
    RANDOM_START_SPREAD_DAYS,
    build_example,
    build_profile,
    build_random,
    build_run_all,
)
from adsgen.domain.enums import (
    AdFormat,
    DeviceType,
    Genre,
    Industry,
    Objective,
    PacingPeriod,
    PacingType,
)
from adsgen.domain.schemas import AdvertiserCreate, CampaignCreate
from adsgen.templates import catalog
from adsgen.templates.spec import Example, Platform, Profile


@pytest.fixture(scope="module")
def platform() -> Platform:
    return catalog.get_platform("netflix_like")


def _only_campaign(advertiser: AdvertiserCreate) -> CampaignCreate:
    assert len(advertiser.campaigns) == 1
    return advertiser.campaigns[0]


def _check_plan(advertiser: AdvertiserCreate) -> None:
    """Laws every plan obeys, beyond what the schemas check on construction."""
    AdvertiserCreate.model_validate(advertiser.model_dump())
    campaign = _only_campaign(advertiser)
    assert campaign.line_items
    total = sum(item.budget.amount for item in campaign.line_items)
    assert total <= campaign.budget.amount
    for item in campaign.line_items:
        assert item.creatives
        assert item.flight == campaign.flight
        names = [creative.name for creative in item.creatives]
        assert len(names) == len(set(names))
        for creative in item.creatives:
            assert creative.ad_format is item.ad_format
            if not item.targeting.device or DeviceType.ctv in item.targeting.device:
                assert creative.duration_s in (15, 30) or not creative.ad_format.is_video
            assert creative.asset_url.startswith(f"https://cdn.{advertiser.domain}/")


@pytest.mark.parametrize(
    ("name", "hours", "line_items"),
    [("luxury_auto_awareness", 480, 1), ("crunchy_snacks_consideration", 504, 1),
     ("nexbank_conversion", 432, 2)],
)
def test_examples_build_as_written(name: str, hours: int, line_items: int) -> None:
    example = catalog.get_example(name)
    advertiser = build_example(example, seed=1)
    _check_plan(advertiser)
    campaign = _only_campaign(advertiser)
    assert campaign == example.campaign
    assert advertiser.name == example.advertiser.name
    assert len(campaign.line_items) == line_items
    assert all(item.flight.hours == hours for item in campaign.line_items)
    assert build_example(example, seed=2) == advertiser  # nothing left to draw


def test_example_line_item_without_creatives_gets_some() -> None:
    example = catalog.get_example("luxury_auto_awareness")
    item = example.campaign.line_items[0].model_copy(update={"creatives": []})
    campaign = example.campaign.model_copy(update={"line_items": [item]})
    bare = Example.model_validate({**example.model_dump(), "campaign": campaign.model_dump()})
    built = _only_campaign(build_example(bare, seed=5)).line_items[0]
    assert len(built.creatives) == 1 and built.creatives[0].duration_s in (15, 30)
    assert build_example(bare, seed=5) == build_example(bare, seed=5)


@pytest.mark.parametrize(
    ("name", "hours"),
    [("high_cpm_tv_awareness", 1104), ("mobile_consideration", 936),
     ("conversion_interactive", 744), ("multi_device_advanced", 720)],
)
def test_profile_hours(name: str, hours: int, platform: Platform) -> None:
    advertiser = build_profile(catalog.get_profile(name), seed=3, platform=platform)
    _check_plan(advertiser)
    campaign = _only_campaign(advertiser)
    assert campaign.flight.start == DEFAULT_START
    assert campaign.flight.hours == hours


@pytest.mark.parametrize("seed", range(25))
def test_profiles_fix_what_they_name(seed: int, platform: Platform) -> None:
    high = _only_campaign(build_profile(catalog.get_profile("high_cpm_tv_awareness"),
                                        seed=seed, platform=platform))
    assert high.objective is Objective.awareness
    assert Decimal(250000) <= high.budget.amount <= Decimal(400000)
    for item in high.line_items:
        assert item.cpm == Decimal(25)
        assert (item.targeting.device, item.targeting.genre) == ([DeviceType.ctv], [Genre.drama])

    mobile = _only_campaign(build_profile(catalog.get_profile("mobile_consideration"),
                                          seed=seed, platform=platform))
    assert mobile.objective is Objective.consideration
    for item in mobile.line_items:
        assert item.targeting.device == [DeviceType.mobile]
        assert item.targeting.genre == [Genre.comedy, Genre.reality]
        assert all(c.duration_s in (6, 10, 15) and not c.has_qr for c in item.creatives)

    interactive = _only_campaign(build_profile(catalog.get_profile("conversion_interactive"),
                                               seed=seed, platform=platform))
    assert interactive.objective is Objective.conversion
    for item in interactive.line_items:
        assert item.ad_format is AdFormat.interactive_video
        assert item.targeting.genre == [Genre.business]
        assert all(c.has_qr and c.interactive for c in item.creatives)


def test_multi_device_line_items(platform: Platform) -> None:
    profile = catalog.get_profile("multi_device_advanced")
    campaign = _only_campaign(build_profile(profile, seed=11, platform=platform))
    assert [item.name for item in campaign.line_items] == [
        "CTV Prime Time", "Mobile Daytime", "Desktop Workday"]
    assert [item.targeting.device for item in campaign.line_items] == [
        [DeviceType.ctv], [DeviceType.mobile], [DeviceType.desktop]]
    caps = [item.frequency_cap for item in campaign.line_items]
    assert [(c.max_impressions, c.time_unit.value) for c in caps if c] == [
        (3, "days"), (4, "days"), (2, "hours")]
    assert campaign.frequency_cap is not None and campaign.frequency_cap.max_impressions == 20
    shares = [float(item.budget.amount / campaign.budget.amount) for item in campaign.line_items]
    assert shares == pytest.approx([0.55, 0.30, 0.15], abs=1e-4)
    assert Decimal(28) <= campaign.line_items[0].cpm <= Decimal(34)
    assert len(campaign.line_items[0].creatives) == 2


def test_same_seed_same_plan_different_seed_different(platform: Platform) -> None:
    profile = catalog.get_profile("high_cpm_tv_awareness")
    first = build_profile(profile, seed=7, index=2, platform=platform)
    assert build_profile(profile, seed=7, index=2, platform=platform) == first
    assert build_profile(profile, seed=8, index=2, platform=platform) != first
    assert build_profile(profile, seed=7, index=3, platform=platform) != first
    assert build_random(seed=7, index=9, platform=platform) == build_random(
        seed=7, index=9, platform=platform)


def test_distinct_names_per_index_and_avoid(platform: Platform) -> None:
    profile = Profile(name="p", industry=Industry.finance)
    names = {build_profile(profile, seed=1, index=i, platform=platform).name for i in range(200)}
    assert len(names) == 200
    taken = build_profile(profile, seed=1, index=0, platform=platform)
    again = build_profile(profile, seed=1, index=0, platform=platform, avoid={taken.name})
    assert again.name == f"{taken.name} 2"
    assert again.domain != taken.domain


def test_start_precedence(platform: Platform) -> None:
    later = datetime(2026, 11, 2, 6)
    profile = Profile(name="p", start=datetime(2026, 10, 1), flight_days=3)
    assert _only_campaign(build_profile(profile, seed=1, platform=platform)).flight.start == (
        datetime(2026, 10, 1))
    assert _only_campaign(
        build_profile(profile, seed=1, platform=platform, start=later)).flight.start == later
    with pytest.raises(ValueError, match="on the hour"):
        build_profile(profile, seed=1, platform=platform, start=datetime(2026, 11, 2, 6, 30))


def test_random_builds_stagger_starts(platform: Platform) -> None:
    starts = {
        _only_campaign(build_random(seed=4, index=i, platform=platform)).flight.start
        for i in range(40)
    }
    assert len(starts) > 10
    assert all(0 <= (s - DEFAULT_START).days <= RANDOM_START_SPREAD_DAYS for s in starts)


def test_fixed_pacing_is_kept_and_made_valid(platform: Platform) -> None:
    asap = Profile(name="p", pacing_type=PacingType.asap, pacing_period=PacingPeriod.daily)
    budget = _only_campaign(build_profile(asap, seed=1, platform=platform)).budget
    assert (budget.pacing_type, budget.pacing_period) == (PacingType.asap, PacingPeriod.daily)
    assert budget.daily_cap is not None
    flight_paced = Profile(name="p", pacing_period=PacingPeriod.flight)
    for seed in range(60):
        budget = _only_campaign(build_profile(flight_paced, seed=seed, platform=platform)).budget
        assert budget.pacing_period is PacingPeriod.flight
        assert budget.pacing_type is not PacingType.asap


@settings(max_examples=150, derandomize=True, deadline=None)
@given(seed=st.integers(0, 2**63 - 1), index=st.integers(0, 10**6))
def test_random_plans_are_valid(seed: int, index: int) -> None:
    _check_plan(build_random(seed=seed, index=index, platform=_PLATFORM,
                             profiles=_PROFILES))


@settings(max_examples=60, derandomize=True, deadline=None)
@given(seed=st.integers(0, 2**32), profile=st.builds(
    Profile,
    name=st.just("h"),
    objective=st.none() | st.sampled_from(Objective),
    flight_days=st.none() | st.integers(1, 366),
    line_item_count=st.none() | st.integers(1, 6),
))
def test_sparse_profiles_are_filled(seed: int, profile: Profile) -> None:
    _check_plan(build_profile(profile, seed=seed, platform=_PLATFORM))


def test_run_all_plan(platform: Platform) -> None:
    plan = build_run_all(seed=42, platform=platform, scale=20)
    assert len(plan) == 3 + 5 + 20
    assert len({advertiser.name for advertiser in plan}) == len(plan)
    assert len({advertiser.domain for advertiser in plan}) == len(plan)
    for advertiser in plan:
        _check_plan(advertiser)
    hourly_rows = sum(
        item.flight.hours * len(item.creatives)
        for advertiser in plan[:7]
        for item in _only_campaign(advertiser).line_items
    )
    assert hourly_rows >= 4000
    assert build_run_all(seed=42, platform=platform, scale=20) == plan
    avoided = build_run_all(seed=42, platform=platform, avoid={plan[3].name})
    assert plan[3].name not in {advertiser.name for advertiser in avoided}


_PLATFORM = catalog.get_platform("netflix_like")
_PROFILES = catalog.profiles()
