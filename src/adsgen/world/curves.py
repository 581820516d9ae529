"""Viewing curves: the day-part per device in each geo's local time, and weekday multipliers.

Hours are UTC epoch seconds. A geo's UTC offset comes from `zoneinfo`: its transitions are
found once per (zone, year) by a daily scan refined to the hour, cached, and applied to whole
arrays of hours with `searchsorted`. So the curve follows the local clock across daylight
saving changes without a Python call per hour.

`hour_of_week_share(platform)` is the per-device table of the share of a week's viewing in
each local hour of the week (Monday 00:00 = 0): the platform's day-part curve (normalised to
a day) times its weekday multiplier (normalised to a mean of 1).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from adsgen.domain.enums import DeviceType
from adsgen.templates.spec import Platform

__all__ = [
    "HOURS_PER_WEEK",
    "daypart_mask",
    "hour_of_week_share",
    "local_hour_of_week",
    "utc_offsets",
]

HOURS_PER_WEEK = 168
_EPOCH_MONDAY_SHIFT = 3  # 1970-01-01 was a Thursday: (days + 3) % 7 == 0 on Mondays


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
    # only the years present: a plan may hold flights centuries apart
    years = np.unique(hours.astype("datetime64[s]").astype("datetime64[Y]").astype(np.int64))
    table = [pair for year in (years + 1970).tolist() for pair in _year_transitions(zone, year)]
    times = np.array([t for t, _ in table], dtype=np.int64)
    offsets = np.array([o for _, o in table], dtype=np.int64)
    position = np.searchsorted(times, hours, side="right") - 1
    return offsets[np.maximum(position, 0)]


def local_hour_of_week(zone: str, hours: NDArray[np.int64]) -> NDArray[np.int64]:
    """Local hour of the week (Monday 00:00 = 0 … Sunday 23:00 = 167) of UTC epoch seconds."""
    local = hours + utc_offsets(zone, hours)
    days = local // 86400
    weekday = (days + _EPOCH_MONDAY_SHIFT) % 7
    return weekday * 24 + (local // 3600) % 24


def hour_of_week_share(platform: Platform, devices: tuple[DeviceType, ...]) -> NDArray[np.float64]:
    """(len(devices), 168): share of a day's viewing in each local hour × weekday multiplier.

    Rows sum over a day to about 1 (exactly 1 × that day's multiplier / mean multiplier).
    """
    weekday = np.asarray(platform.weekday_multipliers, dtype=np.float64)
    weekday = weekday / weekday.mean()
    table = np.zeros((len(devices), HOURS_PER_WEEK), dtype=np.float64)
    for row, device in enumerate(devices):
        curve = np.asarray(platform.daypart_curves[device], dtype=np.float64)
        table[row] = np.outer(weekday, curve / curve.sum()).ravel()
    return table


def daypart_mask(hours: tuple[tuple[int, ...], ...]) -> NDArray[np.bool_]:
    """24 local hours → targeted? from the day-parts' hour tuples (all true when none)."""
    if not hours:
        return np.ones(24, dtype=np.bool_)
    mask = np.zeros(24, dtype=np.bool_)
    for part in hours:
        mask[list(part)] = True
    return mask
