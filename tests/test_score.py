"""`adsgen score`: estimates against a run's truth, from files and from a database.

The truth scored against itself is perfect (bias 0, coverage 1 with zero-width intervals)
for every metric of the registry; a known perturbation gives the known error; every bad
input exits 2 with one line and writes nothing; the files and the SQLite path agree.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine

from adsgen.runs.manifest import MANIFEST_NAME, Manifest
from adsgen.runs.score import METRICS, Metric, figures
from cliutil import invoke, invoke_json, sqlite_url, user_error

FIGURES = ("mean_truth", "mean_estimate", "bias", "mae", "rmse", "mape_percent",
           "correlation", "coverage", "mean_width")
FIELDS = ("metric", "truth", "key", "estimates", "run", "matched", "missing", *FIGURES)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated folder (Parquet); some line items run a lift experiment (a profile
    of weight 4 among the bundled ones), so every metric has a truth."""
    root = tmp_path_factory.mktemp("score")
    (root / "templates" / "profiles").mkdir(parents=True)
    (root / "templates" / "profiles" / "lift.yml").write_text(
        "type: profile\nweight: 4\nbudget: 200000\nline_item_count: 2\n"
        "experiment: {type: holdout, control_share: 0.2}\n")
    out = root / "run"
    result = invoke("-q", "--seed", "7", "generate", "--line-items", "8", "--days", "2",
                    "--templates-dir", str(root / "templates"), "--out", str(out))
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def db(run: Path) -> str:
    """The same run loaded into SQLite."""
    url = sqlite_url(run.parent / "score.db")
    result = invoke("-q", "load", str(run), "--db", url)
    assert result.exit_code == 0, result.output
    return url


def truth(run: Path, metric: Metric) -> pa.Table:
    """The metric's key columns and its true value (`truth`), read straight from the files."""
    table = ds.dataset(run / metric.table, partitioning="hive").to_table()
    for column, value in metric.where.items():
        table = table.filter(pa.compute.equal(table[column], value))
    if metric.reshape is not None:  # summed over rows (ROI per channel: test_grains.py)
        return metric.reshape(table.select(metric.columns))
    columns = {c: table[c].to_numpy(zero_copy_only=False) for c in metric.truth}
    values = metric.true_values(columns)
    keep = ~np.isnan(values)
    return pa.table({**{c: table[c].filter(pa.array(keep)) for c in metric.key},
                     "truth": values[keep]})


def write(path: Path, columns: dict[str, Any]) -> Path:
    """Estimates as CSV or Parquet (by the suffix)."""
    table = pa.table(columns)
    if path.suffix == ".csv":
        pacsv.write_csv(table, path)
    else:
        pq.write_table(table, path)
    return path


def score(estimates: Path, metric: str, source: list[str]) -> dict[str, Any]:
    result: dict[str, Any] = invoke_json("score", str(estimates), "--metric", metric, *source)
    return result


def sources(run: Path, db: str) -> dict[str, list[str]]:
    return {"files": ["--run", str(run)], "sqlite": ["--db", db]}


@pytest.mark.parametrize("where", ["files", "sqlite"])
@pytest.mark.parametrize("name", sorted(METRICS))
def test_the_truth_scores_perfectly(run: Path, db: str, tmp_path: Path, name: str,
                                    where: str) -> None:
    metric = METRICS[name]
    true = truth(run, metric)
    assert true.num_rows > 0
    values = true["truth"]
    estimates = write(tmp_path / "e.parquet", {**{c: true[c] for c in metric.key},
                                               "estimate": values, "lower": values,
                                               "upper": values})
    result = score(estimates, name, sources(run, db)[where])
    assert result["matched"] == true.num_rows and result["missing"] == 0
    assert result["bias"] == 0 and result["mae"] == 0 and result["rmse"] == 0
    assert result["coverage"] == 1 and result["mean_width"] == 0
    assert result["mean_truth"] == pytest.approx(float(np.mean(values.to_numpy())))
    assert result["correlation"] in (None, pytest.approx(1.0))
    assert result["key"] == list(metric.key)


