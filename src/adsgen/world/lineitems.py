"""What the world needs to know of each line item: where it may deliver and how much it asks.

`targets(items, platform)` turns frozen line items (sorted by id) into arrays once — a loop
over line items reading their targeting; everything after it is whole-array arithmetic.
The allocation (whole plan) and the simulation (one batch) both read these, so they agree on
every line item's geos, devices, day-parts, genres, DMAs, states and audience segments by
construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

from adsgen.build.items import SimCreative, SimLineItem
from adsgen.domain.markets import (
    market_tv_households,
    segment_conversion_lift,
    segment_shares,
)
from adsgen.domain.money import usd_per_unit
from adsgen.templates.spec import Platform
from adsgen.world.curves import daypart_mask
from adsgen.world.households import (
    DEVICE_ORDER,
    genre_audience_share,
    geo_audience,
    served_geos,
)
from adsgen.world.inventory import slot_units

__all__ = [
    "Targets",
    "deliverable",
    "device_codes",
    "epoch_seconds",
    "planned_impressions",
    "servable",
    "targets",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def epoch_seconds(moment: datetime) -> int:
    """Epoch seconds of a naive-UTC (or aware) datetime."""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return int(aware.timestamp())


def device_codes(item: SimLineItem, platform: Platform) -> tuple[int, ...]:
    """Codes (DEVICE_ORDER) of the devices the line item targets and the platform serves."""
    served = {d for d, share in platform.device_mix.items() if share > 0}
    wanted = set(item.devices) if item.devices else served
    return tuple(code for code, device in enumerate(DEVICE_ORDER) if device in wanted & served)


def geo_codes(item: SimLineItem, platform: Platform) -> tuple[int, ...]:
    """Codes (served_geos order) of the targeted served geos; every served geo when none."""
    geos = served_geos(platform)
    wanted = set(item.geos) & set(geos) if item.geos else set(geos)
    return tuple(code for code, geo in enumerate(geos) if geo in wanted)


def servable(item: SimLineItem) -> list[SimCreative]:
    """The line item's servable creatives, by id."""
    return sorted((c for c in item.creatives if c.servable), key=lambda c: c.creative_id)


def deliverable(item: SimLineItem, platform: Platform) -> bool:
    """True when the line item gets rows: active, servable creatives, devices, hours.

    A line item whose geos the platform does not serve gets rows too, all zeros (no slots).
    """
    return (
        item.active
        and item.end > item.start
        and bool(servable(item))
        and bool(device_codes(item, platform))
    )


def planned_impressions(items: Sequence[SimLineItem]) -> I64:
    """Impressions each lifetime budget buys at its CPM (floor)."""
    budget = np.array([i.budget_micros for i in items], dtype=np.int64)
    cpm = np.array([max(i.cpm_micros, 1) for i in items], dtype=np.int64)
    return np.maximum(budget, 0) * 1000 // cpm


