"""Lift experiments with known answers (issue 11 item 3): the arms reconcile with
conversion_truth and performance, a difference in means covers the true lift ~95 % of the
time, and bad experiment settings exit 2 with one line naming the key."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from adsgen.build.items import SimExperiment
from adsgen.domain.enums import ExperimentType
from adsgen.simulate import simulate
from adsgen.simulate.experiments import reconcile
from cliutil import invoke, invoke_json, user_error
from simfactory import platform, random_line_item

LIFT_PROFILE = """\
type: profile
description: Conversion buys, each with a ghost-ad holdout of a fifth of its households
weight: 1000
objective: conversion
budget: [300000, 500000]
line_item_count: 2
experiment: {type: holdout, control_share: 0.2}
"""


def _read(run: Path, name: str) -> pa.Table:
    return ds.dataset(run / name, format="parquet", partitioning="hive").to_table()


@pytest.fixture(scope="module")
def lift_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated folder where (nearly) every line item holds out a fifth of its households."""
    root = tmp_path_factory.mktemp("lift")
    (root / "templates" / "profiles").mkdir(parents=True)
    (root / "templates" / "profiles" / "lift_holdout.yml").write_text(LIFT_PROFILE)
    out = root / "out"
    invoke_json("--seed", "7", "generate", "--line-items", "240", "--days", "14",
                "--templates-dir", str(root / "templates"), "--out", str(out))
    return out


def test_a_difference_in_means_covers_the_true_lift_95_percent_of_the_time(
    lift_run: Path, tmp_path: Path
) -> None:
    outcomes = _read(lift_run, "experiment_outcomes")
    arms = {arm: outcomes.filter(pc.equal(outcomes["arm"], arm)).sort_by("line_item_id")
            for arm in ("treatment", "control")}
    treated, control = arms["treatment"], arms["control"]
    assert treated["line_item_id"] == control["line_item_id"]
    assert treated.num_rows >= 200
    n_t = treated["households"].to_numpy().astype(float)
    n_c = control["households"].to_numpy().astype(float)
    y_t = treated["conversions"].to_numpy().astype(float)
    y_c = control["conversions"].to_numpy().astype(float)
    estimate = y_t / n_t - y_c / n_c  # difference in means per household
    se = np.sqrt(y_t / n_t**2 + y_c / n_c**2)  # Poisson counts per household
    pq.write_table(pa.table({
        "line_item_id": treated["line_item_id"], "estimate": estimate,
        "lower": estimate - 1.96 * se, "upper": estimate + 1.96 * se,
    }), tmp_path / "lift.parquet")
    score = invoke_json("score", str(tmp_path / "lift.parquet"), "--run", str(lift_run),
                        "--metric", "lift_per_household")
    assert score["matched"] == treated.num_rows and score["missing"] == 0
    assert 0.90 <= score["coverage"] <= 0.99, score
    assert score["correlation"] > 0.9, score
    # relative lift scores through the same door
    truth = _read(lift_run, "experiment_truth").sort_by("line_item_id")
    assert np.all(truth["true_lift"].to_numpy() > 0)
    assert np.all(truth["minimum_detectable_lift"].to_numpy() > 0)
    power = truth["power"].to_numpy()
    assert np.all((power >= 0) & (power <= 1))


def test_the_arms_reconcile_with_conversion_truth_and_performance(lift_run: Path) -> None:
    outcomes = _read(lift_run, "experiment_outcomes")
    truth = _read(lift_run, "experiment_truth").sort_by("line_item_id")
    treated = outcomes.filter(pc.equal(outcomes["arm"], "treatment")).sort_by("line_item_id")
    control = outcomes.filter(pc.equal(outcomes["arm"], "control")).sort_by("line_item_id")
    ids = truth["line_item_id"].to_numpy()

    def per_item(table: pa.Table, column: str) -> np.ndarray:
        sums = table.group_by("line_item_id").aggregate([(column, "sum")])
        lookup = dict(zip(sums["line_item_id"].to_pylist(), sums[f"{column}_sum"].to_pylist(),
                          strict=True))
        return np.array([lookup[i] for i in ids.tolist()])

    performance = _read(lift_run, "performance")
    conversions = _read(lift_run, "conversion_truth")
    assert np.array_equal(treated["impressions"].to_numpy(), per_item(performance, "impressions"))
    assert np.array_equal(treated["spend_micros"].to_numpy(),
                          per_item(performance, "spend_micros"))
    incremental = per_item(conversions, "incremental_conversions")
    baseline = per_item(conversions, "baseline_conversions")
    assert np.array_equal(truth["incremental_conversions"].to_numpy(), incremental)
    treated_baseline = treated["conversions"].to_numpy() - incremental
    assert np.all(treated_baseline >= 0)
    assert np.all(treated_baseline + control["conversions"].to_numpy() <= baseline)
    assert np.allclose(truth["incremental_expected"].to_numpy(),
                       per_item(conversions, "incremental_expected"))
    # holdout: control households are never served
    assert np.all(control["impressions"].to_numpy() == 0)
    assert np.all(control["spend_micros"].to_numpy() == 0)