def test_a_perturbed_estimate_gives_the_expected_error(run: Path, tmp_path: Path) -> None:
    true = truth(run, METRICS["reach"])
    reach = true["truth"].to_numpy()
    shift = np.where(np.arange(reach.size) % 2 == 0, 30.0, -10.0)
    scaled = write(tmp_path / "scaled.csv", {"line_item_id": true["line_item_id"],
                                             "estimate": reach * 1.1})
    result = score(scaled, "reach", ["--run", str(run)])
    assert result["bias"] == pytest.approx(0.1 * reach.mean())
    assert result["mape_percent"] == pytest.approx(10.0)  # over the line items reaching any
    assert result["coverage"] is None and result["mean_width"] is None
    shifted = write(tmp_path / "shifted.parquet", {"line_item_id": true["line_item_id"],
                                                   "estimate": reach + shift,
                                                   "lower": reach + shift - 20,
                                                   "upper": reach + shift + 20})
    result = score(shifted, "reach", ["--run", str(run)])
    assert result["bias"] == pytest.approx(shift.mean())
    assert result["mae"] == pytest.approx(20.0)
    assert result["rmse"] == pytest.approx(float(np.sqrt(np.mean(shift**2))))
    assert result["coverage"] == pytest.approx(float(np.mean(np.abs(shift) <= 20)))
    assert result["mean_width"] == pytest.approx(40.0)


def test_keys_without_an_estimate_count_as_missing(run: Path, db: str, tmp_path: Path) -> None:
    true = truth(run, METRICS["ctr"]).slice(2)
    estimates = write(tmp_path / "part.parquet", {"line_item_id": true["line_item_id"],
                                                  "device": true["device"],
                                                  "estimate": true["truth"]})
    for source in sources(run, db).values():
        result = score(estimates, "ctr", source)
        assert (result["matched"], result["missing"]) == (true.num_rows, 2)


def test_files_and_sqlite_agree_and_the_json_shape(run: Path, db: str, tmp_path: Path) -> None:
    true = truth(run, METRICS["conversion_rate"])
    noisy = true["truth"].to_numpy() * np.linspace(0.8, 1.3, true.num_rows)
    estimates = write(tmp_path / "e.csv", {"line_item_id": true["line_item_id"],
                                           "device": true["device"], "estimate": noisy,
                                           "lower": noisy * 0.9, "upper": noisy * 1.1})
    from_files = score(estimates, "conversion_rate", ["--run", str(run)])
    from_db = score(estimates, "conversion_rate", ["--db", db])
    assert tuple(from_files) == FIELDS
    assert from_files["truth"] == "ground_truth.p_conversion"
    assert from_files["run"] == str(run) and from_db["run"] == db
    assert {k: v for k, v in from_files.items() if k != "run"} == {
        k: v for k, v in from_db.items() if k != "run"}


def test_the_table_shows_the_figures(run: Path, tmp_path: Path) -> None:
    true = truth(run, METRICS["viewability"])
    estimates = write(tmp_path / "e.parquet", {"line_item_id": true["line_item_id"],
                                               "device": true["device"],
                                               "estimate": true["truth"]})
    result = invoke("score", str(estimates), "--metric", "viewability", "--run", str(run))
    assert result.exit_code == 0, result.output
    assert "Score: viewability" in result.stdout
    assert "ground_truth.p_viewable ÷ ground_truth.p_measurable" in result.stdout
    assert "coverage" not in result.stdout  # no intervals, no coverage row


