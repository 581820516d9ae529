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

Across devices: a household may watch a line item on its TV and its phone, and the batch's
`device = 'all'` rows say how many distinct households the line item reached over all of
them per UTC day and to each day's end. `adsgen.stream.device_union` lays the pairs' local
numbers onto one numbering of the line item's households (`DeviceUnion`) and picks, at the
line item's first impression of a day, each device's earlier households seen that day
together (`pick_earlier`, called from `Households._plan`), so those rows are met exactly;
a day it cannot meet is counted in `Households.union_miss` (tests assert 0 on random
plans). The picks are computed once per line item and day and kept per pair until its day
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
from adsgen.stream.device_union import DEVICES, DeviceUnion, day_table, pick_earlier
from adsgen.world.lineitems import epoch_seconds

__all__ = ["Households"]

I64 = NDArray[np.int64]
_NO_CAP = 1 << 30
"""Room left to an uncapped household (more than any hour delivers)."""
_SHARE_ROUNDS = 6
"""Proportional rounds before the leftover is drawn one by one (a capped household that
fills up hands its share to the others)."""


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
        li, days, self._day_cum, self._day_reach, _ = day_table(self._li_ids, reach)
        self._cells = li * 1_000_000 + days
        self._planned: dict[int, int] = {}
        """Per line item: the day its devices' earlier households were last picked."""
        self._picks: dict[tuple[int, int], I64] = {}
        """Per pair: the earlier households picked for its day, until its day starts."""
        self._items = {i.line_item_id: i for i in items}
        self._shapes = shapes
        day_rows = reach.filter(pc.and_(pc.equal(reach["period"], "day"),
                                        pc.not_equal(reach["device"], "all")))
        dev = pc.index_in(day_rows["device"], value_set=pa.array(DEVICES)).to_numpy(
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
            (int(i), DEVICES.index(d)): (int(r), int(n), int(pop)) for i, d, r, n, pop in zip(
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
        n_dev = len(DEVICES)
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
        scores = [self._score(self._pair(li, d), before[d], day, hour) if old[d] else None
                  for d in range(n_dev)]
        picks, miss = pick_earlier(fresh, earlier, old, int(reach[n_dev]), scores)
        for d in range(n_dev):
            if old[d]:
                self._picks[(li, d)] = picks[d]
        self.union_miss += miss

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


