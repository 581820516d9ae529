"""Local time on hour arrays, and day-part masks.

Hours are UTC epoch seconds. A geo's UTC offset comes from `zoneinfo`: its transitions are
found once per (zone, year) by a daily scan refined to the hour, cached, and applied to whole
arrays of hours with `searchsorted`. So the curve follows the local clock across daylight
saving changes without a Python call per hour. The viewing curves themselves are applied
where the slots are made (`world.inventory.hourly_slots`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

__all__ = ["daypart_mask", "utc_offsets"]


@lru_cache(maxsize=1024)
def _year_transitions(zone: str, year: int) -> tuple[tuple[int, int], ...]:
    """(epoch second, UTC offset in seconds) at the year start and at each change in it."""
    tz = ZoneInfo(zone)
    start = datetime(year, 1, 1, tzinfo=UTC)
    days = (datetime(year + 1, 1, 1, tzinfo=UTC) - start).days

    def offset(moment: datetime) -> int:
        delta = moment.astimezone(tz).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    changes = [(int(start.timestamp()), offset(start))]
    daily = [offset(start + timedelta(days=d)) for d in range(days + 1)]
    for day in range(days):
        if daily[day + 1] == daily[day]:
            continue
        for hour in range(1, 25):  # refine to the first hour (UTC) with the new offset
            moment = start + timedelta(days=day, hours=hour)
            if moment.year != year:
                break
            current = offset(moment)
            if current != changes[-1][1]:
                changes.append((int(moment.timestamp()), current))
    return tuple(changes)


def utc_offsets(zone: str, hours: NDArray[np.int64]) -> NDArray[np.int64]:
    """UTC offset in seconds of `zone` at each epoch second of `hours` (any shape or order)."""
    if hours.size == 0:
        return np.zeros(0, dtype=np.int64)
    # only the years present: a plan may hold flights centuries apart (the years between the
    # first and the last when they are few: two scalars instead of converting every value)
    first, last = (int(np.datetime64(int(v), "s").astype("datetime64[Y]").astype(np.int64))
                   for v in (hours.min(), hours.max()))
    years = (np.arange(first, last + 1) if last - first < 8 else
             np.unique(hours.astype("datetime64[s]").astype("datetime64[Y]").astype(np.int64)))
    table = [pair for year in (years + 1970).tolist() for pair in _year_transitions(zone, year)]
    times = np.array([t for t, _ in table], dtype=np.int64)
    offsets = np.array([o for _, o in table], dtype=np.int64)
    position = np.searchsorted(times, hours, side="right") - 1
    return offsets[np.maximum(position, 0)]


def daypart_mask(hours: tuple[tuple[int, ...], ...]) -> NDArray[np.bool_]:
    """24 local hours → targeted? from the day-parts' hour tuples (all true when none)."""
    if not hours:
        return np.ones(24, dtype=np.bool_)
    mask = np.zeros(24, dtype=np.bool_)
    for part in hours:
        mask[list(part)] = True
    return mask