@dataclass(frozen=True, slots=True)
class Targets:
    """Per line item (n, sorted by id): targeting and demand as arrays."""

    ids: I64
    start: I64  # epoch seconds of the first flight hour
    hours: I64
    geo_off: I64  # (n + 1): the line item's geo codes are geo_codes[geo_off[i]:geo_off[i+1]]
    geo_codes: I64
    dev_codes: I64  # (n, 3), padded with -1
    n_dev: I64
    hour_mask: NDArray[np.bool_]  # (n, 24): targeted local hours
    genre_view_share: F64  # share of viewing (and slots) in the targeted genres
    genre_household_share: F64  # share of households watching them
    market_tv: I64  # TV homes of its DMAs and states (all DMAs' when it names none)
    segment_share: F64  # share of households its audience segments keep (1: none)
    conversion_lift: F64  # its segments' multiplier of the incremental conversion rate
    units: I64  # slots taken by the line item's longest servable creative
    planned: I64  # impressions the budget buys
    cpm_usd: F64

    @property
    def n(self) -> int:
        """Number of line items."""
        return int(self.ids.size)

    @property
    def n_geo(self) -> I64:
        """Targeted geos per line item."""
        return np.diff(self.geo_off)

    @property
    def first_day(self) -> I64:
        """UTC day number (days since 1970-01-01) of the first flight hour."""
        return self.start // 86400

    @property
    def n_days(self) -> I64:
        """UTC days the flight touches."""
        return (self.start + 3600 * self.hours - 1) // 86400 - self.first_day + 1

    def geo_masks(self, n_geos: int) -> NDArray[np.bool_]:
        """(n, n_geos): the targeted served geos as a mask."""
        mask = np.zeros((self.n, n_geos), dtype=np.bool_)
        mask[np.repeat(np.arange(self.n), self.n_geo), self.geo_codes] = True
        return mask

    def audience_share(self, platform: Platform) -> F64:
        """(n,) share of the households of its geos that its DMAs, states and segments keep:
        the share of its geos' slots it may buy (`adsgen.world.allocation`)."""
        masks = self.geo_masks(len(served_geos(platform)))
        everyone = geo_audience(platform, masks).sum(axis=1).astype(np.float64)
        kept = geo_audience(platform, masks, self.market_tv).sum(axis=1).astype(np.float64)
        share: F64 = np.divide(kept, everyone, out=np.ones(self.n), where=everyone > 0)
        return share * self.segment_share

    def device_masks(self) -> NDArray[np.bool_]:
        """(n, 3): the targeted devices as a mask."""
        mask = np.zeros((self.n, len(DEVICE_ORDER)), dtype=np.bool_)
        rows = np.repeat(np.arange(self.n), self.n_dev)
        mask[rows, self.dev_codes[self.dev_codes >= 0]] = True
        return mask


def targets(items: Sequence[SimLineItem], platform: Platform) -> Targets:
    """Targeting arrays of deliverable line items sorted by id (see `deliverable`)."""
    n = len(items)
    dev = np.full((n, len(DEVICE_ORDER)), -1, dtype=np.int64)
    geo_lists: list[tuple[int, ...]] = []
    masks = np.ones((n, 24), dtype=np.bool_)
    view_share = np.ones(n)
    hh_share = np.ones(n)
    units = np.ones(n, dtype=np.int64)
    for k, item in enumerate(items):
        codes = device_codes(item, platform)
        dev[k, : len(codes)] = codes
        geo_lists.append(geo_codes(item, platform))
        masks[k] = daypart_mask(tuple(d.hours for d in item.dayparts))
        if item.genres:
            view_share[k] = min(1.0, sum(platform.genre_share.get(g, 0.0) for g in item.genres))
            hh_share[k] = genre_audience_share(platform, item.genres)
        creatives = servable(item)
        durations = np.array([c.duration_s or 0 for c in creatives], dtype=np.int64)
        video = np.array([c.ad_format.is_video and bool(c.duration_s) for c in creatives])
        units[k] = int(slot_units(durations, video).max()) if creatives else 1
    n_geo = np.array([len(g) for g in geo_lists], dtype=np.int64)
    start = np.array([epoch_seconds(i.start) for i in items], dtype=np.int64)
    end = np.array([epoch_seconds(i.end) for i in items], dtype=np.int64)
    cpm = np.array([i.cpm_micros for i in items], dtype=np.float64) / 1e6
    segments = [i.segments for i in items]
    return Targets(
        ids=np.array([i.line_item_id for i in items], dtype=np.int64),
        start=start,
        hours=(end - start) // 3600,
        geo_off=np.concatenate([[0], np.cumsum(n_geo)]).astype(np.int64),
        geo_codes=np.array([c for g in geo_lists for c in g], dtype=np.int64),
        dev_codes=dev,
        n_dev=(dev >= 0).sum(axis=1).astype(np.int64),
        hour_mask=masks,
        genre_view_share=view_share,
        genre_household_share=hh_share,
        market_tv=market_tv_households([i.dmas for i in items], [i.states for i in items]),
        segment_share=segment_shares(segments),
        conversion_lift=segment_conversion_lift(segments),
        units=units,
        planned=planned_impressions(items),
        cpm_usd=cpm * usd_per_unit([i.currency for i in items]) if n else np.zeros(0),
    )
