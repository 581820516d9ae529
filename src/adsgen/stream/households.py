"""Which household sees each impression: reach and frequency caps kept, household by household.

The batch reports, per line item × device, the households reached in every hour
(`performance.cumulative_reach`), in every UTC day and over the flight (`reach`, day and
flight rows), and caps what a household may see per window (`simulate.reach.cap_window`).
`Households.assign` hands out an hour's impressions of each line item × device (a *pair*)
so the stream's distinct household ids equal those numbers exactly and no household goes
over its cap. Households of a pair are local numbers 0, 1, … in the order they were first
reached (`adsgen.stream.events` maps them onto the platform's households).

Per pair and UTC day the day's households are the ones first reached that day (the hours'
`cumulative_reach` steps say which, and in which hour) plus D − new households reached on
earlier days (D = the day's reach), picked at the day's first impression: keyed at random
among those the cap still allows. Per hour, in this order:

1. each household first reached this hour gets one impression (that is what makes it new);
2. some of the day's earlier households not yet seen today get one: at least as many as the
   day's later hours could no longer cover, and their share of the hour's free impressions;
3. the rest go to the day's households (earlier ones and those new so far) in proportion to
   a per-household exposure intensity, a keyed gamma draw with the line item's NBD shape
   (`ground_truth.exposure_shape`): heavy and light viewers, as the batch's frequency
   distribution assumes; never past what the cap leaves a household in its window.

Where the batch's numbers leave no way to do all of this (a cap that the day's households
cannot carry), the household ids keep the reach exact and the overflow is counted in
`Households.over_cap` (tests assert it stays 0 on random plans). The state is one small
array per pair whose flight is running (5 bytes per household it will reach when capped,
2 when not), freed when the flight ends.

Across devices (`DeviceUnion`): a household may watch a line item on its TV and its phone,
and the batch's `device = 'all'` flight row says how many distinct households the line item
reached over all of them (U, between the largest device's reach and their sum). The pairs'
local numbers are laid onto one numbering of the line item's households 0 … U − 1, device by
device: the first device's households are 0 … R₁ − 1; each later device brings `own` new
households (the next numbers) and shares the rest with the devices before it, its own and
shared ones interleaved evenly in the order first reached (so households are shared all
flight long, not only at its end). How many each device shares follows independent
ownership over the line item's households, kept where the totals allow, so the union of
the devices is exactly U at the flight's end, and each device's own count stays exact.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from adsgen.build.items import SimLineItem
from adsgen.seeding import entity_keys, hash_counters, rehash, rng, uniform
from adsgen.simulate.reach import cap_window
from adsgen.world.lineitems import epoch_seconds

__all__ = ["DeviceUnion", "Households"]

I64 = NDArray[np.int64]
_NO_CAP = 1 << 30
"""Room left to an uncapped household (more than any hour delivers)."""
_SHARE_ROUNDS = 6
"""Proportional rounds before the leftover is drawn one by one (a capped household that
fills up hands its share to the others)."""
_DEVICES = ("ctv", "desktop", "mobile")


@dataclass
class _Pair:
    """One line item × device's running state."""

    start: int
    """Epoch seconds of the flight's first hour (cap windows count from it)."""
    length: int | None
    """Hours per cap window (None: no cap)."""
    cap: int
    key: int
    use: NDArray[np.uint8]
    """Impressions of each household in the window `win` says (capped pairs only: a cap
    binds at most LOOP_CAP = 240, so a byte holds it)."""
    win: NDArray[np.int16]
    """The cap window (hours from the flight start ÷ its length: a flight has at most
    8,784 hours) `use` counts in; -1: none yet."""
    weight: NDArray[np.float16]
    """Exposure intensity (mean 1); half precision is plenty for a share."""
    day: int = -1
    old: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    """Households of earlier days picked for today, in keyed random order."""
    covered: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, bool))
    day_first: int = 0
    """The first household local number new today."""
    free_left: int = 0
    """Impressions still to come today beyond each new household's first one."""


