"""Builders of simulation inputs for tests: the bundled platform, one line item, random plans.

- `platform()`: the bundled netflix_like platform, validated from its YAML file.
- `line_item(id, **changes)`: a deliverable line item with plain defaults.
- `random_line_item(rng, id)`: a valid random line item (any status, pacing, cap, targeting).
- `sim_items()`: a Hypothesis strategy of random plans (unique ids).
"""

from __future__ import annotations

import itertools
import random
from dataclasses import replace
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

import adsgen
from adsgen.build.items import SimCreative, SimFrequencyCap, SimLineItem
from adsgen.domain.enums import (
    AdFormat,
    AdPosition,
    Daypart,
    DeviceType,
    FrequencyPeriod,
    Genre,
    Objective,
    PacingPeriod,
    PacingType,
)
from adsgen.templates.spec import Platform

__all__ = ["creative", "line_item", "platform", "random_line_item", "sim_items"]

PLATFORMS = Path(adsgen.__file__).parent / "templates" / "data" / "platforms"
START = datetime(2026, 3, 2)  # a Monday, UTC midnight; US DST starts 2026-03-08


@cache
def platform(name: str = "netflix_like") -> Platform:
    """A bundled platform, loaded straight from its YAML file."""
    data = yaml.safe_load((PLATFORMS / f"{name}.yml").read_text())
    return Platform.model_validate(data)


def creative(creative_id: int, **changes: Any) -> SimCreative:
    """A servable 30 s video creative."""
    base = SimCreative(
        creative_id=creative_id,
        ad_format=AdFormat.video,
        duration_s=30,
        has_qr=False,
        interactive=False,
        servable=True,
    )
    return replace(base, **changes)


def line_item(line_item_id: int, **changes: Any) -> SimLineItem:
    """An active 7-day EVEN/FLIGHT line item on all devices, $40 CPM, two creatives."""
    base = SimLineItem(
        line_item_id=line_item_id,
        campaign_id=1,
        advertiser_id=1,
        start=START,
        end=START + timedelta(days=7),
        active=True,
        objective=Objective.awareness,
        ad_format=AdFormat.video,
        position=AdPosition.mid_roll,
        cpm_micros=40_000_000,
        budget_micros=20_000 * 1_000_000,
        daily_cap_micros=None,
        pacing_type=PacingType.even,
        pacing_period=PacingPeriod.flight,
        frequency_cap=None,
        creatives=(
            creative(line_item_id * 100 + 1, duration_s=15),
            creative(line_item_id * 100 + 2),
        ),
    )
    return replace(base, **changes)


def random_line_item(rng: random.Random, line_item_id: int, *, max_days: int = 20) -> SimLineItem:
    """A random valid line item: sizes kept small so that many fit in a fast test."""
    start = START + timedelta(hours=rng.randrange(0, 24 * 300))
    hours = rng.randrange(1, 24 * max_days + 1)
    cpm = rng.choice([rng.randint(20, 65), rng.randint(1, 500)]) * 1_000_000 + rng.choice(
        [0, 10_000, 990_000]
    )
    budget = rng.randint(1, 200_000) * 1_000_000 + rng.choice([0, 10_000])
    period = rng.choice(list(PacingPeriod))
    pacing = rng.choice(
        list(PacingType) if period is PacingPeriod.daily else [PacingType.even, PacingType.ahead]
    )
    daily_cap = rng.choice([None, None, rng.randint(1, 20_000) * 1_000_000])
    if daily_cap is not None:
        daily_cap = min(daily_cap, budget)
    cap = None
    if rng.random() < 0.5:
        unit = rng.choice(list(FrequencyPeriod))
        cap = SimFrequencyCap(rng.randint(1, 10), unit, rng.randint(1, unit.max_count))
    formats = [AdFormat.video, AdFormat.video, AdFormat.interactive_video, AdFormat.pause_ad]
    fmt = rng.choice(formats)
    creatives = []
    for k in range(rng.randint(1, 4)):
        static = not fmt.is_video
        creatives.append(SimCreative(
            creative_id=line_item_id * 100 + k + 1 + rng.choice([0, 50]) * (k % 2),
            ad_format=fmt,
            duration_s=None if static else rng.choice(sorted(fmt.allowed_durations)),
            has_qr=rng.random() < 0.3,
            interactive=fmt is AdFormat.interactive_video and rng.random() < 0.7,
            servable=rng.random() < 0.85,
        ))
    geos = [*sorted(platform().geo_timezones), "NZ"]
    return SimLineItem(
        line_item_id=line_item_id,
        campaign_id=1 + line_item_id // 5,
        advertiser_id=1,
        start=start,
        end=start + timedelta(hours=hours),
        active=rng.random() < 0.9,
        objective=rng.choice(list(Objective)),
        ad_format=fmt,
        position=rng.choice(list(AdPosition)),
        cpm_micros=cpm,
        budget_micros=budget,
        daily_cap_micros=daily_cap,
        pacing_type=pacing,
        pacing_period=period,
        frequency_cap=cap,
        creatives=tuple(creatives),
        devices=tuple(rng.sample(list(DeviceType), rng.choice([0, 1, 2, 3]))),
        genres=tuple(rng.sample(list(Genre), rng.choice([0, 0, 1, 3]))),
        geos=tuple(rng.sample(geos, rng.choice([0, 0, 1, 2]))),
        dayparts=tuple(rng.sample(list(Daypart), rng.choice([0, 0, 0, 2, 4]))),
    )


