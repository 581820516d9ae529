"""The truth is recoverable from the rows: 95 % intervals of the rates cover the truth.

Over many random small plans (a seeded loop, deterministic), each line item × device that
delivered gets an estimate of three rates from its performance rows alone, with a 95 %
interval, and the interval is checked against ground_truth's true value:

- viewability = viewable / measurable                        vs p_viewable / p_measurable
- IVT = invalid / impressions                                vs p_invalid
- conversion = conversions / (share × (impressions − invalid)) vs p_conversion
  (share = ground_truth.conversion_share_in_flight: conversions landing after the flight
  end have no row)

Completion and CTR wear out (creative_truth.wear_out_rate): a row's rate is its creative's
first-exposure rate × exp(−r·x) (CTR) or exp(−0.1·r·x) (completion), with x rebuilt from the
rows as the data dictionary says (`wearutil`). The wear differs by creative, so these two
are estimated per line item × creative × device against creative_truth (ground_truth is its
mix by rotation weight, checked exactly in test_simulate_creative_truth), dividing the count
by the wear-weighted trials A = Σ trials × factor over the series' rows:

- completion = completes / Σ impressions × completion factor          vs p_complete
- CTR = clicks / Σ (impressions − invalid) × CTR factor                vs p_click

Intervals: the Wilson score interval for the binomial rates (each impression is an
independent trial of the rotation-weighted probability: the creative rotation is a
multinomial per impression, so the mixture is itself Bernoulli); for completion and CTR the
count's mean is p·A, so the Wilson interval of the mean rate per trial, p·A ÷ trials, times
trials ÷ A, is one for p. The Poisson score interval for the conversion count (conversions
are Poisson given the delivered impressions), divided by share × valid impressions. Truths
of exactly 0 or 1 (static formats, CTV without interactive creatives) are left out: every
interval covers them.

Coverage over all estimates of a rate must lie in [0.90, 0.99]; the message prints each
rate's coverage (`python tests/test_truth_recovery.py` prints it always). Any rate outside
is a bug in the simulation or in its truth.
"""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from adsgen.simulate import SimResult, simulate
from simfactory import columns, platform, random_line_item
from wearutil import worn

F64 = NDArray[np.float64]
Z = 1.959963984540054  # two-sided 95 %
PLANS = 120
ITEMS_PER_PLAN = 6
LOW, HIGH = 0.90, 0.99


def wilson(successes: F64, trials: F64) -> tuple[F64, F64]:
    """Wilson score interval for a binomial proportion (trials > 0)."""
    p = successes / trials
    z2 = Z * Z
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    half = Z * np.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / (1 + z2 / trials)
    return centre - half, centre + half


def poisson_score(count: F64) -> tuple[F64, F64]:
    """Score interval for a Poisson mean: count + z²/2 ± z·sqrt(count + z²/4)."""
    z2 = Z * Z
    centre = count + z2 / 2
    half = Z * np.sqrt(count + z2 / 4)
    return np.maximum(centre - half, 0.0), centre + half


def _pairs(performance: pa.Table) -> pa.Table:
    """Sums of the performance rows per line item × device."""
    names = ["impressions", "completes", "measurable", "viewable", "invalid", "clicks",
             "click_conversions", "view_conversions"]
    summed = performance.group_by(["line_item_id", "device"]).aggregate(
        [(n, "sum") for n in names])
    return summed.rename_columns([c.removesuffix("_sum") for c in summed.column_names])


def _series(result: SimResult) -> pa.Table:
    """Per line item × creative × device: counts, trials and wear-weighted trials, joined
    with creative_truth."""
    performance = result.performance
    rows = columns(performance)
    ctr_factor, completion_factor = worn(rows, result["creative_truth"])
    valid = rows["impressions"] - rows["invalid"]
    table = pa.table({
        "line_item_id": performance["line_item_id"],
        "creative_id": performance["creative_id"],
        "device": performance["device"],
        "impressions": rows["impressions"].astype(np.float64),
        "valid": valid.astype(np.float64),
        "completes": rows["completes"].astype(np.float64),
        "clicks": rows["clicks"].astype(np.float64),
        "worn_impressions": rows["impressions"] * completion_factor,
        "worn_valid": valid * ctr_factor,
    })
    keys = ["line_item_id", "creative_id", "device"]
    names = [n for n in table.column_names if n not in keys]
    summed = table.group_by(keys).aggregate([(n, "sum") for n in names])
    summed = summed.rename_columns([c.removesuffix("_sum") for c in summed.column_names])
    return summed.join(result["creative_truth"], keys)


