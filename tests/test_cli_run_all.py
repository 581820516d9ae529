"""`adsgen run-all`, `status` and `simulate`: the default dataset, its determinism, every way
of running it (Typer's runner, the console script, run_all.sh, make run) and every dialect.

One run-all database is built per module and copied by tests that change it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from adsgen.runs import jobs
from cliutil import (
    ENTITY_TABLES,
    REPO,
    console_script,
    counts,
    dump,
    invoke,
    invoke_json,
    sqlite_url,
    subprocess_env,
    user_error,
)

UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:1/x"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A SQLite file holding `run-all` with the default seed, and run-all's JSON summary."""
    path = tmp_path_factory.mktemp("run_all") / "ads.db"
    return path, invoke_json("run-all", "--db", sqlite_url(path))


@pytest.fixture
def copy(dataset: tuple[Path, dict[str, Any]], tmp_path: Path) -> str:
    """A private copy of the run-all database, as a URL."""
    target = tmp_path / "ads.db"
    shutil.copy(dataset[0], target)
    return sqlite_url(target)


# --- what run-all makes -------------------------------------------------------------------


def test_run_all_builds_the_default_dataset(dataset: tuple[Path, dict[str, Any]]) -> None:
    path, summary = dataset
    rows = counts(sqlite_url(path))
    assert rows["advertisers"] >= 7 and rows["performance"] >= 4_000
    assert rows.pop("change_events") == 0  # only the API's edits record change events
    # netflix_like sells no DMA or state targeting: no line item has markets to split over
    assert rows.pop("market_delivery") == 0
    assert all(rows[table] > 0 for table in rows)
    assert summary["seed"] == 42
    assert summary["created"] == {table: rows[table] for table in ENTITY_TABLES}
    assert sorted(summary["ids"]["advertisers"]) == list(range(1, rows["advertisers"] + 1))
    facts = summary["facts"]
    assert facts["performance_rows"] == rows["performance"]
    assert facts["ground_truth_rows"] == rows["ground_truth"]
    assert facts["line_items"] == rows["line_items"]
    assert set(facts["spend"]) == set(facts["spend_micros"]) == {"USD"}
    assert facts["spend"]["USD"] == pytest.approx(facts["spend_micros"]["USD"] / 1e6)
    assert facts["impressions"] > 0 and summary["seconds"] > 0


def test_status_reports_what_run_all_wrote(dataset: tuple[Path, dict[str, Any]]) -> None:
    path, summary = dataset
    report = invoke_json("status", "--db", sqlite_url(path))
    assert report["tables"] == counts(sqlite_url(path))
    assert report["size_bytes"] == path.stat().st_size
    assert report["impressions"] == summary["facts"]["impressions"]
    assert report["spend_micros"] == summary["facts"]["spend_micros"]
    assert report["spend"]["USD"] == pytest.approx(report["spend_micros"]["USD"] / 1e6)
    assert report["first_hour"] == "2026-09-01T00:00:00"
    assert report["first_hour"] < report["last_hour"]


def test_status_and_summary_tables_for_humans(dataset: tuple[Path, dict[str, Any]]) -> None:
    result = invoke("status", "--db", sqlite_url(dataset[0]))
    assert result.exit_code == 0, result.stderr
    for text in ("Database status", "advertisers", "performance", "delivery", "2026-09-01"):
        assert text in result.stdout


def test_the_default_example_hours_are_in_the_performance_table(
    dataset: tuple[Path, dict[str, Any]],
) -> None:
    """480 / 504 / 432 hourly rows per line item, creative and device (issue 4)."""
    import sqlite3

    with sqlite3.connect(dataset[0]) as conn:
        per_series = conn.execute(
            "SELECT a.name, COUNT(*) FROM performance p JOIN line_items l ON l.id = p.line_item_id"
            " JOIN campaigns c ON c.id = l.campaign_id JOIN advertisers a ON a.id = c.advertiser_id"
            " GROUP BY a.name, p.line_item_id, p.creative_id, p.device"
        ).fetchall()
    hours = {name: set() for name, _ in per_series}
    for name, rows in per_series:
        hours[name].add(rows)
    assert hours["Luxury Auto Co"] == {480}
    assert hours["Crunchy Snacks"] == {504}
    assert hours["NexBank"] == {432}


