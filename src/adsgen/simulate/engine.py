"""`simulate` and `simulate_batches`: line items + platform + seed → Arrow fact tables.

Line items are sorted by id and simulated in batches of about `batch_rows` rows (whole line
items; a batch's temporaries stay cache-sized). Every draw is keyed by (seed, stream, line
item), so the batch size never changes a value and any subset of line items gives exactly
its rows of the full run.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from adsgen.build.items import SimLineItem
from adsgen.build.platform_set import PlatformSet, platform_set
from adsgen.simulate.campaign_reach import combine as combine_campaign_reach
from adsgen.simulate.campaign_reach import partial_rows
from adsgen.simulate.columns import (
    FACT_TABLES,
    PERFORMANCE_SCHEMA,
    PLATFORM_FIELD,
    PLATFORM_TABLES,
    TIMESTAMP,
    without_platform,
)
from adsgen.simulate.conversions import (
    conversion_means,
    draw_conversions,
    in_flight_conversions,
    lag_mean,
    lag_weights,
)
from adsgen.simulate.creative_truth import creative_truth_table
from adsgen.simulate.draws import COUNTS
from adsgen.simulate.experiments import experiment_tables, split_households
from adsgen.simulate.funnel import (
    draw_funnel,
    rotate,
    series_probabilities,
    worn_probabilities,
)
from adsgen.simulate.grains import (
    DAILY_SUMS,
    daily_grain,
    daily_table,
    device_adstock,
    geo_split,
    marginal_incremental,
)
from adsgen.simulate.grid import DEVICES, build_grid, row_count
from adsgen.simulate.ground_truth import (
    FREQUENCY_SIZE_POWER,
    PLANNED_FREQUENCY_RANGE,
    Params,
    WorldTruth,
    draw_params,
    ground_truth_table,
)
from adsgen.simulate.incrementality import (
    attributed_probabilities,
    attribution_multiplier,
    conversion_truth_table,
    drawn_counts,
    incrementality,
)
from adsgen.simulate.market_delivery import market_delivery_table
from adsgen.simulate.mmm import combine, geo_weights, mmm_partial
from adsgen.simulate.pacing import pace
from adsgen.simulate.pacing_table import pacing_table
from adsgen.simulate.pods import pod_delivery_table
from adsgen.simulate.reach import cap_supply, cap_windows, cumulative_reach, paced_split
from adsgen.simulate.reach_table import reach_rows, reach_table
from adsgen.simulate.supply import FILL, slot_bound, won_supply
from adsgen.simulate.wearout import wear_out
from adsgen.templates.spec import Platform
from adsgen.world.allocation import Allocation
from adsgen.world.households import (
    nbd_shape_for_frequency,
    ownership,
    served_geos,
    targetable,
)
from adsgen.world.inventory import Inventory, hourly_slots
from adsgen.world.lineitems import Targets
from adsgen.world.platforms import allocate_each, allocations

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

__all__ = [
    "DEFAULT_BATCH_ROWS", "SimResult", "combine_summed", "simulate", "simulate_batches",
]

DEFAULT_BATCH_ROWS = 1 << 17
_DEVICE_NAMES = pa.array([d.value for d in DEVICES], type=pa.string())
_PERFORMANCE = without_platform(PERFORMANCE_SCHEMA)  # `platform` comes per batch


@dataclass(frozen=True)  # no slots: with them, frozen's __setattr__ fails on properties
class SimResult(Mapping[str, pa.Table]):
    """The simulated tables by name: one per entry of `columns.FACT_TABLES`, in its order,
    each with its schema (`result["performance"]`, `for name, table in result.items()`).

    `.performance` (hourly rows) and `.ground_truth` (per line item × device) are
    shorthands for the two tables most callers read.
    """

    tables: Mapping[str, pa.Table]

    def __post_init__(self) -> None:
        if list(self.tables) != list(FACT_TABLES):
            raise ValueError(f"a SimResult holds the tables {list(FACT_TABLES)}, "
                             f"not {list(self.tables)}")

    def __getitem__(self, name: str) -> pa.Table:
        return self.tables[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.tables)

    def __len__(self) -> int:
        return len(self.tables)

    @property
    def performance(self) -> pa.Table:
        """Hourly rows: line item × creative × hour × device (PERFORMANCE_SCHEMA)."""
        return self.tables["performance"]

    @property
    def ground_truth(self) -> pa.Table:
        """The true parameters per line item × device (GROUND_TRUTH_SCHEMA)."""
        return self.tables["ground_truth"]

    @classmethod
    def empty(cls) -> SimResult:
        """Every table with no rows."""
        return cls({name: table.empty() for name, table in FACT_TABLES.items()})

    @classmethod
    def concat(cls, parts: Sequence[SimResult], *,
               platforms: Platform | PlatformSet | None = None) -> SimResult:
        """The tables of `parts`, each concatenated in order (no parts: empty tables); the
        summed tables combined (`campaign_reach` needs the run's `platforms`)."""
        if not parts:
            return cls.empty()
        return cls({name: combine_summed(name, [p[name] for p in parts], platforms=platforms)
                    if table.summed else pa.concat_tables([p[name] for p in parts])
                    for name, table in FACT_TABLES.items()})


def combine_summed(
    name: str, parts: Sequence[pa.Table], *, platforms: Platform | PlatformSet | None = None,
) -> pa.Table:
    """One table of a summed fact table (`FactTable.summed`) from partial tables of batches
    or blocks: their rows added by key, sorted by key — the same whatever the partition.
    `campaign_reach` derives its reach from the sums with the overlap of `platforms` (the
    run's: ValueError without them)."""
    if name == "mmm":
        return combine(parts)
    if name == "campaign_reach":
        if platforms is None:
            raise ValueError("combining campaign_reach needs the run's platforms")
        return combine_campaign_reach(parts, platform_set(platforms))
    raise ValueError(f"{name!r} is not a summed fact table")


def simulate(
    items: Sequence[SimLineItem],
    *,
    platform: Platform | PlatformSet,
    seed: int,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    allocation: Allocation | Mapping[str, Allocation] | None = None,
) -> SimResult:
    """Simulate every line item: every table of FACT_TABLES, rows in line item order
    (performance sorted by line_item_id, creative_id, hour, device).

    `platform` is the run's platform or platforms (`world.platforms`: each line item on
    the one it names). `allocation` is the shared world's settlement of the whole plan
    (`world.allocate`; one per platform by name, `world.platforms.allocate_each`); by
    default `items` are the whole plan. Raises ValueError when two line items share an id.
    """
    return SimResult.concat(
        list(simulate_batches(items, platform=platform, seed=seed, batch_rows=batch_rows,
                              allocation=allocation)), platforms=platform,
    )


def simulate_batches(
    items: Sequence[SimLineItem],
    *,
    platform: Platform | PlatformSet,
    seed: int,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    allocation: Allocation | Mapping[str, Allocation] | None = None,
) -> Iterator[SimResult]:
    """Yield results batch by batch, in line item id order: for streaming into a sink.

    Memory stays that of one batch whatever the number of line items or days. Given the
    allocation of a larger plan, the rows of `items` are exactly theirs in that plan. A
    batch holds consecutive line items, at most about `batch_rows` rows of each platform;
    its line items of each platform are simulated together in that platform's world and the
    rows put back in line item order (`_window_result`), so line items whose platforms
    alternate (a campaign's in turn, as `generate --platform a,b,c` plans them) still
    simulate in pieces as large as one platform's (on 3 platforms, 1,200 line items × 30
    days: 0.20 M rows/s of CPU cut at each change of platform, 1.0 M so). Every draw is
    keyed by line item, so where batches are cut changes no value.
    """
    ordered = sorted(items, key=lambda item: item.line_item_id)
    ids = [item.line_item_id for item in ordered]
    if len(set(ids)) != len(ids):
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"line_item_id values must be unique; repeated: {duplicates[:10]}")
    plats = platform_set(platform)
    worlds = allocations(allocation, plats)
    if worlds is None:
        worlds = allocate_each(ordered, plats, seed)
    # the slots of the plan's days, once per platform: a slot's value depends only on
    # (platform, seed, hour), so a wider set of days changes nothing
    inventories: dict[str, Inventory] = {}
    batch: list[SimLineItem] = []
    rows = 0
    limit = batch_rows * len(plats.platforms)  # about batch_rows of each platform
    for item in ordered:
        count = row_count(item, plats.of(item))
        if count == 0:
            continue
        if batch and rows + count > limit:
            yield _window_result(batch, plats, seed, worlds, inventories)
            batch, rows = [], 0
        batch.append(item)
        rows += count
    if batch:
        yield _window_result(batch, plats, seed, worlds, inventories)


