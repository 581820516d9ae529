"""DMA, state and audience-segment targeting: the audience it leaves, what that does to
delivery, reach and rates, and the targetings refused because they match no household."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from adsgen.build.at_scale import build_scaled
from adsgen.build.items import SimLineItem
from adsgen.domain.enums import DeviceType
from adsgen.domain.markets import (
    SEGMENT_CONVERSION_LIFT,
    SEGMENT_CPM_PREMIUM,
    SEGMENT_SHARE,
    AudienceSegment,
    SegmentKind,
    dma,
    market_tv_households,
    segment_shares,
    total_tv_households,
)
from adsgen.domain.schemas import Targeting
from adsgen.simulate import simulate
from adsgen.simulate.ground_truth import PLANNED_FREQUENCY_RANGE
from adsgen.templates import catalog
from adsgen.world.households import US, geo_audience, geo_households, served_geos, targetable
from adsgen.world.lineitems import targets
from cliutil import invoke, invoke_json, sqlite_url, tiny_example, user_error
from simfactory import line_item, platform

S = AudienceSegment
ROKU = platform("roku_like")


def _big(**changes: object) -> SimLineItem:
    """A week-long US line item on roku_like large enough to reach many households."""
    base = line_item(1, budget_micros=200_000 * 1_000_000, cpm_micros=23_000_000, geos=(US,))
    return replace(base, **changes)


def _households(item: SimLineItem) -> tuple[int, int]:
    """(targetable households on CTV, de-duplicated) of one line item on roku_like."""
    tg = targets([item], ROKU)
    found = targetable(ROKU, tg.geo_masks(len(served_geos(ROKU))), tg.device_masks(),
                       tg.genre_household_share, market_tv=tg.market_tv,
                       segment_shares=tg.segment_share)
    ctv = [d.value for d in sorted(DeviceType, key=lambda d: d.value)].index("ctv")
    return int(found.by_device[0, ctv]), int(found.union[0])


def test_a_dma_keeps_its_share_of_the_platforms_us_households_exactly() -> None:
    us = int(geo_households(ROKU)[served_geos(ROKU).index(US)])
    item = _big(dmas=("501",))
    kept = us * dma("501").tv_households // total_tv_households()  # integer arithmetic
    tg = targets([item], ROKU)
    assert int(geo_audience(ROKU, tg.geo_masks(1), tg.market_tv)[0, 0]) == kept
    ctv, union = _households(item)
    assert ctv == union == math.floor(kept * 0.8)  # roku_like: CTV only, 80 % own a TV
    everyone_ctv, _ = _households(_big())
    assert everyone_ctv == math.floor(us * 0.8)
    # two DMAs add; a state keeps the DMAs whose principal state it is
    two = market_tv_households([("501", "803")], [()])[0]
    assert two == dma("501").tv_households + dma("803").tv_households
    texas = sum(d.tv_households for d in (dma(c) for c in _codes()) if d.state == "TX")
    assert market_tv_households([()], [("TX",)])[0] == texas
    assert market_tv_households([("501", "803")], [("CA",)])[0] == dma("803").tv_households


def _codes() -> list[str]:
    from adsgen.domain.markets import dmas

    return list(dmas())


def test_segment_shares_add_within_a_kind_and_multiply_across_kinds() -> None:
    young, middle = SEGMENT_SHARE[S.age_18_34], SEGMENT_SHARE[S.age_35_54]
    auto, sports = SEGMENT_SHARE[S.in_market_auto], SEGMENT_SHARE[S.viewers_live_sports]
    shares = segment_shares([
        (), (S.age_18_34,), (S.age_18_34, S.age_35_54), (S.age_18_34, S.in_market_auto),
        (S.age_18_34, S.age_35_54, S.age_55_plus, S.female),
        (S.age_18_34, S.in_market_auto, S.viewers_live_sports),
    ])
    assert shares.tolist() == pytest.approx([
        1.0, young, young + middle, young * auto, 1.0, young * auto * sports], abs=1e-15)
    # the bands of one family cover the households once
    bands = (S.income_under_50k, S.income_50k_100k, S.income_100k_plus)
    assert sum(SEGMENT_SHARE[s] for s in bands) == pytest.approx(1.0)
    assert all(0 < share <= 1 for share in SEGMENT_SHARE.values())
    # a segment shrinks the targetable households by its share
    _, everyone = _households(_big())
    _, sports_fans = _households(_big(segments=(S.viewers_live_sports,)))
    assert sports_fans == math.floor(everyone * sports)


def test_narrow_targeting_reaches_fewer_households_more_often_at_a_higher_frequency() -> None:
    results = {name: simulate([item], platform=ROKU, seed=5) for name, item in [
        ("all", _big()), ("dma", _big(dmas=("501",))),
        ("segment", _big(segments=(S.viewers_live_sports,))),
    ]}
    truth = {k: r["ground_truth"].to_pylist()[0] for k, r in results.items()}
    reach = {k: max(r["reach"]["reach"].to_pylist()) for k, r in results.items()}
    impressions = {k: sum(r["performance"]["impressions"].to_pylist())
                   for k, r in results.items()}
    assert truth["dma"]["targetable_households"] < truth["segment"]["targetable_households"] \
        < truth["all"]["targetable_households"]
    assert impressions["dma"] == impressions["all"]  # the budget still buys its impressions
    assert reach["dma"] < reach["segment"] < reach["all"]
    assert truth["dma"]["planned_frequency"] > truth["all"]["planned_frequency"]
    for result in results.values():
        rows = result["reach"].to_pylist()
        assert all(r["reach"] <= r["targetable_households"] for r in rows)


def test_a_tiny_market_under_delivers_for_want_of_supply() -> None:
    small = simulate([_big(dmas=("798",))], platform=ROKU, seed=5)  # Glendive: 4,230 homes
    broad = simulate([_big()], platform=ROKU, seed=5)
    assert sum(small["performance"]["impressions"].to_pylist()) < \
        0.1 * sum(broad["performance"]["impressions"].to_pylist())
    reasons = small["pacing"]["shortfall_reason"].to_pylist()
    assert reasons.count("supply") > len(reasons) // 2
    # 4,230 of 113 M TV homes would multiply the planned frequency by ~8: it stops at the top
    planned = small["ground_truth"]["planned_frequency"].to_pylist()[0]
    assert broad["ground_truth"]["planned_frequency"].to_pylist()[0] < planned
    assert planned == PLANNED_FREQUENCY_RANGE[1]


def test_in_market_segments_raise_the_incremental_conversion_rate() -> None:
    youtube = platform("youtube_tv_like")
    plain = simulate([_big()], platform=youtube, seed=7)["conversion_truth"]
    shopping = simulate([_big(segments=(S.in_market_auto,))], platform=youtube,
                        seed=7)["conversion_truth"]
    lift = SEGMENT_CONVERSION_LIFT[SegmentKind.in_market]
    assert np.allclose(shopping["incremental_rate_max"].to_numpy(),
                       lift * plain["incremental_rate_max"].to_numpy(), rtol=1e-12)
    assert np.array_equal(shopping["baseline_rate"].to_numpy(),
                          plain["baseline_rate"].to_numpy())


def test_targeted_runs_are_deterministic() -> None:
    items = [_big(dmas=("501", "803"), states=("CA",)),
             replace(_big(segments=(S.viewers_streaming_heavy,)), line_item_id=2)]
    first = simulate(items, platform=ROKU, seed=11)
    again = simulate(list(reversed(items)), platform=ROKU, seed=11)
    for name in ("performance", "ground_truth", "reach", "pacing", "conversion_truth"):
        assert first[name].equals(again[name]), name


def test_at_scale_plans_carry_the_fixed_markets_and_pay_the_data_premium() -> None:
    base = catalog.get_profile("mobile_consideration")
    fixed = Targeting(dma=["501"], segment=["viewers_live_sports"])
    targeted = base.model_copy(update={"targeting": fixed})
    plain = build_scaled(seed=3, platform=ROKU, advertisers=30, profiles=[base])
    plan = build_scaled(seed=3, platform=ROKU, advertisers=30, profiles=[targeted])
    assert all(i.dmas == ("501",) and i.geos == (US,) for i in plan.items)
    assert all(i.segments == (S.viewers_live_sports,) for i in plan.items)
    assert len({id(i.dmas) for i in plan.items}) == 1  # one shared tuple, not one per row
    cpm = np.array([i.cpm_micros for i in plan.items], dtype=np.float64)
    before = np.array([i.cpm_micros for i in plain.items], dtype=np.float64)
    assert cpm.size == before.size and (cpm >= before).all()
    premium = 1 + SEGMENT_CPM_PREMIUM[SegmentKind.viewing]
    assert cpm.mean() / before.mean() == pytest.approx(premium, rel=0.03)


@pytest.mark.parametrize(("targeting", "fragment"), [
    ("{dma: [501], geo: [CA]}", "line_items.0.targeting: dma names US markets but geo (CA)"),
    ("{state: [NY], geo: [GB]}", "line_items.0.targeting: state names US markets"),
    ("{dma: [501], state: [CA]}", "has no DMA whose principal state is in state (CA)"),
    ("{state: [NJ]}", "state (NJ) is the principal state of no DMA"),
])
def test_a_targeting_that_matches_no_household_is_refused(
    tmp_path: Path, targeting: str, fragment: str
) -> None:
    own = tmp_path / "mine.yml"
    own.write_text(tiny_example(platforms="platforms: [roku_like]", targeting=targeting),
                   encoding="utf-8")
    db = tmp_path / "ads.db"
    message = user_error(invoke("create-example", "--template", str(own), "--example",
                                "my_brand", "--platform", "roku_like", "--db", sqlite_url(db)))
    assert fragment in message
    assert not db.exists()


def test_a_state_option_that_matches_no_household_writes_nothing(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "ads.db")
    assert invoke("-q", "create-advertiser", "--auto", "--db", url).exit_code == 0
    message = user_error(invoke("create-campaign", "--advertiser-id", "1", "--budget", "10000",
                                "--state", "nj", "--platform", "roku_like", "--db", url))
    assert "state (NJ) is the principal state of no DMA" in message
    assert invoke_json("list", "campaigns", "--db", url) == []
