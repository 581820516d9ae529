"""The layout of one batch: line items → cells (line item × hour × device) → output rows.

Only line items that deliver get a place: ACTIVE, at least one servable creative, at least
one targeted device the platform serves, a non-empty flight. Rows are ordered as the output
is sorted — line item id, creative id, hour, device name — and cover the complete grain:
every flight hour × servable creative × targeted device, zero impressions included.

Three levels, each a flat array whose groups are contiguous runs:
- line-item hours (pacing): line item, hour;
- cells (supply, frequency, reach): line item, hour, device;
- rows (creative rotation, funnel, output): line item, creative, hour, device.
The per-line-item set-up below reads the frozen inputs once (a loop over line items and
their creatives); everything per hour or per row is index arithmetic on whole arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from adsgen.build.items import SimCreative, SimLineItem
from adsgen.domain.enums import AdFormat, DeviceType
from adsgen.simulate.groups import Groups
from adsgen.templates.spec import Platform
from adsgen.world.households import DEVICE_ORDER
from adsgen.world.lineitems import (
    Targets,
    deliverable,
    device_codes,
    epoch_seconds,
    servable,
    targets,
)
from adsgen.world.positions import positions

__all__ = [
    "AD_FORMATS", "DEVICES", "Grid", "build_grid", "epoch_seconds", "row_count",
]

I64 = NDArray[np.int64]

DEVICES: tuple[DeviceType, ...] = DEVICE_ORDER
"""Device codes 0..2 in output sort order (by name: ctv, desktop, mobile)."""
AD_FORMATS: tuple[AdFormat, ...] = tuple(AdFormat)  # Grid.cre_format indexes it


def row_count(item: SimLineItem, platform: Platform) -> int:
    """Rows the line item contributes (0 when it does not deliver)."""
    if not deliverable(item, platform):
        return 0
    hours = (epoch_seconds(item.end) - epoch_seconds(item.start)) // 3600
    return hours * len(servable(item)) * len(device_codes(item, platform))


@dataclass(frozen=True, slots=True)
class Grid:
    """Index arrays of one batch (n line items, all deliverable, sorted by id)."""

    items: tuple[SimLineItem, ...]
    targets: Targets  # targeting and demand arrays (the world's view of the line items)
    li_id: I64
    start: I64  # epoch seconds of the first flight hour
    hours: I64
    n_dev: I64
    dev_codes: I64  # (n, 3): the line item's device codes, padded with -1
    n_cre: I64
    # creatives of the batch, grouped by line item, sorted by id
    cre_off: I64  # (n + 1)
    cre_id: I64
    cre_duration: I64  # seconds; 0 for static formats
    cre_video: NDArray[np.bool_]
    cre_qr: NDArray[np.bool_]
    cre_interactive: NDArray[np.bool_]
    cre_format: I64  # index into AD_FORMATS
    # line-item hours
    lh: Groups  # groups = line items
    lh_li: I64
    lh_h: I64
    # cells (line item, hour, device)
    cells: Groups  # groups = line items
    cell_li: I64
    cell_h: I64
    cell_rank: I64  # device rank within the line item
    cell_dev: I64  # device code
    cell_lh: I64
    # rows (line item, creative, hour, device)
    rows: Groups  # groups = line items
    row_cell: I64
    row_cre: I64  # index into the batch's creatives
    row_series: I64  # (line item, creative, device) series index

    @property
    def n(self) -> int:
        """Number of line items."""
        return int(self.li_id.size)

    @property
    def pair_first(self) -> I64:
        """Per line item: index of its first line item × device pair (pairs are li-major,
        devices in rank order)."""
        first: I64 = np.cumsum(self.n_dev) - self.n_dev
        return first

    @property
    def pair_li(self) -> I64:
        """Per line item × device pair: its line item (batch index)."""
        return np.repeat(np.arange(self.n, dtype=np.int64), self.n_dev)

    @property
    def pair_dev(self) -> I64:
        """Per line item × device pair: its device code (DEVICES)."""
        li = self.pair_li
        dev: I64 = self.dev_codes[li, positions(self.n_dev)]
        return dev

    @property
    def pair_index(self) -> I64:
        """Index of each line item × device pair (li-major) for every cell."""
        return self.pair_first[self.cell_li] + self.cell_rank


def build_grid(items: Sequence[SimLineItem], platform: Platform) -> Grid:
    """Lay out a batch of deliverable line items (sorted by id) as cells and rows."""
    n = len(items)
    tg = targets(items, platform)
    li_id = tg.ids
    start = tg.start
    hours = tg.hours
    dev_codes = tg.dev_codes
    creatives: list[SimCreative] = []
    n_cre = np.zeros(n, dtype=np.int64)
    for k, item in enumerate(items):
        chosen = servable(item)
        n_cre[k] = len(chosen)
        creatives.extend(chosen)
    n_dev = tg.n_dev
    cre_off = np.concatenate([[0], np.cumsum(n_cre)]).astype(np.int64)

    lh = Groups(hours)
    lh_li = lh.gid
    lh_h = lh.position

    cells = Groups(hours * n_dev)
    cell_li = cells.gid
    local = cells.position
    nd = n_dev[cell_li]
    cell_h = local // nd
    cell_rank = local - cell_h * nd
    cell_dev = dev_codes[cell_li, cell_rank]
    cell_lh = lh.first[cell_li] + cell_h

    per_li_cells = hours * n_dev
    rows = Groups(per_li_cells * n_cre)
    row_li = rows.gid
    local = rows.position
    span = per_li_cells[row_li]
    rank = local // span
    row_cell = cells.first[row_li] + (local - rank * span)
    row_cre = cre_off[row_li] + rank
    series_off = np.cumsum(n_cre * n_dev) - n_cre * n_dev
    row_series = series_off[row_li] + rank * n_dev[row_li] + cell_rank[row_cell]

    return Grid(
        items=tuple(items),
        targets=tg,
        li_id=li_id,
        start=start,
        hours=hours,
        n_dev=n_dev,
        dev_codes=dev_codes,
        n_cre=n_cre,
        cre_off=cre_off,
        cre_id=np.array([c.creative_id for c in creatives], dtype=np.int64),
        cre_duration=np.array([c.duration_s or 0 for c in creatives], dtype=np.int64),
        cre_video=np.array(
            [c.ad_format.is_video and bool(c.duration_s) for c in creatives], dtype=np.bool_
        ),
        cre_qr=np.array([c.has_qr for c in creatives], dtype=np.bool_),
        cre_interactive=np.array([c.interactive for c in creatives], dtype=np.bool_),
        cre_format=np.array([AD_FORMATS.index(c.ad_format) for c in creatives], dtype=np.int64),
        lh=lh,
        lh_li=lh_li,
        lh_h=lh_h,
        cells=cells,
        cell_li=cell_li,
        cell_h=cell_h,
        cell_rank=cell_rank,
        cell_dev=cell_dev,
        cell_lh=cell_lh,
        rows=rows,
        row_cell=row_cell,
        row_cre=row_cre,
        row_series=row_series,
    )
