"""The `market_delivery` table: where a DMA- or state-targeted line item's impressions ran.

Performance rows carry no geo; a line item that targets DMAs or states buys the TV homes of
those markets (`domain.markets.market_mask`: its DMAs, or the DMAs whose principal state is
one of its states; both: those in both lists), and its other targeted geos, if any, whole.
Its audience is spread over them as the world spreads it (`world.households.geo_audience`):
a DMA holds the US households × its TV homes ÷ all 210 DMAs' (Nielsen), a geo outside the US
its households. Each UTC day of the line item is split over those markets in proportion:

- impressions by keyed systematic sampling with the markets' households
  (`grains.integer_split`: each market ⌊n·p⌋ or ⌈n·p⌉, mean n·p, in integers, so the
  markets add up to the day exactly — the repository's geo split, as the MMM table's);
- valid impressions, completes and clicks the same way with the markets' impressions as
  weights, so no market has more of them than impressions; conversions with the markets'
  valid impressions (invalid traffic never converts; the impressions when none is valid);
- spend in proportion to the markets' valid impressions by largest remainders (billing is on
  valid impressions), as the MMM split does.

Systematic rather than multinomial: the world has no per-market supply or response, so a
market's share of a day is its households' share and nothing else; multinomial noise would
be noise the model does not hold, and the MMM grain already splits geos this way. Every
draw is keyed by (seed, line item, UTC day, column): no value depends on the batch or block.
Markets with neither impressions nor conversions that day have no row; line items that
target no DMA or state have none at all.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from adsgen.build.items import SimLineItem
from adsgen.domain.markets import dma, dma_table, market_mask
from adsgen.simulate.columns import MARKET_DELIVERY_SCHEMA
from adsgen.simulate.draws import line_item_keys
from adsgen.simulate.grains import integer_split, largest_remainder
from adsgen.simulate.grid import Grid
from adsgen.templates.spec import Platform
from adsgen.world.households import US, geo_households, served_geos
from adsgen.world.lineitems import epoch_seconds, geo_codes

__all__ = ["MARKET_SUMS", "market_delivery_table", "market_rows", "market_weights"]

I64 = NDArray[np.int64]

MARKET_SUMS: tuple[str, ...] = (
    "impressions", "invalid", "completes", "clicks", "conversions", "spend_micros")
"""The per-row counts `market_delivery_table` sums per line item × UTC day and splits."""


def market_weights(items: Sequence[SimLineItem], platform: Platform) -> tuple[I64, I64]:
    """(markets, households) of line items that target DMAs or states, each (n, K): market
    codes (0..209 the DMAs in `dma_table` order, 210 + g the served geo g, −1 a pad) and
    their households, right-aligned so that a row's last column is a real market."""
    geos = served_geos(platform)
    n_dma = dma_table().code.size
    households = geo_households(platform)
    geo_mask = np.zeros((len(items), len(geos)), dtype=np.bool_)
    for k, item in enumerate(items):
        geo_mask[k, list(geo_codes(item, platform))] = True
    us = geos.index(US) if US in geos else -1
    weights = np.zeros((len(items), n_dma + len(geos)), dtype=np.int64)
    if us >= 0:
        in_us = geo_mask[:, us]
        tv = dma_table().tv_households
        kept = market_mask([i.dmas for i in items], [i.states for i in items])
        weights[:, :n_dma] = np.where(kept & in_us[:, None],
                                      households[us] * tv[None, :] // int(tv.sum()), 0)
        geo_mask[:, us] = False
    weights[:, n_dma:] = np.where(geo_mask, households[None, :], 0)
    present = weights > 0
    width = max(int(present.sum(axis=1).max(initial=0)), 1)
    # stable: pads (False) first, then each row's markets in code order
    order = np.argsort(present, axis=1, kind="stable")[:, -width:]
    codes = np.where(np.take_along_axis(present, order, axis=1), order, -1)
    return codes, np.take_along_axis(weights, order, axis=1) * (codes >= 0)


def market_rows(items: Sequence[SimLineItem], platform: Platform) -> int:
    """The market_delivery rows `items` give when every market of every UTC day of their
    flights has delivery (`runs.blocks.estimate`): days × markets of each line item that
    targets DMAs or states."""
    chosen = [item for item in items if item.dmas or item.states]
    if not chosen:
        return 0
    codes, _ = market_weights(chosen, platform)
    days = [-(-epoch_seconds(i.end) // 86_400) - epoch_seconds(i.start) // 86_400
            for i in chosen]
    return int(np.dot((codes >= 0).sum(axis=1), np.array(days, dtype=np.int64)))


_LABELS = ("market", "geo", "dma", "dma_name", "state")


@functools.cache
def _labels(geos: tuple[str, ...]) -> dict[str, pa.Array]:
    """Per market code (the DMAs, then `geos`): its label columns (MARKET_DELIVERY_SCHEMA)."""
    dmas = [dma(code) for code in dma_table().codes]
    outside: list[str | None] = [None] * len(geos)
    values: dict[str, list[str | None]] = {
        "market": [*(d.code for d in dmas), *geos],
        "geo": [*(US for _ in dmas), *geos],
        "dma": [*(d.code for d in dmas), *outside],
        "dma_name": [*(d.name for d in dmas), *outside],
        "state": [*(d.state for d in dmas), *outside],
    }
    return {name: pa.array(v, type=pa.string()) for name, v in values.items()}


def market_delivery_table(
    grid: Grid, columns: Mapping[str, I64], hour: I64, *, platform: Platform, seed: int,
) -> pa.Table:
    """The market_delivery rows of a batch (MARKET_DELIVERY_SCHEMA; module docstring).

    `columns` holds MARKET_SUMS per performance row (row order of `grid`), `hour` each row's
    UTC hour in epoch seconds."""
    targeted = np.flatnonzero([bool(i.dmas or i.states) for i in grid.items])
    if targeted.size == 0:
        return MARKET_DELIVERY_SCHEMA.empty_table()
    local = np.full(grid.n, -1, dtype=np.int64)
    local[targeted] = np.arange(targeted.size)
    row_local = local[grid.rows.gid]
    rows = np.flatnonzero(row_local >= 0)
    day = hour[rows] // 86_400
    first_day = int(day.min(initial=0))
    key = row_local[rows] * np.int64(1 << 32) + (day - first_day)
    present, at = np.unique(key, return_inverse=True)
    sums = {name: np.bincount(at, weights=columns[name][rows],
                              minlength=present.size).astype(np.int64)
            for name in MARKET_SUMS}
    g_local = present >> np.int64(32)
    g_day = (present & np.int64(0xFFFFFFFF)) + first_day
    codes, households = market_weights([grid.items[k] for k in targeted.tolist()], platform)
    codes, households = codes[g_local], households[g_local]

    keys = line_item_keys(seed, "markets", grid.li_id)[targeted[g_local]]
    counter = g_day.astype(np.uint64) << np.uint64(8)
    impressions = integer_split(sums["impressions"], households, keys, counter)
    valid = integer_split(sums["impressions"] - sums["invalid"], impressions, keys,
                          counter | np.uint64(1))
    completes = integer_split(sums["completes"], impressions, keys, counter | np.uint64(2))
    clicks = integer_split(sums["clicks"], impressions, keys, counter | np.uint64(3))
    # conversions may land on a day without impressions (their lag): then the households
    by_valid = np.where((valid.sum(axis=1) > 0)[:, None], valid, np.where(
        (impressions.sum(axis=1) > 0)[:, None], impressions, households))
    conversions = integer_split(sums["conversions"], by_valid, keys, counter | np.uint64(4))
    spend = largest_remainder(sums["spend_micros"], valid, households)

    keep = (impressions > 0) | (conversions > 0)
    group, _ = np.nonzero(keep)
    labels = _labels(served_geos(platform))
    index = pa.array(codes[keep])
    out: dict[str, pa.Array | NDArray[np.generic]] = {
        "line_item_id": grid.li_id[targeted[g_local[group]]],
        "day": pa.array(g_day[group].astype(np.int32), type=pa.date32()),
        **{name: labels[name].take(index) for name in _LABELS},
        "impressions": impressions[keep],
        "valid_impressions": valid[keep],
        "completes": completes[keep],
        "clicks": clicks[keep],
        "conversions": conversions[keep],
        "spend_micros": spend[keep],
    }
    return pa.Table.from_arrays(
        [c if isinstance(c := out[f.name], pa.Array) else pa.array(c, type=f.type)
         for f in MARKET_DELIVERY_SCHEMA], schema=MARKET_DELIVERY_SCHEMA)
