"""Events → their public form: event ids, Arrow tables and JSON lines, built column-wise.

Every string is assembled by Arrow compute kernels over whole batches (casts, element-wise
joins), never by a Python call per event, so encoding keeps up with the expansion.

An event id names where the event comes from, so it is unique and stable across runs of
the same plan and seed: `LI.CREATIVE.DEVICE.HOUR.TYPE.N`, e.g. `12.40.ctv.493992.imp.17`
(HOUR = hours since 1970-01-01 UTC, N = the impression's ordinal in its row); a start,
quartile, complete, click or scan of that impression has the same id with its own TYPE
(`st q1 q2 q3 cp ck qr`), and `impression_id` points back to it; conversions are `cv`.

JSON line of an event (keys always in this order; `null` where a value does not apply):
`event_id, type, time (UTC, ms), line_item_id, creative_id, campaign_id, advertiser_id,
platform, device, geo, household_id, device_id`, then for an impression `invalid,
measurable, viewable, cost_micros`, for a tracking event, click or scan `impression_id`,
for a conversion `attribution` (`click` or `view`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from adsgen.stream.changes import ChangeBook, change_ids, change_lines
from adsgen.stream.events import (
    CHANGE_TYPES,
    CONVERSION,
    DEVICE_NAMES,
    EVENT_TYPES,
    FIRST_CHANGE,
    FLAG_CLICK_CONVERSION,
    FLAG_INVALID,
    FLAG_MEASURABLE,
    FLAG_VIEWABLE,
    IMPRESSION,
    EventBatch,
    EventWorld,
)

__all__ = ["ID_CODES", "event_ids", "from_arrow", "json_lines", "to_arrow"]

ID_CODES: tuple[str, ...] = ("imp", "st", "q1", "q2", "q3", "cp", "ck", "qr", "cv",
                             "cc", "lc", "bc", "ca", "lp", "lr")
"""The TYPE part of an event id, per event type code (change events have ids of their own:
`adsgen.stream.changes.change_ids`)."""
_TYPES = pa.array(EVENT_TYPES, type=pa.string())
_CHANGE_TYPES = pa.array(CHANGE_TYPES, type=pa.string())
_CODES = pa.array(ID_CODES, type=pa.string())
_DEVICES = pa.array(DEVICE_NAMES, type=pa.string())
_BOOL = pa.array(["false", "true"], type=pa.string())


def _text(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values), pa.string())


def _join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _prefixes(events: EventBatch) -> tuple[pa.Array, pa.Array]:
    """(`LI.CREATIVE.DEVICE.HOUR.`, `.N`) of every event."""
    head = _join(_text(events.line_item), ".", _text(events.creative), ".",
                 _DEVICES.take(pa.array(events.device.astype(np.int64))), ".",
                 _text(events.hour // 3600), ".")
    return head, _join(".", _text(events.ordinal))


def event_ids(events: EventBatch) -> pa.Array:
    """The id of every event (see the module docstring)."""
    return _by_family(events, _delivery_ids, lambda part: pa.array(change_ids(part),
                                                                   type=pa.string()))


def _delivery_ids(events: EventBatch) -> pa.Array:
    head, tail = _prefixes(events)
    return _join(head, _CODES.take(pa.array(events.kind.astype(np.int64))), tail)


def _by_family(events: EventBatch, delivery: Callable[[EventBatch], pa.Array],
               change: Callable[[EventBatch], pa.Array]) -> pa.Array:
    """One string per event: `delivery` of the delivery events, `change` of the entity
    changes (a few per hour at most), put back in the events' order."""
    is_change = events.kind >= FIRST_CHANGE
    if not is_change.any():
        return delivery(events)
    order = np.argsort(is_change, kind="stable")
    n_delivery = int((~is_change).sum())
    parts = [change(events.take(order[n_delivery:]))]
    if n_delivery:
        parts.insert(0, delivery(events.take(order[:n_delivery])))
    inverse = np.empty(len(order), dtype=np.int64)
    inverse[order] = np.arange(len(order))
    return pa.concat_arrays(parts).take(pa.array(inverse))


_MMSS = pa.array([f"{m:02d}:{s:02d}." for m in range(60) for s in range(60)], type=pa.string())
_MS = pa.array([f"{k:03d}Z" for k in range(1000)], type=pa.string())
_KIND_HEAD = pa.array([f".{code}." for code in ID_CODES], type=pa.string())
_KIND_TYPE = pa.array([f'","type":"{t}","time":"' for t in EVENT_TYPES], type=pa.string())
_FLAGS = pa.array([
    f',"invalid":{str(bool(f & FLAG_INVALID)).lower()},'
    f'"measurable":{str(bool(f & FLAG_MEASURABLE)).lower()},'
    f'"viewable":{str(bool(f & FLAG_VIEWABLE)).lower()},"cost_micros":' for f in range(8)],
    type=pa.string())
_NO_HOUSEHOLD = 'null,"household_id":null,"device_id":null'


