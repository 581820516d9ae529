"""Local time from zoneinfo on hour arrays, the weekly viewing table, day-part masks."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from adsgen.domain.enums import Daypart, DeviceType
from adsgen.world.curves import (
    daypart_mask,
    hour_of_week_share,
    local_hour_of_week,
    utc_offsets,
)
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


def test_local_hour_of_week_starts_on_monday() -> None:
    monday_midnight_chicago = int(datetime(2026, 2, 23, 6, tzinfo=UTC).timestamp())
    how = local_hour_of_week("America/Chicago", np.array([monday_midnight_chicago,
                                                           monday_midnight_chicago + 3600 * 167]))
    assert how.tolist() == [0, 167]
    after_dst = int(datetime(2026, 3, 9, 5, tzinfo=UTC).timestamp())  # CDT: UTC-5
    assert local_hour_of_week("America/Chicago", np.array([after_dst])).tolist() == [0]


def test_weekly_table_sums_to_seven_days_and_peaks_in_prime_time() -> None:
    devices = (DeviceType.ctv, DeviceType.desktop, DeviceType.mobile)
    table = hour_of_week_share(platform(), devices)
    assert np.allclose(table.sum(axis=1), 7.0)
    ctv_day = table[0, :24] / table[0, :24].sum()
    assert 19 <= int(ctv_day.argmax()) <= 22 and abs(ctv_day[20:23].sum() - 0.2241) < 1e-3
    assert table[0, 5 * 24 + 20] / table[0, 20] == pytest.approx(1.12 / 0.95)


def test_daypart_masks_wrap_midnight() -> None:
    assert daypart_mask(()).all()
    late = daypart_mask((Daypart.late_night.hours,))
    assert np.flatnonzero(late).tolist() == [0, 1, 23]
    assert daypart_mask((Daypart.prime_time.hours, Daypart.daytime.hours)).sum() == 10
