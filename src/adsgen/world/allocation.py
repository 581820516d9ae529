"""Competition for shared slots: which share of each segment's slots each line item may buy.

A segment is a served geo × device × UTC day. Every line item of the plan that targets it
asks for a share of its slots:

    need = min(win × genre share,  HEADROOM × its even daily rate ÷ the slots it can use on
                                   an average day of its flight (its geos, devices, day-parts))

where `win` is the share of the slots it could win against the rest of the market (drawn
log-uniform 4–30 %, scaled by √(CPM ÷ the platform's mid CPM), divided by the market's demand
of the day — Q4 and holidays: `world.calendar`), the genre share limits it to
the viewing of its genres, and HEADROOM leaves pacing room for peaks and catch-up (more for
AHEAD, and for ASAP, which spends a day's budget in its first hours — or, over the flight,
the whole budget in about a day). Line items are then
served in priority order — higher CPM (in USD) first, then lower id — each getting
min(need, what is left), in two rounds: everyone's even rate first, then the headroom above
it: a greedy market clearing whose total never exceeds the segment's
slots. A line item's share applies to every hour of the segment-day, so in every geo ×
device × hour Σ shares ≤ 1 and the impressions it can buy,
share × slots ÷ its slots per impression, keep Σ impressions × slots per impression ≤ slots.

This is a pure function of the whole plan, the platform and the seed, computed once before
any block is simulated: blocks then read their line items' shares (`Allocation.select`) and
stay independent, so every engine and partitioning gives the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from adsgen.build.items import SimLineItem
from adsgen.domain.enums import PacingPeriod, PacingType
from adsgen.seeding import entity_keys, hash_counters, uniform
from adsgen.templates.spec import Platform
from adsgen.world.households import served_geos
from adsgen.world.inventory import Inventory, hourly_slots
from adsgen.world.lineitems import Targets, deliverable, targets

__all__ = ["HEADROOM", "WIN_RANGE", "Allocation", "allocate", "flight_days", "win_rates"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

HEADROOM = 3.0
"""A line item asks for 3× its even daily rate (4.5× when pacing AHEAD, 8× ASAP)."""
_HEADROOM_FACTOR = {PacingType.ahead: 1.5, PacingType.asap: 8.0 / 3.0}
WIN_RANGE = (0.04, 0.30)
"""Share of a segment's slots a line item at the platform's mid CPM can win (log-uniform)."""
BASE = 1.4
"""The first round of the clearing gives each line item 1.4× its even rate: what delivering it
takes once the ad server's fill (80 %) and busy days are allowed for."""
CAPACITY = 1.0 - 1e-9
"""Shares sum to at most this per segment (a hair under 1 against rounding)."""


def win_rates(items: Sequence[SimLineItem], tg: Targets, platform: Platform, seed: int) -> F64:
    """Per line item: share of its segments' slots it can win (`extra['win_rate']` pins it)."""
    keys = entity_keys(seed, "world.win_rate", tg.ids)
    u = uniform(hash_counters(keys, np.zeros(tg.n, dtype=np.uint64))).astype(np.float64)
    low, high = WIN_RANGE
    base = np.exp(np.log(low) + u * (np.log(high) - np.log(low)))
    cpm_low, cpm_high = platform.cpm_range
    win = base * np.sqrt(tg.cpm_usd / math.sqrt(cpm_low * cpm_high))
    pinned = np.array([i.extra.get("win_rate", np.nan) for i in items], dtype=np.float64)
    result: F64 = np.clip(np.where(np.isnan(pinned), win, pinned), 0.0, 1.0)
    return result


def flight_days(tg: Targets) -> I64:
    """Sorted UTC day numbers that any flight of `tg` touches."""
    if tg.n == 0:
        return np.zeros(0, dtype=np.int64)
    n_days = tg.n_days
    local = np.arange(int(n_days.sum())) - np.repeat(np.cumsum(n_days) - n_days, n_days)
    days: I64 = np.unique(np.repeat(tg.first_day, n_days) + local)
    return days


