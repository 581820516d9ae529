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
   a per-household exposure intensity, a keyed draw from the line item's NBD gamma
   (`ground_truth.exposure_shape`) given that the household was reached
   (`_reached_intensity`): heavy and light viewers, as the batch's frequency distribution
   assumes; never past what the cap leaves a household in its window.

Where the batch's numbers leave no way to do all of this (a cap that the day's households
cannot carry), the household ids keep the reach exact and the overflow is counted in
`Households.over_cap` (the batch's day reach leaves the cap room,
`simulate.reach_table._day_reach_floor`: tests assert it stays 0 on random plans). The state
is one small array per pair whose flight is running (5 bytes per household it will reach
when capped, 2 when not), freed when the flight ends.

Across devices (`DeviceUnion`, `Households._plan`): a household may watch a line item on its
TV and its phone, and the batch's `device = 'all'` rows say how many distinct households the
line item reached over all of them per UTC day (A) and from the flight start to each day's
end (U, the last day's is the flight row). The pairs' local numbers are laid onto one
numbering of the line item's households, day by day:

- the day's U − U' households new to the line item (U': yesterday's) get the next numbers, a
  block; each device's households new today go first into that block, the devices in turn
  round it (so together they cover it), as many as can be new to the line item while its
  earlier households seen today can still make up A; the rest are households of earlier
  days that other devices reached (the lowest numbers the device has not had, other than
  those another device takes today), so at every day's end the devices' numbers together
  are 0 … U − 1;
- at the line item's first impression of the day, each device's earlier households seen
  today are picked together (`_plan`), least flexible device first: how many of them are
  households no device has today yet is set so that the day's households over all devices
  number exactly A, the rest are households some device has today; within each kind keyed
  at random, those the cap still allows first; of the households a device adds, as many
  that later devices could also pick as leaves those devices midway between the fewest
  they must share and the most that still leaves them room for what they must add.

The batch's rows always allow this (`simulate.reach_table`: U grows by at most the devices'
new households of the day; A is at least the day's new households plus any device's
earlier ones seen that day, and at most U); a reach table that does not is followed as far
as it allows and the day's miss counted in `Households.union_miss` (tests assert 0 on
random plans). The layout is a few pieces per line item × device × day (no per-household
state); the picks are computed once per line item and day and kept per pair until its day
starts (like the pair's own picks before).
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
_SLACK = 0
"""Share of the room between the fewest and the most households new to the union today
left to the devices' earlier households (`_into_block`): slack for the day's picks."""


def _reached_intensity(draw: np.random.Generator, shape: float, mean: float, size: int
                       ) -> NDArray[np.float64]:
    """Exposure intensities (mean 1 over the whole population) of `size` households the
    flight reached: the line item's gamma (shape k, mean m = impressions per targetable
    household) given that a household saw at least one of its Poisson(λ) impressions.

    Not the gamma itself: reach selects the heavier viewers, and with a small k most of the
    gamma's households are almost never exposed, so drawing the reached ones from it would
    give nearly all impressions to a handful of them (one-day plans: most households at
    frequency 1 and a few at 10+, against the batch's NBD frequency among the reached).
    The density ∝ λ^(k−1)·e^(−λ/θ)·(1 − e^(−λ)) (θ = m/k) is the mixture over u ∈ [0, 1] of
    Gamma(k + 1, rate 1/θ + u) with u's density ∝ (1/θ + u)^(−k−1): u by its inverse CDF.
    """
    if size == 0 or mean <= 0:
        return draw.gamma(shape, 1.0 / shape, size)
    rate = shape / mean  # 1/θ
    v = draw.random(size)
    low, high = -shape * math.log(rate), -shape * math.log(rate + 1.0)
    t = math.exp(low) - v * (math.exp(low) - math.exp(high))
    u = np.exp(-np.log(t) / shape) - rate
    out: NDArray[np.float64] = draw.gamma(shape + 1.0, 1.0, size) / (rate + np.maximum(u, 0.0))
    return out / mean


def _lowest(ids: I64, score: NDArray[np.float32], count: int) -> I64:
    """The `count` of `ids` with the lowest score."""
    if count <= 0:
        return ids[:0]
    if count >= len(ids):
        return ids
    return ids[np.argpartition(score[ids], count - 1)[:count]]


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
                 shapes: Mapping[int, float], union: DeviceUnion) -> None:
        """`union`: the layout of the same items (sorted by id) and `reach` table."""
        self.seed = seed
        self._union = union
        self._li_ids = np.array(sorted(i.line_item_id for i in items), np.int64)
        li, days, self._day_cum, self._day_reach, _ = _day_table(self._li_ids, reach)
        self._cells = li * 1_000_000 + days
        self._planned: dict[int, int] = {}
        """Per line item: the day its devices' earlier households were last picked."""
        self._picks: dict[tuple[int, int], I64] = {}
        """Per pair: the earlier households picked for its day, until its day starts."""
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
            (int(i), _DEVICES.index(d)): (int(r), int(n), int(pop)) for i, d, r, n, pop in zip(
                flight["line_item_id"].to_pylist(), flight["device"].to_pylist(),
                flight["cumulative_reach"].to_pylist(), flight["impressions"].to_pylist(),
                flight["targetable_households"].to_pylist(), strict=True)}
        """Per pair: flight reach, impressions and targetable households."""
        self._pairs: dict[tuple[int, int], _Pair] = {}
        self.over_cap = 0
        """Impressions the cap could not take (given to households anyway, reach kept)."""
        self.uncovered = 0
        """Households a day's reach wanted that the day could not show an impression
        (counted when the day or the flight ends)."""
        self.union_miss = 0
        """Households by which a line item's day over all devices misses the batch's `all`
        day reach (when the batch's numbers leave no way to meet it)."""

    @staticmethod
    def _day_key(li: I64, dev: I64, day: I64) -> I64:
        return (li.astype(np.int64) * 4 + dev) * 100_000 + day

    def _pair(self, li: int, dev: int) -> _Pair:
        pair = self._pairs.get((li, dev))
        if pair is None:
            item = self._items[li]
            length, cap = cap_window(item)
            size, imps, population = self._flight.get((li, dev), (0, 0, 0))
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
                weight=np.clip(_reached_intensity(draw, shape, imps / max(population, 1), size),
                               1e-3, 6e4).astype(np.float16))
        return pair

    def release(self, hour: int) -> None:
        """Forget the pairs whose flight ended before this hour (epoch s)."""
        for li, dev in [k for k in self._pairs
                        if epoch_seconds(self._items[k[0]].end) <= hour]:
            self.uncovered += int((~self._pairs.pop((li, dev)).covered).sum())
            self._picks.pop((li, dev), None)
            self._planned.pop(li, None)

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
            self._new_day(p, li, dev, day, before, hour)
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

    def _new_day(self, p: _Pair, li: int, dev: int, day: int, before: int, hour: int) -> None:
        at = int(np.searchsorted(self._key, self._day_key(np.array([li]), np.array([dev]),
                                                           np.array([day]))[0]))
        reach, cum, imps = int(self._reach[at]), int(self._cum[at]), int(self._imps[at])
        self.uncovered += int((~p.covered).sum())  # yesterday's
        new_today = max(cum - before, 0)
        want = min(max(reach - new_today, 0), before)
        self.uncovered += max(reach - new_today, 0) - want
        if self._planned.get(li) != day:
            self._plan(li, day, hour)
        planned = self._picks.pop((li, dev), None)
        if planned is not None and len(planned) == want:
            pick = planned
        else:  # the batch's rows of the pair disagree with its hours: keyed at random
            score = self._score(p, before, day, hour)
            pick = np.argpartition(score, want - 1)[:want] if 0 < want < before else (
                np.arange(before if want else 0, dtype=np.int64))
            pick = pick[np.argsort(score[pick], kind="stable")]
        p.day, p.old, p.day_first = day, pick.astype(np.int64), before
        p.covered = np.zeros(want, bool)
        p.free_left = imps - new_today

    @staticmethod
    def _window(p: _Pair, hour: int) -> int:
        return 0 if p.length is None else (hour - p.start) // 3600 // p.length

    def _score(self, p: _Pair, before: int, day: int, hour: int) -> NDArray[np.float32]:
        """Keyed random order of a pair's households 0 … before − 1 for a day, those the
        cap leaves no room in this hour's window last."""
        candidates = np.arange(before, dtype=np.int64)
        h = uniform(hash_counters(np.full(before, p.key ^ day, np.uint64),
                                  candidates.astype(np.uint64)))
        full = self._room(p, candidates, self._window(p, hour)) <= 0
        score: NDArray[np.float32] = h + full.astype(np.float32) * 2.0
        return score

    def _plan(self, li: int, day: int, hour: int) -> None:
        """Pick the earlier households each device of line item `li` sees on `day`, so the
        day's households over all devices number the batch's `all` day reach (module
        docstring, "Across devices")."""
        self._planned[li] = day
        k = int(np.searchsorted(self._li_ids, li))
        row = int(np.searchsorted(self._cells, k * 1_000_000 + day))
        if row >= len(self._cells) or self._cells[row] != k * 1_000_000 + day:
            return
        cum, reach = self._day_cum[row], self._day_reach[row]
        prior = self._day_cum[row - 1] if row and self._cells[row - 1] // 1_000_000 == k \
            else np.zeros_like(cum)
        n_dev = len(_DEVICES)
        before = [int(prior[d]) for d in range(n_dev)]
        new = [max(int(cum[d]) - before[d], 0) for d in range(n_dev)]
        old = [min(max(int(reach[d]) - new[d], 0), before[d]) for d in range(n_dev)]

        def positions(d: int, local: I64) -> I64:
            return self._union.position(np.full(len(local), k, np.int64),
                                        np.full(len(local), d, np.int64), local)

        fresh = [positions(d, np.arange(before[d], before[d] + new[d], dtype=np.int64))
                 for d in range(n_dev)]
        earlier = [positions(d, np.arange(before[d], dtype=np.int64)) if old[d] else
                   np.zeros(0, np.int64) for d in range(n_dev)]
        size = 1 + max([int(a.max()) for a in fresh + earlier if len(a)], default=0)
        seen = np.zeros(size, bool)
        for a in fresh:
            seen[a] = True
        more = int(reach[n_dev]) - int(seen.sum())  # households still to add to the union
        left = sum(old)
        later = np.zeros(size, np.int8)  # how many devices still to pick could pick each
        for d in range(n_dev):
            later[earlier[d]] += 1
        # the most of a device's picks that can be households other devices see today,
        # and so the fewest it adds: the least flexible devices pick first
        shared = [int((seen[e] | (later[e] > 1)).sum()) for e in earlier]
        must = [max(old[d] - shared[d], 0) for d in range(n_dev)]
        order = sorted((d for d in range(n_dev) if old[d]), key=lambda d: shared[d] / old[d])
        for at, d in enumerate(order):
            later[earlier[d]] -= 1
            p = self._pair(li, d)
            score = self._score(p, before[d], day, hour)
            known = seen[earlier[d]]
            inside, outside = np.flatnonzero(known), np.flatnonzero(~known)
            left -= old[d]
            # hard bounds (the groups' sizes), then as many as the union needs and the later
            # devices cannot add, then households the cap still allows now
            low, high = max(old[d] - len(inside), 0), min(old[d], len(outside))
            for lo, hi in ((more - left, more - sum(must[e] for e in order[at + 1:])),
                           (old[d] - int((score[inside] < 2).sum()),
                            int((score[outside] < 2).sum()))):
                if max(low, lo) <= min(high, hi):
                    low, high = max(low, lo), min(high, hi)
            add = min(max(round(more * old[d] / (old[d] + left)) if more > 0 else 0, low), high)
            # the households it adds: as many the later devices could also pick as puts the
            # later devices' households seen today midway between the fewest they must share
            # and the most that still leaves room for what they must add
            rest = order[at + 1:]
            common = later[earlier[d][outside]] > 0
            both, alone = outside[common], outside[~common]
            inside_later = sum(int(seen[earlier[e]].sum()) for e in rest)
            need = left - (more - add)
            room = sum(len(earlier[e]) for e in rest) - (more - add)
            grow = max((need + max(room, need)) // 2 - inside_later, 0)
            per = float(later[earlier[d][both]].mean()) if len(both) else 1.0
            low, high = max(add - len(alone), 0), min(add, len(both))
            lo, hi = add - int((score[alone] < 2).sum()), int((score[both] < 2).sum())
            if max(low, lo) <= min(high, hi):  # households the cap still allows now first
                low, high = max(low, lo), min(high, hi)
            share = min(max(round(grow / per), low), high)
            pick = np.concatenate([_lowest(both, score, share), _lowest(alone, score, add - share),
                                   _lowest(inside, score, old[d] - add)])
            pick = pick[np.argsort(score[pick], kind="stable")]
            seen[earlier[d][pick]] = True
            more -= add
            self._picks[(li, d)] = pick
        self.union_miss += abs(more)

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


def _day_table(li_ids: I64, reach: pa.Table) -> tuple[I64, I64, I64, I64, I64]:
    """The batch's day rows as dense arrays over (line item, day of its flight):
    (line item index, epoch day, cumulative reach (rows, 3 devices + all), day reach
    (rows, 4), devices' flight reach (line items, 3)); rows sorted by line item, day."""
    rows = reach.filter(pc.equal(reach["period"], "day"))
    ids = rows["line_item_id"].to_numpy()
    at = np.searchsorted(li_ids, ids)
    known = (at < len(li_ids)) & (li_ids[np.minimum(at, max(len(li_ids) - 1, 0))] == ids) \
        if len(li_ids) else np.zeros(len(ids), bool)
    device = pc.index_in(rows["device"], value_set=pa.array([*_DEVICES, "all"])).to_numpy(
        zero_copy_only=False).astype(np.int64)
    day = pc.cast(pc.cast(rows["day"], pa.int32()), pa.int64()).to_numpy()
    cell = at[known] * 1_000_000 + day[known]
    cells, where = np.unique(cell, return_inverse=True)
    cum = np.zeros((len(cells), len(_DEVICES) + 1), np.int64)
    day_reach = np.zeros_like(cum)
    cum[where, device[known]] = rows["cumulative_reach"].to_numpy()[known]
    day_reach[where, device[known]] = rows["reach"].to_numpy()[known]
    li = cells // 1_000_000
    first = np.r_[True, li[1:] != li[:-1]] if len(li) else np.zeros(0, bool)
    # a device without a row on a day keeps its cumulative reach (0 before its first)
    for d in range(len(_DEVICES) + 1):
        cum[:, d] = np.maximum.accumulate(cum[:, d] + li * (1 << 40)) - li * (1 << 40)
    flight = np.zeros((len(li_ids), len(_DEVICES)), np.int64)
    last = np.r_[first[1:], True] if len(li) else first
    flight[li[last], :] = cum[last, :len(_DEVICES)]
    return li, cells % 1_000_000, cum, day_reach, flight


def _into_block(new: list[int], reach: list[int], union_reach: int, seen: list[int],
                union: int, grow: int) -> list[int]:
    """How many of each device's households new today are new to the union too (the rest
    are households of earlier days that other devices reached), so that the day's
    households over all devices can number `union_reach` (module docstring).

    Today's `grow` new households of the union are seen today; so are, per device, its
    earlier households seen today (reach − new) and its new ones the union had (new −
    into): the latter two, over the devices, must cover `union_reach − grow` households.
    Each device's own count can be at most that, and their sum at least that: as many as
    possible are new to the union (the most every device's new households can share), as
    few as needed to reach the day's union, so the earlier households a device picks for
    the day can meet the rest without two devices needing the same ones.
    """
    old = union_reach - grow
    low = [max(n - (union - s), r - old if union_reach else 0, 0)
           for n, r, s in zip(new, reach, seen, strict=True)]
    high = [max(min(n, grow), lo) for n, lo in zip(new, low, strict=True)]
    floor = max(grow, sum(low))
    target = max(min(sum(high), sum(reach) - old if union_reach else sum(high)), floor)
    target -= int((target - floor) * _SLACK)
    out = low[:]
    extra = target - sum(low)
    room = [h - lo for h, lo in zip(high, low, strict=True)]
    total = sum(room)
    if extra > 0 and total:
        out = [lo + min(r, extra * r // total) for lo, r in zip(low, room, strict=True)]
        for d in range(len(out)):
            give = min(target - sum(out), high[d] - out[d])
            if give > 0:
                out[d] += give
    return out


def _minus(lo: int, hi: int, taken: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """[lo, hi) without the intervals `taken` (sorted, disjoint)."""
    out = []
    for a, b in taken:
        if b <= lo or a >= hi:
            continue
        if a > lo:
            out.append((lo, a))
        lo = max(lo, b)
    if lo < hi:
        out.append((lo, hi))
    return out


def _fill(holes: list[tuple[int, int]], count: int, avoid: list[tuple[int, int]]
          ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Take `count` numbers from `holes` (sorted disjoint intervals), lowest first, outside
    `avoid` where they can; returns (the intervals taken, in order; the holes left). Only
    the holes up to the last number taken are looked at (a long flight has many)."""
    if count <= 0:
        return [], holes
    taken: list[tuple[int, int]] = []
    for skip in (avoid, []):
        for lo, hi in holes:
            for a, b in _minus(lo, hi, sorted(skip + taken)):
                step = min(count, b - a)
                taken.append((a, a + step))
                count -= step
                if not count:
                    break
            if not count:
                break
        if not count:
            break
    top = max((b for _, b in taken), default=0)
    cut = 0
    while cut < len(holes) and holes[cut][0] < top:
        cut += 1
    done = sorted(taken)
    return taken, [part for lo, hi in holes[:cut] for part in _minus(lo, hi, done)] + holes[cut:]


@dataclass(frozen=True)
class DeviceUnion:
    """Per line item × device: where its local household numbers go in the line item's
    numbering (module docstring, "Across devices"), as pieces: local numbers `first …`
    (up to the next piece's first) of a pair go to `start, start + 1, …`."""

    reach: I64
    """(line items, 3): the pair's flight reach (its local numbers are 0 … reach − 1)."""
    key: I64
    """Per piece, sorted: (line item index × 4 + device) × 2³² + its first local number."""
    start: I64
    """Per piece: the household number of its first local number."""

    @classmethod
    def of(cls, li_ids: I64, reach: pa.Table) -> DeviceUnion:
        """The layout for line items `li_ids` (sorted) from the batch's day rows of `reach`
        (devices and `all`)."""
        li, _, cum, day_reach, flight = _day_table(li_ids, reach)
        keys: list[int] = []
        starts: list[int] = []
        n_dev = len(_DEVICES)
        cum_rows = cum.tolist()
        reach_rows = day_reach.tolist()
        li_rows = li.tolist()
        row = 0
        while row < len(li_rows):
            k = li_rows[row]
            union = 0
            seen = [0] * n_dev
            holes: list[list[tuple[int, int]]] = [[] for _ in range(n_dev)]
            while row < len(li_rows) and li_rows[row] == k:
                today = cum_rows[row]
                new = [max(today[d] - seen[d], 0) for d in range(n_dev)]
                now = min(max(today[n_dev], union, *(seen[d] + new[d] for d in range(n_dev))),
                          union + sum(new))
                grow = now - union
                into = _into_block(new, [max(r, 0) for r in reach_rows[row][:n_dev]],
                                   reach_rows[row][n_dev], seen, union, grow)
                turn = 0
                earlier: list[tuple[int, int]] = []  # households of earlier days taken today
                for d in range(n_dev):
                    pair = (k * 4 + d) << 32
                    local = seen[d]
                    # today's block, devices in turn (wrapping round it)
                    here = into[d]
                    lo = union + turn % grow if grow else union
                    mine = [(lo, min(lo + here, now))]
                    if lo + here > now:
                        mine.append((union, union + lo + here - now))
                    # the rest: households of earlier days new to this device, the lowest
                    # numbers it has not had, other than those other devices take today
                    taken, holes[d] = _fill(holes[d], new[d] - here, earlier)
                    for a, b in [*mine, *taken]:
                        if b > a:
                            keys.append(pair + local)
                            starts.append(a)
                            local += b - a
                    earlier = sorted(earlier + taken)
                    if grow:
                        holes[d] += _minus(union, now, sorted(mine))
                    turn += here
                    seen[d] = local
                union = now
                row += 1
        order = np.argsort(np.array(keys, np.int64), kind="stable")
        return cls(reach=flight, key=np.array(keys, np.int64)[order],
                   start=np.array(starts, np.int64)[order])

    def position(self, li: I64, dev: I64, local: I64) -> I64:
        """The line item's household numbers of these local numbers of (li, dev) pairs:
        distinct per pair; at each day's end every device's numbers so far together are
        0 … U − 1 (U: the batch's `all` cumulative reach). Local numbers past the pair's
        flight reach (none when the batch is whole) get numbers past every device's, so
        they stay distinct."""
        reach = self.reach[li, dev]
        inside = local < reach
        at = np.maximum(np.searchsorted(
            self.key, ((li * 4 + dev) << 32) + np.where(inside, local, 0), side="right") - 1, 0)
        pos = (self.start[at] + local - (self.key[at] & 0xFFFFFFFF)) if len(self.key) else local
        beyond = self.reach[li].sum(axis=1) + local * len(_DEVICES) + dev
        out: I64 = np.where(inside, pos, beyond).astype(np.int64)
        return out