def _estimates() -> dict[str, tuple[F64, F64, F64]]:
    """Per rate: (true values, interval lows, interval highs) over every plan."""
    parts: dict[str, list[tuple[F64, F64, F64]]] = {}
    plat = platform()
    for plan in range(PLANS):
        rng = random.Random(plan)
        items = [random_line_item(rng, plan * 100 + i, max_days=10)
                 for i in range(1, ITEMS_PER_PLAN + 1)]
        result = simulate(items, platform=plat, seed=plan)
        sums = _pairs(result.performance)
        joined = sums.join(result.ground_truth, ["line_item_id", "device"])
        col = {n: joined.column(n).to_numpy().astype(np.float64) for n in joined.column_names
               if n not in ("device", "platform")}
        imp, invalid = col["impressions"], col["invalid"]
        valid = imp - invalid
        conversions = col["click_conversions"] + col["view_conversions"]
        exposure = col["conversion_share_in_flight"] * valid
        low_c, high_c = poisson_score(conversions)
        binomials = {
            "viewability": (col["viewable"], col["measurable"],
                            col["p_viewable"] / np.maximum(col["p_measurable"], 1e-300)),
            "ivt": (invalid, imp, col["p_invalid"]),
        }
        for rate, (hits, trials, true) in binomials.items():
            use = (trials > 0) & (true > 0) & (true < 1)
            low, high = wilson(hits[use], trials[use])
            parts.setdefault(rate, []).append((true[use], low, high))
        series = _series(result)
        per = {n: series.column(n).to_numpy().astype(np.float64)
               for n in ("impressions", "valid", "completes", "clicks", "worn_impressions",
                         "worn_valid", "p_complete", "p_click")}
        worn_rates = {
            "completion": (per["completes"], per["impressions"], per["worn_impressions"],
                           per["p_complete"]),
            "ctr": (per["clicks"], per["valid"], per["worn_valid"], per["p_click"]),
        }
        for rate, (hits, trials, worn_trials, true) in worn_rates.items():
            use = (trials > 0) & (true > 0) & (true < 1)
            low, high = wilson(hits[use], trials[use])
            scale = trials[use] / worn_trials[use]
            parts.setdefault(rate, []).append((true[use], low * scale, high * scale))
        use = (exposure > 0) & (col["p_conversion"] > 0)
        parts.setdefault("conversion", []).append(
            (col["p_conversion"][use], low_c[use] / exposure[use], high_c[use] / exposure[use]))
    out: dict[str, tuple[F64, F64, F64]] = {}
    for rate, chunks in parts.items():
        true, low, high = (np.concatenate(x) for x in zip(*chunks, strict=True))
        out[rate] = (true, low, high)
    return out


def coverage_report() -> tuple[dict[str, float], str]:
    """(rate → share of its intervals covering the truth, a one-line report)."""
    estimates = _estimates()
    coverage = {}
    for rate, (true, low, high) in estimates.items():
        assert true.size >= 300, (rate, true.size)
        coverage[rate] = float(np.mean((low <= true) & (true <= high)))
    report = ", ".join(f"{rate} {cov:.3f} of {estimates[rate][0].size}"
                       for rate, cov in coverage.items())
    return coverage, report


def test_95_percent_intervals_cover_the_truth() -> None:
    coverage, report = coverage_report()
    assert all(LOW <= cov <= HIGH for cov in coverage.values()), report


if __name__ == "__main__":  # `python tests/test_truth_recovery.py` prints the figures
    print(coverage_report()[1])
