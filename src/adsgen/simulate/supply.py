"""Supply: the ad slots each line item can buy per hour and device, from the shared world.

A line item's opportunities in a cell (line item × UTC hour × device) are its allocated
share of the slots of each geo it targets (`adsgen.world.allocation`), in that geo's local
hour when its day-parts allow, divided by the slots one of its impressions takes:

    bound = Σ_geo share(geo, device, day) × slots(geo, device, hour) × daypart(local hour)
            ÷ slots per impression

Realised opportunities are over-dispersed around `FILL` × bound (the share of the slots won
that the ad server fills: creative approval, timeouts) — Poisson(FILL × bound × Gamma(mean
1, shape = platform `dispersion`)) — and never above ⌊bound⌋, so the line items of a plan can
never sell more slots than a geo × device × hour has (the shared-slot law).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from adsgen.simulate.draws import gamma_noise, hash_counters, line_item_keys, poisson, rehash
from adsgen.simulate.grid import Grid
from adsgen.world.allocation import Allocation
from adsgen.world.inventory import Inventory
from adsgen.world.lineitems import Targets

__all__ = ["FILL", "cell_counters", "hour_index", "slot_bound", "won_supply"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

FILL = 0.8
"""Expected share of a cell's won slots that are filled (the mean of realised supply)."""


def hour_index(grid: Grid, inv: Inventory) -> I64:
    """Per cell: the hour's index in the inventory's hour axis."""
    return inv.hour_index(grid.start[grid.cell_li] + 3600 * grid.cell_h)


def slot_bound(grid: Grid, alloc: Allocation, inv: Inventory) -> tuple[F64, F64]:
    """Impressions each cell can buy at most (float; see the module), and what it asked for.

    `asked` is the bound had competition left every line item its whole `need` (the same
    share in every geo, device and day of its flight): that share × the slots of its geos
    and day-parts summed — one table per distinct (geos, day-parts). A line item that got
    all it asked for has `bound == asked`; only line items squeezed somewhere are summed
    geo by geo, each geo with its own granted share.
    """
    tg = grid.targets
    h = hour_index(grid, inv)
    li = grid.cell_li
    if li.size == 0:
        return np.zeros(0, dtype=np.float64), np.zeros(0, dtype=np.float64)
    combo_of, tables = _combo_tables(tg, inv, np.unique(li))
    asked = alloc.need[li] * tables[combo_of[li], grid.cell_dev, h]
    squeezed = alloc.squeezed[li]
    bound = np.where(squeezed, 0.0, asked)
    if squeezed.any():
        _add_by_geo(grid, alloc, inv, h, np.flatnonzero(squeezed), bound)
    units = tg.units[li]
    return bound / units, asked / units


def _combo_tables(tg: Targets, inv: Inventory, items: I64) -> tuple[I64, F64]:
    """Per line item of `items`: index of its (geos, day-parts) table of slots (3, span)."""
    combo_of = np.full(tg.n, -1, dtype=np.int64)
    seen: dict[tuple[bytes, bytes], int] = {}
    tables: list[F64] = []
    for k in items.tolist():
        geos = tg.geo_codes[tg.geo_off[k]:tg.geo_off[k + 1]]
        key = (geos.tobytes(), tg.hour_mask[k].tobytes())
        if key not in seen:
            seen[key] = len(tables)
            allowed = tg.hour_mask[k][inv.local_hour[geos]]  # (geos, span)
            tables.append((inv.slots[geos] * allowed[:, None, :]).sum(axis=0))
        combo_of[k] = seen[key]
    return combo_of, np.stack(tables)


def _add_by_geo(
    grid: Grid, alloc: Allocation, inv: Inventory, h: I64, cells: I64, bound: F64
) -> None:
    """Add to `bound` the slots of these cells geo by geo, each with its own share."""
    tg = grid.targets
    li = grid.cell_li[cells]
    n_geo = tg.n_geo[li]
    day = inv.days[h[cells] // 24]
    for j in range(int(n_geo.max())):
        on = np.flatnonzero(n_geo > j)
        cli = li[on]
        geo = tg.geo_codes[tg.geo_off[cli] + j]
        hour = h[cells[on]]
        device = grid.cell_dev[cells[on]]
        allowed = tg.hour_mask[cli, inv.local_hour[geo, hour]]
        share = alloc.share(cli, geo, device, day[on])
        bound[cells[on]] += share * inv.slots[geo, device, hour] * allowed


def cell_counters(grid: Grid) -> NDArray[np.uint64]:
    """Counter of each cell within its line item: hour offset and device code."""
    return ((grid.cell_h << 2) | grid.cell_dev).astype(np.uint64)


def won_supply(grid: Grid, bound: F64, *, seed: int, dispersion: float) -> I64:
    """Realised opportunities per cell: Poisson(FILL × bound × Gamma), at most ⌊bound⌋."""
    keys = line_item_keys(seed, "supply", grid.li_id)
    base = hash_counters(keys[grid.cell_li], cell_counters(grid))
    mean = FILL * bound * gamma_noise(rehash(base, 0), dispersion)
    drawn = poisson(mean, rehash(base, 1)).astype(np.int64)
    return np.minimum(drawn, np.floor(bound).astype(np.int64))