# --- determinism --------------------------------------------------------------------------


def test_run_all_twice_with_the_same_seed_gives_the_same_content(
    dataset: tuple[Path, dict[str, Any]], copy: str, tmp_path: Path
) -> None:
    first = dump(sqlite_url(dataset[0]))
    again = invoke("--quiet", "run-all", "--db", copy)  # replaces the dataset in place
    assert again.exit_code == 0, again.stderr
    assert dump(copy) == first
    fresh = sqlite_url(tmp_path / "fresh.db")
    assert invoke("-q", "run-all", "--seed", "42", "--db", fresh).exit_code == 0
    assert dump(fresh) == first


def test_another_seed_gives_other_data(dataset: tuple[Path, dict[str, Any]], copy: str) -> None:
    assert invoke("-q", "--seed", "7", "run-all", "--db", copy).exit_code == 0
    seven, default = dump(copy), dump(sqlite_url(dataset[0]))
    assert seven["performance"] != default["performance"]
    assert seven["advertisers"] != default["advertisers"]  # drawn names differ


def test_scale_adds_drawn_advertisers(dataset: tuple[Path, dict[str, Any]], copy: str) -> None:
    summary = invoke_json("run-all", "--scale", "3", "--db", copy)
    base = dataset[1]["created"]["advertisers"]
    assert summary["created"]["advertisers"] == base + 3 == counts(copy)["advertisers"]
    names = [row[1] for row in dump(copy)["advertisers"]]
    assert len(set(names)) == len(names)


def test_simulate_regenerates_the_same_performance(
    dataset: tuple[Path, dict[str, Any]], copy: str
) -> None:
    before = dump(copy)
    totals = invoke_json("simulate", "--db", copy)
    assert totals["performance_rows"] == len(before["performance"])
    assert totals["line_items"] == len(before["line_items"])
    assert dump(copy) == before
    one = invoke_json("simulate", "--line-item-id", "2", "--line-item-id", "3", "--db", copy)
    assert one["line_items"] == 2
    assert one["performance_rows"] == sum(r[0] in (2, 3) for r in before["performance"])
    assert dump(copy) == before  # a subset simulates to exactly its rows of the whole run


def test_simulate_an_unknown_line_item_is_a_user_error(copy: str) -> None:
    before = dump(copy, timestamps=True)
    message = user_error(invoke("simulate", "--line-item-id", "999", "--db", copy))
    assert "--line-item-id 999: no such line item" in message
    assert dump(copy, timestamps=True) == before


# --- one transaction ----------------------------------------------------------------------


def test_a_failure_half_way_leaves_the_database_as_it_was(
    copy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = dump(copy, timestamps=True)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("simulation exploded")

    monkeypatch.setattr("adsgen.simulate.simulate", broken)
    result = invoke("run-all", "--seed", "9", "--db", copy)
    assert result.exit_code == 1
    assert "internal error: RuntimeError: simulation exploded" in result.stderr
    assert dump(copy, timestamps=True) == before


@pytest.mark.parametrize("url", [UNREACHABLE, "sqlite:////nonexistent/dir/ads.db"])
def test_run_all_on_a_database_that_cannot_be_reached(url: str) -> None:
    message = user_error(invoke("run-all", "--db", url))
    assert "cannot" in message and ("127.0.0.1" in message or "/nonexistent/dir" in message)


def test_run_all_on_a_read_only_database_changes_nothing(copy: str) -> None:
    """SQLite's own read-only mode (root ignores file permissions)."""
    before = dump(copy, timestamps=True)
    path = copy.removeprefix("sqlite:///")
    read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
    message = user_error(invoke("run-all", "--seed", "5", "--db", read_only))
    assert "readonly" in message.replace("-", "")
    assert dump(copy, timestamps=True) == before
    report = invoke_json("status", "--db", read_only)  # reading still works
    assert report["tables"]["advertisers"] == len(before["advertisers"])


def test_run_all_on_an_immutable_file_changes_nothing(copy: str) -> None:
    """A file the kernel refuses to change (chattr +i), when the file system allows it."""
    path = Path(copy.removeprefix("sqlite:///"))
    before = path.read_bytes()
    if shutil.which("chattr") is None:
        pytest.skip("no chattr")
    if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not permitted here")
    try:
        message = user_error(invoke("run-all", "--seed", "5", "--db", copy))
        assert "readonly" in message.replace("-", "")
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)
    assert path.read_bytes() == before