def _window_result(
    batch: list[SimLineItem], plats: PlatformSet, seed: int,
    worlds: Mapping[str, Allocation], inventories: dict[str, Inventory],
) -> SimResult:
    """One batch (line items in id order): each platform's line items simulated together
    (`_batch_result`), the line item tables' rows then put back in line item order (a line
    item's rows stay as its platform's batch made them) and the summed tables' partial rows
    joined (their callers add them up by key). One platform: its batch as is."""
    groups = plats.groups(batch)
    if len(groups) == 1:
        name, items = next(iter(groups.items()))
        return _batch_result(items, plats.by_name(name), seed, worlds, inventories)
    parts = [_batch_result(items, plats.by_name(name), seed, worlds, inventories)
             for name, items in groups.items()]
    tables: dict[str, pa.Table] = {}
    for name, fact in FACT_TABLES.items():
        pieces = [part[name] for part in parts]
        tables[name] = (pa.concat_tables(pieces) if fact.summed
                        else _in_line_item_order(pieces))
    return SimResult(tables)


def _in_line_item_order(pieces: list[pa.Table]) -> pa.Table:
    """Tables each sorted by line_item_id, no line item in two of them, as one table in
    line item order (a line item's rows in their order), in one chunk.

    A line item's rows are one run of its table, so the result is those runs put in order:
    sliced and joined (a copy at memory speed) when runs are long, gathered row by row
    (`take`) when they are short, where a slice per run would cost more. Measured with
    1,200 line items × 30 days on 3 platforms: a batch's 392,400 performance rows, 169 ms
    by `take` on the joined chunks, 12 ms by slices; its 545 ground-truth rows, 0.3 ms by
    `take` on one chunk, 2.5 ms by slices."""
    joined = pa.concat_tables(pieces)
    if not joined.num_rows:
        return joined
    source, start, length = _line_item_runs(pieces)
    if joined.num_rows >= _SLICED_RUN_ROWS * source.size:
        return pa.concat_tables([pieces[p].slice(s, n) for p, s, n in zip(
            source.tolist(), start.tolist(), length.tolist(), strict=True)]).combine_chunks()
    joined = joined.combine_chunks()
    order = np.argsort(joined["line_item_id"].to_numpy(), kind="stable")
    return joined.take(pa.array(order))