def _items(kind: ExperimentType, count: int = 12) -> list:
    rng = random.Random(4)
    made = []
    for i in range(count):
        item = random_line_item(rng, i + 1)
        if kind is ExperimentType.geo:
            item = dataclasses.replace(item, geos=("US",),
                                       experiment=SimExperiment(kind, 0.3, ("CA",)))
        else:
            item = dataclasses.replace(item, experiment=SimExperiment(kind, 0.25))
        made.append(item)
    return made


@pytest.mark.parametrize("kind", list(ExperimentType))
def test_experiments_are_the_same_for_any_batch(kind: ExperimentType) -> None:
    items = _items(kind)
    whole = simulate(items, platform=platform(), seed=9)
    pieces = simulate(items, platform=platform(), seed=9, batch_rows=1)
    for name in ("experiment_outcomes", "experiment_truth"):
        assert whole[name].num_rows > 0
        assert whole[name].equals(pieces[name]), name


def test_psa_pays_for_its_control_and_geo_compares_geos() -> None:
    psa = simulate(_items(ExperimentType.psa), platform=platform(), seed=2)["experiment_outcomes"]
    control = psa.filter(pc.equal(psa["arm"], "control"))
    treated = psa.filter(pc.equal(psa["arm"], "treatment"))
    assert pc.sum(control["impressions"]).as_py() > 0
    assert pc.sum(control["spend_micros"]).as_py() > 0
    share = pc.sum(control["households"]).as_py() / pc.sum(treated["households"]).as_py()
    assert 0.2 < share < 0.45  # about 0.25 / 0.75 of the treated
    geo = simulate(_items(ExperimentType.geo), platform=platform(), seed=2)["experiment_outcomes"]
    assert set(geo["geos"].to_pylist()) == {"US", "CA"}
    assert pc.sum(geo.filter(pc.equal(geo["arm"], "control"))["impressions"]).as_py() == 0


# --- bad input: exit 2, one line naming the key and the allowed values, nothing written ----


EXAMPLE = """\
type: example
name: lift_example
advertiser: {{name: Lift Co, industry: retail, domain: liftco.example}}
campaign:
  name: Lift Test
  objective: conversion
  budget: {{amount: {budget}}}
  flight: {{start: 2026-09-01, end: 2026-09-15}}
  line_items:
    - name: Lift Line
      cpm: 25.00
      budget: {{amount: {budget}}}
      flight: {{start: 2026-09-01, end: 2026-09-15}}
      targeting: {{geo: {geos}}}
      experiment: {experiment}
"""


def _example(tmp_path: Path, *, experiment: str, budget: str = "50000.00",
             geos: str = "[US, CA]") -> tuple[Path, Path]:
    folder = tmp_path / "templates"
    (folder / "examples").mkdir(parents=True)
    (folder / "examples" / "lift_example.yml").write_text(
        EXAMPLE.format(experiment=experiment, budget=budget, geos=geos))
    return folder, tmp_path / "ads.db"


@pytest.mark.parametrize(("experiment", "budget", "geos", "says"), [
    ("{type: holdout, control_share: 0.7}", "50000.00", "[US]",
     ["experiment.control_share", "(0, 0.5]"]),
    ("{type: psa, control_share: 0}", "50000.00", "[US]",
     ["experiment.control_share", "(0, 0.5]"]),
    ("{type: holdout, control_share: 0.1}", "400.00", "[US]",
     ["experiment.control_share", "too small to hold its control group", "20,000"]),
    ("{type: geo, control_share: 0.2}", "50000.00", "[US]",
     ["experiment", "needs a control geo and a treated geo", "two or more geos"]),
    ("{type: geo, control_geos: [US, CA]}", "50000.00", "[US, CA]",
     ["experiment", "needs a control geo and a treated geo"]),
    ("{type: ab_test}", "50000.00", "[US]", ["experiment.type", "holdout", "psa", "geo"]),
])
def test_bad_experiments_exit_2_naming_the_key_and_writing_nothing(
    tmp_path: Path, experiment: str, budget: str, geos: str, says: list[str]
) -> None:
    folder, db = _example(tmp_path, experiment=experiment, budget=budget, geos=geos)
    result = invoke("--db", f"sqlite:///{db}", "create-example", "--example", "lift_example",
                    "--templates-dir", str(folder))
    line = user_error(result)
    for part in says:
        assert part in line, line
    assert not db.exists()