class Households:
    """Hands out impressions to households, hour by hour (see the module docstring)."""

    def __init__(self, items: Sequence[SimLineItem], seed: int, reach: pa.Table,
                 shapes: Mapping[int, float]) -> None:
        self.seed = seed
        self._items = {i.line_item_id: i for i in items}
        self._shapes = shapes
        day_rows = reach.filter(pc.and_(pc.equal(reach["period"], "day"),
                                        pc.not_equal(reach["device"], "all")))
        dev = pc.index_in(day_rows["device"], value_set=pa.array(_DEVICES)).to_numpy(
            zero_copy_only=False).astype(np.int64)
        day = pc.cast(pc.cast(day_rows["day"], pa.int32()), pa.int64()).to_numpy()
        li = day_rows["line_item_id"].to_numpy()
        key = self._day_key(li, dev, day)
        order = np.argsort(key, kind="stable")
        self._key = key[order]
        self._reach = day_rows["reach"].to_numpy()[order]
        self._cum = day_rows["cumulative_reach"].to_numpy()[order]
        self._imps = day_rows["impressions"].to_numpy()[order]
        flight = reach.filter(pc.and_(pc.equal(reach["period"], "flight"),
                                      pc.not_equal(reach["device"], "all")))
        self._flight = {
            (int(i), _DEVICES.index(d)): int(r) for i, d, r in zip(
                flight["line_item_id"].to_pylist(), flight["device"].to_pylist(),
                flight["cumulative_reach"].to_pylist(), strict=True)}
        self._pairs: dict[tuple[int, int], _Pair] = {}
        self.over_cap = 0
        """Impressions the cap could not take (given to households anyway, reach kept)."""
        self.uncovered = 0
        """Households a day's reach wanted that the day could not show an impression
        (counted when the day or the flight ends)."""

    @staticmethod
    def _day_key(li: I64, dev: I64, day: I64) -> I64:
        return (li.astype(np.int64) * 4 + dev) * 100_000 + day

    def _pair(self, li: int, dev: int) -> _Pair:
        pair = self._pairs.get((li, dev))
        if pair is None:
            item = self._items[li]
            length, cap = cap_window(item)
            size = self._flight.get((li, dev), 0)
            key = int(rehash(entity_keys(self.seed, "stream.intensity",
                                         np.array([li], np.int64)), dev)[0])
            shape = max(float(self._shapes.get(li, 1.0)), 1e-3)
            draw = rng(self.seed, "stream.intensity", li * 4 + dev)
            capped = length is not None and not math.isinf(cap)
            tracked = size if capped else 0  # an uncapped pair needs no counts
            pair = self._pairs[(li, dev)] = _Pair(
                start=epoch_seconds(item.start) // 3600 * 3600, length=length,
                cap=int(cap) if capped else _NO_CAP, key=key,
                use=np.zeros(tracked, np.uint8), win=np.full(tracked, -1, np.int16),
                weight=np.clip(draw.gamma(shape, 1.0 / shape, size), 1e-3, 6e4).astype(
                    np.float16))
        return pair

    def release(self, hour: int) -> None:
        """Forget the pairs whose flight ended before this hour (epoch s)."""
        for li, dev in [k for k in self._pairs
                        if epoch_seconds(self._items[k[0]].end) <= hour]:
            self.uncovered += int((~self._pairs.pop((li, dev)).covered).sum())

    def assign(self, hour: int, li: I64, dev: I64, imps: I64, before: I64, after: I64) -> I64:
        """Local household numbers of each pair's impressions this hour, pair after pair
        (`imps[k]` numbers for pair k; `before`/`after`: its cumulative reach at the start
        and end of the hour)."""
        parts = [self._one(hour, int(a), int(b), int(n), int(lo), int(hi))
                 for a, b, n, lo, hi in zip(li.tolist(), dev.tolist(), imps.tolist(),
                                            before.tolist(), after.tolist(), strict=True)]
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)

    def _one(self, hour: int, li: int, dev: int, n: int, before: int, after: int) -> I64:
        p = self._pair(li, dev)
        win = 0 if p.length is None else (hour - p.start) // 3600 // p.length
        day = hour // 86400
        new = min(max(after - before, 0), n)
        if day != p.day:
            self._new_day(p, li, dev, day, before, win)
        fresh = np.arange(before, before + new, dtype=np.int64)
        self._bump(p, fresh, np.ones(new, np.int64), win)
        p.free_left -= n - new
        free_now = n - new
        # 2. earlier households not seen yet today
        waiting = np.flatnonzero(~p.covered)
        room = self._room(p, p.old[waiting], win)
        eligible = waiting[room > 0]
        must = max(len(waiting) - max(p.free_left, 0), 0)
        share = round(len(waiting) * free_now / max(free_now + max(p.free_left, 0), 1))
        take = eligible[:min(max(must, share), free_now, len(eligible))]
        p.covered[take] = True
        self._bump(p, p.old[take], np.ones(len(take), np.int64), win)
        # 3. the rest by intensity, within the cap
        pool = np.concatenate([p.old, np.arange(p.day_first, before + new, dtype=np.int64)])
        extra = self._spread(p, pool, free_now - len(take), hour, win)
        self._bump(p, pool, extra, win)
        p.covered |= extra[:len(p.old)] > 0
        return np.concatenate([fresh, p.old[take], np.repeat(pool, extra)])

    def _new_day(self, p: _Pair, li: int, dev: int, day: int, before: int, win: int) -> None:
        at = int(np.searchsorted(self._key, self._day_key(np.array([li]), np.array([dev]),
                                                           np.array([day]))[0]))
        reach, cum, imps = int(self._reach[at]), int(self._cum[at]), int(self._imps[at])
        self.uncovered += int((~p.covered).sum())  # yesterday's
        new_today = max(cum - before, 0)
        want = min(max(reach - new_today, 0), before)
        self.uncovered += max(reach - new_today, 0) - want
        candidates = np.arange(before, dtype=np.int64)
        h = uniform(hash_counters(np.full(before, p.key ^ day, np.uint64),
                                  candidates.astype(np.uint64)))
        full = self._room(p, candidates, win) <= 0
        score = h + full.astype(np.float32) * 2.0
        pick = np.argpartition(score, want - 1)[:want] if 0 < want < before else (
            candidates if want else candidates[:0])
        pick = pick[np.argsort(score[pick], kind="stable")]
        p.day, p.old, p.day_first = day, candidates[pick], before
        p.covered = np.zeros(want, bool)
        p.free_left = imps - new_today

    @staticmethod
    def _room(p: _Pair, ids: I64, win: int) -> I64:
        if p.cap == _NO_CAP:
            return np.full(len(ids), _NO_CAP, np.int64)
        used = np.where(p.win[ids] == win, p.use[ids], 0).astype(np.int64)
        room: I64 = p.cap - used
        return room

    @staticmethod
    def _bump(p: _Pair, ids: I64, counts: I64, win: int) -> None:
        if p.cap == _NO_CAP:
            return
        used = np.where(p.win[ids] == win, p.use[ids], 0).astype(np.int64)
        p.use[ids] = np.minimum(used + counts, np.iinfo(np.uint8).max)
        p.win[ids] = win

    def _spread(self, p: _Pair, pool: I64, count: int, hour: int, win: int) -> I64:
        """Impressions per pool household: `count` in all, by intensity, within the cap."""
        out = np.zeros(len(pool), np.int64)
        if count <= 0 or not len(pool):
            if count > 0:
                self.over_cap += count
            return out
        room = self._room(p, pool, win)
        weight = p.weight[pool].astype(np.float64)
        left = count
        for _ in range(_SHARE_ROUNDS):
            live = np.where(room > out, weight, 0.0)
            total = live.sum()
            if left <= 0 or total <= 0:
                break
            give = np.minimum(np.floor(left * live / total).astype(np.int64), room - out)
            if give.sum() == 0:
                break
            out += give
            left -= int(give.sum())
        draw = 0
        while left > 0:
            live = np.flatnonzero(room > out)
            if not len(live):
                break
            h = hash_counters(np.full(len(live), p.key ^ (hour << 8) ^ draw, np.uint64),
                              pool[live].astype(np.uint64))
            race = -np.log1p(-uniform(h).astype(np.float64)) / weight[live]
            k = min(left, len(live))
            chosen = live[np.argpartition(race, k - 1)[:k]] if k < len(live) else live
            out[chosen] += 1
            left -= k
            draw += 1
        if left > 0:  # the cap cannot carry the hour: keep the reach, count the overflow
            self.over_cap += left
            out[np.argmax(weight)] += left
        return out


