"""Where each device's households go in a line item's numbering over all its devices, and
which earlier households each device sees on a day, so the stream meets the batch's
`device = 'all'` reach rows exactly (`adsgen.stream.households` hands out the impressions).

A household may watch a line item on its TV and its phone; the batch's `all` rows say how
many distinct households the line item reached over its devices per UTC day (A) and from
the flight start to each day's end (U, the last day's is the flight row). The pairs' local
numbers (line item × device, 0, 1, … in the order first reached) are laid onto one
numbering of the line item's households, day by day (`DeviceUnion`, a few pieces per line
item × device × day, no per-household state):

- the day's U − U' households new to the line item (U': yesterday's) get the next numbers, a
  block; each device's households new today go first into that block, the devices in turn
  round it (so together they cover it), as many as can be new to the line item while its
  earlier households seen today can still make up A (`_into_block`); the rest are
  households of earlier days that other devices reached, taken class by class (a class:
  the numbers the same devices have) as a maximum flow says (`_rests`), so that each
  device's earlier households seen today can still be households no device has today and
  no other device picks (taking the lowest numbers a device lacked once left the desktop
  57 of the 72 it needed); at every day's end the devices' numbers together are 0 … U − 1;
- at the line item's first impression of the day, each device's earlier households seen
  today are picked together (`pick_earlier`) so that the day's households over all devices
  number exactly A: the picks that add the most households new to the day (a maximum flow
  over the classes) and the picks that add the fewest (shared and today's households
  first) are joined by a path of one-household swaps, and the path's point that adds
  exactly what A needs is found by bisection (each swap changes the count by at most one);
  within a class, households the device's cap still allows go first.

The batch's rows always allow this (`simulate.reach_table`: U grows by at most the devices'
new households of the day; A is at least the day's new households plus any device's
earlier ones seen that day, and at most U); a day the layout cannot meet is followed as
close as it allows and the miss counted (`Households.union_miss`, tests assert 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

__all__ = ["DEVICES", "DeviceUnion", "day_table", "pick_earlier"]

I64 = NDArray[np.int64]
DEVICES = ("ctv", "desktop", "mobile")
_SLACK = 0
"""Share of the room between the fewest and the most households new to the union today
left to the devices' earlier households (`_into_block`): slack for the day's picks."""
_CLASSES = 1 << len(DEVICES)
"""Classes of a line item's households: which devices have had them (a bit per device)."""


def day_table(li_ids: I64, reach: pa.Table) -> tuple[I64, I64, I64, I64, I64]:
    """The batch's day rows as dense arrays over (line item, day of its flight):
    (line item index, epoch day, cumulative reach (rows, 3 devices + all), day reach
    (rows, 4), devices' flight reach (line items, 3)); rows sorted by line item, day."""
    rows = reach.filter(pc.equal(reach["period"], "day"))
    ids = rows["line_item_id"].to_numpy()
    at = np.searchsorted(li_ids, ids)
    known = (at < len(li_ids)) & (li_ids[np.minimum(at, max(len(li_ids) - 1, 0))] == ids) \
        if len(li_ids) else np.zeros(len(ids), bool)
    device = pc.index_in(rows["device"], value_set=pa.array([*DEVICES, "all"])).to_numpy(
        zero_copy_only=False).astype(np.int64)
    day = pc.cast(pc.cast(rows["day"], pa.int32()), pa.int64()).to_numpy()
    cell = at[known] * 1_000_000 + day[known]
    cells, where = np.unique(cell, return_inverse=True)
    cum = np.zeros((len(cells), len(DEVICES) + 1), np.int64)
    day_reach = np.zeros_like(cum)
    cum[where, device[known]] = rows["cumulative_reach"].to_numpy()[known]
    day_reach[where, device[known]] = rows["reach"].to_numpy()[known]
    li = cells // 1_000_000
    first = np.r_[True, li[1:] != li[:-1]] if len(li) else np.zeros(0, bool)
    # a device without a row on a day keeps its cumulative reach (0 before its first)
    for d in range(len(DEVICES) + 1):
        cum[:, d] = np.maximum.accumulate(cum[:, d] + li * (1 << 40)) - li * (1 << 40)
    flight = np.zeros((len(li_ids), len(DEVICES)), np.int64)
    last = np.r_[first[1:], True] if len(li) else first
    flight[li[last], :] = cum[last, :len(DEVICES)]
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