def _combos(events: EventBatch, world: EventWorld) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(index of each event's line item × creative × device among the batch's few,
    the id prefix `LI.CREATIVE.DEVICE.` and the context fields of each): built once per
    combination, taken per event."""
    key = (events.line_item * 1_000_003 + events.creative) * 4 + events.device
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    li, cre, dev = events.line_item[first], events.creative[first], events.device[first]
    index = world.li_index(li)
    platforms = [json.dumps(name) for name in world.platform_names]
    prefix, context = [], []
    for item, creative, device, k in zip(li.tolist(), cre.tolist(), dev.tolist(),
                                         index.tolist(), strict=True):
        name = DEVICE_NAMES[device]
        prefix.append(f"{item}.{creative}.{name}.")
        context.append(f'","line_item_id":{item},"creative_id":{creative},"campaign_id":'
                       f'{world.campaign[k]},"advertiser_id":{world.advertiser[k]},'
                       f'"platform":{platforms[world.li_platform[k]]},"device":"{name}",'
                       '"geo":')
    return (pa.array(inverse.reshape(-1).astype(np.int64)), pa.array(prefix, pa.string()),
            pa.array(context, pa.string()))


def _times(events: EventBatch) -> tuple[pa.Array, pa.Array, pa.Array]:
    """`YYYY-MM-DDTHH:`, `MM:SS.` and `mmmZ` of each event's time, from small tables."""
    ms = events.time // 1000
    hour = ms // 3_600_000
    hours, inverse = np.unique(hour, return_inverse=True)
    heads = pa.array([datetime.fromtimestamp(h * 3600, UTC).strftime("%Y-%m-%dT%H:")
                      for h in hours.tolist()], type=pa.string())
    within = ms - hour * 3_600_000
    return (heads.take(pa.array(inverse.reshape(-1).astype(np.int64))),
            _MMSS.take(pa.array(within // 1000)), _MS.take(pa.array(within % 1000)))


def _group_lines(events: EventBatch, world: EventWorld, group: int) -> pa.Array:
    """JSON lines of events of one group: 0 impressions, 1 tracking/click/scan, 2 conversions."""
    combo, prefixes, contexts = _combos(events, world)
    prefix = prefixes.take(combo)
    kind = pa.array(events.kind.astype(np.int64))
    hour_txt = _text(events.hour // 3600)
    ordinal = _text(events.ordinal)
    head, mmss, millis = _times(events)
    has_house = events.household >= 0
    geos = pa.array([f'"{g}","household_id":' for g in world.geos] or [""], type=pa.string())
    house = _join(geos.take(pa.array(np.maximum(events.geo, 0).astype(np.int64))),
                  _text(events.household), ',"device_id":',
                  _text(events.household * 4 + events.device + 1))
    if not has_house.all():
        house = pc.if_else(pa.array(has_house), house, _NO_HOUSEHOLD)
    extra: list[pa.Array | str]
    if group == 0:
        extra = [_FLAGS.take(pa.array((events.flags & 7).astype(np.int64))),
                 _text(events.cost), "}"]
    elif group == 1:
        extra = [',"impression_id":"', prefix, hour_txt, ".imp.", ordinal, '"}']
    else:
        extra = [pc.if_else(pa.array((events.flags & FLAG_CLICK_CONVERSION) > 0),
                            ',"attribution":"click"}', ',"attribution":"view"}')]
    return _join('{"event_id":"', prefix, hour_txt, _KIND_HEAD.take(kind), ordinal,
                 _KIND_TYPE.take(kind), head, mmss, millis, contexts.take(combo), house, *extra)


def json_lines(events: EventBatch, world: EventWorld) -> pa.Array:
    """One JSON object per event (a string each, no newline), in the events' order.

    Built per group of like events (impressions, tracking events, conversions: each has its
    own tail), from per-combination and per-value tables, then put back in order; entity
    changes by `adsgen.stream.changes.change_lines`.
    """
    if len(events) == 0:
        return pa.array([], type=pa.string())
    book = world.book or ChangeBook.of(world.entities)
    return _by_family(events, lambda part: _delivery_lines(part, world),
                      lambda part: pa.array(change_lines(part, book), type=pa.string()))


def _delivery_lines(events: EventBatch, world: EventWorld) -> pa.Array:
    group = np.where(events.kind == IMPRESSION, 0, np.where(events.kind == CONVERSION, 2, 1))
    order = np.argsort(group, kind="stable")
    sizes = np.bincount(group, minlength=3)
    parts = []
    begin = 0
    for g in range(3):
        index = order[begin:begin + sizes[g]]
        begin += int(sizes[g])
        if len(index):
            parts.append(_group_lines(events.take(index), world, g))
    lines = pa.concat_arrays(parts)
    inverse = np.empty(len(order), dtype=np.int64)
    inverse[order] = np.arange(len(order))
    return lines.take(pa.array(inverse))


def to_arrow(events: EventBatch, world: EventWorld) -> pa.Table:
    """The delivery events as an Arrow table with the JSON lines' columns (nulls where not
    used); entity changes are left out (their fields are `change_lines`')."""
    events = events.take(np.flatnonzero(events.kind < FIRST_CHANGE))
    kind = pa.array(events.kind.astype(np.int64))
    head, tail = _prefixes(events)
    has_house = events.household >= 0
    is_imp = events.kind == IMPRESSION
    tracking = ~is_imp & (events.kind != CONVERSION)
    li_index = world.li_index(events.line_item)
    geos = np.array(list(world.geos) or [""], dtype=object)
    return pa.table({
        "event_id": _join(head, _CODES.take(kind), tail),
        "type": _TYPES.take(kind),
        "time": pa.array(events.time, type=pa.timestamp("us", tz="UTC")),
        "line_item_id": events.line_item, "creative_id": events.creative,
        "campaign_id": world.campaign[li_index], "advertiser_id": world.advertiser[li_index],
        "platform": pa.array(np.array(world.platform_names, dtype=object)[
            world.li_platform[li_index]], type=pa.string()),
        "device": _DEVICES.take(pa.array(events.device.astype(np.int64))),
        "geo": pa.array(geos[np.maximum(events.geo, 0)], type=pa.string(),
                        mask=~has_house),
        "household_id": pa.array(events.household, mask=~has_house),
        "device_id": pa.array(events.household * 4 + events.device + 1, mask=~has_house),
        "invalid": pa.array((events.flags & FLAG_INVALID) > 0, mask=~is_imp),
        "measurable": pa.array((events.flags & FLAG_MEASURABLE) > 0, mask=~is_imp),
        "viewable": pa.array((events.flags & FLAG_VIEWABLE) > 0, mask=~is_imp),
        "cost_micros": pa.array(events.cost, mask=~is_imp),
        "impression_id": pc.if_else(pa.array(tracking), _join(head, "imp", tail), None),
        "attribution": pc.if_else(
            pa.array(events.kind == CONVERSION),
            pc.if_else(pa.array((events.flags & FLAG_CLICK_CONVERSION) > 0), "click", "view"),
            None),
    })


def from_arrow(table: pa.Table) -> EventBatch:
    """Events read back from their public form (`to_arrow`, or JSON lines read with
    `pyarrow.json`), e.g. to roll a consumer's copy up with `adsgen.stream.rollup`.

    Times may come as timestamps or as the JSON lines' text; `hour` and `ordinal` are read
    from the event id. Entity change events are left out (they do not roll up)."""
    table = table.filter(pc.invert(pc.is_in(table["type"], value_set=_CHANGE_TYPES)))
    kinds = pc.index_in(table["type"], value_set=_TYPES)
    if kinds.null_count:
        raise ValueError("the table holds an event type adsgen does not make")
    kind = kinds.to_numpy(zero_copy_only=False)
    times = table["time"]
    if pa.types.is_string(times.type):
        times = pc.cast(times, pa.timestamp("us", tz="UTC"))
    time_us = pc.cast(pc.cast(times, pa.timestamp("us", tz="UTC")), pa.int64()).to_numpy(
        zero_copy_only=False)
    parts = pc.split_pattern(table["event_id"], ".")
    hour = pc.cast(pc.list_element(parts, 3), pa.int64()).to_numpy(zero_copy_only=False) * 3600
    ordinal = pc.cast(pc.list_element(parts, 5), pa.int64()).to_numpy(zero_copy_only=False)
    device = pc.index_in(table["device"], value_set=_DEVICES).to_numpy(zero_copy_only=False)

    def flag(name: str, bit: int) -> np.ndarray:
        if name not in table.column_names:
            return np.zeros(table.num_rows, dtype=np.uint8)
        col = np.asarray(pc.fill_null(table[name], False).to_numpy(zero_copy_only=False))
        bits: np.ndarray = col.astype(np.uint8) * np.uint8(bit)
        return bits

    attribution = (pc.fill_null(pc.equal(table["attribution"], "click"), False)
                   .to_numpy(zero_copy_only=False) if "attribution" in table.column_names
                   else np.zeros(table.num_rows, dtype=bool))
    flags = (flag("invalid", FLAG_INVALID) | flag("measurable", FLAG_MEASURABLE)
             | flag("viewable", FLAG_VIEWABLE)
             | attribution.astype(np.uint8) * np.uint8(FLAG_CLICK_CONVERSION))
    household = pc.fill_null(table["household_id"], -1).to_numpy(zero_copy_only=False)
    cost = (pc.fill_null(table["cost_micros"], 0).to_numpy(zero_copy_only=False)
            if "cost_micros" in table.column_names else np.zeros(table.num_rows, np.int64))
    return EventBatch(
        kind=kind.astype(np.int8), time=time_us.astype(np.int64),
        emit=time_us.astype(np.int64),
        line_item=table["line_item_id"].to_numpy().astype(np.int64),
        creative=table["creative_id"].to_numpy().astype(np.int64),
        device=device.astype(np.int8), geo=np.full(table.num_rows, -1, dtype=np.int16),
        household=household.astype(np.int64), hour=hour.astype(np.int64),
        ordinal=ordinal.astype(np.int64), flags=flags.astype(np.uint8),
        cost=cost.astype(np.int64))