def test_figures_by_hand() -> None:
    got = figures(np.array([1.0, 3.0, 5.0]), np.array([2.0, 2.0, 4.0]),
                  np.array([0.0, 3.5, 4.0]), np.array([2.0, 4.0, 6.0]))
    assert got.bias == pytest.approx(1 / 3)
    assert got.mae == pytest.approx(1.0)
    assert got.rmse == pytest.approx(1.0)
    assert got.mape_percent == pytest.approx(100 * (0.5 + 0.5 + 0.25) / 3)
    assert got.coverage == pytest.approx(2 / 3)
    assert got.mean_width == pytest.approx((2 + 0.5 + 2) / 3)


# --- bad input ---------------------------------------------------------------------------


def _estimates(run: Path, folder: Path) -> Path:
    true = truth(run, METRICS["ctr"])
    return write(folder / "good.parquet", {"line_item_id": true["line_item_id"],
                                           "device": true["device"],
                                           "estimate": true["truth"]})


def _without_table(run: Path, folder: Path, table: str) -> Path:
    """A copy of the run as an older adsgen would have written it: no `table`."""
    copy = folder / "old"
    shutil.copytree(run, copy)
    shutil.rmtree(copy / table)
    manifest = Manifest.read(copy)
    assert manifest.files is not None
    files = {k: v for k, v in manifest.files.items() if not k.startswith(f"{table}/")}
    tables = {k: v for k, v in manifest.tables.items() if k != table}
    manifest.model_copy(update={"files": files, "tables": tables}).write(copy)
    assert (copy / MANIFEST_NAME).is_file()
    return copy


BAD: dict[str, tuple[str, str]] = {
    "missing file": ("no estimates file", "ctr"),
    "not csv or parquet": ("must be a .csv or .parquet file", "ctr"),
    "unknown metric": ("unknown metric 'ctx'; did you mean 'ctr'? Known metrics: "
                       "average_frequency, completion_rate", "ctx"),
    "no key column": ("has no column(s) device; metric 'ctr' needs line_item_id, device, "
                      "estimate", "ctr"),
    "no estimate column": ("has no column(s) estimate", "ctr"),
    "non-numeric estimate": ("column 'estimate' is not numeric", "ctr"),
    "empty estimate": ("column 'estimate' is empty or NaN for line_item_id=", "ctr"),
    "lower without upper": ("has 'lower' without 'upper'", "ctr"),
    "lower above upper": ("lower > upper for line_item_id=", "ctr"),
    "duplicate key": ("more than once", "ctr"),
    "key not in truth": ("estimates line_item_id=999999, device='ctv', which the run's "
                         "truth does not hold", "ctr"),
    "no rows": ("holds no estimates", "ctr"),
    "bad key type": ("column 'line_item_id' is not int64", "ctr"),
    "run without the truth table": ("holds no reach table (metric 'reach'", "reach"),
    "not a run folder": ("is not a directory of generated tables", "ctr"),
}