@dataclass(frozen=True, slots=True)
class Allocation:
    """Shares per line item × targeted geo × targeted device × UTC day of its flight.

    A line item asks for the same share `need` everywhere; it gets it except in the
    segment-days competition squeezed, listed sparsely (`squeezed`, `squeezed_share`) by
    entry index: entry = offsets[i] + (j·n_dev + r)·n_days + t for geo rank j and device
    rank r (the order of `Targets.geo_codes` / `dev_codes`) and day t from its first day.
    So a year of 20,000 line items on every geo holds a few arrays per line item, not an
    entry per line item × geo × device × day.
    """

    ids: I64  # line item ids, sorted
    offsets: I64  # (n + 1): entry ranges
    need: F64  # (n,): share of each segment's slots asked for
    win: F64  # (n,): share of the market it could win
    squeezed: I64  # sorted entry indexes where competition granted less than `need`
    squeezed_share: F64  # the share granted there

    def for_items(self, items: Sequence[SimLineItem]) -> Allocation:
        """The allocation of those of `items` that have one (the deliverable ones)."""
        wanted = np.unique(np.array([i.line_item_id for i in items], dtype=np.int64))
        return self.select(wanted[np.isin(wanted, self.ids)])

    def select(self, ids: I64) -> Allocation:
        """The allocation of these line items (sorted ids, all present)."""
        pos = np.searchsorted(self.ids, ids)
        if ids.size and (pos.max() >= self.ids.size or not np.array_equal(self.ids[pos], ids)):
            raise KeyError("line items missing from the allocation")
        lengths = self.offsets[pos + 1] - self.offsets[pos]
        new_off = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        owner = np.searchsorted(self.offsets, self.squeezed, side="right") - 1
        slot = np.searchsorted(pos, owner)
        keep = (slot < pos.size) & (pos[np.minimum(slot, max(pos.size - 1, 0))] == owner) \
            if pos.size else np.zeros(self.squeezed.size, dtype=np.bool_)
        moved = self.squeezed[keep] - self.offsets[owner[keep]] + new_off[slot[keep]]
        return Allocation(ids=np.asarray(ids, dtype=np.int64), offsets=new_off,
                          need=self.need[pos], win=self.win[pos], squeezed=moved,
                          squeezed_share=self.squeezed_share[keep])

    def share(self, entries: I64, owners: I64) -> F64:
        """The share granted at these entries of these line items (batch indexes)."""
        granted = self.need[owners].astype(np.float64)
        if self.squeezed.size:
            at = np.minimum(np.searchsorted(self.squeezed, entries), self.squeezed.size - 1)
            hit = self.squeezed[at] == entries
            granted[hit] = self.squeezed_share[at[hit]]
        return granted

    def granted(self) -> F64:
        """Per line item: share of the slots it asked for that competition left it."""
        owner = np.searchsorted(self.offsets, self.squeezed, side="right") - 1
        lost = np.bincount(owner, weights=self.need[owner] - self.squeezed_share,
                           minlength=self.ids.size)
        asked = self.need * np.diff(self.offsets)
        ratio: F64 = np.where(asked > 0, 1.0 - lost / np.maximum(asked, 1e-300), 1.0)
        return ratio


def _masked_day_slots(tg: Targets, inv: Inventory) -> tuple[I64, F64]:
    """Distinct day-part masks of the line items and each one's slots per geo × device × day."""
    keys = np.packbits(tg.hour_mask, axis=1)
    uniq, mask_of = np.unique(keys, axis=0, return_inverse=True)
    n_geo, n_dev, _span = inv.slots.shape
    days = inv.days.size
    sums = np.empty((uniq.shape[0], n_geo, n_dev, days), dtype=np.float64)
    for m in range(uniq.shape[0]):
        hours = np.unpackbits(uniq[m])[:24].astype(np.bool_)
        weight = hours[inv.local_hour]  # (geos, span)
        sums[m] = (inv.slots * weight[:, None, :]).reshape(n_geo, n_dev, days, 24).sum(axis=3)
    return mask_of.ravel().astype(np.int64), sums


def _prefix(values: F64) -> F64:
    """Cumulative sums along the last axis with a leading zero: sum of [a, b) = p[b] − p[a]."""
    shape = (*values.shape[:-1], 1)
    return np.concatenate([np.zeros(shape), np.cumsum(values, axis=-1)], axis=-1)


