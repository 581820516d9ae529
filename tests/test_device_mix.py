"""Device targeting and the impression share by device (realism.md B and E: CTV 53 %,
mobile 35 %, desktop 12 %, Innovid 2023).

Line items whose devices nothing fixes mostly target two or three screens, some CTV alone;
profiles that fix one device keep it. Generated data (a plan from templates and a scale
plan, simulated) lands within 4 points of each share.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import replace

import pyarrow as pa
import pytest

from adsgen.build import pools
from adsgen.build.at_scale import build_scaled
from adsgen.build.items import SimLineItem
from adsgen.build.numbering import number_plan
from adsgen.build.plans import build_run_all
from adsgen.build.providers import Fakes
from adsgen.domain.enums import DeviceType
from adsgen.domain.schemas import Targeting
from adsgen.simulate import simulate
from adsgen.templates import catalog

PLATFORM = catalog.get_platform("netflix_like")
TARGET = {"ctv": 53.0, "mobile": 35.0, "desktop": 12.0}
BAND = 4.0  # percentage points either side
CTV, MOBILE, DESKTOP = DeviceType.ctv, DeviceType.mobile, DeviceType.desktop


def shares(performance: pa.Table) -> dict[str, float]:
    """Percent of impressions by device."""
    totals = performance.group_by("device").aggregate([("impressions", "sum")])
    by_device = dict(zip(totals["device"].to_pylist(), totals["impressions_sum"].to_pylist(),
                         strict=True))
    whole = sum(by_device.values())
    return {device: 100 * by_device.get(device, 0) / whole for device in TARGET}


def test_drawn_targeting_mostly_buys_several_screens() -> None:
    drawn = [tuple(Fakes.seeded(seed, "devices").targeting.devices()) for seed in range(3000)]
    count = Counter(len(devices) for devices in drawn)
    assert count[2] + count[3] > 0.75 * len(drawn)
    assert count[3] > count[2] > count[1] > 0
    assert 0.03 < drawn.count((CTV,)) / len(drawn) < 0.08  # some buy CTV alone
    assert all(len(set(d)) == len(d) and (CTV not in d or d[0] is CTV) for d in drawn)
    fixed = Targeting.model_validate({"device": ["mobile"]})
    assert {tuple(Fakes.seeded(s, "x").targeting.fake_targeting(PLATFORM, fixed=fixed).device)
            for s in range(50)} == {(MOBILE,)}


def test_scale_plans_draw_several_screens_where_the_profile_leaves_devices_open() -> None:
    open_plan = build_scaled(seed=4, platform=PLATFORM, line_items=600,
                             profiles=[catalog.get_profile("cross_screen")])
    count = Counter(len(item.devices) for item in open_plan.items)
    assert count[2] + count[3] > 0.75 * len(open_plan.items) and count[1] > 0
    rows = open_plan.tables["targeting"].to_pylist()
    assert Counter(r["line_item_id"] for r in rows if r["key"] == "device") == Counter(
        {item.line_item_id: len(item.devices) for item in open_plan.items})
    mobile = build_scaled(seed=4, platform=PLATFORM, line_items=50,
                          profiles=[catalog.get_profile("mobile_consideration")])
    assert {item.devices for item in mobile.items} == {(MOBILE,)}


def test_a_scale_run_lands_near_the_share_by_device() -> None:
    seed = 11
    plan = build_scaled(seed=seed, platform=PLATFORM, line_items=1200, days=30)
    measured = shares(simulate(plan.items, platform=PLATFORM, seed=seed).performance)
    assert all(abs(measured[d] - TARGET[d]) <= BAND for d in TARGET), measured


def test_the_default_dataset_lands_near_the_share_by_device() -> None:
    items = number_plan(build_run_all(seed=5, platform=PLATFORM, scale=40)).items
    measured = shares(simulate(items, platform=PLATFORM, seed=5).performance)
    assert all(abs(measured[d] - TARGET[d]) <= BAND for d in TARGET), measured


def test_multi_device_line_items_get_each_device_in_proportion() -> None:
    """A line item on all three screens delivers near the platform's device mix itself."""
    plan = build_scaled(seed=2, platform=PLATFORM, line_items=200, days=7,
                        profiles=[catalog.get_profile("cross_screen")])
    every = [i for i in plan.items if len(i.devices) == 3]
    measured = shares(simulate(every, platform=PLATFORM, seed=2).performance)
    assert all(abs(measured[d] - TARGET[d]) <= 2 for d in TARGET), measured


