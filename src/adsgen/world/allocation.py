"""Competition for shared slots: which share of each segment's slots each line item may buy.

A segment is a served geo × device × UTC day. Every line item of the plan that targets it
asks for a share of its slots:

    need = min(win × genre share × audience share,
               HEADROOM × its even daily rate ÷ the slots it can use on
               an average day of its flight (its geos, devices, day-parts))

where `win` is the share of the slots it could win against the rest of the market (drawn
log-uniform 4–30 %, scaled by √(CPM ÷ the platform's mid CPM), divided by the market's
demand of the day — Q4 and holidays: `world.calendar`), the genre share limits it to the
viewing of its genres and the audience share (`Targets.audience_share`: its DMAs, states and
segments) to the viewing of the households it targets, and HEADROOM leaves pacing room for
peaks and catch-up (more for AHEAD, and for ASAP, which spends a day's budget in its first
hours — or, over the flight, the whole budget in about a day). Competitive separation — two
ads of one industry never in one pod — then caps each industry's asks: in every segment-day,
Σ need ÷ slots per impression over the industry's line items may not pass the segment's pods
per slot (`world.pods.pods_per_slot`), so where an industry's peak day asks for more, each
of its line items in that segment has its need (and even rate) scaled by the same factor,
pods ÷ peak (the smallest over its segments), and its `granted` share counts the cut. Line
items are then served in priority order — higher CPM (in USD) first, then lower id — each
getting min(need, what is left), in two rounds: everyone's even rate first, then the
headroom above it: a greedy market clearing whose total never exceeds the segment's slots. A
line item's share applies to every hour of the segment-day, so in every geo × device × hour
Σ shares ≤ 1 and the impressions it can buy, share × slots ÷ its slots per impression, keep
Σ impressions × slots per impression ≤ slots.

Because priority is one order for the whole plan, a segment-day's outcome is told by two
cut-offs (one per round) and the share the line item at each cut got: the allocation of a
year of 20,000 line items is a few arrays per line item and per segment-day (`Allocation`),
cleared over dense (line items × over-asked days) grids of each segment in windows of at most
`CELLS` cells, whatever the competition.

This is a pure function of the whole plan, the platform and the seed, computed once before
any block is simulated: blocks then read their line items' shares (`Allocation.select`) and
stay independent, so every engine and partitioning gives the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from adsgen.build.items import SimLineItem
from adsgen.domain.enums import Industry, PacingPeriod, PacingType
from adsgen.seeding import entity_keys, hash_counters, uniform
from adsgen.templates.spec import Platform
from adsgen.world.households import served_geos
from adsgen.world.inventory import Inventory, hourly_slots
from adsgen.world.lineitems import Targets, deliverable, targets
from adsgen.world.pods import pods_per_slot
from adsgen.world.positions import positions

__all__ = ["HEADROOM", "NONE", "SEPARATION_MARGIN", "WIN_RANGE", "Allocation", "allocate",
           "flight_days", "win_rates"]

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
    """Sorted UTC day numbers that any flight of `tg` touches (the union of the flights,
    merged as intervals: no array of line items × days)."""
    if tg.n == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(tg.first_day, kind="stable")
    starts = tg.first_day[order]
    ends = np.maximum.accumulate(starts + tg.n_days[order])  # exclusive
    new = np.r_[True, starts[1:] > ends[:-1]]
    first = starts[new]
    last = ends[np.r_[np.flatnonzero(new)[1:] - 1, ends.size - 1]]
    length = last - first
    days: I64 = np.repeat(first, length) + positions(length)
    return days


NONE = np.iinfo(np.int64).max
"""A cut-off rank meaning "no line item was cut": everyone got all it asked for."""


@dataclass(frozen=True, slots=True)
class Allocation:
    """The settled competition: per line item what it asks for, per segment-day who was cut.

    Priority is one order for the whole plan (`rank`: CPM in USD high to low, then id), so a
    segment-day's clearing is told by two cut-offs: in round r (1: the even rate `base`,
    2: the headroom `need − base`) the line items ranked before `cut[s, d, r]` get all they
    ask, the one at the cut gets `part[s, d, r]`, those after get nothing. A segment is
    geo code × 3 + device code; `days` are the UTC days of the axis d. Round 2 runs only
    where round 1 cut nobody (its cut is −1 where round 1 did). So the allocation of a year
    of 20,000 line items is a few arrays per line item and per segment-day, whatever the
    competition — not an entry per line item × geo × device × day — and a block gets the
    segment tables whole and its line items' rows (`select`).
    """

    ids: I64  # (n,) line item ids, sorted
    rank: I64  # (n,) priority rank in the whole plan: 0 is served first
    need: F64  # (n,) share of each segment's slots asked for
    base: F64  # (n,) the first round's ask: the even rate with the fill allowed for
    win: F64  # (n,) share of the market it could win
    granted: F64  # (n,) share of all it asked for (every segment-day) that it got
    squeezed: NDArray[np.bool_]  # (n,) granted less than `need` in some segment-day
    days: I64  # (D,) sorted UTC day numbers of the segment tables
    cut: I64  # (segments, D, 2) priority rank of the marginal line item per round
    part: F64  # (segments, D, 2) the share that marginal line item got

    def for_items(self, items: Sequence[SimLineItem]) -> Allocation:
        """The allocation of those of `items` that have one (the deliverable ones)."""
        wanted = np.unique(np.array([i.line_item_id for i in items], dtype=np.int64))
        return self.select(wanted[np.isin(wanted, self.ids)])

    def select(self, ids: I64) -> Allocation:
        """The allocation of these line items (sorted ids, all present)."""
        pos = np.searchsorted(self.ids, ids)
        if ids.size and (pos.max() >= self.ids.size or not np.array_equal(self.ids[pos], ids)):
            raise KeyError("line items missing from the allocation")
        return replace(self, ids=np.asarray(ids, dtype=np.int64), rank=self.rank[pos],
                       need=self.need[pos], base=self.base[pos], win=self.win[pos],
                       granted=self.granted[pos], squeezed=self.squeezed[pos])

    def share(self, owners: I64, geo: I64, device: I64, day: I64) -> F64:
        """Share granted to line items `owners` (indexes) in these geo × device × UTC days."""
        d = np.searchsorted(self.days, day)
        seg = geo * 3 + device
        return _granted(self.rank[owners], self.base[owners], self.need[owners],
                        self.cut[seg, d, 0], self.part[seg, d, 0],
                        self.cut[seg, d, 1], self.part[seg, d, 1])


def _granted(rank: I64, base: F64, need: F64, cut1: I64, part1: F64, cut2: I64,
             part2: F64) -> F64:
    """The two rounds' shares summed (broadcasting): `need` exactly where nobody cut it."""
    first = np.where(rank < cut1, base, np.where(rank == cut1, part1, 0.0))
    second = np.where(rank < cut2, need - base, np.where(rank == cut2, part2, 0.0))
    full = (rank < cut1) & (rank < cut2)
    result: F64 = np.where(full, need, first + second)
    return result


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
    local = positions(pairs)
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
        cap = win * tg.genre_view_share * tg.audience_share(platform) / np.where(
            flight_demand > 0, flight_demand, 1.0)
        need = np.minimum(wanted, cap)
        base = np.minimum(np.where(average > 0, BASE * rate / average, 0.0), need)

    n_segments = len(served_geos(platform)) * 3
    separated = _separation(ordered, tg, pair_li, pair_geo * 3 + pair_dev, first, last,
                            need, n_segments=n_segments, n_days=inv.days.size,
                            pods=pods_per_slot(platform))
    need, base = need * separated, base * separated
    rank = np.empty(tg.n, dtype=np.int64)
    rank[np.lexsort((tg.ids, -tg.cpm_usd))] = np.arange(tg.n)
    cleared = _clear(n_segments, inv.days.size, pair_li, pair_geo * 3 + pair_dev,
                     first, last, rank, need, base)
    entries = tg.n_geo * tg.n_dev * n_days
    granted = np.where((need > 0) & (entries > 0),
                       cleared.granted_sum / np.maximum(need * entries, 1e-300), 1.0)
    return Allocation(ids=tg.ids, rank=rank, need=need, base=base, win=win,
                      granted=separated * np.where(cleared.squeezed, np.minimum(granted, 1.0),
                                                   1.0),
                      squeezed=cleared.squeezed,
                      days=inv.days, cut=cleared.cut, part=cleared.part)


