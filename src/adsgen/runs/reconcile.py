"""The grains reconcile: hourly → daily → MMM sums agree exactly, truth included.

`grain_violations` is the manifest's `grains_reconcile` check on one batch (a SimResult):
per line item, the daily table's sums equal the hourly rows' (every count and the spend) and
its incremental conversions equal conversion_truth's; over the batch, the MMM table's
partial rows hold exactly the daily spend, impressions, attributed and incremental
conversions and marginal value, and each MMM row's KPI is its baseline plus its channels'
incremental conversions. MMM rows of
batches and blocks are then added by key with integer sums, so the whole run's tables
agree as each batch does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import numpy as np

from adsgen.simulate.columns import MMM_CHANNEL_COLUMNS
from adsgen.simulate.grains import DAILY_SUMS

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["grain_violations", "mmm_totals"]


def _by_line_item(table: pa.Table, ids: np.ndarray) -> Callable[[str], np.ndarray]:
    """SUM(column) per line item of `ids` (sorted), as exact integers: a function of the
    column name, each row's line item looked up once per table, not once per column."""
    at = np.searchsorted(ids, table.column("line_item_id").to_numpy())

    def total(column: str) -> np.ndarray:
        out = np.zeros(ids.size, dtype=np.int64)
        np.add.at(out, at, table.column(column).to_numpy().astype(np.int64))
        return out

    return total


def mmm_totals(mmm: pa.Table) -> dict[str, int]:
    """Totals of an MMM table over every channel (spend, impressions, attributed,
    incremental, marginal_value)."""
    import pyarrow.compute as pc

    totals = {part: sum(int(pc.sum(mmm.column(names[part])).as_py() or 0)
                        for names in MMM_CHANNEL_COLUMNS.values())
              for part in ("spend", "impressions", "attributed", "incremental",
                           "marginal_value")}
    return totals


def grain_violations(tables: Mapping[str, pa.Table]) -> tuple[int, int]:
    """(line items checked, line items whose grains disagree) for one batch; a batch whose
    MMM totals disagree counts every line item."""
    import pyarrow.compute as pc

    performance, daily = tables["performance"], tables["daily"]
    truth = tables["conversion_truth"]
    ids = np.unique(np.concatenate([table.column("line_item_id").to_numpy()
                                    for table in (performance, daily, truth)]))
    bad = np.zeros(ids.size, dtype=bool)
    hourly, by_day = _by_line_item(performance, ids), _by_line_item(daily, ids)
    for name in DAILY_SUMS:
        bad |= hourly(name) != by_day(name)
    bad |= (_by_line_item(truth, ids)("incremental_conversions")
            != by_day("incremental_conversions"))

    def total(table: pa.Table, *columns: str) -> int:
        return sum(int(pc.sum(table.column(c)).as_py() or 0) for c in columns)

    expected = {
        "spend": total(daily, "spend_micros"),
        "impressions": total(daily, "impressions"),
        "attributed": total(daily, "click_conversions", "view_conversions"),
        "incremental": total(daily, "incremental_conversions"),
        "marginal_value": total(daily, "marginal_value_micros"),
    }
    mmm = tables["mmm"]
    kpi = mmm.column("baseline_conversions").to_numpy() + sum(
        mmm.column(names["incremental"]).to_numpy() for names in MMM_CHANNEL_COLUMNS.values())
    if mmm_totals(mmm) != expected or np.any(kpi != mmm.column("conversions").to_numpy()):
        bad[:] = True
    return int(ids.size), int(np.count_nonzero(bad))