def test_device_sets_follow_the_platform_screens() -> None:
    """The reference mix draws DEVICE_SETS as they are; a TV-heavy platform draws TV sets
    more often and a TV-only one never a set it cannot serve (provider and scale path)."""
    assert pools.device_sets(PLATFORM.device_mix) == dict(pools.DEVICE_SETS)
    youtube = catalog.get_platform("youtube_tv_like")
    tv_heavy = pools.device_sets(youtube.device_mix)
    assert tv_heavy[(CTV,)] > pools.DEVICE_SETS[(CTV,)]
    assert tv_heavy[(MOBILE, DESKTOP)] < pools.DEVICE_SETS[(MOBILE, DESKTOP)]
    roku = catalog.get_platform("roku_like")
    assert all(CTV in devices for devices in pools.device_sets(roku.device_mix))
    drawn = [tuple(Fakes.seeded(s, "d").targeting.devices(roku)) for s in range(300)]
    assert all(CTV in devices for devices in drawn)
    scaled = build_scaled(seed=4, platform=roku, line_items=300,
                          profiles=[catalog.get_profile("cross_screen")])
    assert all(CTV in item.devices for item in scaled.items)


YOUTUBE = catalog.get_platform("youtube_tv_like")


@functools.cache
def _youtube_plan(line_items: int, days: int) -> list[SimLineItem]:
    profiles = catalog.for_platform(catalog.profiles(()), YOUTUBE.name,
                                    known=catalog.names("platforms"))
    return build_scaled(seed=42, platform=YOUTUBE, line_items=line_items, days=days,
                        profiles=profiles).items


def test_a_tv_first_platform_lands_in_its_device_mix() -> None:
    """benchmarks/platforms.py's plan on youtube_tv_like: each device's impression share
    within 5 points of the file's device_mix (CTV 0.72; 0.649 before capped delivery was
    split at the paced rate and profiles followed the platform's screens)."""
    measured = shares(simulate(_youtube_plan(300, 14), platform=YOUTUBE, seed=42).performance)
    assert all(abs(measured[d.value] - 100 * share) <= 5
               for d, share in YOUTUBE.device_mix.items()), measured


def test_a_paced_line_item_meets_its_caps_at_the_rate_it_buys() -> None:
    """Capped all-screen line items split their delivery over devices nearly as uncapped
    ones do: a pacer buying ~40 % of its supply meets the CTV owners' caps far less often
    than the full supply would (1.6 points apart; 4.0 when split by the full-supply cut)."""
    every = [i for i in _youtube_plan(300, 14) if len(i.devices) == 3
             and i.frequency_cap is not None]
    capped = shares(simulate(every, platform=YOUTUBE, seed=42).performance)
    free = shares(simulate([replace(i, frequency_cap=None) for i in every], platform=YOUTUBE,
                           seed=42).performance)
    assert abs(capped["ctv"] - free["ctv"]) <= 2.0, (capped, free)


def test_profiles_follow_the_platform_screens() -> None:
    """A profile that fixes mobile is drawn less often on a TV-first platform, one that fixes
    CTV more often; the reference mix leaves every weight as it is."""
    assert pools.profile_tilt(PLATFORM.device_mix, [(MOBILE,)]) == pytest.approx(1.0)
    assert pools.profile_tilt(YOUTUBE.device_mix, [(MOBILE,)]) == pytest.approx(0.21 / 0.35)
    assert pools.profile_tilt(YOUTUBE.device_mix, [(CTV,)]) == pytest.approx(0.72 / 0.53)
    assert pools.profile_tilt(YOUTUBE.device_mix, [None]) == 1.0
    profiles = [catalog.get_profile("mobile_consideration"), catalog.get_profile("cross_screen")]
    mobile_only = {name: sum(i.devices == (MOBILE,) for i in build_scaled(
        seed=3, platform=catalog.get_platform(name), line_items=600,
        profiles=profiles).items) for name in ("netflix_like", "youtube_tv_like")}
    assert mobile_only["youtube_tv_like"] < 0.8 * mobile_only["netflix_like"], mobile_only
