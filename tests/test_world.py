"""The shared world: households, slots, the allocation, and the laws they give the rows."""

from __future__ import annotations

import random
from datetime import timedelta

import numpy as np
import pyarrow as pa
import pytest
from tests.simfactory import START, line_item, platform, random_line_item

from adsgen.build.items import SimFrequencyCap
from adsgen.domain.enums import DeviceType, FrequencyPeriod, Genre
from adsgen.simulate import simulate
from adsgen.world.allocation import NONE, Allocation, allocate
from adsgen.world.households import (
    DEVICE_ORDER,
    OWNERSHIP,
    geo_households,
    nbd_reach,
    nbd_shape_for_frequency,
    sample_households,
    served_geos,
)
from adsgen.world.inventory import hourly_slots, slot_units
from adsgen.world.lineitems import epoch_seconds


def _crowd(n: int = 40, **changes: object) -> list:
    """`n` big line items on the same small segment (KR, CTV), each able to win half of it."""
    return [
        line_item(i, geos=("KR",), devices=(DeviceType.ctv,), cpm_micros=(20 + i) * 1_000_000,
                  budget_micros=10**7 * 1_000_000, extra={"win_rate": 0.5}, **changes)
        for i in range(1, n + 1)
    ]


def _kr_ctv_shares(alloc: Allocation) -> np.ndarray:
    """(line items, days): the shares of line items that all target KR × CTV only."""
    geo = served_geos(platform()).index("KR")
    dev = DEVICE_ORDER.index(DeviceType.ctv)
    n, days = alloc.ids.size, alloc.days.size
    owners = np.repeat(np.arange(n), days)
    return alloc.share(owners, np.full(owners.size, geo), np.full(owners.size, dev),
                       np.tile(alloc.days, n)).reshape(n, days)


def test_competition_never_sells_more_than_a_segment_has() -> None:
    alloc = allocate(_crowd(), platform(), seed=1)
    per_day = _kr_ctv_shares(alloc)
    assert (per_day.sum(axis=0) <= 1.0).all()
    assert (per_day.sum(axis=0) > 0.99).all()  # the segment sells out
    # higher CPM first: the top bidder gets all it asked, the lowest nothing
    assert np.allclose(per_day[-1], alloc.need[-1]) and (per_day[0] == 0).all()
    assert alloc.granted[0] == pytest.approx(0.0, abs=1e-12) and alloc.granted[-1] == 1.0
    assert alloc.squeezed[0] and not alloc.squeezed[-1]
    # granted is the share of all it asked for that it got
    assert np.allclose(alloc.granted, per_day.sum(axis=1) / (alloc.need * alloc.days.size))
    # a subset keeps its own shares: blocks read the whole plan's clearing
    part = alloc.select(alloc.ids[:3])
    assert np.array_equal(_kr_ctv_shares(part), per_day[:3])


def test_no_competition_squeezes_nobody() -> None:
    rng = random.Random(2)
    alloc = allocate([random_line_item(rng, i) for i in range(1, 30)], platform(), seed=1)
    assert not alloc.squeezed.any() and (alloc.granted == 1.0).all()
    assert (alloc.cut == NONE).all()


def test_the_clearing_does_not_depend_on_its_window() -> None:
    """The dense clearing runs in windows of line items × days: any size gives the same."""
    import adsgen.world.allocation as allocation

    items = _crowd(30) + [line_item(i, geos=("KR",), devices=(DeviceType.ctv,),
                                    start=START + timedelta(days=i % 20),
                                    end=START + timedelta(days=i % 20 + 7),
                                    cpm_micros=(10 + i) * 1_000_000,
                                    budget_micros=10**7 * 1_000_000, extra={"win_rate": 0.4})
                          for i in range(31, 60)]
    whole = allocate(items, platform(), seed=4)
    old = allocation.CELLS
    try:
        allocation.CELLS = 7
        small = allocate(items, platform(), seed=4)
    finally:
        allocation.CELLS = old
    assert whole.squeezed.any()
    for name in ("cut", "part", "granted", "squeezed"):
        assert np.array_equal(getattr(whole, name), getattr(small, name)), name