@dataclass(frozen=True)
class DeviceUnion:
    """Per line item × device: where its local household numbers go in the line item's
    numbering (module docstring, "Across devices"); arrays (line items, 3)."""

    reach: I64
    """The pair's flight reach (its local numbers are 0 … reach − 1)."""
    before: I64
    """Households of the devices before this one (numbers 0 … before − 1)."""
    own: I64
    """Households this device adds (numbers before … before + own − 1); the rest of its
    reach are households of the devices before it."""

    @classmethod
    def of(cls, li_ids: I64, reach: pa.Table, population: I64) -> DeviceUnion:
        """The layout for line items `li_ids` (sorted) from the batch's flight rows of
        `reach`; `population`: each line item's targetable households."""
        flight = reach.filter(pc.equal(reach["period"], "flight"))
        at = np.searchsorted(li_ids, flight["line_item_id"].to_numpy())
        known = (at < len(li_ids)) & (li_ids[np.minimum(at, len(li_ids) - 1)]
                                      == flight["line_item_id"].to_numpy())
        device = pc.index_in(flight["device"], value_set=pa.array([*_DEVICES, "all"])
                             ).to_numpy(zero_copy_only=False)
        value = flight["cumulative_reach"].to_numpy().astype(np.int64)
        table = np.zeros((len(li_ids), len(_DEVICES) + 1), np.int64)
        table[at[known], device[known]] = value[known]
        per_device = table[:, :len(_DEVICES)]
        largest, total = per_device.max(axis=1, initial=0), per_device.sum(axis=1)
        union = np.clip(table[:, len(_DEVICES)], largest, total)
        size = np.maximum(population.astype(np.float64), np.maximum(union, 1))
        before = np.zeros_like(per_device)
        own = np.zeros_like(per_device)
        so_far = np.zeros(len(li_ids), np.int64)
        for d in range(len(_DEVICES)):
            r = per_device[:, d]
            later = per_device[:, d + 1:].sum(axis=1)
            independent = so_far + r - np.rint(so_far * r / size).astype(np.int64)
            low = np.maximum(np.maximum(so_far, r), union - later)
            now = np.clip(independent, low, np.minimum(so_far + r, union))
            before[:, d], own[:, d] = so_far, now - so_far
            so_far = now
        return cls(reach=per_device, before=before, own=own)

    def position(self, li: I64, dev: I64, local: I64) -> I64:
        """The line item's household numbers of these local numbers of (li, dev) pairs:
        distinct per pair; over the flight, every device's numbers together are 0 … U − 1.
        Local numbers past the pair's flight reach (none when the batch is whole) get
        numbers past every device's, so they stay distinct."""
        reach, own = self.reach[li, dev], self.own[li, dev]
        first = self.before[li, dev]
        span = np.maximum(reach, 1)
        new_before = local * own // span  # own households among local numbers below
        is_own = (local + 1) * own // span > new_before
        shared = local - new_before
        pos = np.where(is_own, first + new_before,
                       shared * first // np.maximum(reach - own, 1))
        beyond = self.reach[li].sum(axis=1) + local * len(_DEVICES) + dev
        out: I64 = np.where(local < reach, pos, beyond).astype(np.int64)
        return out