def _augment(cap: list[list[int]], flow: list[list[int]], source: int, sink: int) -> None:
    """Raise `flow` to a maximum flow under `cap` (Edmonds–Karp on a graph of a dozen nodes;
    augmenting paths never lower what leaves the source, so a flow found first with some
    sources closed stays when they open)."""
    n = len(cap)
    while True:
        parent = [-1] * n
        parent[source] = source
        queue = [source]
        for u in queue:
            for v in range(n):
                if parent[v] < 0 and cap[u][v] - flow[u][v] > 0:
                    parent[v] = u
                    queue.append(v)
        if parent[sink] < 0:
            return
        push, v = 1 << 62, sink
        while v != source:
            push = min(push, cap[parent[v]][v] - flow[parent[v]][v])
            v = parent[v]
        v = sink
        while v != source:
            flow[parent[v]][v] += push
            flow[v][parent[v]] -= push
            v = parent[v]


def _class_flow(first: list[int], second: list[int], size: list[int]) -> list[list[int]]:
    """Per device (rows: the first kind, then the second) and class: how many distinct
    households to take, a maximum flow in which the first kind is served before the second.
    A device of the first kind takes from classes without it (households new to it), of
    the second from classes with it (its own earlier households); `size` per class."""
    n = len(first)
    source, sink = 0, 1 + 2 * n + _CLASSES
    cap = [[0] * (sink + 1) for _ in range(sink + 1)]
    for d in range(n):
        for c in range(1, _CLASSES):
            cap[1 + (n + d if c >> d & 1 else d)][1 + 2 * n + c] = 1 << 62
    for c in range(_CLASSES):
        cap[1 + 2 * n + c][sink] = size[c]
    flow = [[0] * (sink + 1) for _ in range(sink + 1)]
    for kind, want in ((0, first), (n, second)):
        for d in range(n):
            cap[source][1 + kind + d] = want[d]
        _augment(cap, flow, source, sink)
    return [[max(flow[1 + r][1 + 2 * n + c], 0) for c in range(_CLASSES)] for r in range(2 * n)]


def _classes(holes: list[list[tuple[int, int]]], union: int) -> tuple[I64, I64, I64]:
    """The numbers 0 … union − 1 as segments (starts, ends, class: which devices have them),
    from each device's holes (the numbers below `union` it lacks, sorted)."""
    bounds = np.unique(np.array([0, union, *(x for h in holes for a, b in h for x in (a, b))],
                                np.int64))
    bounds = bounds[bounds <= union]
    starts, ends = bounds[:-1], bounds[1:]
    mask = np.zeros(len(starts), np.int64)
    for d, h in enumerate(holes):
        if not h:
            mask |= 1 << d
            continue
        lo = np.array([a for a, _ in h], np.int64)
        hi = np.array([b for _, b in h], np.int64)
        at = np.searchsorted(lo, starts, side="right") - 1
        inside = (at >= 0) & (hi[np.maximum(at, 0)] > starts)
        mask |= np.where(inside, 0, 1 << d)
    return starts, ends, mask


def _take(starts: I64, ends: I64, offset: int, count: int) -> list[tuple[int, int]]:
    """Numbers `offset` … `offset + count − 1` of the segments laid end to end."""
    if count <= 0:
        return []
    cum = np.cumsum(ends - starts)
    out = []
    at = int(np.searchsorted(cum, offset, side="right"))
    while count > 0 and at < len(starts):
        skip = offset - (int(cum[at - 1]) if at else 0)
        a = int(starts[at]) + skip
        step = min(count, int(ends[at]) - a)
        out.append((a, a + step))
        count -= step
        offset += step
        at += 1
    return out


def _subtract(holes: list[tuple[int, int]], cut: list[tuple[int, int]]
              ) -> list[tuple[int, int]]:
    """`holes` (sorted, disjoint) without `cut` (sorted, disjoint, each inside one hole)."""
    out: list[tuple[int, int]] = []
    j = 0
    for lo, hi in holes:
        a = lo
        while j < len(cut) and cut[j][0] < hi:
            if cut[j][1] > a:
                if cut[j][0] > a:
                    out.append((a, cut[j][0]))
                a = max(a, cut[j][1])
            j += 1
        if a < hi:
            out.append((a, hi))
    return out


def _rests(holes: list[list[tuple[int, int]]], union: int, rest: list[int], old: list[int]
           ) -> list[list[tuple[int, int]]]:
    """Per device, up to `rest[d]` numbers below `union` it lacks (households of earlier
    days new to it today), no two devices the same, taken class by class so that each
    device can still pick `old[d]` of its own earlier households that none of these are
    and no other device picks (module docstring)."""
    n = len(rest)
    if not union or not any(rest):
        return [[] for _ in range(n)]
    starts, ends, mask = _classes(holes, union)
    lengths = ends - starts
    size = np.bincount(mask, weights=lengths, minlength=_CLASSES).astype(np.int64).tolist()
    flow = _class_flow(rest, old, size)
    out: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    for c in range(1, _CLASSES):
        mine = mask == c
        offset = 0
        for d in range(n):
            out[d] += _take(starts[mine], ends[mine], offset, flow[d][c])
            offset += flow[d][c]
    return [sorted(parts) for parts in out]