def _separation(
    items: Sequence[SimLineItem], tg: Targets, pair_li: I64, segment_of: I64, first: I64,
    last: I64, need: F64, *, n_segments: int, n_days: int, pods: float,
) -> F64:
    """Per line item: the factor (≤ 1) competitive separation leaves of its need (module).

    An industry's impressions in a segment-day are at most Σ need ÷ units × its slots; the
    pods of the segment-day are `pods` × its slots, so Σ need ÷ units ≤ `pods` keeps one ad
    of the industry per pod. Difference arrays give each industry × segment its peak day;
    a line item without an industry is not separated."""
    industries = list(Industry)
    code = np.array([industries.index(i.industry) if i.industry is not None else -1
                     for i in items], dtype=np.int64)
    scale = np.ones(need.size)
    at = np.flatnonzero(code[pair_li] >= 0)
    if at.size == 0:
        return scale
    li = pair_li[at]
    cell = code[li] * n_segments + segment_of[at]
    cells, index = np.unique(cell, return_inverse=True)
    asked = need[li] / np.maximum(tg.units[li], 1)
    total = np.zeros((cells.size, n_days + 1))
    np.add.at(total, (index, first[li]), asked)
    np.add.at(total, (index, last[li]), -asked)
    peak = np.cumsum(total, axis=1)[:, :-1].max(axis=1)
    limit = pods * SEPARATION_MARGIN
    ratio = np.where(peak > limit, limit / np.maximum(peak, 1e-300), 1.0)
    np.minimum.at(scale, li, ratio[index])
    return scale