def _bad_case(case: str, run: Path, folder: Path) -> tuple[Path, list[str]]:
    good = _estimates(run, folder)
    table = pq.read_table(good)
    target = ["--run", str(run)]
    ids, devices = table["line_item_id"], table["device"]
    values = table["estimate"].to_numpy()
    match case:
        case "missing file":
            return folder / "nope.csv", target
        case "not csv or parquet":
            return write(folder / "e.csv", {"a": [1]}).rename(folder / "e.txt"), target
        case "unknown metric":
            return good, target
        case "no key column":
            return write(folder / "e.csv", {"line_item_id": ids, "estimate": values}), target
        case "no estimate column":
            return write(folder / "e.csv", {"line_item_id": ids, "device": devices}), target
        case "non-numeric estimate":
            text = ["abc"] * table.num_rows
            return write(folder / "e.csv", {"line_item_id": ids, "device": devices,
                                            "estimate": text}), target
        case "empty estimate":
            holes = pa.array([None, *values[1:]], pa.float64())
            return write(folder / "e.parquet", {"line_item_id": ids, "device": devices,
                                                "estimate": holes}), target
        case "lower without upper":
            return write(folder / "e.csv", {"line_item_id": ids, "device": devices,
                                            "estimate": values, "lower": values}), target
        case "lower above upper":
            return write(folder / "e.csv", {"line_item_id": ids, "device": devices,
                                            "estimate": values, "lower": values + 1,
                                            "upper": values}), target
        case "duplicate key":
            return write(folder / "e.parquet", {"line_item_id": [*ids.to_pylist(), ids[0].as_py()],
                                                "device": [*devices.to_pylist(),
                                                           devices[0].as_py()],
                                                "estimate": [*values, 0.0]}), target
        case "key not in truth":
            return write(folder / "e.csv", {"line_item_id": [*ids.to_pylist(), 999999],
                                            "device": [*devices.to_pylist(), "ctv"],
                                            "estimate": [*values, 0.0]}), target
        case "no rows":
            return write(folder / "e.parquet", {"line_item_id": pa.array([], pa.int64()),
                                                "device": pa.array([], pa.string()),
                                                "estimate": pa.array([], pa.float64())}), target
        case "bad key type":
            return write(folder / "e.csv", {"line_item_id": ["x"] * table.num_rows,
                                            "device": devices, "estimate": values}), target
        case "run without the truth table":
            reach = truth(run, METRICS["reach"])
            estimates = write(folder / "r.csv", {"line_item_id": reach["line_item_id"],
                                                 "estimate": reach["truth"]})
            return estimates, ["--run", str(_without_table(run, folder, "reach"))]
        case "not a run folder":
            return good, ["--run", str(folder / "nowhere")]
    raise AssertionError(case)


@pytest.mark.parametrize("json_flag", [False, True])
@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_exits_2_with_one_line(run: Path, tmp_path: Path, case: str,
                                         json_flag: bool) -> None:
    expected, metric = BAD[case]
    estimates, target = _bad_case(case, run, tmp_path)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    result = invoke("score", str(estimates), "--metric", metric, *target,
                    *(["--json"] if json_flag else []))
    line = user_error(result)
    assert expected in line, line
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_a_database_without_the_truth_table(tmp_path: Path, run: Path) -> None:
    import sqlite3

    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE unrelated (x INTEGER)")
    result = invoke("score", str(_estimates(run, tmp_path)), "--metric", "ctr",
                    "--db", sqlite_url(path))
    assert "no ground_truth table in" in user_error(result)
    result = invoke("score", str(_estimates(run, tmp_path)), "--metric", "ctr",
                    "--db", sqlite_url(tmp_path / "absent.db"))
    assert "no database at" in user_error(result)
    assert not (tmp_path / "absent.db").exists()


def test_the_help_lists_every_metric() -> None:
    result = invoke("score", "--help", env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for name in METRICS:
        assert name in result.stdout


@pytest.mark.parametrize("server", ["pg_engine", "mysql_engine"])
def test_servers_give_the_figures_of_the_files(run: Path, tmp_path: Path, server: str,
                                               request: pytest.FixtureRequest) -> None:
    engine: Engine = request.getfixturevalue(server)
    url = engine.url.render_as_string(hide_password=False)
    loaded = invoke("-q", "load", str(run), "--db", url)
    assert loaded.exit_code == 0, loaded.output
    for name in ("ctr", "reach"):
        metric = METRICS[name]
        true = truth(run, metric)
        noisy = true["truth"].to_numpy() * np.linspace(0.9, 1.2, true.num_rows)
        estimates = write(tmp_path / f"{name}.parquet",
                          {**{c: true[c] for c in metric.key}, "estimate": noisy,
                           "lower": noisy * 0.95, "upper": noisy * 1.05})
        from_files = score(estimates, name, ["--run", str(run)])
        from_server = score(estimates, name, ["--db", url])
        assert {k: v for k, v in from_files.items() if k != "run"} == {
            k: v for k, v in from_server.items() if k != "run"}
