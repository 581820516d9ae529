"""The manifest's market check: `market_delivery` reconciles with the performance rows.

`market_violations`, per block: per line item × UTC day, the markets' rows add up to the
performance rows exactly (impressions, valid impressions, completes, clicks, conversions,
spend), every row keeps valid impressions, completes and clicks at most its impressions,
and only line items that target DMAs or states have market rows — every such line item's
day with delivery has its markets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from adsgen.build.items import SimLineItem

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["market_violations"]

_SUMS = ("impressions", "valid_impressions", "completes", "clicks", "conversions",
         "spend_micros")


def _performance_sums(performance: pa.Table) -> dict[str, np.ndarray]:
    """The performance columns market_delivery splits, by its names."""
    col = {name: performance.column(name).to_numpy() for name in (
        "impressions", "invalid", "completes", "clicks", "click_conversions",
        "view_conversions", "spend_micros")}
    return {
        "impressions": col["impressions"], "valid_impressions": col["impressions"] - col[
            "invalid"], "completes": col["completes"], "clicks": col["clicks"],
        "conversions": col["click_conversions"] + col["view_conversions"],
        "spend_micros": col["spend_micros"],
    }


def market_violations(tables: Mapping[str, pa.Table], items: Sequence[SimLineItem]) -> tuple[
        int, int]:
    """(line item × UTC days checked, those whose market rows do not add up to the
    performance rows, break a row's order, or belong to a line item without DMAs or
    states) for one batch or block."""
    import pyarrow as pa

    performance, markets = tables["performance"], tables["market_delivery"]
    targeted = np.array(sorted(i.line_item_id for i in items if i.dmas or i.states),
                        dtype=np.int64)
    perf_li = performance.column("line_item_id").to_numpy()
    on = np.isin(perf_li, targeted)
    perf_day = performance.column("hour").cast(pa.int64()).to_numpy()[on] // 86_400_000_000
    m_li = markets.column("line_item_id").to_numpy()
    m_day = markets.column("day").cast(pa.int32()).to_numpy().astype(np.int64)
    stray = int(np.count_nonzero(~np.isin(m_li, targeted)))
    li = np.concatenate([perf_li[on], m_li])
    if li.size == 0:
        return 0, 0
    day = np.concatenate([perf_day, m_day])
    keys, at = np.unique(li * np.int64(1 << 24) + (day - int(day.min())),
                         return_inverse=True)
    size = keys.size
    side = np.r_[np.ones(int(on.sum())), -np.ones(m_li.size)]
    perf = _performance_sums(performance)
    bad = np.zeros(size, dtype=np.bool_)
    for name in _SUMS:
        values = np.r_[perf[name][on], markets.column(name).to_numpy()]
        bad |= np.bincount(at, weights=side * values, minlength=size) != 0
    imps = markets.column("impressions").to_numpy()
    order = np.zeros(m_li.size, dtype=np.bool_)
    for name in ("valid_impressions", "completes", "clicks"):
        order |= markets.column(name).to_numpy() > imps
    bad |= np.bincount(at[int(on.sum()):], weights=order, minlength=size) > 0
    return size + stray, int(np.count_nonzero(bad)) + stray