_SLICED_RUN_ROWS = 64
"""Mean rows per run from which `_in_line_item_order` slices rather than gathers."""


def _line_item_runs(pieces: list[pa.Table]) -> tuple[I64, I64, I64]:
    """The runs of rows of `pieces` in line item order, as (piece, first row, rows); runs
    that follow on in one piece merged into one."""
    ids, source, start, length = [], [], [], []
    for index, piece in enumerate(pieces):
        values = piece["line_item_id"].to_numpy()
        if not values.size:
            continue
        cuts = np.flatnonzero(values[1:] != values[:-1]) + 1
        first = np.concatenate(([0], cuts))
        ids.append(values[first])
        source.append(np.full(first.size, index, dtype=np.int64))
        start.append(first)
        length.append(np.diff(np.concatenate((first, [values.size]))))
    order = np.argsort(np.concatenate(ids), kind="stable")
    src, first, rows = (np.concatenate(parts)[order] for parts in (source, start, length))
    new = np.ones(src.size, dtype=bool)
    new[1:] = (src[1:] != src[:-1]) | (first[1:] != first[:-1] + rows[:-1])
    merged = np.add.reduceat(rows, np.flatnonzero(new))
    return src[new], first[new], merged.astype(np.int64)


def _batch_result(
    batch: list[SimLineItem], platform: Platform, seed: int,
    worlds: Mapping[str, Allocation], inventories: dict[str, Inventory],
) -> SimResult:
    """One batch of one platform's line items, the `platform` column appended to the line
    item tables (PLATFORM_TABLES); the platform's inventory computed once per run."""
    world = worlds.get(platform.name)
    if world is None:
        raise KeyError(f"no allocation for platform {platform.name}")
    if platform.name not in inventories:
        inventories[platform.name] = hourly_slots(platform, seed, world.days)
    tables = _simulate_batch(batch, platform=platform, seed=seed, world=world,
                             inventory=inventories[platform.name])
    for name in PLATFORM_TABLES:
        table = tables[name]
        tables[name] = table.append_column(
            PLATFORM_FIELD, pa.repeat(pa.scalar(platform.name, pa.string()), table.num_rows))
    tables["campaign_reach"] = partial_rows(batch, tables["reach"], platform=platform.name,
                                            households=platform.households)
    return SimResult({name: tables[name] for name in FACT_TABLES})


