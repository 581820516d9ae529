"""The `pacing` table: per line item × day, its goal, what it delivered and why it fell short.

A data scientist sees a line item under-deliver; this table says which constraint took the
impressions, from the same arrays the simulation used (nothing re-estimated):

- `available_impressions`: slots won on the day (the allocation's share of the shared
  inventory, after the market and the fill), before the frequency cap;
- `lost_to_competition`: expected impressions the plan's higher-CPM line items took from it
  (its slot bound had it been granted all it asked, minus its bound, × the fill rate);
- `lost_to_frequency_cap`: available − what the frequency cap allowed;
- `lost_to_daily_cap` / `lost_to_budget`: what the daily cap and the lifetime budget cut;
- `shortfall_impressions` = max(goal − delivered, 0), and `shortfall_reason`: `none` when
  within 1 % of the goal, else the largest of supply (too few slots for the targeting),
  competition, frequency_cap, daily_cap, budget — and `pacing` when none of them took
  anything (the pacer's daily error, caught up later for FLIGHT pacing).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from adsgen.simulate import groups
from adsgen.simulate.columns import PACING_SCHEMA, without_platform
from adsgen.simulate.grid import Grid
from adsgen.simulate.pacing import Pacing

__all__ = ["REASONS", "pacing_table"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

REASONS: tuple[str, ...] = (
    "supply", "competition", "frequency_cap", "daily_cap", "budget", "pacing", "none",
)


def pacing_table(grid: Grid, pacing: Pacing, *, available: I64, lost_competition: F64) -> pa.Table:
    """The PACING_SCHEMA rows of a batch; `available` and `lost_competition` per cell."""
    lh_available = np.bincount(grid.cell_lh, weights=available, minlength=grid.lh_li.size)
    lh_lost = np.bincount(grid.cell_lh, weights=lost_competition, minlength=grid.lh_li.size)
    days = pacing.days
    avail = groups.sums(lh_available, days).astype(np.int64)
    competition = np.rint(groups.sums(lh_lost, days)).astype(np.int64)
    delivered = pacing.paced - pacing.daily_cap_cut - pacing.budget_cut
    goal = pacing.goal
    frequency = np.maximum(avail - pacing.offered, 0)
    shortfall = np.maximum(goal - delivered, 0)
    # each constraint's part of the shortfall, in REASONS order (supply first)
    parts = np.stack([
        np.maximum(goal - avail - competition, 0),
        np.minimum(competition, np.maximum(goal - avail, 0)),
        np.minimum(frequency, np.maximum(goal - pacing.offered, 0)),
        pacing.daily_cap_cut,
        pacing.budget_cut,
    ])
    reason = np.argmax(parts, axis=0)
    reason = np.where(parts.max(axis=0) > 0, reason, REASONS.index("pacing"))
    met = shortfall <= np.maximum(0.01 * goal, 1)
    reason = np.where(met, REASONS.index("none"), reason)
    columns: list[pa.Array] = [
        pa.array(grid.li_id[pacing.day_li]),
        pa.array(pacing.day_number.astype(np.int32), type=pa.int32()).cast(pa.date32()),
        pa.array(goal),
        pa.array(avail),
        pa.array(pacing.offered),
        pa.array(delivered),
        pa.array(competition),
        pa.array(frequency),
        pa.array(pacing.daily_cap_cut),
        pa.array(pacing.budget_cut),
        pa.array(shortfall),
        pa.array(np.array(REASONS)[reason]),
    ]
    return pa.Table.from_arrays(columns, schema=without_platform(PACING_SCHEMA))
