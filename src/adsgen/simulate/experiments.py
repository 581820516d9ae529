"""Lift experiments with known answers: `experiment_outcomes` and `experiment_truth`.

A line item opts in with `experiment:` in its template (adsgen.domain.experiment). Its
households split into a treatment arm, served as usual, and a control arm that shows what
would have happened without the ads; the conversions come from the same draws as
`conversion_truth` (adsgen.simulate.incrementality), so the arms reconcile with it exactly.

holdout and psa (user level). N = the line item's targetable households (the baseline's
population in conversion_truth); N_C = round(control_share × N) are control, N_T = N − N_C
treatment, and the line item's delivery (supply, reach, frequency) plays out among the N_T
(`treated_share`). Over the flight:
- treatment exposed households R = its de-duplicated reach over devices (`reach`, all, flight);
- control would-be-exposed households G ~ Binomial(N_C, R / N_T): the households the ad
  server would have served — holdout logs them as ghost impressions and serves nothing;
  psa serves them a public-service ad, which changes nothing but costs money;
- baseline: the line item's baseline conversions K = Σ conversion_truth.baseline_conversions
  fall on its N households alike, so the exposed treatment households hold
  k_T ~ Binomial(K, R / N) of them and the control ones k_C ~ Binomial(K − k_T, G / (N − R))
  (Poisson thinning: unconditionally Poisson(β·R) and Poisson(β·G), β = E[K] / N);
- incremental: every incremental conversion (Σ conversion_truth.incremental_conversions)
  happens in an exposed treatment household.
So the treatment arm observes R households and k_T + incremental conversions, the control G
households and k_C; a difference in means estimates incremental_expected ÷ R.

geo. The line item serves its treated geos only (their targetable households N_T are the
baseline's population in conversion_truth); the control geos' targetable households N_C (the
same targeting in those geos) are not served. Treatment observes N_T households and
K + incremental conversions (exactly conversion_truth's sums); control N_C households and
Poisson(β·N_C) conversions, β = E[K] / N_T (the same per-household baseline: the calendar
is the platform's).

Ghost-ad holdouts and geo controls are never served, so `performance` holds the treatment
only; PSA impressions are not in performance either (its grain is the line item's
creatives): experiment_outcomes reports them and their cost, treatment impressions × G / R
at the line item's CPM, bought on top of its budget. Draws are keyed by (seed,
"experiments", line item): the same for any batch or engine.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from adsgen.build.items import SimLineItem
from adsgen.domain.enums import ExperimentType
from adsgen.simulate.columns import EXPERIMENT_OUTCOMES_SCHEMA, EXPERIMENT_TRUTH_SCHEMA
from adsgen.simulate.draws import binomial, hash_counters, line_item_keys, poisson
from adsgen.simulate.grid import Grid
from adsgen.templates.spec import Platform
from adsgen.world.households import served_geos, targetable
from adsgen.world.lineitems import Targets

__all__ = ["Z_ALPHA", "Z_POWER", "experiment_tables", "reconcile", "split_households"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

Z_ALPHA = 1.959963984540054
"""z of a two-sided test at α = 0.05."""
Z_POWER = 0.8416212335729143
"""z of 80 % power."""


def split_households(items: Sequence[SimLineItem], union: I64) -> tuple[I64, F64]:
    """(control households N_C, treated share N_T / N) per line item: holdout and PSA hold
    out round(control_share × N) of the N targetable households; others hold out none."""
    share = np.array([item.experiment.control_share if item.experiment is not None
                      and item.experiment.type is not ExperimentType.geo else 0.0
                      for item in items], dtype=np.float64)
    control = np.rint(share * union).astype(np.int64)
    treated = np.divide(union - control, union, out=np.ones(union.size, dtype=np.float64),
                        where=union > 0)
    return control, treated


def _geo_control_households(platform: Platform, targets: Targets, rows: I64,
                            items: Sequence[SimLineItem]) -> I64:
    """Targetable households of each geo line item's control geos (rows index `targets`)."""
    geos = served_geos(platform)
    mask = np.zeros((rows.size, len(geos)), dtype=np.bool_)
    for k, row in enumerate(rows.tolist()):
        experiment = items[row].experiment
        assert experiment is not None
        mask[k, [geos.index(g) for g in experiment.control_geos if g in geos]] = True
    households = targetable(platform, mask, targets.device_masks()[rows],
                            targets.genre_household_share[rows],
                            market_tv=targets.market_tv[rows],
                            segment_shares=targets.segment_share[rows])
    return households.union