# --- output -------------------------------------------------------------------------------


def test_run_all_shows_progress_and_a_summary(tmp_path: Path) -> None:
    result = invoke("run-all", "--db", sqlite_url(tmp_path / "a.db"))
    assert result.exit_code == 0, result.stderr
    assert "simulating performance" in result.stderr and "100%" in result.stderr
    for text in ("Dataset generated", "advertisers", "performance rows", "impressions", "spend",
                 "time"):
        assert text in result.stdout
    quiet = invoke("-q", "run-all", "--db", sqlite_url(tmp_path / "b.db"))
    assert quiet.exit_code == 0 and quiet.stdout == quiet.stderr == ""


def test_json_after_the_command_keeps_stdout_parseable(tmp_path: Path) -> None:
    result = invoke("run-all", "--json", "--db", sqlite_url(tmp_path / "a.db"), "--seed", "3")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["seed"] == 3


# --- the console script, run_all.sh and make run ------------------------------------------


def test_console_script_run_all_status_and_a_failure(tmp_path: Path) -> None:
    done = console_script("run-all", "--json", cwd=tmp_path)  # default URL: ./ads.db
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["created"]["advertisers"] >= 7
    assert (tmp_path / "ads.db").exists()
    status = console_script("status", "--json", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert report["tables"]["performance"] == summary["facts"]["performance_rows"]
    failed = console_script("create-example", "--example", "luxury_auto_awarenes", cwd=tmp_path)
    assert failed.returncode == 2 and failed.stdout == ""
    assert failed.stderr.count("\n") == 1
    assert "did you mean 'luxury_auto_awareness'" in failed.stderr
    assert counts(sqlite_url(tmp_path / "ads.db")) == report["tables"]


def test_console_script_reads_the_database_url_from_the_environment(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "env.db")
    done = console_script("-q", "run-all", "--scale", "1", cwd=tmp_path, ADSGEN_DATABASE_URL=url,
                          ADSGEN_SEED="11")
    assert done.returncode == 0 and done.stdout == "", done.stderr
    status = console_script("status", "--json", cwd=tmp_path, ADSGEN_DATABASE_URL=url)
    assert json.loads(status.stdout)["tables"]["advertisers"] == 4 + 5 + 1  # examples, profiles
    assert not (tmp_path / "ads.db").exists()


def _deps_ready() -> None:
    """run_all.sh and make run install dependencies first; never let a test do that."""
    up_to_date = subprocess.run(["make", "--question", "deps"], cwd=REPO, capture_output=True)
    if up_to_date.returncode != 0:
        pytest.skip("the virtualenv is not up to date with pyproject.toml (run `make deps`)")


def test_run_all_sh_passes_its_arguments(tmp_path: Path) -> None:
    _deps_ready()
    url = sqlite_url(tmp_path / "script.db")
    done = subprocess.run([str(REPO / "run_all.sh"), "--db", url, "--json", "--seed", "8"],
                          capture_output=True, text=True, cwd=tmp_path, env=subprocess_env(),
                          timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["seed"] == 8 and summary["facts"]["performance_rows"] >= 4_000
    bad = subprocess.run([str(REPO / "run_all.sh"), "--scale", "-1", "--db", url],
                         capture_output=True, text=True, env=subprocess_env(), timeout=300)
    assert bad.returncode == 2


def test_run_all_sh_runs_in_the_callers_folder(tmp_path: Path) -> None:
    """A relative SQLite path and the default ads.db land where the user is, not in the
    checkout."""
    _deps_ready()
    before = set(REPO.iterdir())
    mine = subprocess.run([str(REPO / "run_all.sh"), "--db", "sqlite:///mine.db", "-q"],
                          capture_output=True, text=True, cwd=tmp_path, env=subprocess_env(),
                          timeout=300)
    assert mine.returncode == 0, mine.stderr
    default = subprocess.run([str(REPO / "run_all.sh"), "-q"], capture_output=True, text=True,
                             cwd=tmp_path, env=subprocess_env(), timeout=300)
    assert default.returncode == 0, default.stderr
    assert {p.name for p in tmp_path.iterdir()} == {"mine.db", "ads.db"}
    assert counts(sqlite_url(tmp_path / "mine.db")) == counts(sqlite_url(tmp_path / "ads.db"))
    assert set(REPO.iterdir()) == before


def test_make_run(tmp_path: Path) -> None:
    _deps_ready()
    url = sqlite_url(tmp_path / "make.db")
    done = subprocess.run(["make", "--silent", "run", f"ARGS=--db {url} --quiet"], cwd=REPO,
                          capture_output=True, text=True, env=subprocess_env(), timeout=300)
    assert done.returncode == 0, done.stderr
    assert counts(url)["advertisers"] >= 7


def test_make_run_json_pipes_into_jq(tmp_path: Path) -> None:
    """`make run ARGS=--json | jq .`: make echoes no command, so stdout is one document."""
    _deps_ready()
    url = sqlite_url(tmp_path / "make.db")
    done = subprocess.run(["make", "run", f"ARGS=--json --db {url}"], cwd=REPO,
                          capture_output=True, text=True, env=subprocess_env(), timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["created"]["advertisers"] == counts(url)["advertisers"]


# --- other dialects -----------------------------------------------------------------------


def test_run_all_on_postgresql(pg_engine: Engine, dataset: tuple[Path, dict[str, Any]]) -> None:
    """Same content as on SQLite (ids restart there too), twice with the same seed."""
    url = pg_engine.url.render_as_string(hide_password=False)
    summary = invoke_json("run-all", "--db", url)
    assert summary["created"] == dataset[1]["created"]
    assert summary["facts"] == dataset[1]["facts"]
    first = dump(url)
    assert invoke("-q", "run-all", "--db", url).exit_code == 0
    assert dump(url) == first
    assert invoke_json("status", "--db", url)["tables"] == counts(sqlite_url(dataset[0]))


def test_run_all_on_mariadb(mysql_engine: Engine, dataset: tuple[Path, dict[str, Any]]) -> None:
    """MariaDB keeps counting ids after a delete, and draws are keyed by id: same shape."""
    url = mysql_engine.url.render_as_string(hide_password=False)
    summary = invoke_json("run-all", "--db", url)
    assert summary["created"] == dataset[1]["created"]
    for key in ("line_items", "performance_rows", "ground_truth_rows"):
        assert summary["facts"][key] == dataset[1]["facts"][key]
    assert invoke_json("status", "--db", url)["tables"] == counts(sqlite_url(dataset[0]))


def test_python_api_generate_returns_the_summary(tmp_path: Path) -> None:
    import adsgen

    url = sqlite_url(tmp_path / "api.db")
    summary = adsgen.generate(db=url, seed=42)
    assert isinstance(summary, jobs.RunSummary)
    assert summary.created["advertisers"] >= 7 and summary.facts.performance_rows >= 4_000
    assert counts(url)["performance"] == summary.facts.performance_rows


def test_status_of_a_missing_file_creates_nothing(tmp_path: Path) -> None:
    message = user_error(invoke("status", "--db", sqlite_url(tmp_path / "typo.db")))
    assert "no database at" in message and "typo.db" in message
    assert not (tmp_path / "typo.db").exists()