def _narrowed_exposure(
    tg: Targets, platform: Platform, targeted: I64, union: F64, params: Params,
) -> tuple[F64, Params]:
    """The NBD exposure shape of each line item and its params with the planned frequency its
    audience gives.

    The planned frequency grows with a buy's impressions as size^FREQUENCY_SIZE_POWER
    (`ground_truth`); DMAs, states and segments shrink the audience by a share s (targetable
    households ÷ those of its geos, devices and genres alone), so the same impressions are
    1/s times as many per household and the planned frequency is × s^(−FREQUENCY_SIZE_POWER)
    (at most PLANNED_FREQUENCY_RANGE's top, never below the broad plan's):
    the NBD curve against the smaller population then reaches fewer households, more often.
    Untargeted line items (s = 1) are unchanged."""
    broad = targetable(platform, tg.geo_masks(len(served_geos(platform))), tg.device_masks(),
                       tg.genre_household_share).union
    narrow = np.divide(targeted, broad, out=np.ones(tg.n), where=broad > 0)
    planned = params.frequency_target
    frequency = np.where(narrow < 1.0, np.maximum(planned, np.minimum(
        planned * np.maximum(narrow, 1e-6) ** -FREQUENCY_SIZE_POWER,
        PLANNED_FREQUENCY_RANGE[1])), planned)
    params = replace(params, frequency_target=frequency)
    return nbd_shape_for_frequency(tg.planned / union, frequency), params