def test_the_shared_slot_law_holds_on_the_rows() -> None:
    items = _crowd(12)
    result = simulate(items, platform=platform(), seed=3)
    perf = result.performance
    units = {c.creative_id: int(slot_units(np.array([c.duration_s or 0]),
                                           np.array([c.ad_format.is_video]))[0])
             for i in items for c in i.creatives}
    hours = perf["hour"].cast(pa.int64()).to_numpy() // 1_000_000
    used = perf["impressions"].to_numpy() * np.array(
        [units[c] for c in perf["creative_id"].to_pylist()])
    t0 = epoch_seconds(items[0].start)
    inventory = hourly_slots(platform(), 3, np.arange(7) + t0 // 86400)
    slots = inventory.slots.sum(axis=0)[0]  # CTV, every geo
    per_hour = np.bincount((hours - t0) // 3600, weights=used, minlength=24 * 7)
    kr = inventory.slots[sorted(platform().geo_timezones).index("KR"), 0]
    assert (per_hour <= kr + 1e-6).all()  # all of them target KR alone
    assert (per_hour <= slots).all()
    assert per_hour.max() > 0.5 * kr.max()  # the law binds here: the test can fail


def test_any_subset_with_the_plans_allocation_gives_its_rows_of_the_whole_run() -> None:
    rng = random.Random(7)
    items = [random_line_item(rng, i) for i in range(1, 40)]
    alloc = allocate(items, platform(), seed=9)
    whole = simulate(items, platform=platform(), seed=9, allocation=alloc)
    part = [i for i in items if i.line_item_id % 3 == 0]
    alone = simulate(part, platform=platform(), seed=9, allocation=alloc)
    ids = whole.performance["line_item_id"].to_numpy()
    keep = np.flatnonzero(ids % 3 == 0)
    assert alone.performance.equals(whole.performance.take(keep))
    reach_ids = whole["reach"]["line_item_id"].to_numpy()
    assert alone["reach"].equals(whole["reach"].take(np.flatnonzero(reach_ids % 3 == 0)))


def test_reach_follows_the_nbd_curve_and_stays_well_below_the_audience() -> None:
    items = [line_item(i, budget_micros=200_000 * 1_000_000, end=line_item(1).start
                       + (line_item(1).end - line_item(1).start) * 4) for i in range(1, 6)]
    result = simulate(items, platform=platform(), seed=4)
    truth = result.ground_truth.to_pydict()
    reach = result["reach"].to_pydict()
    flight = [k for k, p in enumerate(reach["period"])
              if p == "flight" and reach["device"][k] != "all"]
    for k in flight:
        n = reach["targetable_households"][k]
        imps = reach["impressions"][k]
        assert reach["reach"][k] < 0.5 * n
        assert reach["reach"][k] < n * -np.expm1(-imps / n)  # slower than Poisson
    shapes = np.array(truth["exposure_shape"])
    frequency = np.array(truth["planned_frequency"])
    assert (shapes > 0).all() and (frequency >= 1).all()


def test_frequency_distribution_sums_to_reach_and_respects_a_daily_cap() -> None:
    cap = SimFrequencyCap(3, FrequencyPeriod.days, 1)
    items = [line_item(i, frequency_cap=cap, budget_micros=100_000 * 1_000_000,
                       genres=(Genre.drama,)) for i in range(1, 4)]
    result = simulate(items, platform=platform(), seed=5)
    table = result["reach"].to_pydict()
    buckets = np.array([table[f"frequency_{j}"] for j in range(1, 10)]
                       + [table["frequency_10_plus"]]).T
    assert (buckets.sum(axis=1) == np.array(table["reach"])).all()
    weighted = (buckets * np.arange(1, 11)).sum(axis=1)
    assert (weighted <= np.array(table["impressions"])).all()
    day = np.array([p == "day" and d != "all" for p, d in
                    zip(table["period"], table["device"], strict=True)])
    assert buckets[day][:, 3:].sum() == 0  # nobody above 3 a day on one device
    assert buckets[day][:, 2].sum() > 0  # and the cap is reached


def test_nbd_shape_gives_the_planned_frequency() -> None:
    m = np.array([0.01, 0.3, 2.0])
    f = np.array([4.0, 6.0, 9.0])
    k = nbd_shape_for_frequency(m, f)
    reach = nbd_reach(np.ones(3), m, k)
    assert np.allclose(m / reach, f, rtol=1e-6)


def test_sampled_households_follow_the_description() -> None:
    pf = platform()
    sample = sample_households(pf, 11, np.arange(200_000))
    share = np.bincount(sample.geo, minlength=12) / sample.geo.size
    expected = geo_households(pf) / pf.households
    assert np.allclose(share, expected, atol=0.005)
    ctv = (sample.devices & 1).mean()
    assert ctv == pytest.approx(OWNERSHIP[DeviceType.ctv], abs=0.01)
    assert sample.viewing.mean() == pytest.approx(1.0, abs=0.02)
    again = sample_households(pf, 11, np.arange(100_000, 100_010))
    assert np.array_equal(again.viewing, sample.viewing[100_000:100_010])


def test_the_manifest_counts_device_hours_over_their_slots() -> None:
    from adsgen.runs.manifest import shared_slot_check, slot_use

    items = _crowd(6)
    result = simulate(items, platform=platform(), seed=3)
    keys, used = slot_use(result.performance, items)
    fine = shared_slot_check([(keys, used)], platform(), 3)
    assert fine.checked == keys.size and fine.violations == 0
    over = used.copy()
    over[5] += 10**12  # one device-hour sold far past its slots
    broken = shared_slot_check([(keys, used), (keys[5:6], over[5:6] - used[5:6])], platform(), 3)
    assert broken.violations == 1


def test_pacing_table_explains_a_supply_limited_line_item() -> None:
    narrow = line_item(1, geos=("KR",), genres=(Genre.news,), devices=(DeviceType.desktop,),
                       budget_micros=500_000 * 1_000_000)
    easy = line_item(2, budget_micros=2_000 * 1_000_000)
    result = simulate([narrow, easy], platform=platform(), seed=2)
    table = result["pacing"].to_pydict()
    reasons = {(i, r) for i, r in zip(table["line_item_id"], table["shortfall_reason"],
                                      strict=True)}
    assert (1, "supply") in reasons
    assert {r for i, r in reasons if i == 2} <= {"none", "pacing"}
    delivered = np.array(table["delivered_impressions"])
    perf = result.performance
    assert delivered.sum() == perf["impressions"].to_numpy().sum()


def test_a_segment_asked_too_much_only_by_headroom_gives_everyone_its_even_rate() -> None:
    from adsgen.world.allocation import BASE, HEADROOM

    def crowd(n: int, budget: int) -> list:
        return [line_item(i, geos=("KR",), devices=(DeviceType.ctv,), budget_micros=budget,
                          cpm_micros=(20 + i) * 1_000_000, extra={"win_rate": 1.0})
                for i in range(1, n + 1)]

    budget = 100_000 * 1_000_000  # about 5 % of the segment a day
    alone = allocate(crowd(1, budget), platform(), seed=1)
    rate = alone.need[0] / HEADROOM  # even rate as a share of the segment's slots
    n = int(1 / ((BASE + HEADROOM) / 2 * rate))  # Σ base < 1 < Σ need
    assert n * BASE * rate < 1 < n * HEADROOM * rate
    alloc = allocate(crowd(n, budget), platform(), seed=1)
    shares = _kr_ctv_shares(alloc)
    assert alloc.squeezed.any()  # the segment is over-asked
    base = BASE * alloc.need / HEADROOM
    assert (shares >= base[:, None] * (1 - 1e-9)).all()  # yet everyone keeps its even rate
    # the headroom goes by CPM: the highest gets all it asked, the lowest less
    assert np.allclose(shares[-1], alloc.need[-1]) and (shares[0] < alloc.need[0]).all()


def test_flight_days_are_the_union_of_the_flights() -> None:
    from types import SimpleNamespace

    from adsgen.world.allocation import flight_days

    rng = np.random.default_rng(1)
    for _ in range(200):
        n = int(rng.integers(1, 30))
        first, length = rng.integers(0, 60, n), rng.integers(1, 15, n)
        want = np.unique(np.concatenate(
            [np.arange(a, a + b) for a, b in zip(first, length, strict=True)]))
        tg = SimpleNamespace(n=n, first_day=first, n_days=length)
        assert np.array_equal(flight_days(tg), want)  # type: ignore[arg-type]
