"""The `pod_delivery` table: each video creative's daily delivery split over ad-pod positions.

The model. A line item buys one break position (`line_items.position`: pre-, mid- or
post-roll; OpenRTB start delay), so all its impressions run there; the funnel already gives
each position its completion (`simulate.funnel`: mid-roll the baseline, pre-roll 1 point
lower, post-roll × 0.62–0.78 — realism.md B: mid-roll 78–88 %, post-roll 45–65 %, pre-roll
not above mid-roll). Within its break an ad takes the first, a middle or the last slot of the
pod with the platform's shares (`world.pods.slot_shares`: pods of n ads, n uniform over
`ads_per_break`; 2–4 ads give a third each, 1–3 give ½, ⅙, ⅓).

Viewers leave as a break goes on (modelling choice; no cited figure): the share of an ad's
starts that do not complete is × ABANDONMENT (first 0.85, middle 1.0, last 1.2, scaled so the
positions' mean is the row's own), so with the row's start rate σ and completion c the
expected completion of slot k is σ − (σ − c)·a_k: a first ad completes more than a last one,
most where completion is low (mobile, post-roll), hardly on CTV mid-roll.

The split. Performance rows of video creatives are summed per line item × creative ×
device × UTC day; the day's funnel is cut into its layers — impressions not started,
started but lost before each quartile, completed — and each layer is split over the slots
with the repository's keyed systematic split (`grains.systematic_split`: each slot ⌊n·p⌋ or
⌈n·p⌉, mean n·p): not started by the slot shares s_k, the four losses by s_k·a_k, completes
by s_k·(σ − (σ − c)·a_k). A slot's counts are sums of layers (completes = completed;
third quartile = that + lost after it; …; impressions = every layer), so on every row
completes ≤ third_quartile ≤ midpoint ≤ first_quartile ≤ starts ≤ impressions, and the
positions add up to the performance rows exactly, column by column. Every draw is keyed by
(seed, line item, day, creative and device within the line item, layer): no value depends
on the batch or block. Rows without impressions are left out; static formats (pause ads,
overlays) are not in pods and have no rows.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from adsgen.domain.enums import AdPosition
from adsgen.simulate.columns import FUNNEL, POD_DELIVERY_SCHEMA
from adsgen.simulate.draws import line_item_keys
from adsgen.simulate.grains import systematic_split
from adsgen.simulate.grid import DEVICES, Grid
from adsgen.simulate.incrementality import Incrementality
from adsgen.templates.spec import Platform
from adsgen.world.pods import SLOT_POSITIONS, platform_pods, slot_shares

__all__ = ["ABANDONMENT", "pod_delivery_table", "slot_abandonment"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

ABANDONMENT: tuple[float, float, float] = (0.85, 1.0, 1.2)
"""Relative share of starts not completed in the first, middle and last slot of a pod."""

_N_SLOTS = len(SLOT_POSITIONS)
_LAYERS = len(FUNNEL)  # not started, four losses, completed
_DEVICE_NAMES = pa.array([d.value for d in DEVICES], type=pa.string())
_SLOT_NAMES = pa.array(SLOT_POSITIONS, type=pa.string())
_BREAK_NAMES = pa.array([p.value for p in AdPosition], type=pa.string())


def slot_abandonment(shares: F64) -> F64:
    """(3,) ABANDONMENT scaled so that Σ shares × a = 1 (the positions keep the row's mean)."""
    raw = np.array(ABANDONMENT)
    scaled: F64 = raw / float(shares @ raw)
    return scaled


def pod_delivery_table(
    grid: Grid, inc: Incrementality, counts: Mapping[str, I64], *, platform: Platform,
    seed: int,
) -> pa.Table:
    """The pod_delivery rows of a batch (POD_DELIVERY_SCHEMA; module docstring).

    `counts` holds the performance rows' FUNNEL columns (row order of `grid`)."""
    shares = slot_shares(platform_pods(platform))
    abandon = slot_abandonment(shares)
    in_pod = grid.cre_video[grid.row_cre]
    video: slice | I64 = slice(None) if in_pod.all() else np.flatnonzero(in_pod)  # no copies
    # group: (series, day of its line item), dense over the series' flight days
    series_li = np.repeat(np.arange(grid.n), grid.n_cre * grid.n_dev)
    days_per_series = inc.days.lengths[series_li]
    series_off = np.cumsum(days_per_series) - days_per_series
    row_li = grid.rows.gid[video]
    series = grid.row_series[video]
    code = series_off[series] + inc.row_day[video] - inc.days.first[row_li]
    size = int(days_per_series.sum())
    present = np.flatnonzero(np.bincount(code, weights=counts["impressions"][video],
                                         minlength=size))
    sums = np.stack([np.bincount(code, weights=counts[name][video], minlength=size)[present]
                     for name in FUNNEL]).astype(np.int64)  # (6, m), widest first
    g_series = np.searchsorted(series_off, present, side="right") - 1
    g_li = series_li[g_series]
    g_day = inc.day[inc.days.first[g_li] + present - series_off[g_series]]
    local = g_series - (np.cumsum(grid.n_cre * grid.n_dev) - grid.n_cre * grid.n_dev)[g_li]

    layers = np.vstack([sums[:-1] - sums[1:], sums[-1:]])  # (6, m): drops, then completed
    imp = sums[0].astype(np.float64)
    start = np.divide(sums[1], imp, out=np.zeros_like(imp), where=imp > 0)
    complete = np.divide(sums[-1], imp, out=np.zeros_like(imp), where=imp > 0)
    m = present.size
    weights = np.empty((_LAYERS, m, _N_SLOTS))
    weights[0] = shares
    weights[1:-1] = shares * abandon
    weights[-1] = shares * np.maximum(
        start[:, None] - (start - complete)[:, None] * abandon, 0.0)
    keys = line_item_keys(seed, "pods", grid.li_id)[g_li]
    counters = ((g_day.astype(np.uint64) << np.uint64(32))
                | (local.astype(np.uint64) << np.uint64(4)))
    split = systematic_split(
        layers.reshape(-1), weights.reshape(-1, _N_SLOTS), np.tile(keys, _LAYERS),
        (counters[None, :] | np.arange(_LAYERS, dtype=np.uint64)[:, None]).reshape(-1),
    ).reshape(_LAYERS, m, _N_SLOTS)
    # a slot's count at each funnel stage: its completed plus what it lost after that stage
    stages = np.cumsum(split[::-1], axis=0)[::-1]  # (6, m, 3), impressions first
    keep = stages[0] > 0
    group, slot = np.nonzero(keep)
    position = np.array([list(AdPosition).index(i.position) for i in grid.items],
                        dtype=np.int64)
    columns: dict[str, pa.Array | NDArray[np.generic]] = {
        "line_item_id": grid.li_id[g_li[group]],
        "creative_id": grid.cre_id[grid.cre_off[g_li] + local // grid.n_dev[g_li]][group],
        "device": _DEVICE_NAMES.take(pa.array(
            grid.dev_codes[g_li, local % grid.n_dev[g_li]][group])),
        "day": pa.array(g_day[group].astype(np.int32), type=pa.date32()),
        "break_position": _BREAK_NAMES.take(pa.array(position[g_li[group]])),
        "slot_position": _SLOT_NAMES.take(pa.array(slot)),
        **{name: stages[j][keep] for j, name in enumerate(FUNNEL)},
    }
    return pa.Table.from_arrays(
        [c if isinstance(c := columns[f.name], pa.Array) else pa.array(c, type=f.type)
         for f in POD_DELIVERY_SCHEMA], schema=POD_DELIVERY_SCHEMA)