def _marks(size: int, ids: I64) -> NDArray[np.bool_]:
    """A mask of `size` with `ids` set (set differences of local numbers without sorting)."""
    out = np.zeros(size, bool)
    out[ids] = True
    return out


def pick_earlier(fresh: list[I64], earlier: list[I64], old: list[int], union_reach: int,
                 scores: list[NDArray[np.float32] | None]) -> tuple[list[I64], int]:
    """Which of its earlier households each device sees today, so the day's households over
    all devices number `union_reach` (module docstring): per device `old[d]` local numbers
    (indices into `earlier[d]`, the line item's numbers of its local 0 … before − 1),
    ordered by `scores[d]` (a keyed random order, households the cap leaves no room last:
    score ≥ 2; given where old[d] > 0); `fresh[d]`: the line item's numbers of its
    households new today. Households the cap leaves no room are picked only where the day
    cannot be met without them. Returns the picks and by how many households the day
    misses `union_reach`."""
    n = len(old)
    size = 1 + max([int(a.max()) for a in fresh + earlier if len(a)], default=0)
    in_f = np.zeros(size, bool)
    for a in fresh:
        in_f[a] = True
    more = union_reach - int(in_f.sum())  # households the picks must add to the day
    picks = [np.zeros(0, np.int64) for _ in range(n)]
    score = {d: np.asarray(scores[d], np.float32) for d in range(n) if old[d] > 0}
    if not score:
        return picks, abs(more)
    every = {d: np.ones(len(earlier[d]), bool) for d in score}
    room = {d: s < 2 if int((s < 2).sum()) >= old[d] else every[d] for d, s in score.items()}
    best, miss = _pick(in_f, earlier, old, more, score, room)
    if miss and any(not room[d].all() for d in score):
        again, other = _pick(in_f, earlier, old, more, score, every)
        if other < miss:
            best, miss = again, other
    for d, ids in best.items():
        picks[d] = ids[np.argsort(score[d][ids], kind="stable")]
    return picks, miss


def _fewest(need: list[int], size: list[int]) -> list[int]:
    """Per class, how many households to use so that each device d has `need[d]` among the
    classes with it, in as few households as possible (`size` per class). Households all
    devices have first (any other could give way to one); then as many as can serve two
    devices that both still need some (a b-matching on the triangle of device pairs, over
    the first pair's count); the rest one device each, its own class first."""
    out = [0] * _CLASSES
    top = _CLASSES - 1
    out[top] = min(size[top], max(need))
    rest = [max(r - out[top], 0) for r in need]
    a, b, c = rest
    s01, s02, s12 = size[0b011], size[0b101], size[0b110]
    x = np.arange(min(s01, a, b) + 1, dtype=np.int64)
    y = np.minimum(np.minimum(s02, a - x), c)
    w = np.minimum(np.minimum(s12, b - x), c - y)
    best = int(np.argmax(x + y + w))
    out[0b011], out[0b101], out[0b110] = int(x[best]), int(y[best]), int(w[best])
    for d in range(len(need)):
        pairs = [p for p in (0b011, 0b101, 0b110) if p >> d & 1]
        short = rest[d] - sum(out[p] for p in pairs)
        for cls in (1 << d, *pairs):
            give = min(max(short, 0), size[cls] - out[cls])
            out[cls] += give
            short -= give
    return out