def allocate(items: Sequence[SimLineItem], platform: Platform, seed: int) -> Allocation:
    """Settle the competition of every deliverable line item of the plan (see the module)."""
    ordered = sorted((i for i in items if deliverable(i, platform)), key=lambda i: i.line_item_id)
    tg = targets(ordered, platform)
    win = win_rates(ordered, tg, platform, seed)
    inv = hourly_slots(platform, seed, flight_days(tg))
    mask_of, day_slots = _masked_day_slots(tg, inv)
    n_days = tg.n_days
    first = np.searchsorted(inv.days, tg.first_day)  # a flight's days are contiguous there
    last = first + n_days  # exclusive

    # pairs: (line item, geo rank, device rank)
    pairs = tg.n_geo * tg.n_dev
    pair_li = np.repeat(np.arange(tg.n), pairs)
    local = np.arange(pair_li.size) - np.repeat(np.cumsum(pairs) - pairs, pairs)
    pair_geo = tg.geo_codes[tg.geo_off[pair_li] + local // tg.n_dev[pair_li]]
    pair_dev = tg.dev_codes[pair_li, local % tg.n_dev[pair_li]]

    # each line item's need: HEADROOM × its rate over the slots of its average day, at most
    # what it can win (less when the market's demand is high over its flight)
    usable = _prefix(day_slots)[mask_of[pair_li], pair_geo, pair_dev]
    per_pair = usable[np.arange(pair_li.size), last[pair_li]] - \
        usable[np.arange(pair_li.size), first[pair_li]]
    average = np.bincount(pair_li, weights=per_pair, minlength=tg.n) / np.maximum(n_days, 1)
    demand = _prefix(inv.demand)[tg.geo_codes]  # (targeted geo entries, days + 1)
    rows = np.arange(tg.geo_codes.size)
    geo_li = np.repeat(np.arange(tg.n), tg.n_geo)
    flight_demand = np.bincount(
        geo_li, weights=demand[rows, last[geo_li]] - demand[rows, first[geo_li]], minlength=tg.n
    ) / np.maximum(n_days * tg.n_geo, 1)
    rate = tg.planned * tg.units * 24.0 / np.maximum(tg.hours, 1)
    headroom = HEADROOM * np.array([_HEADROOM_FACTOR.get(i.pacing_type, 1.0) for i in ordered])
    # ASAP over the flight spends the whole budget at once: it asks for all of it in a day
    whole = np.array([i.pacing_type is PacingType.asap and i.pacing_period is PacingPeriod.flight
                      for i in ordered], dtype=np.bool_)
    headroom = np.where(whole, 1.5 * np.maximum(tg.hours, 24) / 24.0, headroom)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # 0 slots: 0 asked
        wanted = np.where(average > 0, headroom * rate / average, 0.0)
        cap = win * tg.genre_view_share / np.where(flight_demand > 0, flight_demand, 1.0)
        need = np.minimum(wanted, cap)
        base = np.minimum(np.where(average > 0, BASE * rate / average, 0.0), need)

    # the plan's demand per segment-day (difference arrays), and where it passes the slots
    n_segments = len(served_geos(platform)) * 3
    segment_of = pair_geo * 3 + pair_dev
    total = np.zeros((n_segments, inv.days.size + 1))
    np.add.at(total, (segment_of, first[pair_li]), need[pair_li])
    np.add.at(total, (segment_of, last[pair_li]), -need[pair_li])
    over = np.cumsum(total, axis=1)[:, :-1] > CAPACITY
    squeezed, squeezed_share = _clear(tg, pair_li, segment_of, first, last, over, need, base)
    offsets = np.concatenate([[0], np.cumsum(pairs * n_days)]).astype(np.int64)
    keep = squeezed_share < need[np.searchsorted(offsets, squeezed, side="right") - 1]
    return Allocation(ids=tg.ids, offsets=offsets, need=need, win=win,
                      squeezed=squeezed[keep], squeezed_share=squeezed_share[keep])


def _clear(
    tg: Targets, pair_li: I64, segment_of: I64, first: I64, last: I64,
    over: NDArray[np.bool_], need: F64, base: F64,
) -> tuple[I64, F64]:
    """Greedy clearing of the over-asked segment-days: (entry indexes, shares), by entry.

    Two rounds in each segment-day: first every line item's base (its even rate), in
    priority order, then the headroom above it, in priority order — so a segment asked for
    more only by pacing headroom still gives every line item its even rate.
    """
    prefix = np.concatenate([np.zeros((over.shape[0], 1), np.int64),
                             np.cumsum(over, axis=1)], axis=1)
    touching = prefix[segment_of, last[pair_li]] > prefix[segment_of, first[pair_li]]
    if not touching.any():
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    pairs = np.flatnonzero(touching)
    li = pair_li[pairs]
    length = tg.n_days[li]
    e_pair = np.repeat(pairs, length)
    e_li = np.repeat(li, length)
    e_t = np.arange(e_pair.size) - np.repeat(np.cumsum(length) - length, length)
    e_day = first[e_li] + e_t
    e_seg = segment_of[e_pair]
    on = over[e_seg, e_day]
    e_pair, e_li, e_t, e_day, e_seg = e_pair[on], e_li[on], e_t[on], e_day[on], e_seg[on]
    # the entry index of (pair, day): pairs of a line item are consecutive, rank = position
    pair_start = np.cumsum(tg.n_geo * tg.n_dev) - tg.n_geo * tg.n_dev
    rank = e_pair - pair_start[e_li]
    offsets = np.cumsum(tg.n_geo * tg.n_dev * tg.n_days) - tg.n_geo * tg.n_dev * tg.n_days
    entry = offsets[e_li] + rank * tg.n_days[e_li] + e_t
    segment = np.tile(e_seg * max(over.shape[1], 1) + e_day, 2)
    stage = np.repeat(np.arange(2), e_li.size)
    owner = np.tile(e_li, 2)
    asked = np.concatenate([base[e_li], need[e_li] - base[e_li]])
    order = np.lexsort((tg.ids[owner], -tg.cpm_usd[owner], stage, segment))
    seg_sorted = segment[order]
    asked_sorted = asked[order]
    new = np.r_[True, seg_sorted[1:] != seg_sorted[:-1]]
    group = np.cumsum(new) - 1
    running = np.cumsum(asked_sorted)
    starts = np.flatnonzero(new)
    before = running - asked_sorted - (running[starts] - asked_sorted[starts])[group]
    granted = np.empty_like(asked)
    granted[order] = np.clip(CAPACITY - before, 0.0, asked_sorted)
    total = granted[: e_li.size] + granted[e_li.size:]
    by_entry = np.argsort(entry, kind="stable")
    return entry[by_entry], total[by_entry]
