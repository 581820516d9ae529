"""Measurement-truth targets of ../shared/realism.md G (and B's conversion rate), measured.

Generates two datasets with the real `adsgen` (next to this Python) and prints, for each
target, its source range and the measured value, with PASS or MISS:

- the README's lift example: `generate --line-items 240 --days 14` with a profile whose line
  items all hold out a fifth of their households (ghost ads), for two seeds;
- the bundled profiles: `generate --line-items 2000 --days 30` (no experiments).

    .venv/bin/python benchmarks/measurement.py

The true lift is `experiment_truth.true_lift` (incremental ÷ baseline conversions of the
treatment arm); the coverage is that of the README's difference-in-means 95 % interval on
`experiment_outcomes`, i.e. what an analyst's estimate achieves on these arms.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from realism import ADSGEN, Tables, Target, print_targets

LIFT_PROFILE = """\
type: profile
description: Conversion buys, each holding out a fifth of its households (ghost ads)
weight: 1000
objective: conversion
budget: [300000, 500000]
line_item_count: 2
experiment: {type: holdout, control_share: 0.2}
"""

def _sum(table: pa.Table, column: str) -> float:
    return float(pc.sum(table[column]).as_py() or 0)


def _attributed(t: Tables) -> float:
    daily = t["daily"]
    return _sum(daily, "click_conversions") + _sum(daily, "view_conversions")


def _per_impression(t: Tables) -> float:
    return _attributed(t) / _sum(t["daily"], "impressions")


def _incremental_share(t: Tables) -> float:
    return _sum(t["conversion_truth"], "incremental_conversions") / _attributed(t)


def _mean_roi(t: Tables) -> float:
    """Mean over advertiser × channel (with spend) of Σ incremental value ÷ Σ spend."""
    mmm = t["mmm"]
    _, advertiser = np.unique(mmm["advertiser_id"].to_numpy(), return_inverse=True)
    rois = []
    for channel in ("ctv", "desktop", "mobile"):
        spend = np.bincount(advertiser, mmm[f"{channel}_spend_micros"].to_numpy())
        value = np.bincount(advertiser, mmm[f"{channel}_incremental_value_micros"].to_numpy())
        rois.append(value[spend > 0] / spend[spend > 0])
    return float(np.concatenate(rois).mean())


def _median_lift(t: Tables) -> float:
    return float(np.median(t["experiment_truth"]["true_lift"].to_numpy()))


def _coverage(t: Tables) -> float:
    """Share of line items whose difference-in-means 95 % interval holds the true effect."""
    arms = t["experiment_outcomes"]
    treated = arms.filter(pc.equal(arms["arm"], "treatment")).sort_by("line_item_id")
    control = arms.filter(pc.equal(arms["arm"], "control")).sort_by("line_item_id")
    n_t, y_t = (treated[k].to_numpy().astype(float) for k in ("households", "conversions"))
    n_c, y_c = (control[k].to_numpy().astype(float) for k in ("households", "conversions"))
    estimate = y_t / n_t - y_c / n_c
    half_width = 1.96 * np.sqrt(y_t / n_t**2 + y_c / n_c**2)
    truth = t["experiment_truth"].sort_by("line_item_id")
    true = truth["true_lift_per_household"].to_numpy()
    return float(np.mean(np.abs(estimate - true) <= half_width))


LIFT_SOURCE = ("median conversion lift +8.1 % (Johnson, Lewis & Nubbemeyer, 432 experiments); "
               "+6 % lower funnel, +19 % mid (Gordon, Moakler & Zettelmeyer 2022, 663 RCTs)")
OVERCOUNT_SOURCE = ("G: last touch credits exposed baseline converters; observational "
                    "estimates overstate RCT lift, often 3x or more (Gordon et al. 2019)")
CVR_SOURCE = "B: 0.1-0.3 % (Criteo attribution dataset ~0.27 %)"
ROI_SOURCE = "TV's average ROI $1.83 per $1 (Keen, Marketing ROI Insights)"

LIFT_TARGETS = (
    Target("median true lift (treatment arm)", 0.03, 0.20, LIFT_SOURCE, _median_lift),
    Target("difference-in-means 95 % interval coverage", 0.92, 0.98,
           "issue 11: ~95 % of line items", _coverage),
    Target("attributed conversions per impression", 0.001, 0.003, CVR_SOURCE, _per_impression),
    Target("incremental / attributed conversions", 0.02, 0.5, OVERCOUNT_SOURCE,
           _incremental_share),
)
BUNDLED_TARGETS = (
    LIFT_TARGETS[2], LIFT_TARGETS[3],
    Target("mean true ROI, advertiser x channel (mmm)", 0.5, 3.0, ROI_SOURCE, _mean_roi),
)


def _tables(out: Path, *names: str) -> Tables:
    return {name: ds.dataset(out / name, format="parquet", partitioning="hive").to_table()
            for name in names}


def _lift_spread(tables: Tables) -> None:
    truth = tables["experiment_truth"]
    lift = truth["true_lift"].to_numpy()
    p10, p90 = np.percentile(lift, [10, 90])
    powered = float(np.mean(truth["power"].to_numpy() >= 0.8))
    print(f"        true lift p10 {p10:+.1%}, mean {lift.mean():+.1%}, p90 {p90:+.1%};"
          f" experiments with power >= 0.8: {powered:.0%}")


def main() -> None:
    """Generate the datasets, measure every target, print them."""
    misses = 0
    with tempfile.TemporaryDirectory() as tmp:
        templates = Path(tmp) / "templates-lift"
        (templates / "profiles").mkdir(parents=True)
        (templates / "profiles" / "lift_holdout.yml").write_text(LIFT_PROFILE)
        for seed in (1, 2):
            out = Path(tmp) / f"lift{seed}"
            subprocess.run([str(ADSGEN), "--quiet", "--seed", str(seed), "generate",
                            "--line-items", "240", "--days", "14", "--templates-dir",
                            str(templates), "--out", str(out)], check=True)
            tables = _tables(out, "daily", "conversion_truth", "experiment_truth",
                             "experiment_outcomes")
            label = f"lift holdouts: generate --line-items 240 --days 14 --seed {seed}"
            misses += print_targets(label, LIFT_TARGETS, tables, digits=5)
            _lift_spread(tables)
        out = Path(tmp) / "bundled"
        subprocess.run([str(ADSGEN), "--quiet", "generate", "--line-items", "2000", "--days",
                        "30", "--out", str(out)], check=True)
        misses += print_targets("bundled profiles: generate --line-items 2000 --days 30",
                                BUNDLED_TARGETS, _tables(out, "daily", "conversion_truth", "mmm"),
                                digits=5)
    print(f"\n{misses} target(s) missed")


if __name__ == "__main__":
    main()
