"""The MMM table: advertiser × ISO week × geo, one column set per channel — what a
marketing-mix model (Robyn, Meridian, PyMC-Marketing) takes as input — with the truth beside it.

A row holds the advertiser's KPI in a geo and week (conversions = baseline + the channels'
incremental conversions, and their value), controls an analyst would have (a demand index,
holiday days, households of the geo), and per channel (a channel is a device class of the
run's platform: ctv, desktop, mobile) the media (spend, impressions), what attribution
credited, and the truth: incremental conversions and value (the channel's contribution) and
the marginal value (SUM(marginal_value_micros) ÷ SUM(spend_micros) is the marginal ROI).

The baseline is the advertiser's, over its whole market: Poisson(b × m × H_g × Σ_d c_d,g)
for the seven days of the week — b its base rate (conversion_truth.baseline_rate), m its
market share (MARKET_SHARE, keyed by advertiser), H_g the geo's households, c_d,g the
calendar's weekday × season × holiday × event demand — keyed by (seed, advertiser, week,
geo). It does not stop between flights nor follow the line items' targeting, so an MMM's
baseline is not tied to its spend (the line items' own baselines in conversion_truth are).

The channel columns are sums over the advertiser's line items of the geo split of their
daily rows (`grains.geo_split`), so a batch (or a block) gives partial rows; `combine` adds
partial rows of the same key — integer sums, exact in any order — keeps the columns that are
functions of the key (CONTROLS, the baseline among them) and recomputes the KPI, so any
partition of line items into batches and blocks gives the same table, and combining twice
changes nothing. Weeks are ISO weeks of UTC days (Monday to Sunday), `week` their Monday;
rows exist for the weeks a line item's flight touches, in the geos it targets.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from adsgen.seeding import entity_keys
from adsgen.simulate.columns import MMM_CHANNEL_COLUMNS, MMM_SCHEMA
from adsgen.simulate.draws import hash_counters, poisson, uniform
from adsgen.simulate.grains import GeoSplit, value_per_conversion, week_of
from adsgen.simulate.grid import DEVICES, Grid
from adsgen.simulate.incrementality import Incrementality
from adsgen.templates.spec import Platform
from adsgen.world.calendar import day_factors
from adsgen.world.households import geo_audience, geo_households, served_geos

__all__ = [
    "CONTROLS", "DERIVED", "KEY", "MARKET_SHARE", "combine", "geo_weights", "market_share",
    "mmm_partial",
]

I64 = NDArray[np.int64]
F64 = NDArray[np.float64]

KEY = ("advertiser_id", "week", "geo")
CONTROLS = ("currency", "value_per_conversion_micros", "demand_index", "holiday_days",
            "households", "market_share", "baseline_expected", "baseline_conversions")
"""Columns that are functions of the key (the same in every partial row of a key)."""
DERIVED = ("conversions", "conversion_value_micros")
"""Columns computed from the others (recomputed after adding partial rows)."""
MARKET_SHARE = (0.05, 0.5)
"""Share of a geo's households in an advertiser's market, log-uniform per advertiser."""
_N_GEO_BITS = 8


def mmm_partial(
    grid: Grid, inc: Incrementality, split: GeoSplit, *, weights: I64, platform: Platform,
    seed: int,
) -> pa.Table:
    """The batch's MMM rows (MMM_SCHEMA): sums over its line items; `combine` adds the rows
    of other batches. `weights` (line item, geo) > 0 marks the geos a line item's rows are
    split over (`grains.geo_split`)."""
    geos = served_geos(platform)
    n_geo = len(geos)
    advertisers = np.array([item.advertiser_id for item in grid.items], dtype=np.int64)
    geo_index = np.arange(n_geo, dtype=np.int64)
    # every targeted geo of every line item × day is a row (zeros included): a full panel
    base_li = inc.days.gid
    brands, brand = np.unique(advertisers, return_inverse=True)  # dense: ids may be huge
    base_cells = _code(brand[base_li], week_of(inc.day), n_geo)[:, None] + geo_index
    base_ok = weights[base_li] > 0
    keys = np.unique(base_cells[base_ok])
    m = keys.size
    row_cells = _code(brand[split.li], split.week, n_geo)[:, None] + geo_index
    row_ok = weights[split.li] > 0
    rows_at = np.searchsorted(keys, row_cells[row_ok])
    device = np.broadcast_to(split.device[:, None], row_cells.shape)[row_ok]

    def add(values: I64, on: NDArray[np.bool_] | None = None) -> I64:
        flat = values[row_ok]
        at = rows_at if on is None else rows_at[on]
        out: I64 = np.bincount(at, weights=flat if on is None else flat[on],
                               minlength=m).astype(np.int64)
        return out

    adv_of_key = brands[keys >> np.int64(32 + _N_GEO_BITS)]
    value = value_per_conversion(seed, adv_of_key)
    impressions = split.valid + split.invalid
    columns: dict[str, I64] = {}
    incremental_total = np.zeros(m, dtype=np.int64)
    for code, dev in enumerate(DEVICES):
        on = device == code
        names = MMM_CHANNEL_COLUMNS[dev.value]
        incremental = add(split.incremental, on)
        columns[names["spend"]] = add(split.spend, on)
        columns[names["impressions"]] = add(impressions, on)
        columns[names["attributed"]] = add(split.attributed, on)
        columns[names["incremental"]] = incremental
        columns[names["incremental_value"]] = incremental * value
        columns[names["marginal_value"]] = add(split.marginal_value, on)
        incremental_total += incremental
    week = (keys >> np.int64(_N_GEO_BITS)) & np.int64(0xFFFFFFFF)
    geo = keys & np.int64((1 << _N_GEO_BITS) - 1)
    controls = _controls(platform, seed, week, geo)
    li_order = np.argsort(advertisers, kind="stable")
    rate = inc.baseline_rate[li_order][np.searchsorted(advertisers[li_order], adv_of_key)]
    share = market_share(seed, adv_of_key)
    expected = rate * share * controls["households"] * 7.0 * controls["demand_index"]
    counter = (week.astype(np.uint64) << np.uint64(_N_GEO_BITS)) | geo.astype(np.uint64)
    baseline = poisson(expected, hash_counters(
        entity_keys(seed, "simulate.mmm_baseline", adv_of_key), counter)).astype(np.int64)
    conversions = baseline + incremental_total
    order = np.argsort(advertisers, kind="stable")
    currencies = np.array([item.currency.value for item in grid.items], dtype=object)
    currency = currencies[order][np.searchsorted(advertisers[order], adv_of_key)]
    data: dict[str, object] = {
        "advertiser_id": adv_of_key,
        "week": pa.array(week.astype(np.int32), type=pa.date32()),
        "geo": pa.array(np.array(geos, dtype=object)[geo], type=pa.string()),
        "currency": pa.array(currency, type=pa.string()),
        "value_per_conversion_micros": value,
        **controls,
        "market_share": share,
        "baseline_expected": expected,
        "baseline_conversions": baseline,
        "conversions": conversions,
        "conversion_value_micros": conversions * value,
        **columns,
    }
    return pa.Table.from_arrays(
        [c if isinstance(c := data[f.name], pa.Array) else pa.array(c, type=f.type)
         for f in MMM_SCHEMA], schema=MMM_SCHEMA)


def _code(advertiser: I64, week: I64, n_geo: int) -> I64:
    """advertiser index | week | geo packed in one int64 (sorted like the key)."""
    if n_geo > 1 << _N_GEO_BITS:
        raise ValueError(f"at most {1 << _N_GEO_BITS} geos")
    out: I64 = (advertiser << np.int64(32 + _N_GEO_BITS)) | (
        (week & np.int64(0xFFFFFFFF)) << np.int64(_N_GEO_BITS))
    return out


def geo_weights(grid: Grid, platform: Platform) -> I64:
    """(line item, geo): the targeted households of each targeted served geo (the US's
    narrowed to its DMAs and states, `geo_audience`), 0 elsewhere (every served geo when a
    line item targets none of them): the weights of the geo split."""
    mask = grid.targets.geo_masks(len(served_geos(platform)))
    mask[~mask.any(axis=1)] = True
    return geo_audience(platform, mask, grid.targets.market_tv)


def market_share(seed: int, advertisers: I64) -> F64:
    """m per advertiser: the share of a geo's households in its market (MARKET_SHARE)."""
    keys = entity_keys(seed, "simulate.market_share", advertisers)
    u = uniform(hash_counters(keys, np.zeros(keys.size, dtype=np.uint64))).astype(np.float64)
    low, high = np.log(MARKET_SHARE[0]), np.log(MARKET_SHARE[1])
    out: F64 = np.exp(low + u * (high - low))
    return out


