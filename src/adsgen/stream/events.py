"""Hourly performance rows → individual events in time order, vectorized and keyed.

`EventWorld` holds what the expansion needs to know of a plan besides the rows (line items'
campaigns, creatives' durations, targeted geos, the platform's households and day-part
curves); `EventWorld.expand(rows)` turns the rows of one UTC hour into an `EventBatch`.

Every count of a row becomes that many events, so the events aggregated to the hour give
the row back exactly (`adsgen.stream.rollup`):

- impression ×impressions; start, firstQuartile, midpoint, thirdQuartile, complete (VAST
  4.x tracking names) for the impressions that reached them, nested per impression: the
  impression of ordinal j started when j < starts, reached the midpoint when j < midpoint …;
- measurable/viewable/invalid are flags of the impression, chosen by keyed cyclic shifts
  (so they do not line up with completion); a click and a qrScan belong to a valid impression;
- conversion ×(click_conversions + view_conversions), attribution `click` for the first ones.

Households: per line item × device, the impressions of an hour go to households as
`adsgen.stream.households` hands them out (local numbers 0, 1, … in the order first
reached), so the distinct households per hour (cumulative), UTC day and flight equal the
batch's `cumulative_reach` and `reach` exactly and no household goes over its frequency cap.
`DeviceUnion` lays each device's local numbers onto one numbering of the line item's
households, so the distinct households over all its devices equal the batch's de-duplicated
`device = 'all'` rows per UTC day, to each day's end and over the flight; a keyed bijection
per line item maps
that numbering onto the platform's households of the targeted geos, and a household lives
in one geo (split by the world's geo weights).

Times: an impression's time is spread within its hour by the device's day-part curve in the
household's geo's local time (a linear density between this hour's and the next hour's
level); its tracking events follow it by the creative's duration and stay in the same hour.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from adsgen.build.items import SimLineItem
from adsgen.build.platform_set import PlatformSet, platform_set
from adsgen.seeding import entity_keys, hash_counters, rehash, uniform
from adsgen.stream.device_union import DeviceUnion
from adsgen.stream.households import Households
from adsgen.templates.spec import Platform
from adsgen.world.curves import utc_offsets
from adsgen.world.households import DEVICE_ORDER, geo_households, served_geos
from adsgen.world.lineitems import geo_codes

if TYPE_CHECKING:
    from adsgen.stream.changes import ChangeBook

__all__ = [
    "CHANGE_TYPES",
    "DELIVERY_TYPES",
    "DEVICE_NAMES",
    "EVENT_TYPES",
    "FIRST_CHANGE",
    "FUNNEL_EVENTS",
    "EventBatch",
    "EventWorld",
    "HourRows",
]

I64 = NDArray[np.int64]

DELIVERY_TYPES: tuple[str, ...] = (
    "impression", "start", "firstQuartile", "midpoint", "thirdQuartile", "complete",
    "click", "qrScan", "conversion",
)
"""Delivery event type codes 0..8 (the index), VAST 4.x tracking names where VAST has one."""
CHANGE_TYPES: tuple[str, ...] = (
    "campaignCreated", "lineItemCreated", "budgetChanged", "creativeApproved",
    "lineItemPaused", "lineItemResumed",
)
"""Entity change event types (`adsgen.stream.changes`), codes FIRST_CHANGE + index."""
FIRST_CHANGE = len(DELIVERY_TYPES)
EVENT_TYPES: tuple[str, ...] = DELIVERY_TYPES + CHANGE_TYPES
"""Every event type by code: delivery events, then entity changes."""
IMPRESSION, START, CLICK, QR_SCAN, CONVERSION = 0, 1, 6, 7, 8
FUNNEL_EVENTS: tuple[tuple[int, str, float], ...] = (
    (1, "starts", 0.0), (2, "first_quartile", 0.25), (3, "midpoint", 0.5),
    (4, "third_quartile", 0.75), (5, "completes", 1.0),
)
"""(type code, performance column, share of the creative played when it fires)."""
DEVICE_NAMES: tuple[str, ...] = tuple(d.value for d in DEVICE_ORDER)
"""Device codes 0..2 (ctv, desktop, mobile), as the simulation numbers them."""

FLAG_INVALID, FLAG_MEASURABLE, FLAG_VIEWABLE, FLAG_CLICK_CONVERSION = 1, 2, 4, 8
START_DELAY_S = 2.0
"""Most seconds between an impression and its start event (player buffering)."""
STATIC_SPAN_S = 30.0
"""Seconds after an impression of a static creative within which a click or scan lands."""
_US = 1_000_000


@dataclass(frozen=True)
class HourRows:
    """The performance rows of one UTC hour, as arrays (one element per row)."""

    hour: int
    """Epoch seconds of the hour's start."""
    columns: Mapping[str, NDArray[np.int64]]
    """line_item_id, creative_id, device (code 0..2) and every count column of performance."""

    @property
    def size(self) -> int:
        return len(self.columns["line_item_id"])