def test_a_profile_too_small_for_its_control_group_writes_no_files(tmp_path: Path) -> None:
    (tmp_path / "templates" / "profiles").mkdir(parents=True)
    (tmp_path / "templates" / "profiles" / "tiny.yml").write_text(
        "type: profile\nweight: 1000\nbudget: 500\nline_item_count: 1\n"
        "experiment: {type: psa, control_share: 0.05}\n")
    out = tmp_path / "out"
    result = invoke("generate", "--line-items", "20", "--days", "3", "--templates-dir",
                    str(tmp_path / "templates"), "--out", str(out))
    line = user_error(result)
    assert "profile tiny" in line and "too small to hold its control group" in line
    assert not out.exists() or not any(out.iterdir())


def test_a_geo_experiment_in_a_profile_needs_fixed_geos(tmp_path: Path) -> None:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "geo.yml").write_text(
        "type: profile\nexperiment: {type: geo}\n")
    result = invoke("validate", str(tmp_path / "profiles" / "geo.yml"))
    line = user_error(result)
    assert "needs a control geo and a treated geo" in line
    assert json.dumps(line)  # one line


def test_the_manifest_checks_the_arms_and_a_broken_arm_is_caught(lift_run: Path) -> None:
    manifest = json.loads((lift_run / "manifest.json").read_text())
    check = manifest["checks"]["experiment_arms_reconcile"]
    assert check["checked"] >= 200 and check["violations"] == 0
    tables = dict(simulate(_items(ExperimentType.holdout), platform=platform(), seed=3))
    count = tables["experiment_truth"].num_rows
    assert count >= 5 and reconcile(tables) == (count, 0)
    outcomes = tables["experiment_outcomes"]
    impressions = outcomes["impressions"].to_numpy().copy()
    impressions[0] += 1  # the first line item's treatment arm
    tables["experiment_outcomes"] = outcomes.set_column(
        outcomes.schema.get_field_index("impressions"), "impressions", pa.array(impressions))
    assert reconcile(tables) == (count, 1)


def test_a_geo_experiment_from_a_profile_serves_only_its_treated_geos(tmp_path: Path) -> None:
    (tmp_path / "templates" / "profiles").mkdir(parents=True)
    (tmp_path / "templates" / "profiles" / "geo_lift.yml").write_text(
        "type: profile\nweight: 1000\nbudget: 300000\nline_item_count: 1\n"
        "targeting: {geo: [GB, FR, DE]}\nexperiment: {type: geo, control_geos: [FR]}\n")
    out = tmp_path / "out"
    invoke_json("generate", "--line-items", "12", "--days", "3", "--templates-dir",
                str(tmp_path / "templates"), "--out", str(out))
    outcomes = _read(out, "experiment_outcomes")
    assert outcomes.num_rows >= 20
    arms = dict(zip(outcomes["arm"].to_pylist(), outcomes["geos"].to_pylist(), strict=False))
    assert arms == {"treatment": "DE,GB", "control": "FR"}
    line_items = pq.read_table(out / "line_items.parquet")
    geo = pc.equal(line_items["experiment_type"], "geo")
    assert set(line_items.filter(geo)["experiment_control_geos"].to_pylist()) == {"FR"}
    tested = set(outcomes["line_item_id"].to_pylist())
    targeting = pq.read_table(out / "targeting.parquet")
    geos = targeting.filter(pc.equal(targeting["key"], "geo"))
    stored = {(i, v) for i, v in zip(geos["line_item_id"].to_pylist(),
                                     geos["value"].to_pylist(), strict=True) if i in tested}
    assert ("FR" in {v for _, v in stored})  # the targeting keeps every geo it names
    # …while it delivers to the treated geos' households alone: the ground truth's
    # population is the treatment arm's
    truth = _read(out, "experiment_truth").sort_by("line_item_id")
    assert np.all(truth["control_households"].to_numpy() > 0)
    ground = _read(out, "ground_truth").group_by("line_item_id").aggregate(
        [("targetable_households", "max")]).sort_by("line_item_id")
    ground = ground.filter(pc.is_in(ground["line_item_id"], truth["line_item_id"]))
    assert ground["targetable_households_max"].to_pylist() == \
        truth["treatment_households"].to_pylist()
    assert np.all(np.array(outcomes.filter(pc.equal(outcomes["arm"], "control"))
                           ["impressions"].to_pylist()) == 0)


def test_a_holdout_takes_its_control_group_out_of_the_audience(lift_run: Path) -> None:
    def per_item(name: str) -> dict[int, int]:
        table = _read(lift_run, name).group_by("line_item_id").aggregate(
            [("targetable_households", "max")])
        return dict(zip(table["line_item_id"].to_pylist(),
                        table["targetable_households_max"].to_pylist(), strict=True))

    everyone, audience = per_item("conversion_truth"), per_item("ground_truth")
    truth = _read(lift_run, "experiment_truth")
    for line_item, share in zip(truth["line_item_id"].to_pylist(),
                                truth["control_share"].to_pylist(), strict=True):
        assert everyone[line_item] - audience[line_item] == round(share * everyone[line_item])