@st.composite
def sim_items(draw: st.DrawFn, max_items: int = 6, max_days: int = 20) -> list[SimLineItem]:
    """A Hypothesis strategy: 1..max_items random line items with distinct ids."""
    seed = draw(st.integers(0, 2**32 - 1))
    count = draw(st.integers(1, max_items))
    ids = draw(st.lists(st.integers(1, 10_000), min_size=count, max_size=count, unique=True))
    rng = random.Random(seed)
    return [random_line_item(rng, i, max_days=max_days) for i in ids]


# --- invariants of realism.md section C, checked on every row --------------------------------

COUNTS = (
    "impressions", "starts", "first_quartile", "midpoint", "third_quartile", "completes",
    "measurable", "viewable", "invalid", "clicks", "qr_scans", "click_conversions",
    "view_conversions", "cumulative_reach", "spend_micros",
)


def columns(table: Any) -> dict[str, Any]:
    """Arrow table → dict of NumPy arrays (hours as int64 epoch seconds, devices as str)."""
    import numpy as np

    out = {name: table[name].to_numpy() for name in table.column_names}
    if "hour" in out:
        out["hour"] = out["hour"].astype("datetime64[s]").astype(np.int64)
    return out


def assert_invariants(result: Any, items: list[SimLineItem], plat: Platform) -> None:
    """Assert every section-C invariant on 100 % of the rows of a SimResult."""
    import numpy as np


    perf = columns(result.performance)
    n = result.performance.num_rows
    for name in COUNTS:
        assert (perf[name] >= 0).all(), name
    # 1-3: funnel order and bounds
    funnel = ("impressions", "starts", "first_quartile", "midpoint", "third_quartile", "completes")
    for wide, narrow in itertools.pairwise(funnel):
        assert (perf[narrow] <= perf[wide]).all(), (narrow, wide)
    imps = perf["impressions"]
    assert (perf["viewable"] <= perf["measurable"]).all()
    assert (perf["measurable"] <= imps).all()
    assert (perf["invalid"] <= imps).all()
    valid = imps - perf["invalid"]  # invalid traffic never clicks or scans
    for name in ("clicks", "qr_scans"):
        assert (perf[name] <= valid).all(), name
    by_id = {item.line_item_id: item for item in items}
    creatives = {c.creative_id: c for item in items for c in item.creatives}
    li = perf["line_item_id"]
    cre = perf["creative_id"]
    qr = np.array([creatives[c].has_qr for c in cre], dtype=bool) if n else np.zeros(0, bool)
    assert (perf["qr_scans"][~qr] == 0).all()
    # 4: spend on valid impressions only, rounded down once per row
    cpm = np.array([by_id[i].cpm_micros for i in li], dtype=np.int64)
    assert (perf["spend_micros"] == valid * cpm // 1000).all()
    # sorted, unique keys
    device_rank = np.searchsorted(np.array(["ctv", "desktop", "mobile"]), perf["device"])
    keys = np.lexsort((device_rank, perf["hour"], cre, li))
    assert (keys == np.arange(n)).all(), "rows must be sorted by the key"
    if n > 1:
        same = (
            (li[1:] == li[:-1]) & (cre[1:] == cre[:-1]) & (perf["hour"][1:] == perf["hour"][:-1])
            & (device_rank[1:] == device_rank[:-1])
        )
        assert not same.any(), "duplicate keys"
    truth = columns(result.ground_truth)
    audience = {
        (int(i), str(d)): int(a)
        for i, d, a in zip(truth["line_item_id"], truth["device"], truth["audience"], strict=True)
    }
    served = {d.value for d, s in plat.device_mix.items() if s > 0}
    for item in items:
        _assert_line_item(item, perf, li == item.line_item_id, served, audience)


def _assert_line_item(
    item: SimLineItem, perf: dict[str, Any], mask: Any, served: set[str],
    audience: dict[tuple[int, str], int],
) -> None:
    import numpy as np

    from adsgen.simulate.grid import epoch_seconds

    start, end = epoch_seconds(item.start), epoch_seconds(item.end)
    servable = {c.creative_id for c in item.creatives if c.servable}
    devices = ({d.value for d in item.devices} or served) & served
    hours = (end - start) // 3600
    rows = {k: v[mask] for k, v in perf.items()}
    # 6: no delivery outside the flight, for inactive items or non-servable creatives; grain
    if not item.active or not servable or not devices or hours <= 0:
        assert rows["impressions"].size == 0, item.line_item_id
        return
    assert rows["impressions"].size == hours * len(servable) * len(devices)
    assert set(np.unique(rows["creative_id"]).tolist()) == servable
    assert set(np.unique(rows["device"]).tolist()) == devices
    assert rows["hour"].min() == start and rows["hour"].max() == end - 3600
    # 5: budget and daily cap
    assert rows["spend_micros"].sum() <= item.budget_micros
    if item.daily_cap_micros is not None:
        from adsgen.simulate.pacing import local_days  # the campaign's days, not UTC's

        day = local_days([item], np.zeros(rows["hour"].size, np.int64), rows["hour"])
        per_day = np.bincount(day - day.min(), weights=rows["spend_micros"])
        assert (per_day <= item.daily_cap_micros + 1e-6).all()
    # 7: reach and frequency, per device
    cap = item.frequency_cap
    for device in devices:
        on = rows["device"] == device
        hour = rows["hour"][on]
        order = np.argsort(hour, kind="stable")
        hour = hour[order]
        reach = rows["cumulative_reach"][on][order]
        imps = rows["impressions"][on][order]
        first = np.r_[True, hour[1:] != hour[:-1]]
        idx = np.flatnonzero(first)
        per_hour = np.add.reduceat(imps, idx) if idx.size else imps
        reach_h = reach[idx]
        # the same reach on every creative's row of the hour
        assert (reach == np.repeat(reach_h, np.diff(np.r_[idx, reach.size]))).all()
        assert (np.diff(reach_h) >= 0).all()
        cumulative = np.cumsum(per_hour)
        assert (reach_h <= cumulative).all()
        assert (reach_h <= audience[(item.line_item_id, device)]).all()
        if cap is None:
            continue
        if cap.time_unit is FrequencyPeriod.minutes:
            length, limit = 1, cap.max_impressions * -(-60 // cap.time_unit_count)
        else:
            length = max(1, round(cap.time_unit.hours_per_unit * cap.time_unit_count))
            limit = cap.max_impressions
        window = (hour[idx] - start) // 3600 // length
        bounds = np.flatnonzero(np.r_[True, window[1:] != window[:-1]])
        in_window = np.add.reduceat(per_hour, bounds)
        last = np.r_[bounds[1:], window.size] - 1
        assert (in_window <= reach_h[last] * limit).all()