SEPARATION_MARGIN = 1.0 - 1e-6
"""An industry's asks sum to at most this share of the pods (a hair under, against rounding)."""


@dataclass(frozen=True, slots=True)
class _Cleared:
    cut: I64
    part: F64
    granted_sum: F64
    squeezed: NDArray[np.bool_]


CELLS = 1 << 22
"""Line items × days cleared at once (a few dense arrays of this size: ~32 MiB each)."""


def _clear(
    n_segments: int, n_days: int, pair_li: I64, segment_of: I64, first: I64, last: I64,
    rank: I64, need: F64, base: F64,
) -> _Cleared:
    """Greedy clearing of every over-asked segment-day, in two rounds (see `Allocation`).

    The plan's ask per segment-day comes from difference arrays; only segment-days asked
    for more than their slots are cleared, each segment over a dense (its line items in
    priority order × its over-asked days) grid, in windows of at most CELLS: a cumulative
    sum down the priority order finds the cut-off of each day.
    """
    n = need.size
    cut = np.full((n_segments, n_days, 2), NONE, dtype=np.int64)
    part = np.zeros((n_segments, n_days, 2), dtype=np.float64)
    granted_sum = np.bincount(pair_li, weights=need[pair_li] * (last - first)[pair_li],
                              minlength=n).astype(np.float64)
    squeezed = np.zeros(n, dtype=np.bool_)
    total = np.zeros((n_segments, n_days + 1))
    np.add.at(total, (segment_of, first[pair_li]), need[pair_li])
    np.add.at(total, (segment_of, last[pair_li]), -need[pair_li])
    over = np.cumsum(total, axis=1)[:, :-1] > CAPACITY
    by_segment = np.lexsort((rank[pair_li], segment_of))
    bounds = np.searchsorted(segment_of[by_segment], np.arange(n_segments + 1))
    for seg in np.flatnonzero(over.any(axis=1)).tolist():
        pairs = by_segment[bounds[seg]:bounds[seg + 1]]  # its line items, by priority
        li = pair_li[pairs]
        days = np.flatnonzero(over[seg])
        window = max(1, CELLS // max(li.size, 1))
        short = np.zeros(li.size)  # Σ over the segment's days of need − share, day by day
        for w in range(0, days.size, window):
            cols = days[w:w + window]
            on = np.flatnonzero((first[li] <= cols[-1]) & (last[li] > cols[0]))
            lost = _clear_window(seg, cols, li[on], first, last, rank, need, base, cut, part)
            squeezed[li[on]] |= (lost > 0).any(axis=1)
            # summed in day order whatever the window: the result does not depend on CELLS
            short[on] = np.cumsum(np.concatenate([short[on, None], lost], axis=1), axis=1)[:, -1]
        granted_sum[li] -= short
    return _Cleared(cut=cut, part=part, granted_sum=granted_sum, squeezed=squeezed)


def _clear_window(
    seg: int, cols: I64, li: I64, first: I64, last: I64, rank: I64, need: F64, base: F64,
    cut: I64, part: F64,
) -> F64:
    """Clear one segment's days `cols` among line items `li` (priority order) into `cut` and
    `part`; what each line item lost each day (need − share where it runs, else 0)."""
    active = (first[li, None] <= cols[None, :]) & (last[li, None] > cols[None, :])
    days = np.arange(cols.size)
    remaining = np.full(cols.size, CAPACITY)
    cut_first = np.zeros(cols.size, dtype=np.bool_)
    for r, ask in enumerate((base[li], need[li] - base[li])):
        asked = np.where(active, ask[:, None], 0.0)
        running = np.cumsum(asked, axis=0)
        passes = running > remaining[None, :]
        hit: NDArray[np.bool_] = np.asarray(passes.any(axis=0))
        at = np.where(hit, passes.argmax(axis=0), 0)
        got = remaining - (running[at, days] - asked[at, days])
        cut[seg, cols, r] = np.where(hit, rank[li[at]], NONE)
        part[seg, cols, r] = np.where(hit, np.clip(got, 0.0, None), 0.0)
        if r == 0:  # round 2 shares what round 1 left
            cut_first = hit
            remaining = np.where(hit, 0.0, remaining - running[-1])
    cut[seg, cols[cut_first], 1] = -1  # and gives nothing where round 1 cut
    part[seg, cols[cut_first], 1] = 0.0
    share = _granted(rank[li, None], base[li, None], need[li, None],
                     cut[seg, cols, 0][None, :], part[seg, cols, 0][None, :],
                     cut[seg, cols, 1][None, :], part[seg, cols, 1][None, :])
    lost: F64 = np.where(active, need[li, None] - share, 0.0)
    return lost
