"""Events → hourly `performance` rows: what a consumer of the stream computes, exactly.

`rollup(events)` groups events by line item × creative × device × UTC hour of their event
time and counts each type (flags of impressions give measurable, viewable and invalid; the
impressions' cost sums to spend_micros); `cumulative_reach` is the distinct households of
the line item × device seen in impressions up to the end of the hour. The result has the
batch table's schema and order, so for a stream without faults

    rollup(all events) == active_rows(batch performance)

byte for byte (`tests/test_stream_reconcile.py`). Rows the batch keeps with nothing in them
(no impression and no conversion) have no event, so `active_rows` leaves them out.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from adsgen.simulate.columns import PERFORMANCE_SCHEMA, TIMESTAMP, without_platform
from adsgen.stream.events import (
    CLICK,
    CONVERSION,
    DEVICE_NAMES,
    FIRST_CHANGE,
    FLAG_CLICK_CONVERSION,
    FLAG_INVALID,
    FLAG_MEASURABLE,
    FLAG_VIEWABLE,
    FUNNEL_EVENTS,
    IMPRESSION,
    QR_SCAN,
    EventBatch,
)

__all__ = ["ROLLUP_SCHEMA", "active_rows", "rollup", "with_platforms"]

_DEVICES = pa.array(DEVICE_NAMES, type=pa.string())
_HOUR_US = 3_600_000_000

ROLLUP_SCHEMA = without_platform(PERFORMANCE_SCHEMA)
"""performance without `platform`: events name their line item, not its platform (a
consumer joins line_items, or `with_platforms` adds it from the plan's line_items)."""


def active_rows(performance: pa.Table) -> pa.Table:
    """The batch rows a stream has events for: an impression or a conversion in the hour,
    without the `platform` column (events do not carry it: ROLLUP_SCHEMA)."""
    busy = pc.or_(pc.greater(performance["impressions"], 0),
                  pc.greater(pc.add(performance["click_conversions"],
                                    performance["view_conversions"]), 0))
    if "platform" in performance.column_names:
        performance = performance.drop_columns(["platform"])
    return performance.filter(busy)


def rollup(events: EventBatch) -> pa.Table:
    """The hourly rows of these events (ROLLUP_SCHEMA, sorted by line item, creative,
    hour, device). Duplicated event ids count twice: de-duplicate first to score a consumer.
    Entity change events are left out."""
    if (events.kind >= FIRST_CHANGE).any():
        events = events.take(np.flatnonzero(events.kind < FIRST_CHANGE))
    if len(events) == 0:
        return ROLLUP_SCHEMA.empty_table()
    hour = events.time // _HOUR_US
    dev = events.device.astype(np.int64)
    order = np.lexsort((dev, hour, events.creative, events.line_item))
    li, cre, hr, dv = (events.line_item[order], events.creative[order], hour[order], dev[order])
    change = np.ones(len(order), dtype=bool)
    change[1:] = ((li[1:] != li[:-1]) | (cre[1:] != cre[:-1]) | (hr[1:] != hr[:-1])
                  | (dv[1:] != dv[:-1]))
    starts = np.flatnonzero(change)
    kind = events.kind[order]
    flags = events.flags[order]
    imp = kind == IMPRESSION

    def count(mask: np.ndarray) -> np.ndarray:
        return np.add.reduceat(mask.astype(np.int64), starts)

    columns: dict[str, np.ndarray] = {"impressions": count(imp)}
    for code, name, _share in FUNNEL_EVENTS:
        columns[name] = count(kind == code)
    columns["measurable"] = count(imp & (flags & FLAG_MEASURABLE > 0))
    columns["viewable"] = count(imp & (flags & FLAG_VIEWABLE > 0))
    columns["invalid"] = count(imp & (flags & FLAG_INVALID > 0))
    columns["clicks"] = count(kind == CLICK)
    columns["qr_scans"] = count(kind == QR_SCAN)
    conv = kind == CONVERSION
    clicky = flags & FLAG_CLICK_CONVERSION > 0
    columns["click_conversions"] = count(conv & clicky)
    columns["view_conversions"] = count(conv & ~clicky)
    columns["cumulative_reach"] = _cumulative_reach(events, li[starts], dv[starts], hr[starts])
    columns["spend_micros"] = np.add.reduceat(events.cost[order], starts)
    arrays = [
        pa.array(li[starts]), pa.array(cre[starts]),
        pa.array(hr[starts] * _HOUR_US, type=TIMESTAMP), _DEVICES.take(pa.array(dv[starts])),
    ]
    arrays += [pa.array(columns[name]) for name in ROLLUP_SCHEMA.names[4:]]
    return pa.Table.from_arrays(arrays, schema=ROLLUP_SCHEMA)


def _cumulative_reach(events: EventBatch, li: np.ndarray, dev: np.ndarray,
                      hour: np.ndarray) -> np.ndarray:
    """Distinct households of each row's line item × device in impressions up to the end of
    the row's hour."""
    imp = events.kind == IMPRESSION
    pair = events.line_item[imp] * 4 + events.device[imp].astype(np.int64)
    household = events.household[imp]
    first_hour = events.time[imp] // _HOUR_US
    if not len(pair):
        return np.zeros(len(li), dtype=np.int64)
    order = np.lexsort((first_hour, household, pair))
    pair, household, first_hour = pair[order], household[order], first_hour[order]
    first = np.ones(len(pair), dtype=bool)
    first[1:] = (pair[1:] != pair[:-1]) | (household[1:] != household[:-1])
    # each household of a pair counts once, at the hour it was first seen
    key = pair[first] * (1 << 32) + first_hour[first]
    keys, new = np.unique(key, return_counts=True)
    key_pair = keys >> 32
    running = np.cumsum(new)
    pair_start = np.concatenate([[True], key_pair[1:] != key_pair[:-1]])
    before_pair = np.maximum.accumulate(np.where(pair_start, running - new, 0))
    cumulative = running - before_pair
    row_pair = li * 4 + dev
    at = np.searchsorted(keys, row_pair * (1 << 32) + hour, side="right") - 1
    ok = (at >= 0) & (key_pair[np.maximum(at, 0)] == row_pair)
    return np.where(ok, cumulative[np.maximum(at, 0)], 0).astype(np.int64)


def with_platforms(rows: pa.Table, line_items: pa.Table) -> pa.Table:
    """`rollup` rows with each line item's `platform` appended (from the plan's line_items
    table: `id`, `platform`): the performance table's schema, as a database sync writes it.
    KeyError when a row's line item is not in `line_items`."""
    ids = np.asarray(line_items["id"].to_numpy(), dtype=np.int64)
    order = np.argsort(ids)
    rows_li = np.asarray(rows["line_item_id"].to_numpy(), dtype=np.int64)
    at = np.searchsorted(ids[order], rows_li)
    if rows_li.size and (at.max() >= ids.size or (ids[order][at] != rows_li).any()):
        raise KeyError("rollup rows of a line item missing from line_items")
    names = line_items["platform"].take(pa.array(order[at]))
    return rows.append_column(PERFORMANCE_SCHEMA.field("platform"), names.combine_chunks()
                              if isinstance(names, pa.ChunkedArray) else names)
