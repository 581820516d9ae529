"""Pure, vectorized simulation: line items + platform + seed → hourly performance and truth.

    simulate(items, *, platform, seed) -> SimResult(performance, ground_truth)
    simulate_batches(items, *, platform, seed) -> Iterator[SimResult]   (streaming)

Both tables follow `columns.py`. No database, no files, no global random state.

Grain. One row per line item × servable creative × flight hour (UTC) × targeted device the
platform serves, for ACTIVE line items only; zero-impression rows inside the flight are kept
so the grain is complete (rows = hours × servable creatives × devices). Rows are sorted by
(line_item_id, creative_id, hour, device). Nothing is emitted outside [start, end), for
inactive line items or for non-servable creatives. Ground truth: one row per line item ×
device for the same line items.

Model (one module each):
- curves: day-part curve per device in each geo's local time (zoneinfo transitions applied
  to hour arrays), weekday multipliers.
- supply: audience = targetable households (households × device share × geo share ×
  genre share) capped segment sized by planned frequency; expected impressions won per hour;
  gamma-Poisson noise.
- reach: frequency-cap allowance per fixed window from the flight start; cumulative reach
  N·(1 − Π_w (1 − I_w/(cN))^c) — the Poisson curve when uncapped, reach = impressions when
  c = 1; reach ≤ impressions, ≤ audience, never decreasing, window impressions ≤ reach × c.
- pacing: EVEN / AHEAD / ASAP within DAILY or FLIGHT → cumulative hourly goals; delivery =
  min(capped supply, goal with catch-up, what the budget buys, the daily cap) via grouped
  scans; spend = impressions × CPM micros // 1000 per row, so cumulative spend ≤ budget and
  daily spend ≤ the daily cap exactly.
- funnel: creative rotation (multinomial by weights keyed by creative id), binomial chains
  for quartiles, viewability, IVT, clicks, QR scans.
- conversions: click- and view-through, spread over later hours by a discretised
  exponential lag; conversions landing at or after the flight end are dropped.
- ground_truth: the true parameters per line item × device.

Randomness. Counter-based: every value is a hash of (seed, stream, line item id, counter),
with stream keys from adsgen.seeding.child_seed; see draws.py. So the same seed gives the
same table whatever the batching, `simulate(subset)` equals the subset's rows of
`simulate(all)`, and draws are whole-array NumPy passes (no loop per row or hour; set-up
reads each line item's fields once). Counts are exact binomial/Poisson by inversion when the
smaller tail's mean is below 10, normal approximations (rounded, clipped) above.

`SimLineItem.extra` may pin `win_rate`, `frequency_target`, `conversion_rate` or
`lag_mean_hours` for a line item (tests and what-if runs).
"""

from __future__ import annotations

from adsgen.simulate.engine import DEFAULT_BATCH_ROWS, SimResult, simulate, simulate_batches

__all__ = ["DEFAULT_BATCH_ROWS", "SimResult", "simulate", "simulate_batches"]
