"""Pure, vectorized simulation: line items + platform + seed → hourly performance and truth.

    simulate(items, *, platform, seed) -> SimResult   (table name → Arrow table)
    simulate_batches(items, *, platform, seed) -> Iterator[SimResult]   (streaming)

A SimResult holds one table per entry of `columns.FACT_TABLES` (the registry every sink,
the manifest and the database follow), with its schema; `.performance` and `.ground_truth`
are shorthands. No database, no files, no global random state. Besides the hourly rows, every
coarser grain comes from the same batch: `daily` (line item × device × UTC day, with the
causal truth split over devices: `grains`) and `mmm` (advertiser × ISO week × geo, channels
side by side: `mmm`), whose partial rows `combine_summed` adds over batches.

Grain. One row per line item × servable creative × flight hour (UTC) × targeted device the
platform serves, for ACTIVE line items only; zero-impression rows inside the flight are kept
so the grain is complete (rows = hours × servable creatives × devices). Rows are sorted by
(line_item_id, creative_id, hour, device). Nothing is emitted outside [start, end), for
inactive line items or for non-servable creatives. Ground truth: one row per line item ×
device for the same line items.

Model (one module each; the world they share is `adsgen.world`):
- supply: the slots a cell can buy = its allocated share (`world.allocation`, settled once
  for the whole plan) × the slots of its geos' local hours (`world.inventory`) ÷ the slots
  one impression takes; realised opportunities are gamma-Poisson around FILL × that bound
  and never above it (the shared-slot law).
- reach: exposure is gamma-mixed across households (NBD, shape from the planned frequency
  and the targetable households, `world.households`); frequency-cap allowance per fixed
  window from the flight start; cumulative reach N·(1 − (1 + I/(N·k))^(−k)) per window,
  reach ≤ impressions, ≤ audience, never decreasing, window impressions ≤ reach × cap.
  reach_table: reach, frequency and its distribution per line item × device/all × day and
  over the flight.
- pacing: EVEN / AHEAD / ASAP within DAILY or FLIGHT over the campaign's local days →
  goals weighted by forecast supply, a daily error (sd 4 %) with catch-up; delivery =
  min(capped supply, goal, what the budget buys, the daily cap) via grouped scans;
  delivery keeps impressions × CPM micros // 1000 within budget and daily cap, and
  spend = (impressions − invalid) × CPM micros // 1000 per row (invalid traffic is not
  billed) is at most that, so cumulative spend ≤ budget and daily spend ≤ the daily cap
  exactly. pacing_table: per line item × day, the goal, delivery and why it fell short.
- funnel: creative rotation (multinomial by weights keyed by creative id), binomial chains
  for quartiles, viewability, IVT; clicks and QR scans from valid impressions only.
- wearout: each creative's CTR and completion fall with the exposures x a reached household
  already had to it (x = the series' earlier impressions ÷ cumulative reach): × exp(−r·x)
  and × exp(−r·x/10), r drawn per creative in 0.02–0.08 (creative_truth.wear_out_rate).
- conversions: click- and view-through (valid impressions only), spread over later hours by
  a discretised exponential lag; conversions landing at or after the flight end are dropped
  and the ground truth records the share that lands inside (conversion_share_in_flight).
- ground_truth: the true parameters per line item × device.
- experiments: a line item's opt-in lift experiment (holdout, PSA or geo) splits its
  households into treatment and control; experiment_outcomes (per arm) and experiment_truth
  (true lift, power) come from conversion_truth's draws and reconcile with them exactly.

Randomness. Counter-based: every value is a hash of (seed, stream, line item id, counter),
with stream keys from adsgen.seeding.child_seed; see draws.py. So the same seed gives the
same table whatever the batching, `simulate(subset)` equals the subset's rows of
`simulate(all)`, and draws are whole-array NumPy passes (no loop per row or hour; set-up
reads each line item's fields once). Counts are exact binomial/Poisson by inversion when the
smaller tail's mean is below 3, skew-corrected (Cornish–Fisher) normal approximations above,
rounded and clipped; draws run in float32 always (never batch-dependent) and the funnel's
order is re-imposed in int64, so invariants hold exactly even past 2**24 per row. Grouped
float sums use exact fixed-point integer scans (a float cumsum over a batch would leak one
line item's rounding into the next).

Modelling choices worth knowing:
- Audience: the targetable households of the line item's geos × genres × device
  (ground_truth.audience per device, targetable_households de-duplicated across devices);
  the planned frequency (ground_truth.planned_frequency) grows with the line item's size
  and its advertiser's industry and sets the NBD shape, so reach stays well below the
  audience.
- Geo sizes: the Platform's `geo_weights` (relative households per served geo; equal when
  empty). Targeted geos the platform does not serve add no supply (rows are still emitted,
  with zeros).
- Frequency caps apply in fixed windows from the flight start (not rolling); a minutes cap
  becomes a per-hour cap of max × ⌈60 / count⌉.
- Pacing days are the campaign's local days (`time_zone`), as are the daily budget and cap;
  FLIGHT pacing catches up on shortfalls, DAILY does not.
- Creatives share a cell's impressions by a multinomial with weights 0.5–1.5 keyed by
  (seed, line item, creative id); static formats (pause ads, overlays) fire no video events;
  QR scans never happen on mobile; CTV clicks only on interactive creatives.
- Conversions landing at or after the flight end, or beyond the 7-day window, are dropped;
  p_conversion counts the former, so p_conversion × conversion_share_in_flight is the rate
  the rows show per valid impression.
- Ground truth has a row per line item × device for the line items that get rows.
`SimLineItem.extra` may pin `win_rate`, `frequency_target`, `conversion_rate`,
`lag_mean_hours` or `wear_out_rate` (all its creatives) for a line item (tests and what-if
runs).
"""

from __future__ import annotations

from adsgen.simulate.engine import DEFAULT_BATCH_ROWS, SimResult, simulate, simulate_batches

__all__ = ["DEFAULT_BATCH_ROWS", "SimResult", "simulate", "simulate_batches"]
