"""Local time from zoneinfo on hour arrays, the weekly viewing table, day-part masks."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from adsgen.domain.enums import Daypart, DeviceType
from adsgen.world.calendar import day_factors
from adsgen.world.curves import daypart_mask, utc_offsets
from adsgen.world.households import DEVICE_ORDER, served_geos
from adsgen.world.inventory import hourly_slots
from simfactory import platform

HOURS = np.arange(
    int(datetime(2025, 1, 1, tzinfo=UTC).timestamp()),
    int(datetime(2027, 1, 1, tzinfo=UTC).timestamp()),
    3600,
    dtype=np.int64,
)


@pytest.mark.parametrize(
    "zone", ["America/Chicago", "Australia/Sydney", "Europe/London", "Asia/Kolkata", "UTC"]
)
def test_offsets_match_zoneinfo_every_hour_over_two_years(zone: str) -> None:
    tz = ZoneInfo(zone)
    sample = HOURS[::7]
    expected = [
        datetime.fromtimestamp(int(t), UTC).astimezone(tz).utcoffset().total_seconds()  # type: ignore[union-attr]
        for t in sample
    ]
    assert (utc_offsets(zone, sample[::-1])[::-1] == np.array(expected)).all()


def test_slots_peak_in_local_prime_time_and_follow_the_weekday_multipliers() -> None:
    """The platform's day-part curve and weekday multipliers show in the slots of a geo."""
    plat = platform()
    monday = int(datetime(2026, 2, 23, tzinfo=UTC).timestamp()) // 86400
    days = np.arange(monday - 1, monday + 15, dtype=np.int64)
    inv = hourly_slots(plat, 7, days)
    geo = served_geos(plat).index("US")
    ctv = DEVICE_ORDER.index(DeviceType.ctv)
    by_local_hour = np.bincount(inv.local_hour[geo], weights=inv.slots[geo, ctv], minlength=24)
    assert 19 <= int(by_local_hour.argmax()) <= 22
    # a whole local day holds the day's viewing (weekday × holiday × season × shock) × a
    # constant: the calendar shows in the slots, and so the weekend does
    clock = (days[:, None] * 86400 + 3600 * np.arange(24)[None, :]).ravel()
    local_day = (clock + utc_offsets(plat.geo_timezones["US"], clock)) // 86400
    whole, hours = np.unique(local_day, return_counts=True)
    whole = whole[1:-1][hours[1:-1] == 24]  # not the cut ends, not the DST change (23 h)
    per_day = np.array([inv.slots[geo, ctv][local_day == d].sum() for d in whole])
    viewing = day_factors(plat, 7, served_geos(plat), whole).viewing[geo]
    assert np.allclose(per_day / viewing, per_day[0] / viewing[0], rtol=1e-9)
    saturday = whole[(whole + 3) % 7 == 5][0]
    weekday = day_factors(plat, 7, served_geos(plat), np.array([saturday, saturday - 5])).weekday
    assert weekday[geo, 0] / weekday[geo, 1] == pytest.approx(
        plat.weekday_multipliers[5] / plat.weekday_multipliers[0])


def test_daypart_masks_wrap_midnight() -> None:
    assert daypart_mask(()).all()
    late = daypart_mask((Daypart.late_night.hours,))
    assert np.flatnonzero(late).tolist() == [0, 1, 23]
    assert daypart_mask((Daypart.prime_time.hours, Daypart.daytime.hours)).sum() == 10
