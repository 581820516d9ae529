"""Faker providers: every output validates against its schema and fits the domain rules."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from adsgen.build.providers import PROVIDERS, Fakes, seeded_generator
from adsgen.build.providers.advertiser import AdvertiserProvider
from adsgen.domain.enums import (
    AdFormat,
    CreativeMimeType,
    DeviceType,
    Genre,
    Industry,
    Objective,
    PacingPeriod,
    PacingType,
)
from adsgen.domain.schemas import (
    AdvertiserCreate,
    BudgetSchema,
    CreativeCreate,
    FlightSchema,
    FrequencyCapSchema,
    Targeting,
)
from adsgen.templates.catalog import get_platform
from adsgen.templates.spec import Platform

SEEDS = st.integers(min_value=0, max_value=2**63 - 1)
MANY = settings(max_examples=1000, derandomize=True, deadline=None)


@pytest.fixture(scope="module")
def platform() -> Platform:
    return get_platform("netflix_like")


def _flight(days: int) -> FlightSchema:
    start = datetime(2026, 9, 1)
    return FlightSchema(start=start, end=start + timedelta(days=days))


def _roundtrip(model: object) -> None:
    """The value re-validates from its own dump: nothing built bypassed the schema."""
    assert isinstance(model, AdvertiserCreate | BudgetSchema | CreativeCreate | Targeting
                      | FrequencyCapSchema)
    type(model).model_validate(model.model_dump())


@MANY
@given(seed=SEEDS, days=st.integers(1, 366), objective=st.sampled_from(Objective))
def test_every_provider_output_validates(seed: int, days: int, objective: Objective) -> None:
    platform = get_platform("netflix_like")
    fakes = Fakes.seeded(seed, "test", 0)
    flight = _flight(days)

    advertiser = fakes.advertiser.fake_advertiser()
    assert advertiser.domain.endswith(".example")
    budget, cpm = fakes.budget.fake_budget_and_cpm(objective, platform, flight)
    low, high = platform.cpm_range
    assert Decimal(str(low)) <= cpm <= Decimal(str(high))
    assert budget.amount > 0 and budget.amount % 1000 == 0
    assert (budget.pacing_type, budget.pacing_period) != (PacingType.asap, PacingPeriod.flight)
    if budget.daily_cap is not None:
        assert budget.daily_cap <= budget.amount
    targeting = fakes.targeting.fake_targeting(platform)
    assert set(targeting.geo) <= set(platform.geo_timezones)
    assert 1 <= len(targeting.device) <= 3
    cap = fakes.targeting.fake_frequency_cap(objective)
    creative = fakes.creative.make_profile_creative(devices=targeting.device)
    if DeviceType.ctv in targeting.device:
        assert creative.duration_s in (15, 30)
    assert creative.asset_url.startswith("https://")
    for model in (advertiser, budget, targeting, creative, cap):
        if model is not None:
            _roundtrip(model)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(
    seed=SEEDS,
    ad_format=st.sampled_from(AdFormat),
    devices=st.lists(st.sampled_from(DeviceType), unique=True, max_size=3),
    qr=st.none() | st.booleans(),
)
def test_creative_fields_agree(
    seed: int, ad_format: AdFormat, devices: list[DeviceType], qr: bool | None
) -> None:
    fakes = Fakes.seeded(seed, "creative", 1)
    interactive = True if ad_format is AdFormat.interactive_video else None
    creative = fakes.creative.make_profile_creative(
        ad_format=ad_format, devices=devices, has_qr=qr, interactive=interactive
    )
    assert creative.ad_format is ad_format
    assert creative.mime_type in ad_format.allowed_mime_types
    assert (creative.duration_s is None) == (not ad_format.is_video)
    if qr is not None:
        assert creative.has_qr is qr
    extension = fakes.creative.EXTENSIONS[creative.mime_type]
    assert creative.asset_url.endswith("." + extension)


def test_interactive_implies_interactive_format() -> None:
    creative = Fakes.seeded(3, "c").creative.make_profile_creative(interactive=True)
    assert creative.ad_format is AdFormat.interactive_video and creative.interactive


def test_fixed_creative_choices_are_kept() -> None:
    creative = Fakes.seeded(3, "c").creative.make_profile_creative(
        durations=[6], mime_type=CreativeMimeType.webm, name="Bumper A", host="cdn.a.example"
    )
    assert (creative.duration_s, creative.mime_type, creative.name) == (
        6, CreativeMimeType.webm, "Bumper A")
    assert creative.asset_url.startswith("https://cdn.a.example/creatives/bumper-a-")


def test_objective_orders_cpm_and_budget(platform: Platform) -> None:
    """Awareness pays more per thousand and spends more than conversion, on average."""
    flight = _flight(30)
    means = {}
    for objective in (Objective.awareness, Objective.conversion):
        draws = [
            Fakes.seeded(seed, "objective").budget.fake_budget_and_cpm(objective, platform, flight)
            for seed in range(300)
        ]
        means[objective] = (
            sum(cpm for _, cpm in draws) / len(draws),
            sum(budget.amount for budget, _ in draws) / len(draws),
        )
    assert means[Objective.awareness][0] > means[Objective.conversion][0] + 3
    assert means[Objective.awareness][1] > 2 * means[Objective.conversion][1]


def test_genres_follow_platform_share(platform: Platform) -> None:
    counts = Counter(
        genre
        for seed in range(3000)
        for genre in Fakes.seeded(seed, "genres").targeting.genres(platform)
    )
    assert counts.most_common(1)[0][0] is Genre.drama
    assert counts[Genre.drama] > 5 * counts[Genre.western]


def test_fixed_targeting_keys_are_kept(platform: Platform) -> None:
    fixed = Targeting.model_validate({"device": ["mobile"], "genre": []})
    for seed in range(50):
        targeting = Fakes.seeded(seed, "t").targeting.fake_targeting(platform, fixed=fixed)
        assert targeting.device == [DeviceType.mobile]
        assert targeting.genre == []


def test_geos_stay_in_platform_markets(platform: Platform) -> None:
    us_only = platform.model_copy(update={"geo_timezones": {"US": "America/Chicago"}})
    for seed in range(100):
        assert Fakes.seeded(seed, "g").targeting.geos(us_only) in (["US"],)


@pytest.mark.parametrize("shares", [[0.5, 0.5], [0.2, 0.3, 0.1], [1.0], [1 / 3] * 3])
def test_split_never_exceeds_the_campaign_budget(shares: list[float]) -> None:
    budget = BudgetSchema(amount=Decimal("1000.01"), pacing_type=PacingType.even,
                          pacing_period=PacingPeriod.daily, daily_cap=Decimal("100.00"))
    parts = Fakes.seeded(1, "s").budget.split(budget, shares)
    assert sum(p.amount for p in parts) <= budget.amount
    assert all(p.pacing_period is PacingPeriod.daily for p in parts)
    assert all(p.daily_cap is not None and p.daily_cap <= p.amount for p in parts)


def test_split_rejects_shares_over_one() -> None:
    with pytest.raises(ValueError, match="sum to <= 1"):
        Fakes.seeded(1, "s").budget.split(BudgetSchema(amount=Decimal(10)), [0.7, 0.4])


def test_indexed_names_are_distinct_within_a_run() -> None:
    provider = Fakes.seeded(0, "n").advertiser
    industries = list(Industry)
    names = [
        provider.indexed_name(industries[i % len(industries)], seed=42, index=i)
        for i in range(6000)
    ]
    assert len(set(names)) == len(names)
    same_industry = [provider.indexed_name(Industry.finance, seed=42, index=i) for i in range(4000)]
    assert len(set(same_industry)) == len(same_industry)  # wraps with a number past the grid
    assert provider.indexed_name(Industry.finance, seed=43, index=0) != same_industry[0] or (
        provider.indexed_name(Industry.finance, seed=43, index=1) != same_industry[1]
    )


def test_names_are_fictional() -> None:
    stems = {name.split()[0] for name in (
        Fakes.seeded(s, "n").advertiser.advertiser_name(Industry.retail) for s in range(500))}
    assert not stems & AdvertiserProvider.TAKEN_STEMS


def test_same_seed_same_draws_and_no_global_state() -> None:
    import random

    first = Fakes.seeded(7, "d", 3).targeting.fake_targeting()
    random.seed(999)  # global state must not matter
    assert Fakes.seeded(7, "d", 3).targeting.fake_targeting() == first
    assert Fakes.seeded(7, "d", 4).advertiser.fake_advertiser() != Fakes.seeded(
        7, "d", 3).advertiser.fake_advertiser()


def test_registry_table_and_faker_dispatch() -> None:
    assert set(PROVIDERS) == {"advertiser", "budget", "targeting", "creative"}
    fake = seeded_generator(1, "faker")
    assert isinstance(getattr(fake, "fake_targeting")(), Targeting)  # noqa: B009 - Faker dispatch
    assert isinstance(getattr(fake, "make_profile_creative")(), CreativeCreate)  # noqa: B009


def test_bundled_platform_parses() -> None:
    """The provider tests rely on the bundled platform; it also parses as plain YAML."""
    from importlib.resources import files

    text = (files("adsgen.templates") / "data" / "platforms" / "netflix_like.yml").read_text()
    assert Platform.model_validate(yaml.safe_load(text)).name == "netflix_like"
