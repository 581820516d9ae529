"""Campaign time zones: validated IANA names, a default from the targeted geo through the
platform, the same value in every table and in what the simulation reads (plans, database,
scale plans)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine

from adsgen.build.at_scale import build_scaled
from adsgen.build.numbering import number_plan
from adsgen.build.plans import build_example, build_profile, build_run_all
from adsgen.build.platform_set import platform_set
from adsgen.domain.schemas import CampaignCreate
from adsgen.exceptions import SpecError
from adsgen.storage.database import session_scope
from adsgen.storage.persist import load_sim_items, save_plan
from adsgen.templates import catalog
from adsgen.templates.spec import Profile, parse_template
from planfactory import sample_advertiser

PLATFORM = catalog.get_platform("netflix_like")


def _campaign(**update: object) -> dict[str, object]:
    data = sample_advertiser("A").campaigns[0].model_dump()
    return {**data, **update}


def test_a_campaign_keeps_an_iana_zone_and_refuses_another_name() -> None:
    assert CampaignCreate.model_validate(_campaign(time_zone="Asia/Tokyo")).time_zone == (
        "Asia/Tokyo")
    assert CampaignCreate.model_validate(_campaign()).time_zone is None
    for bad in ("America/Chicgo", "CST6", "../etc/passwd", " UTC", ""):
        with pytest.raises(ValidationError, match="not an IANA time zone name"):
            CampaignCreate.model_validate(_campaign(time_zone=bad))
    with pytest.raises(ValidationError, match="did you mean 'America/Chicago'"):
        CampaignCreate.model_validate(_campaign(time_zone="America/Chicgo"))


def test_a_profile_with_a_bad_zone_is_a_spec_error_naming_the_key() -> None:
    data = {"type": "profile", "name": "p", "time_zone": "Europe/Londn"}
    with pytest.raises(SpecError, match=r"t\.yml: time_zone.*Europe/London"):
        parse_template(data, source="t.yml")


def test_a_platform_with_a_bad_zone_is_refused() -> None:
    data = PLATFORM.model_dump()
    data["geo_timezones"] = {**data["geo_timezones"], "US": "America/Nowhere"}
    with pytest.raises(SpecError, match="US: 'America/Nowhere' is not an IANA"):
        parse_template(data, source="p.yml")


def test_the_default_zone_is_the_platforms_zone_of_the_first_targeted_geo() -> None:
    us = Profile(name="us", targeting={"geo": ["US", "GB"]})
    gb = Profile(name="gb", targeting={"geo": ["GB"]})
    fixed = Profile(name="fixed", targeting={"geo": ["GB"]}, time_zone="America/New_York")
    assert PLATFORM.geo_timezones["US"] == "America/Chicago"
    zone = {p.name: build_profile(p, seed=1, platform=PLATFORM).campaigns[0].time_zone
            for p in (us, gb, fixed)}
    assert zone == {"us": "America/Chicago", "gb": "Europe/London", "fixed": "America/New_York"}
    assert PLATFORM.time_zone([]) == PLATFORM.geo_timezones[PLATFORM.default_geo]
    assert PLATFORM.time_zone(["XX", "JP"]) == "Asia/Tokyo"


def test_every_built_campaign_has_a_zone_and_its_line_items_carry_it() -> None:
    plan = build_run_all(seed=3, platform=PLATFORM, scale=6)
    numbered = number_plan(plan)
    zones = dict(zip(numbered.tables["campaigns"]["id"],
                     numbered.tables["campaigns"]["time_zone"], strict=True))
    assert all(zones.values()) and set(zones.values()) <= set(PLATFORM.geo_timezones.values())
    assert all(item.time_zone == zones[item.campaign_id] for item in numbered.items)
    for example in (catalog.get_example(n) for n in catalog.names("examples")):
        on = platform_set([catalog.get_platform(n) for n in example.platforms or (PLATFORM.name,)])
        assert on.primary.name == PLATFORM.name  # a multi-platform example's first platform
        campaign = build_example(example, seed=3, platform=on).campaigns[0]
        geos = [g for item in campaign.line_items for g in item.targeting.geo]
        assert campaign.time_zone == (example.campaign.time_zone or PLATFORM.time_zone(geos))


def test_the_zone_survives_the_database(sqlite_engine: Engine) -> None:
    advertiser = sample_advertiser("A")
    campaign = advertiser.campaigns[0].model_copy(update={"time_zone": "Europe/Berlin"})
    plan = [advertiser.model_copy(update={"campaigns": [campaign]}), sample_advertiser("B")]
    with session_scope(sqlite_engine) as session:
        save_plan(session, plan)
    with session_scope(sqlite_engine) as session:
        loaded = load_sim_items(session)
    assert [i.time_zone for i in loaded] == ["Europe/Berlin"] * 2 + ["UTC"] * 2
    assert loaded == number_plan(plan).items


def test_scale_plans_give_each_campaign_its_geos_zone_or_its_profiles() -> None:
    profiles = [*catalog.profiles(), Profile(name="tokyo", time_zone="Asia/Tokyo")]
    plan = build_scaled(seed=5, platform=PLATFORM, advertisers=60, profiles=profiles)
    campaigns = plan.tables["campaigns"].to_pylist()
    zone = {c["id"]: c["time_zone"] for c in campaigns}
    geos: dict[int, list[str]] = {}
    for row in plan.tables["targeting"].to_pylist():
        if row["key"] == "geo":
            geos.setdefault(row["line_item_id"], []).append(row["value"])
    first_geo: dict[int, str] = {}
    for item in plan.items:
        assert item.time_zone == zone[item.campaign_id]
        if geos.get(item.line_item_id):
            first_geo.setdefault(item.campaign_id, geos[item.line_item_id][0])
    expected = {cid: PLATFORM.time_zone([first_geo[cid]] if cid in first_geo else [])
                for cid in zone}
    differing = {cid for cid in zone if zone[cid] != expected[cid]}
    assert differing and all(zone[cid] == "Asia/Tokyo" for cid in differing)
    assert len(set(zone.values())) > 2
