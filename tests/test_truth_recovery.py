"""The truth is recoverable from the rows: 95 % intervals of the rates cover ground_truth.

Over many random small plans (a seeded loop, deterministic), each line item × device that
delivered gets an estimate of five rates from its performance rows alone, with a 95 %
interval, and the interval is checked against ground_truth's true value:

- completion = completes / impressions                       vs p_complete
- viewability = viewable / measurable                        vs p_viewable / p_measurable
- CTR = clicks / (impressions − invalid)                     vs p_click
- IVT = invalid / impressions                                vs p_invalid
- conversion = conversions / (share × (impressions − invalid)) vs p_conversion
  (share = ground_truth.conversion_share_in_flight: conversions landing after the flight
  end have no row)

Intervals: the Wilson score interval for the four binomial rates (each impression is an
independent trial of the rotation-weighted probability: the creative rotation is a
multinomial per impression, so the mixture is itself Bernoulli), and the Poisson score
interval for the conversion count (conversions are Poisson given the delivered impressions),
divided by share × valid impressions. Truths of exactly 0 or 1 (static formats, CTV without
interactive creatives) are left out: every interval covers them.

Coverage over all estimates of a rate must lie in [0.90, 0.99]; the message prints each
rate's coverage (`python tests/test_truth_recovery.py` prints it always). Any rate outside
is a bug in the simulation or in its truth.
"""

from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from adsgen.simulate import simulate
from simfactory import platform, random_line_item

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
               if n != "device"}
        imp, invalid = col["impressions"], col["invalid"]
        valid = imp - invalid
        conversions = col["click_conversions"] + col["view_conversions"]
        exposure = col["conversion_share_in_flight"] * valid
        low_c, high_c = poisson_score(conversions)
        binomials = {
            "completion": (col["completes"], imp, col["p_complete"]),
            "viewability": (col["viewable"], col["measurable"],
                            col["p_viewable"] / np.maximum(col["p_measurable"], 1e-300)),
            "ctr": (col["clicks"], valid, col["p_click"]),
            "ivt": (invalid, imp, col["p_invalid"]),
        }
        for rate, (hits, trials, true) in binomials.items():
            use = (trials > 0) & (true > 0) & (true < 1)
            low, high = wilson(hits[use], trials[use])
            parts.setdefault(rate, []).append((true[use], low, high))
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
