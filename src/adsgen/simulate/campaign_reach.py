"""The `campaign_reach` table: each campaign's reach per platform and across platforms.

A view of the `reach` table (the line items' `all`-device rows) through the overlap model
of `adsgen.world.platforms`: within a platform a campaign's line items duplicate at random
over its households, across platforms households overlap as the platforms' files state.

It is a summed table (`FactTable.summed`): a batch gives partial rows (`partial_rows`: per
campaign × platform × period × day the line items' count, impressions and reach hazard in
integer 10^-12 units), and `combine` adds partial rows by key and derives every reach
column from the sums — integers, so any grouping of line items into batches or blocks gives
the same table — then appends each campaign's `all` rows. `combine` accepts its own output
(the `all` rows are dropped and derived again), as blocks and runs combine twice.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from adsgen.build.items import SimLineItem
from adsgen.build.platform_set import PlatformSet
from adsgen.simulate.columns import CAMPAIGN_REACH_SCHEMA
from adsgen.world.platforms import Overlap, dedup_reach, from_hazard, hazard

__all__ = ["ALL", "HAZARD_UNIT", "combine", "partial_rows"]

ALL = "all"
"""The platform value of a campaign's rows de-duplicated across its platforms."""
HAZARD_UNIT = 1e12
"""reach_hazard is stored in 10^-12 (integers add up the same in any order)."""
_KEY = ("advertiser_id", "campaign_id", "platform", "period", "day")


def partial_rows(items: Sequence[SimLineItem], reach: pa.Table, *, platform: str,
                 households: int) -> pa.Table:
    """The batch's partial rows from its `reach` rows (one platform's line items `items`):
    the `all`-device rows of each line item, grouped by campaign × period × day."""
    rows = reach.filter(pc.equal(reach["device"], ALL))
    if rows.num_rows == 0:
        return CAMPAIGN_REACH_SCHEMA.empty_table()
    ids = np.array([i.line_item_id for i in items], dtype=np.int64)
    order = np.argsort(ids)
    at = order[np.searchsorted(ids[order], rows["line_item_id"].to_numpy())]
    campaign = np.array([i.campaign_id for i in items], dtype=np.int64)[at]
    advertiser = np.array([i.advertiser_id for i in items], dtype=np.int64)[at]
    size = np.full(rows.num_rows, float(households))
    hz = np.rint(hazard(rows["reach"].to_numpy().astype(np.float64), size) * HAZARD_UNIT)
    n = rows.num_rows
    table = pa.table({
        "advertiser_id": advertiser, "campaign_id": campaign,
        "platform": pa.repeat(pa.scalar(platform, pa.string()), n),
        "period": rows["period"], "day": rows["day"],
        "line_items": np.ones(n, dtype=np.int64),
        "impressions": rows["impressions"],
        "households": np.full(n, households, dtype=np.int64),
        "targetable_households": rows["targetable_households"],
        "reach_hazard": hz.astype(np.int64),
    })
    return _summed(table)


def _summed(table: pa.Table) -> pa.Table:
    """Rows added by key (flight rows dated the campaign's last flight day), with the reach
    columns zero (derived by `combine`)."""
    flight = pc.equal(table["period"], "flight").to_numpy(zero_copy_only=False)
    day = table["day"].cast(pa.int32()).to_numpy().astype(np.int64)
    campaign = table["campaign_id"].to_numpy()
    if flight.any():  # the campaign's last day: max over its flight rows
        ids, inverse = np.unique(campaign[flight], return_inverse=True)
        last = np.full(ids.size, np.iinfo(np.int64).min)
        np.maximum.at(last, inverse, day[flight])
        day[flight] = last[inverse]
    table = table.set_column(table.schema.get_field_index("day"), "day",
                             pa.array(day.astype(np.int32)).cast(pa.date32()))
    grouped = table.group_by(list(_KEY)).aggregate([
        ("line_items", "sum"), ("impressions", "sum"), ("households", "max"),
        ("targetable_households", "max"), ("reach_hazard", "sum")])
    grouped = grouped.rename_columns([
        name.removesuffix("_sum").removesuffix("_max") for name in grouped.column_names])
    zero = pa.array(np.zeros(grouped.num_rows, dtype=np.int64))
    for name in ("reach", "reach_sum", "overlap"):
        grouped = grouped.append_column(name, zero)
    return grouped.select(CAMPAIGN_REACH_SCHEMA.names).cast(CAMPAIGN_REACH_SCHEMA)