def _controls(platform: Platform, seed: int, week: I64, geo: I64) -> dict[str, I64 | F64]:
    """demand_index, holiday_days and households of each (week, geo)."""
    geos = served_geos(platform)
    weeks = np.unique(week)
    days = (weeks[:, None] + np.arange(7)).ravel()
    factors = day_factors(platform, seed, geos, days)
    demand = (factors.weekday * factors.demand).reshape(len(geos), weeks.size, 7)
    holiday = ((factors.holiday_viewing != 1.0) | (factors.holiday_demand != 1.0)).reshape(
        len(geos), weeks.size, 7).sum(axis=2)
    at = np.searchsorted(weeks, week)
    return {
        "demand_index": demand.mean(axis=2)[geo, at],
        "holiday_days": holiday[geo, at].astype(np.int64),
        "households": geo_households(platform)[geo],
    }


def combine(parts: Sequence[pa.Table]) -> pa.Table:
    """One row per key: the sum of `parts`' rows of that key (controls kept), sorted by key.
    Integer sums, so any grouping of line items into parts gives the same table."""
    tables = [part for part in parts if part.num_rows]
    if not tables:
        return MMM_SCHEMA.empty_table()
    table = pa.concat_tables(tables)
    summed = [name for name in MMM_SCHEMA.names
              if name not in KEY and name not in CONTROLS and name not in DERIVED]
    grouped = table.group_by(list(KEY)).aggregate(
        [(name, "min") for name in CONTROLS] + [(name, "sum") for name in summed])
    grouped = grouped.rename_columns([
        name.removesuffix("_min").removesuffix("_sum") for name in grouped.column_names])
    conversions = grouped.column("baseline_conversions").to_numpy() + sum(
        grouped.column(names["incremental"]).to_numpy()
        for names in MMM_CHANNEL_COLUMNS.values())
    value = conversions * grouped.column("value_per_conversion_micros").to_numpy()
    grouped = grouped.append_column("conversions", pa.array(conversions, type=pa.int64()))
    grouped = grouped.append_column("conversion_value_micros", pa.array(value, type=pa.int64()))
    ordered = grouped.select(MMM_SCHEMA.names).sort_by([(k, "ascending") for k in KEY])
    return ordered.cast(MMM_SCHEMA)