def experiment_tables(
    grid: Grid,
    *,
    platform: Platform,
    seed: int,
    population: I64,
    control: I64,
    day_li: I64,
    conversion_truth: pa.Table,
    reach: pa.Table,
    performance: pa.Table,
) -> tuple[pa.Table, pa.Table]:
    """(experiment_outcomes, experiment_truth) of a batch.

    `population` is each line item's baseline population N (conversion_truth's targetable
    households), `control` its holdout/PSA control households (split_households), `day_li`
    the batch line item of each conversion_truth row; `reach` and `performance` are the
    batch's tables.
    """
    kinds = [item.experiment.type if item.experiment is not None else None
             for item in grid.items]
    rows = np.array([k for k, kind in enumerate(kinds) if kind is not None], dtype=np.int64)
    if rows.size == 0:
        return EXPERIMENT_OUTCOMES_SCHEMA.empty_table(), EXPERIMENT_TRUTH_SCHEMA.empty_table()
    n = grid.n
    m = rows.size
    ids = grid.li_id[rows]
    geo = np.array([kinds[k] is ExperimentType.geo for k in rows.tolist()], dtype=np.bool_)
    psa = np.array([kinds[k] is ExperimentType.psa for k in rows.tolist()], dtype=np.bool_)

    def per_li(column: str) -> F64:
        values = conversion_truth.column(column).to_numpy()
        return np.bincount(day_li, weights=values, minlength=n).astype(np.float64)[rows]

    baseline_drawn = per_li("baseline_conversions")
    incremental_drawn = per_li("incremental_conversions")
    baseline_mean = per_li("baseline_expected")
    incremental_mean = per_li("incremental_expected")
    first = grid.rows.first[:n]
    impressions = np.add.reduceat(performance.column("impressions").to_numpy(), first)[rows]
    valid = impressions - np.add.reduceat(performance.column("invalid").to_numpy(), first)[rows]
    spend = np.add.reduceat(performance.column("spend_micros").to_numpy(), first)[rows]
    cpm = np.array([grid.items[k].cpm_micros for k in rows.tolist()], dtype=np.int64)

    flight = pc.and_(pc.equal(reach.column("device"), "all"),
                     pc.equal(reach.column("period"), "flight"))
    flight_reach = reach.filter(flight)
    reached = np.zeros(n, dtype=np.float64)
    where = np.searchsorted(grid.li_id, flight_reach.column("line_item_id").to_numpy())
    reached[where] = flight_reach.column("reach").to_numpy()

    keys = line_item_keys(seed, "experiments", ids)
    total = population[rows].astype(np.float64)
    held = control[rows].astype(np.float64)
    treated_pool = total - held
    exposed = np.minimum(reached[rows], treated_pool)
    ghost = binomial(held, np.divide(exposed, treated_pool, out=np.zeros(m),
                                     where=treated_pool > 0), _hashed(keys, 1))
    k_t = binomial(baseline_drawn, np.divide(exposed, total, out=np.zeros(m), where=total > 0),
                   _hashed(keys, 2))
    rest = total - exposed
    k_c = binomial(baseline_drawn - k_t,
                   np.clip(np.divide(ghost, rest, out=np.zeros(m), where=rest > 0), 0.0, 1.0),
                   _hashed(keys, 3))
    rate = np.divide(baseline_mean, total, out=np.zeros(m), where=total > 0)  # β

    geo_rows = np.flatnonzero(geo)
    if geo_rows.size:
        control_geo = _geo_control_households(platform, grid.targets, rows[geo_rows],
                                              grid.items).astype(np.float64)
        exposed[geo_rows] = total[geo_rows]
        ghost[geo_rows] = control_geo
        k_t[geo_rows] = baseline_drawn[geo_rows]
        k_c[geo_rows] = poisson(rate[geo_rows] * control_geo, _hashed(keys[geo_rows], 4))

    share = np.divide(ghost, exposed, out=np.zeros(m), where=exposed > 0)
    psa_impressions = np.where(psa, np.rint(impressions * share), 0).astype(np.int64)
    psa_valid = np.where(psa, np.rint(valid * share), 0).astype(np.int64)
    n_t, n_c = exposed.astype(np.int64), ghost.astype(np.int64)

    experiment_type = pa.array([kinds[k].value for k in rows.tolist()], pa.string())
    geo_lists = [_arm_geos(grid.items[k]) for k in rows.tolist()]
    outcomes = pa.table({
        "line_item_id": np.repeat(ids, 2),
        "arm": pa.array(["treatment", "control"] * m, pa.string()),
        "experiment_type": experiment_type.take(pa.array(np.repeat(np.arange(m), 2))),
        "geos": pa.array([g for pair in geo_lists for g in pair], pa.string()),
        "households": np.column_stack([n_t, n_c]).ravel(),
        "conversions": np.column_stack([k_t + incremental_drawn, k_c]).ravel().astype(np.int64),
        "impressions": np.column_stack([impressions, psa_impressions]).ravel(),
        "spend_micros": np.column_stack([spend, psa_valid * cpm // 1000]).ravel(),
    }, schema=EXPERIMENT_OUTCOMES_SCHEMA)

    baseline_arm = rate * n_t
    lift = np.divide(incremental_mean, baseline_arm, out=np.zeros(m), where=baseline_arm > 0)
    per_household = np.divide(incremental_mean, n_t, out=np.zeros(m), where=n_t > 0)
    inverse = np.divide(1.0, n_t, out=np.full(m, np.inf), where=n_t > 0) + np.divide(
        1.0, n_c, out=np.full(m, np.inf), where=n_c > 0)
    spread = np.sqrt(np.divide(inverse, rate, out=np.full(m, np.inf), where=rate > 0))
    detectable = (Z_ALPHA + Z_POWER) * spread
    se = np.sqrt(np.divide(rate + per_household, n_t, out=np.full(m, np.inf), where=n_t > 0)
                 + np.divide(rate, n_c, out=np.full(m, np.inf), where=n_c > 0))
    z = np.divide(per_household, se, out=np.zeros(m), where=np.isfinite(se) & (se > 0))
    power = _normal_cdf(z - Z_ALPHA)
    truth = pa.table({
        "line_item_id": ids,
        "seed": np.full(m, seed, dtype=np.int64),
        "experiment_type": experiment_type,
        "control_share": np.array([grid.items[k].experiment.control_share
                                   for k in rows.tolist()], dtype=np.float64),
        "treatment_households": n_t,
        "control_households": n_c,
        "baseline_rate": rate,
        "baseline_expected": baseline_arm,
        "incremental_expected": incremental_mean,
        "incremental_conversions": incremental_drawn.astype(np.int64),
        "true_lift": lift,
        "true_lift_per_household": per_household,
        "minimum_detectable_lift": detectable,
        "power": power,
    }, schema=EXPERIMENT_TRUTH_SCHEMA)
    return outcomes, truth


def _hashed(keys: NDArray[np.uint64], variable: int) -> NDArray[np.uint64]:
    return hash_counters(keys, np.full(keys.size, variable, dtype=np.uint64))


def _arm_geos(item: SimLineItem) -> tuple[str | None, str | None]:
    """(treatment, control) geos of a geo experiment, comma-separated; None otherwise."""
    experiment = item.experiment
    if experiment is None or experiment.type is not ExperimentType.geo:
        return None, None
    return ",".join(sorted(item.geos)), ",".join(experiment.control_geos)


def _normal_cdf(z: F64) -> F64:
    """Φ(z), the standard normal distribution function, elementwise."""
    erf = np.vectorize(math.erf, otypes=[np.float64])
    out: F64 = 0.5 * (1.0 + erf(z / math.sqrt(2.0)))
    return out


def reconcile(tables: Mapping[str, pa.Table]) -> tuple[int, int]:
    """(line items with an experiment, those whose arms do not reconcile) in a batch's
    tables (`SimResult` or a mapping by name): the treatment arm holds exactly the line
    item's performance impressions and spend and every incremental conversion of
    conversion_truth; its baseline share (conversions − incremental) is ≥ 0; for holdout
    and PSA it and the control's conversions come out of conversion_truth's baseline draws
    (their sum ≤ Σ baseline_conversions), for geo it is all of them."""
    get = tables.__getitem__
    truth = get("experiment_truth")
    if truth.num_rows == 0:
        return 0, 0
    outcomes: pa.Table = get("experiment_outcomes")
    ids = truth.column("line_item_id").to_numpy()
    order = np.argsort(ids)
    ids = ids[order]

    def summed(table: pa.Table, column: str) -> NDArray[np.int64]:
        keys = table.column("line_item_id").to_numpy()
        at = np.searchsorted(ids, keys)
        inside = (at < ids.size) & (ids[np.minimum(at, ids.size - 1)] == keys)
        out = np.zeros(ids.size, dtype=np.int64)
        np.add.at(out, at[inside], table.column(column).to_numpy()[inside])
        return out

    arm = outcomes.column("arm").to_numpy(zero_copy_only=False)
    treated = outcomes.filter(pa.array(arm == "treatment"))
    control = outcomes.filter(pa.array(arm == "control"))
    conversion_truth = get("conversion_truth")
    performance = get("performance")
    incremental = summed(conversion_truth, "incremental_conversions")
    baseline = summed(conversion_truth, "baseline_conversions")
    treated_baseline = summed(treated, "conversions") - incremental
    kind = truth.column("experiment_type").to_numpy(zero_copy_only=False)[order]
    geo = kind == ExperimentType.geo.value
    bad = (
        (summed(treated, "impressions") != summed(performance, "impressions"))
        | (summed(treated, "spend_micros") != summed(performance, "spend_micros"))
        | (truth.column("incremental_conversions").to_numpy()[order] != incremental)
        | (treated_baseline < 0)
        | np.where(geo, treated_baseline != baseline,
                   treated_baseline + summed(control, "conversions") > baseline)
    )
    return int(ids.size), int(np.count_nonzero(bad))