def combine(parts: Sequence[pa.Table], platforms: PlatformSet) -> pa.Table:
    """One table from partial tables of batches or blocks (or combined ones): platform rows
    added by key, their reach derived, each campaign × period × day's `all` row appended
    (the overlap model of `platforms`); sorted by advertiser, campaign, period, day,
    platform. ValueError for a platform the set lacks."""
    tables = [p.filter(pc.not_equal(p["platform"], ALL)) for p in parts if p.num_rows]
    tables = [t for t in tables if t.num_rows]
    if not tables:
        return CAMPAIGN_REACH_SCHEMA.empty_table()
    table = _summed(pa.concat_tables(tables))
    names = [n for n in platforms.names if n in set(table["platform"].to_pylist())]
    unknown = set(table["platform"].to_pylist()) - set(names)
    if unknown:
        raise ValueError(f"campaign_reach rows of platforms outside the run: {sorted(unknown)}")
    overlap = Overlap.of([platforms.by_name(n) for n in names])
    code = np.asarray(pc.index_in(table["platform"], value_set=pa.array(names)).to_numpy(),
                      dtype=np.int64)
    size = table["households"].to_numpy().astype(np.float64)
    reach = np.rint(from_hazard(table["reach_hazard"].to_numpy() / HAZARD_UNIT, size))
    # the campaign × period × day groups, each platform's reach in a (groups, k) matrix
    campaign = table["campaign_id"].to_numpy()
    period = pc.equal(table["period"], "flight").to_numpy(zero_copy_only=False).astype(np.int64)
    day = table["day"].cast(pa.int32()).to_numpy().astype(np.int64)
    keys = np.stack([campaign, period, day], axis=1)
    groups, group = np.unique(keys, axis=0, return_inverse=True)
    group = group.ravel()
    k = len(names)
    matrix = np.zeros((groups.shape[0], k))
    matrix[group, code] = reach
    subscribers = np.zeros((groups.shape[0], k))
    subscribers[group, code] = size
    audience = np.zeros((groups.shape[0], k))
    audience[group, code] = table["targetable_households"].to_numpy()
    # the share of households the campaign targets (a trait households have on every
    # platform): its targetable households over its platforms' households
    share = np.clip(audience.sum(axis=1) / np.maximum(subscribers.sum(axis=1), 1.0), 1e-9, 1.0)
    union, shared = dedup_reach(overlap, matrix, share)
    base, _ = dedup_reach(overlap, subscribers)
    targetable, _ = dedup_reach(overlap, audience, share)
    total = matrix.sum(axis=1)
    union = np.minimum(np.rint(union), total)
    platform_rows = table.drop_columns(["reach", "reach_sum", "overlap"]).append_column(
        "reach", pa.array(reach.astype(np.int64))).append_column(
        "reach_sum", pa.array(reach.astype(np.int64))).append_column(
        "overlap", pa.array(np.rint(shared[group, code]).astype(np.int64)))
    first = np.unique(group, return_index=True)[1]
    adv = table["advertiser_id"].to_numpy()[first]
    g = groups.shape[0]
    all_rows = pa.table({
        "advertiser_id": adv, "campaign_id": groups[:, 0],
        "platform": pa.repeat(pa.scalar(ALL, pa.string()), g),
        "period": pa.array(np.where(groups[:, 1] == 1, "flight", "day")),
        "day": pa.array(groups[:, 2].astype(np.int32)).cast(pa.date32()),
        "line_items": np.bincount(group, weights=table["line_items"].to_numpy(),
                                  minlength=g).astype(np.int64),
        "impressions": np.bincount(group, weights=table["impressions"].to_numpy(),
                                   minlength=g).astype(np.int64),
        "households": np.rint(base).astype(np.int64),
        "targetable_households": np.rint(targetable).astype(np.int64),
        "reach_hazard": np.zeros(g, dtype=np.int64),
        "reach": union.astype(np.int64),
        "reach_sum": total.astype(np.int64),
        "overlap": (total - union).astype(np.int64),
    })
    out = pa.concat_tables([platform_rows.select(CAMPAIGN_REACH_SCHEMA.names)
                            .cast(CAMPAIGN_REACH_SCHEMA),
                            all_rows.cast(CAMPAIGN_REACH_SCHEMA)])
    return out.sort_by([("advertiser_id", "ascending"), ("campaign_id", "ascending"),
                        ("period", "ascending"), ("day", "ascending"),
                        ("platform", "ascending")])