def _simulate_batch(
    items: list[SimLineItem], *, platform: Platform, seed: int, world: Allocation,
    inventory: Inventory,
) -> dict[str, pa.Table]:
    """Every table of FACT_TABLES for one batch, by name (`inventory` covers its days)."""
    grid = build_grid(items, platform)
    tg = grid.targets
    alloc = world.select(tg.ids)
    low, high = platform.cpm_range
    params = draw_params(
        grid, seed=seed, invalid_rate=platform.invalid_traffic_rate, cpm_mid=math.sqrt(low * high)
    )
    households = targetable(platform, tg.geo_masks(len(served_geos(platform))),
                            tg.device_masks(), tg.genre_household_share,
                            market_tv=tg.market_tv, segment_shares=tg.segment_share)
    # a holdout or PSA control group is not the line item's audience: it delivers to the rest
    control, treated_share = split_households(grid.items, households.union)
    pop = np.floor(households.by_device[grid.pair_li, grid.pair_dev]
                   * treated_share[grid.pair_li])
    union = np.maximum((households.union - control).astype(np.float64), 1.0)
    shape, params = _narrowed_exposure(tg, platform, households.union, union, params)
    bound, asked = slot_bound(grid, alloc, inventory)
    supply = won_supply(grid, bound, seed=seed, dispersion=platform.dispersion)
    windows = cap_windows(grid)
    allowed, cap_factor = cap_supply(supply, pop, shape, grid, windows)
    pacing = pace(grid, allowed, FILL * bound, seed=seed)
    pacing = replace(pacing, delivered=paced_split(pacing.delivered, supply, allowed, pop,
                                                   shape, grid, windows))
    delivered = pacing.delivered
    diagnostics = pacing_table(grid, pacing, available=supply,
                               lost_competition=FILL * np.maximum(asked - bound, 0.0))
    reach, offered = cumulative_reach(delivered, pop, shape, grid, windows, cap_factor)
    reach_by_day = reach_table(reach_rows(
        grid, windows, delivered=delivered, reach=reach, offered=offered, pop=pop,
        union=union, ownership=ownership(platform), shape=shape,
    ))

    impressions = rotate(grid, delivered, params.rotation_weight, seed=seed)
    probs = series_probabilities(grid, params)
    worn = worn_probabilities(grid, probs, wear_out(grid, params.wear_out, impressions, reach))
    counts = draw_funnel(grid, probs, impressions, seed=seed, worn=worn)
    valid = impressions - counts["invalid"]  # invalid traffic is not billed, never converts
    lags = lag_weights(params.lag_mean_hours)
    causal = incrementality(grid, probs, valid=valid, delivered=delivered, reach=reach,
                            targetable=households.union, platform=platform, seed=seed,
                            worn=worn)
    click_mean, view_mean = conversion_means(
        grid, probs, valid.astype(COUNTS), counts["clicks"].astype(COUNTS), lags, worn=worn)
    landing = click_mean + view_mean
    multiplier = attribution_multiplier(causal, landing)
    scale = multiplier.astype(click_mean.dtype)
    click_conv, view_conv = draw_conversions(
        grid, click_mean * scale, view_mean * scale, seed=seed)
    attributed = attributed_probabilities(grid, probs, landing, multiplier)
    row_li = grid.rows.gid
    cpm = np.array([i.cpm_micros for i in items], dtype=np.int64)
    hour = grid.start[row_li] + 3600 * grid.cell_h[grid.row_cell]
    columns: list[pa.Array] = [
        pa.array(grid.li_id[row_li]),
        pa.array(grid.cre_id[grid.row_cre]),
        pa.array(hour * 1_000_000, type=TIMESTAMP),  # epoch seconds → µs
        _DEVICE_NAMES.take(pa.array(grid.cell_dev[grid.row_cell])),
        pa.array(impressions),
    ]
    for name in PERFORMANCE_SCHEMA.names[5:15]:
        columns.append(pa.array(counts[name]))
    columns.append(pa.array(click_conv.astype(np.int64)))
    columns.append(pa.array(view_conv.astype(np.int64)))
    columns.append(pa.array(reach[grid.row_cell]))
    spend = valid * cpm[row_li] // 1000
    columns.append(pa.array(spend))
    performance = pa.Table.from_arrays(columns, schema=_PERFORMANCE)
    incremental, _ = drawn_counts(grid, causal, seed=seed)
    grain = daily_grain(
        grid, causal, {name: performance[name].to_numpy() for name in DAILY_SUMS},
        adstock=device_adstock(grid, causal, probs, valid=valid, worn=worn),
        incremental=incremental,
        marginal=marginal_incremental(grid, causal, reach=reach, offered=offered, pop=pop,
                                      shape=shape),
        seed=seed)
    weights = geo_weights(grid, platform)
    split = geo_split(grid, causal, grain, geo_weights=weights, seed=seed)
    truth = ground_truth_table(
        grid,
        params,
        series_probabilities=attributed,
        audience=pop.astype(np.int64),
        world=WorldTruth(
            targetable=households.union - control,
            exposure_shape=shape,
            win_rate=alloc.win,
            allocated_share=alloc.granted,
        ),
        lag_mean_hours=lag_mean(lags),
        in_flight_conversions=in_flight_conversions(grid, probs, valid, lags),
        seed=seed,
    )
    conversions = conversion_truth_table(
        grid, causal, attributed=click_conv + view_conv, attributed_mean=landing * scale,
        seed=seed)
    outcomes, experiment_truth = experiment_tables(
        grid, platform=platform, seed=seed, population=households.union, control=control,
        day_li=causal.days.gid, conversion_truth=conversions, reach=reach_by_day,
        performance=performance)
    return {
        "performance": performance,
        "ground_truth": truth,
        "creative_truth": creative_truth_table(
            grid, params, series_probabilities=attributed, seed=seed),
        "conversion_truth": conversions,
        "daily": daily_table(grid, causal, grain, seed=seed),
        "mmm": mmm_partial(grid, causal, split, weights=weights, platform=platform, seed=seed),
        "experiment_outcomes": outcomes,
        "experiment_truth": experiment_truth,
        "reach": reach_by_day,
        "pacing": diagnostics,
        "pod_delivery": pod_delivery_table(grid, causal, {"impressions": impressions, **counts},
                                           platform=platform, seed=seed),
        "market_delivery": market_delivery_table(
            grid, {"impressions": impressions, "invalid": counts["invalid"],
                   "completes": counts["completes"], "clicks": counts["clicks"],
                   "conversions": click_conv.astype(np.int64) + view_conv.astype(np.int64),
                   "spend_micros": spend}, hour, platform=platform, seed=seed),
    }
