"""The Arrow schemas of the two fact tables; the ORM and every sink mirror these names.

One row of `performance` is line item × creative × hour (UTC) × device. `ground_truth`
holds each line item's true per-impression probabilities by device, with the seed.
"""

from __future__ import annotations

import pyarrow as pa

from adsgen.domain.fields import TIMESTAMP_TZ, TIMESTAMP_UNIT

__all__ = ["FUNNEL", "GROUND_TRUTH_SCHEMA", "PERFORMANCE_SCHEMA", "TIMESTAMP"]

# The one timestamp type of every table and file: µs since the epoch, UTC-aware.
TIMESTAMP = pa.timestamp(TIMESTAMP_UNIT, tz=TIMESTAMP_TZ)

# Video funnel, widest first: each stage is <= the one before it.
FUNNEL: tuple[str, ...] = (
    "impressions", "starts", "first_quartile", "midpoint", "third_quartile", "completes",
)

PERFORMANCE_SCHEMA = pa.schema([
    ("line_item_id", pa.int64()),
    ("creative_id", pa.int64()),
    ("hour", TIMESTAMP),                   # UTC, hour-aligned
    ("device", pa.string()),               # DeviceType value
    ("impressions", pa.int64()),
    ("starts", pa.int64()),
    ("first_quartile", pa.int64()),
    ("midpoint", pa.int64()),
    ("third_quartile", pa.int64()),
    ("completes", pa.int64()),
    ("measurable", pa.int64()),
    ("viewable", pa.int64()),
    ("invalid", pa.int64()),
    ("clicks", pa.int64()),
    ("qr_scans", pa.int64()),
    ("click_conversions", pa.int64()),
    ("view_conversions", pa.int64()),
    ("cumulative_reach", pa.int64()),      # households reached by line item × device so far
    ("spend_micros", pa.int64()),          # impressions × CPM / 1000, in micros, rounded once
])

GROUND_TRUTH_SCHEMA = pa.schema([
    ("line_item_id", pa.int64()),
    ("device", pa.string()),
    ("seed", pa.int64()),
    ("audience", pa.int64()),              # targetable households on this device
    ("cpm_micros", pa.int64()),
    ("p_start", pa.float64()),             # unconditional, per impression
    ("p_first_quartile", pa.float64()),
    ("p_midpoint", pa.float64()),
    ("p_third_quartile", pa.float64()),
    ("p_complete", pa.float64()),
    ("p_measurable", pa.float64()),
    ("p_viewable", pa.float64()),          # per impression
    ("p_invalid", pa.float64()),
    ("p_click", pa.float64()),
    ("p_qr_scan", pa.float64()),
    ("p_conversion", pa.float64()),        # per impression, click- plus view-through
    ("conversion_lag_mean_hours", pa.float64()),
])
