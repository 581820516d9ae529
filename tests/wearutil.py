"""Creative wear-out as an analyst rebuilds it from the tables, by the data dictionary alone.

- `exposures_before(rows)`: per performance row, x = the impressions of its line item ×
  creative × device in the hours before the row's ÷ the row's cumulative_reach;
- `per_row(rows, creative_truth, name)`: a creative_truth column on every performance row;
- `worn(rows, creative_truth)`: per row, the CTR and completion factors
  exp(−wear_out_rate × x) and exp(−0.1 × wear_out_rate × x).

`rows` are performance columns as NumPy arrays (`simfactory.columns`), in any order.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from simfactory import columns

__all__ = ["COMPLETION_SHARE", "exposures_before", "per_row", "worn"]

COMPLETION_SHARE = 0.1  # "completion drops a tenth as fast" (creative_truth.wear_out_rate)


def _series(rows: dict[str, np.ndarray]) -> np.ndarray:
    """Per row: an index of its line item × creative × device."""
    _, device = np.unique(rows["device"], return_inverse=True)
    keys = np.stack([rows["line_item_id"], rows["creative_id"], device])
    _, index = np.unique(keys, axis=1, return_inverse=True)
    return np.asarray(index).ravel()


def exposures_before(rows: dict[str, np.ndarray]) -> np.ndarray:
    """Per row: mean exposures to its creative of the households reached so far."""
    series = _series(rows)
    order = np.lexsort((rows["hour"], series))
    imps = rows["impressions"][order].astype(np.int64)
    running = np.cumsum(imps)
    first = np.r_[True, series[order][1:] != series[order][:-1]]
    start = np.maximum.accumulate(np.where(first, running - imps, 0))
    before = np.empty_like(imps)
    before[order] = running - imps - start
    return before / np.maximum(rows["cumulative_reach"], 1)


def per_row(rows: dict[str, np.ndarray], creative_truth: pa.Table, name: str) -> np.ndarray:
    """creative_truth[name] of each row's line item × creative × device."""
    truth = columns(creative_truth)
    key = ("line_item_id", "creative_id", "device")
    both = {k: np.concatenate([truth[k], rows[k]]) for k in key}
    _, index = np.unique(both["device"], return_inverse=True)
    stacked = np.stack([both["line_item_id"], both["creative_id"], np.asarray(index).ravel()])
    _, series = np.unique(stacked, axis=1, return_inverse=True)
    series = np.asarray(series).ravel()
    n = truth["line_item_id"].size
    where = np.full(series.max(initial=-1) + 1, -1)
    where[series[:n]] = np.arange(n)
    found = where[series[n:]]
    assert (found >= 0).all(), "a performance row without its creative_truth row"
    values: np.ndarray = truth[name][found]
    return values


def worn(rows: dict[str, np.ndarray], creative_truth: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """Per row: (CTR factor, completion factor) of the documented wear-out."""
    decay = per_row(rows, creative_truth, "wear_out_rate") * exposures_before(rows)
    return np.exp(-decay), np.exp(-COMPLETION_SHARE * decay)