@dataclass
class EventBatch:
    """Events as parallel arrays (one element per event), in emission order."""

    kind: NDArray[np.int8]
    time: I64
    """Event time, µs since the epoch, UTC."""
    emit: I64
    """When the event is emitted (µs, event-time clock): its time unless a fault delays it."""
    line_item: I64
    creative: I64
    device: NDArray[np.int8]
    geo: NDArray[np.int16]
    """Code into the run's served geos (`EventWorld.geos`, sorted); -1 when unknown (no
    household)."""
    household: I64
    """Household id among the households of the line item's platform; -1 when none (a
    conversion with no reach)."""
    hour: I64
    """Epoch seconds of the row's hour (part of the event id)."""
    ordinal: I64
    """Impression ordinal within its row (conversion ordinal for conversions)."""
    flags: NDArray[np.uint8]
    cost: I64
    """Media cost in micros (impressions only; a row's impressions sum to its spend)."""

    def __len__(self) -> int:
        return len(self.kind)

    def take(self, index: NDArray[np.integer]) -> EventBatch:
        """The events at `index`, in that order."""
        return EventBatch(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @classmethod
    def concat(cls, parts: Sequence[EventBatch]) -> EventBatch:
        """Events of every part, in order."""
        if not parts:
            return cls.empty()
        return cls(**{f.name: np.concatenate([getattr(p, f.name) for p in parts])
                      for f in fields(cls)})

    @classmethod
    def empty(cls) -> EventBatch:
        """No events."""
        return cls(kind=np.zeros(0, np.int8), time=_i64(0), emit=_i64(0), line_item=_i64(0),
                   creative=_i64(0), device=np.zeros(0, np.int8), geo=np.zeros(0, np.int16),
                   household=_i64(0), hour=_i64(0), ordinal=_i64(0),
                   flags=np.zeros(0, np.uint8), cost=_i64(0))


def _i64(n: int) -> I64:
    return np.zeros(n, dtype=np.int64)


def _segment_index(counts: I64) -> tuple[I64, I64]:
    """For counts per segment: (segment of each element, position within its segment)."""
    total = int(counts.sum())
    seg = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    starts = np.cumsum(counts) - counts
    return seg, np.arange(total, dtype=np.int64) - starts[seg]


def _coprime_step(size: int, key: int) -> int:
    """A step coprime with `size` (so k → (step·k + offset) mod size is a bijection)."""
    step = (key % size) | 1 if size > 1 else 1
    while math.gcd(step, size) != 1:
        step += 2
    return step % size if size > 1 else 1


class EventWorld:
    """What turning a plan's rows into events needs, built once per stream."""

    def __init__(self, items: Sequence[SimLineItem], platform: Platform | PlatformSet,
                 seed: int, reach: pa.Table, shapes: Mapping[int, float] | None = None) -> None:
        """`platform`: the run's platform or platforms (each line item's events happen on
        its own: its households, geos and day-part curves); `reach`: the batch's reach table
        of the plan; `shapes`: each line item's NBD exposure shape
        (ground_truth.exposure_shape; 1 where missing)."""
        self.seed = seed
        plats = platform_set(platform)
        self.platform_names = plats.names
        """The run's platforms; `li_platform` codes into it."""
        ordered = sorted(items, key=lambda i: i.line_item_id)
        self.li_platform = np.array([plats.names.index(plats.name_of(i)) for i in ordered],
                                    dtype=np.int64)
        self.li_ids = np.array([i.line_item_id for i in ordered], dtype=np.int64)
        self.campaign = np.array([i.campaign_id for i in ordered], dtype=np.int64)
        self.advertiser = np.array([i.advertiser_id for i in ordered], dtype=np.int64)
        creatives = sorted({c.creative_id: c for i in ordered for c in i.creatives}.items())
        self.cre_ids = np.array([cid for cid, _ in creatives], dtype=np.int64)
        self.cre_span = np.array(
            [float(c.duration_s) if c.ad_format.is_video and c.duration_s else 0.0
             for _, c in creatives], dtype=np.float64)
        # geos: every platform's served geos (sorted; one platform: its own); households
        # are numbered per platform, geo after geo (a platform's households per geo: sizes)
        self.geos = tuple(sorted({g for p in plats.platforms for g in served_geos(p)}))
        n_geo = len(self.geos)
        sizes = np.zeros((len(plats.platforms), n_geo), dtype=np.int64)
        codes_of = []
        for code, each in enumerate(plats.platforms):
            own = np.array([self.geos.index(g) for g in served_geos(each)], dtype=np.int64)
            sizes[code, own] = geo_households(each).astype(np.int64)
            codes_of.append(own)
        self.geo_start = np.concatenate([np.zeros((len(sizes), 1), dtype=np.int64),
                                         np.cumsum(sizes, axis=1)[:, :-1]], axis=1)
        # per line item: household counts of its targeted geos (0 elsewhere), cumulated
        targeted = np.zeros((len(ordered), n_geo), dtype=np.int64)
        for k, item in enumerate(ordered):
            on = int(self.li_platform[k])
            codes = codes_of[on][list(geo_codes(item, plats.platforms[on]))]
            targeted[k, codes] = sizes[on, codes]
        self.li_geo_cum = np.cumsum(targeted, axis=1)
        self.li_geo_total = self.li_geo_cum[:, -1] if n_geo else np.zeros(len(ordered), np.int64)
        zone_of = {g: z for p in reversed(plats.platforms) for g, z in p.geo_timezones.items()}
        self.zones = [zone_of[g] for g in self.geos]
        curves = np.array([[p.daypart_curves.get(d, (1.0,) * 24) for d in DEVICE_ORDER]
                           for p in plats.platforms], dtype=np.float64)
        self.curves = curves / curves.sum(axis=2, keepdims=True)
        """Day-part curve per platform × device × local hour, each summing to 1."""
        # per line item: its devices' households laid onto one numbering (the batch's
        # de-duplicated reach), and the keyed bijection of that numbering
        self.union = DeviceUnion.of(self.li_ids, reach)
        keys = entity_keys(seed, "stream.households", self.li_ids)
        steps = np.ones(len(ordered), dtype=np.int64)
        offsets = np.zeros_like(steps)
        for k, key in enumerate(keys.tolist()):
            size = max(int(self.li_geo_total[k]), 1)
            mixed = int(rehash(np.array([key], dtype=np.uint64), 0)[0])
            steps[k] = _coprime_step(size, mixed >> 1)
            offsets[k] = (mixed >> 20) % size
        self.hh_step, self.hh_offset = steps, offsets
        self.households = Households(ordered, seed, reach, shapes or {}, self.union)
        """Which household sees each impression (reach, day reach and caps kept)."""
        self.reach_before = np.zeros((len(ordered), len(DEVICE_ORDER)), dtype=np.int64)
        """Cumulative reach per line item × device at the end of the last hour expanded."""
        self.entities: dict[str, pa.Table] = {}
        """The plan's entity tables when known (`StreamSource.world`), else empty."""
        self.changes = EventBatch.empty()
        """The plan's entity change events, by time (`adsgen.stream.changes`)."""
        self.book: ChangeBook | None = None
        """What encoding a change event needs of the entity tables."""

    # --- helpers ---------------------------------------------------------------------------

    def li_index(self, line_item_ids: I64) -> I64:
        """Positions of these line item ids in the plan (sorted ids)."""
        return np.searchsorted(self.li_ids, line_item_ids).astype(np.int64)

    def _households(self, li: I64, dev: I64, local: I64) -> tuple[I64, NDArray[np.int16]]:
        """Global household ids and their geo codes for local numbers of (line item, device)."""
        size = np.maximum(self.li_geo_total[li], 1)
        # (step·k + offset) mod size without int64 overflow: Python ints per distinct step
        # would be slow, so work in float-safe halves
        position = self.union.position(li, dev, local)
        inside = (_mulmod(self.hh_step[li], position, size) + self.hh_offset[li]) % size
        cum = self.li_geo_cum[li]
        geo = (cum <= inside[:, None]).sum(axis=1).astype(np.int64)
        geo = np.minimum(geo, len(self.geos) - 1)
        before = np.where(geo > 0, cum[np.arange(len(li)), np.maximum(geo - 1, 0)], 0)
        household = self.geo_start[self.li_platform[li], geo] + (inside - before)
        return household.astype(np.int64), geo.astype(np.int16)

    def _times(self, hour: int, li: I64, dev: I64, geo: NDArray[np.int16],
               span_s: NDArray[np.float64], u: NDArray[np.float32]) -> I64:
        """Event times (µs) within the hour by the day-part curve of the line item's
        platform, leaving `span_s` after."""
        moment = np.array([hour], dtype=np.int64)
        offsets = np.array([int(utc_offsets(z, moment)[0]) for z in self.zones] or [0],
                           dtype=np.int64)
        local = ((hour + offsets[np.maximum(geo, 0)]) // 3600) % 24
        on = self.li_platform[li]
        a = self.curves[on, dev, local]
        b = self.curves[on, dev, (local + 1) % 24]
        uu = u.astype(np.float64)
        slope = b - a
        flat = np.abs(slope) < 1e-12 * np.maximum(a, 1e-300)
        safe = np.where(flat, 1.0, slope)
        x = np.where(flat, uu, (-a + np.sqrt(np.maximum(a * a + (b * b - a * a) * uu, 0.0)))
                     / safe)
        x = np.clip(x, 0.0, 1.0)
        room = np.maximum(3600.0 - span_s - START_DELAY_S - 1.0, 0.0)
        return hour * _US + (x * room * _US).astype(np.int64)

    # --- the expansion -----------------------------------------------------------------------

    def expand(self, rows: HourRows) -> EventBatch:
        """The events of one hour's rows and the hour's entity changes, sorted by time (ties:
        changes first, then type, row, ordinal).

        Rows must be given hour after hour in time order (the reach before an hour is what
        the previous call left); within an hour in any order.
        """
        col = rows.columns
        hour = rows.hour
        li = self.li_index(col["line_item_id"])
        cre = col["creative_id"]
        dev = col["device"].astype(np.int64)
        n_rows = rows.size
        cre_idx = np.searchsorted(self.cre_ids, cre)
        span = self.cre_span[cre_idx]
        seed = self.seed
        row_key = hash_counters(
            hash_counters(entity_keys(seed, "stream.rows", col["line_item_id"]),
                          (cre.astype(np.uint64) << np.uint64(2)) | dev.astype(np.uint64)),
            np.full(n_rows, hour // 3600, dtype=np.uint64))
        shifts = [rehash(row_key, v) for v in range(4)]

        # --- impressions and their households -----------------------------------------
        imps = col["impressions"]
        row, j = _segment_index(imps)
        n_imp = len(row)
        h = hash_counters(row_key[row], j.astype(np.uint64))
        # cells: line item × device (rows of one cell are its creatives)
        cell_key = li[row] * len(DEVICE_ORDER) + dev[row]
        order = np.argsort(cell_key, kind="stable")
        sorted_cells = cell_key[order]
        bounds = np.flatnonzero(np.diff(sorted_cells)) + 1
        first = np.concatenate([[0], bounds]).astype(np.int64)
        cell_sizes = np.diff(np.concatenate([first, [n_imp]])).astype(np.int64)
        cell_of = np.repeat(np.arange(len(first)), cell_sizes)
        pos = np.arange(n_imp, dtype=np.int64) - first[cell_of]
        c_li = li[row][order][first] if n_imp else _i64(0)
        c_dev = dev[row][order][first] if n_imp else _i64(0)
        reach_now = self._reach_now(li, dev, col["cumulative_reach"])
        before = self.reach_before[c_li, c_dev]
        after = reach_now[c_li, c_dev]
        shift = (uniform(rehash(h[order][first], 9)).astype(np.float64) * cell_sizes
                 ).astype(np.int64) if n_imp else _i64(0)
        rank = (pos - shift[cell_of]) % np.maximum(cell_sizes[cell_of], 1)
        local_sorted = self.households.assign(
            hour, self.li_ids[c_li], c_dev, cell_sizes, before, after)[first[cell_of] + rank] \
            if n_imp else _i64(0)
        local = np.empty(n_imp, dtype=np.int64)
        local[order] = local_sorted
        household, geo = self._households(li[row], dev[row], local)
        self.reach_before = np.maximum(self.reach_before, reach_now)
        self.households.release(hour + 3600)

        # --- flags of the impressions -----------------------------------------------------
        n = np.maximum(imps[row], 1)
        r_meas = (j - _shift(shifts[0], imps)[row]) % n
        r_inv = (j - _shift(shifts[1], imps)[row]) % n
        invalid = r_inv < col["invalid"][row]
        flags = (invalid.astype(np.uint8) * FLAG_INVALID
                 | (r_meas < col["measurable"][row]).astype(np.uint8) * FLAG_MEASURABLE
                 | (r_meas < col["viewable"][row]).astype(np.uint8) * FLAG_VIEWABLE)
        valid_n = imps - col["invalid"]
        v_rank = r_inv - col["invalid"][row]  # 0.. valid-1 for valid impressions
        vn = np.maximum(valid_n[row], 1)
        clicked = ~invalid & ((v_rank - _shift(shifts[2], valid_n)[row]) % vn
                              < col["clicks"][row])
        scanned = ~invalid & ((v_rank - _shift(shifts[3], valid_n)[row]) % vn
                              < col["qr_scans"][row])
        # cost: the row's spend over its valid impressions, the remainder to the first ones
        spend = col["spend_micros"]
        base = spend // np.maximum(valid_n, 1)
        extra = spend - base * valid_n
        cost = np.where(invalid, 0, base[row] + (v_rank < extra[row]))

        # --- times --------------------------------------------------------------------------
        t_imp = self._times(hour, li[row], dev[row], geo, np.maximum(span[row], STATIC_SPAN_S),
                            uniform(rehash(h, 1)))
        delay = (uniform(rehash(h, 2)).astype(np.float64) * START_DELAY_S * _US).astype(np.int64)
        played = span[row] * _US

        parts = [_part(IMPRESSION, t_imp, row, j, household, geo, flags, cost)]
        for code, column, share in FUNNEL_EVENTS:
            mask = j < col[column][row]
            parts.append(_part(code, t_imp[mask] + delay[mask]
                               + (played[mask] * share).astype(np.int64),
                               row[mask], j[mask], household[mask], geo[mask]))
        lag = uniform(rehash(h, 3)).astype(np.float64) * np.maximum(span[row], STATIC_SPAN_S)
        t_click = t_imp + delay + (lag * _US).astype(np.int64)
        parts.append(_part(CLICK, t_click[clicked], row[clicked], j[clicked],
                           household[clicked], geo[clicked]))
        parts.append(_part(QR_SCAN, t_click[scanned] + _US, row[scanned], j[scanned],
                           household[scanned], geo[scanned]))

        # --- conversions: in the hour they happened, by households reached so far -------
        conv = col["click_conversions"] + col["view_conversions"]
        c_row, c_j = _segment_index(conv)
        ch = hash_counters(rehash(row_key, 7)[c_row], c_j.astype(np.uint64))
        reached = reach_now[li[c_row], dev[c_row]]
        c_local = (uniform(rehash(ch, 5)).astype(np.float64) * np.maximum(reached, 1)
                   ).astype(np.int64)
        c_house, c_geo = self._households(li[c_row], dev[c_row], c_local)
        c_house = np.where(reached > 0, c_house, -1)
        c_geo = np.where(reached > 0, c_geo, -1).astype(np.int16)
        c_flags = (c_j < col["click_conversions"][c_row]).astype(np.uint8) * FLAG_CLICK_CONVERSION
        c_time = self._times(hour, li[c_row], dev[c_row], c_geo, np.zeros(len(c_row)),
                             uniform(rehash(ch, 1)))
        parts.append(_part(CONVERSION, c_time, c_row, c_j, c_house, c_geo, c_flags))

        kind = np.concatenate([p[0] for p in parts]).astype(np.int8)
        time = np.concatenate([p[1] for p in parts])
        r = np.concatenate([p[2] for p in parts])
        ordinal = np.concatenate([p[3] for p in parts])
        order = np.lexsort((ordinal, r, kind, time))
        # the hour's entity changes (at the hour's start) go first: one gather for all
        lo, hi = np.searchsorted(self.changes.hour, [hour, hour + 1])
        changed = self.changes.take(np.arange(lo, hi))
        if len(changed):
            order = np.concatenate([np.arange(len(changed)), order + len(changed)])

        def join(head: NDArray[np.generic], tail: NDArray[np.generic]) -> NDArray[Any]:
            return np.concatenate([head, tail]) if len(changed) else tail

        when = join(changed.time, time)
        events = EventBatch(
            kind=join(changed.kind, kind), time=when, emit=when,
            line_item=join(changed.line_item, col["line_item_id"][r]),
            creative=join(changed.creative, cre[r]),
            device=join(changed.device, dev[r].astype(np.int8)),
            geo=join(changed.geo, np.concatenate([p[5] for p in parts]).astype(np.int16)),
            household=join(changed.household, np.concatenate([p[4] for p in parts])),
            hour=np.full(len(when), hour, np.int64),
            ordinal=join(changed.ordinal, ordinal),
            flags=join(changed.flags, np.concatenate([p[6] for p in parts]).astype(np.uint8)),
            cost=join(changed.cost, np.concatenate([p[7] for p in parts])),
        )
        return events.take(order)

    def _reach_now(self, li: I64, dev: I64, reach: I64) -> I64:
        """Cumulative reach per line item × device after this hour (max of what the rows say
        and what it was: a pair without a row this hour keeps its reach)."""
        now = self.reach_before.copy()
        np.maximum.at(now, (li, dev), reach)
        return now


def _shift(hashes: NDArray[np.uint64], size: I64) -> I64:
    """A keyed offset in [0, size) per row."""
    return (uniform(hashes).astype(np.float64) * np.maximum(size, 1)).astype(np.int64)


def _mulmod(a: I64, b: I64, m: I64) -> I64:
    """(a · b) mod m for non-negative int64 arrays below 2^62, without overflow."""
    low = b & 0xFFFFF
    high = b >> 20
    part = (a % m) * (high % m) % m
    part = (part * (np.int64(1 << 20) % m)) % m
    result: I64 = ((part + (a % m) * low % m) % m).astype(np.int64)
    return result


def _part(kind: int, time: I64, row: I64, ordinal: I64, household: I64,
          geo: NDArray[np.int16], flags: NDArray[np.uint8] | None = None,
          cost: I64 | None = None) -> tuple[I64, I64, I64, I64, I64, NDArray[np.int16],
                                            NDArray[np.uint8], I64]:
    n = len(row)
    return (np.full(n, kind, dtype=np.int64), time, row, ordinal, household, geo,
            flags if flags is not None else np.zeros(n, dtype=np.uint8),
            cost if cost is not None else np.zeros(n, dtype=np.int64))