def _pick(in_f: NDArray[np.bool_], earlier: list[I64], old: list[int], more: int,
          score: dict[int, NDArray[np.float32]], cand: dict[int, NDArray[np.bool_]]
          ) -> tuple[dict[int, I64], int]:
    """`pick_earlier` among the households `cand[d]` (over d's local numbers) allows: the
    picks closest to adding `more` households outside `in_f`, and how far they are."""
    active = list(score)
    size = len(in_f)
    ids_of = {d: np.flatnonzero(cand[d]) for d in active}
    mask = np.zeros(size, np.int64)
    local = {}
    for d in active:
        mask[earlier[d][ids_of[d]]] |= 1 << d
        local[d] = np.full(size, -1, np.int64)
        local[d][earlier[d][ids_of[d]]] = ids_of[d]

    def fill(d: int, have: I64, free: NDArray[np.bool_], count: int, extra: NDArray[np.float32]
             ) -> I64:
        """`have` plus `count` more of d's households: free ones (adding nothing) first."""
        if count <= 0:
            return have
        ids = ids_of[d][~_marks(len(earlier[d]), have)[ids_of[d]]]
        key = np.where(free[earlier[d][ids]], 0.0, 10.0) + extra[ids] + score[d][ids]
        if count < len(ids):
            ids = ids[np.argpartition(key, count - 1)[:count]]
        return np.concatenate([have, ids])

    # the most the picks can add: a maximum flow of each device into the classes outside
    # today's households, then any more of its slots on households that add nothing
    outside = np.bincount(mask[~in_f], minlength=_CLASSES).tolist()
    flow = _class_flow([0] * len(old), [old[d] if d in score else 0 for d in range(len(old))],
                       outside)
    used = in_f.copy()
    high = {d: np.zeros(0, np.int64) for d in active}
    for c in range(1, _CLASSES):
        left = np.flatnonzero((mask == c) & ~in_f)
        for d in active:
            count = flow[len(old) + d][c]
            if count <= 0:
                continue
            ids = local[d][left]
            got = ids[np.argpartition(score[d][ids], count - 1)[:count]] if count < len(ids) \
                else ids
            high[d] = np.concatenate([high[d], got])
            left = left[~_marks(size, earlier[d][got])[left]]
            used[earlier[d][got]] = True
    for d in active:
        high[d] = fill(d, high[d], used, old[d] - len(high[d]),
                       np.zeros(len(earlier[d]), np.float32))
    # the fewest: each device's households of today first, then the fewest households
    # outside today's that give every device the rest (`_fewest`), lowest score first
    inside = {d: ids_of[d][in_f[earlier[d][ids_of[d]]]] for d in active}
    need = [max(old[d] - len(inside[d]), 0) if d in score else 0 for d in range(len(old))]
    chosen = np.zeros(size, bool)
    for c, count in enumerate(_fewest(need, outside)):
        if count:
            here = np.flatnonzero((mask == c) & ~in_f)
            rank = sum(np.where(local[d][here] >= 0, score[d][np.maximum(local[d][here], 0)], 0)
                       for d in active)
            chosen[here[np.argsort(rank, kind="stable")[:count]]] = True
    low = {d: fill(d, np.zeros(0, np.int64), chosen | in_f, old[d],
                   np.where(in_f[earlier[d]], 0.0, 1.0).astype(np.float32) * 3.0)
           for d in active}

    # one household swapped at a time from the fewest to the most
    drop = {d: low[d][~_marks(len(earlier[d]), high[d])[low[d]]] for d in active}
    add = {d: high[d][~_marks(len(earlier[d]), low[d])[high[d]]] for d in active}
    ends = np.cumsum([len(add[d]) for d in active])

    def config(t: int) -> dict[int, I64]:
        out = {}
        for i, d in enumerate(active):
            j = min(max(t - (int(ends[i - 1]) if i else 0), 0), len(add[d]))
            out[d] = low[d] if j == 0 else high[d] if j == len(add[d]) else np.concatenate(
                [low[d][~_marks(len(earlier[d]), drop[d][:j])[low[d]]], add[d][:j]])
        return out

    def gap(t: int) -> int:
        seen = np.zeros(size, bool)
        for d, ids in config(t).items():
            seen[earlier[d][ids]] = True
        return int((seen & ~in_f).sum()) - more

    lo, hi = 0, int(ends[-1])
    g_lo, g_hi = gap(lo), gap(hi)
    if g_lo == 0 or g_hi == 0 or (g_lo > 0) == (g_hi > 0):
        best = lo if abs(g_lo) <= abs(g_hi) else hi
    else:  # a swap changes the gap by at most 1: it is 0 where its sign turns
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if (gap(mid) > 0) == (g_lo > 0):
                lo = mid
            else:
                hi = mid
        best = lo if gap(lo) == 0 else hi
    return config(best), abs(gap(best))


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
        li, _, cum, day_reach, flight = day_table(li_ids, reach)
        keys: list[int] = []
        starts: list[int] = []
        n_dev = len(DEVICES)
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
                old = [min(max(reach_rows[row][d] - new[d], 0), seen[d]) for d in range(n_dev)]
                rests = _rests(holes, union, [new[d] - into[d] for d in range(n_dev)], old)
                turn = 0
                earlier = sorted(a for r in rests for a in r)  # earlier days' taken today
                for d in range(n_dev):
                    pair = (k * 4 + d) << 32
                    local = seen[d]
                    # today's block, devices in turn (wrapping round it)
                    here = into[d]
                    lo = union + turn % grow if grow else union
                    mine = [(lo, min(lo + here, now))]
                    if lo + here > now:
                        mine.append((union, union + lo + here - now))
                    # the rest: households of earlier days new to this device, class by
                    # class (`_rests`), then (when those cannot be distinct) the lowest
                    # numbers it has not had, other than those other devices take today
                    holes[d] = _subtract(holes[d], rests[d])
                    count = sum(b - a for a, b in rests[d])
                    taken, holes[d] = _fill(holes[d], new[d] - here - count, earlier)
                    for a, b in [*mine, *rests[d], *taken]:
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
        beyond = self.reach[li].sum(axis=1) + local * len(DEVICES) + dev
        out: I64 = np.where(inside, pos, beyond).astype(np.int64)
        return out
