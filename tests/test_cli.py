"""The command line framework: global options (before and after the command name), exit
codes and one-line errors, output, progress bars, init-db, version, list and validate.

Commands run through Typer's runner (fast, in process) and through the installed console
script in a subprocess (what users run).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import typer
from sqlalchemy import Engine, create_engine, inspect
from typer.testing import CliRunner

from adsgen import __version__
from adsgen.cli import State, app, to_jsonable
from adsgen.domain.enums import BudgetType
from adsgen.domain.schemas import FlightSchema
from adsgen.exceptions import DatabaseError
from adsgen.storage import database as store
from adsgen.storage.orm import Base

BIN = Path(sys.executable).parent
ADSGEN = str(BIN / "adsgen")
TABLES = set(Base.metadata.tables)
UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:1/x"
MISSING_FOLDER = "sqlite:////nonexistent/dir/ads.db"

runner = CliRunner()


def _env(**extra: str) -> dict[str, str]:
    """The environment for a subprocess, without any database URL set by the caller."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADSGEN_")}
    return {**env, "COLUMNS": "120", **extra}


def _adsgen(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ADSGEN, *args], capture_output=True, text=True, cwd=cwd,
                          env=_env(**env), timeout=120)


def _sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ads.db'}"


# --- init-db -----------------------------------------------------------------------------


def test_init_db_creates_every_table_and_is_idempotent(tmp_path: Path) -> None:
    url = _sqlite(tmp_path)
    first = runner.invoke(app, ["--db", url, "init-db"])
    assert first.exit_code == 0, first.output
    assert "advertisers" in first.stdout and "Database ready" in first.stdout
    engine = create_engine(url)
    try:
        assert set(inspect(engine).get_table_names()) == TABLES
    finally:
        engine.dispose()
    again = runner.invoke(app, ["--json", "--db", url, "init-db"])
    assert again.exit_code == 0, again.output
    report = json.loads(again.stdout)
    assert report["dialect"] == "sqlite" and report["database"] == url
    assert report["tables"] == dict.fromkeys(report["tables"], 0)
    assert set(report["tables"]) == TABLES


def test_init_db_reads_the_url_from_the_environment(tmp_path: Path) -> None:
    url = _sqlite(tmp_path)
    result = runner.invoke(app, ["--json", "init-db"], env={"ADSGEN_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["database"] == url
    assert (tmp_path / "ads.db").exists()


def test_init_db_on_every_dialect(engine: Engine) -> None:
    """The servers of ADSGEN_TEST_POSTGRES_URL / ADSGEN_TEST_MYSQL_URL, when configured."""
    url = engine.url.render_as_string(hide_password=False)
    result = runner.invoke(app, ["--json", "--db", url, "init-db"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["dialect"] == engine.dialect.name
    assert set(report["tables"]) == TABLES


@pytest.mark.parametrize("url", [UNREACHABLE, MISSING_FOLDER, "notaurl://x", "sqlite+nodriver:///"])
def test_a_database_the_user_must_fix_exits_2_with_one_line(url: str) -> None:
    result = runner.invoke(app, ["--db", url, "init-db"])
    assert result.exit_code == 2
    assert result.stdout == ""  # nothing but the result ever goes to stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr


def test_the_error_line_names_the_problem() -> None:
    missing = runner.invoke(app, ["--db", MISSING_FOLDER, "init-db"])
    assert "/nonexistent/dir" in missing.stderr and "does not exist" in missing.stderr
    refused = runner.invoke(app, ["--db", UNREACHABLE, "init-db"])
    assert "127.0.0.1" in refused.stderr and "nobody" in refused.stderr


# --- the error handler -------------------------------------------------------------------


def _fail_with(monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    def init_db(engine: Engine) -> None:
        raise error

    monkeypatch.setattr(store, "init_db", init_db)


def test_an_internal_error_exits_1_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _fail_with(monkeypatch, RuntimeError("boom"))
    result = runner.invoke(app, ["--db", _sqlite(tmp_path), "init-db"])
    assert result.exit_code == 1
    assert result.stderr.startswith("internal error: RuntimeError: boom")
    assert "--debug" in result.stderr and "Traceback" not in result.stderr


def test_debug_shows_the_traceback_of_any_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _fail_with(monkeypatch, RuntimeError("boom"))
    internal = runner.invoke(app, ["--debug", "--db", _sqlite(tmp_path), "init-db"])
    assert internal.exit_code == 1 and "Traceback" in internal.stderr
    _fail_with(monkeypatch, DatabaseError("the server said no"))
    user = runner.invoke(app, ["--debug", "--db", _sqlite(tmp_path), "init-db"])
    assert user.exit_code == 2 and "Traceback" in user.stderr
    assert user.stderr.splitlines()[-1] == "error: the server said no"


def test_a_multi_line_message_is_printed_on_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _fail_with(monkeypatch, DatabaseError("first\nsecond"))
    result = runner.invoke(app, ["--db", _sqlite(tmp_path), "init-db"])
    assert result.stderr == "error: first second\n"


@pytest.mark.parametrize("args", [
    ["--json", "--db", MISSING_FOLDER, "init-db"],      # --json before the command
    ["--db", MISSING_FOLDER, "init-db", "--json"],      # --json after it
    ["--json", "init-db", "--bogus"],                   # a usage error of the command
    ["init-db", "--json", "--seed", "many"],            # a bad value after the command
    ["--json", "--bogus", "status"],                    # a bad global option
])
def test_json_errors_also_print_a_json_object_on_stdout(args: list[str]) -> None:
    result = runner.invoke(app, args)
    line = result.stderr.strip()
    assert result.exit_code == 2 and line.startswith("error: ") and "\n" not in line
    assert json.loads(result.stdout) == {"error": line.removeprefix("error: "), "code": 2}


def test_json_internal_errors_print_code_1(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _fail_with(monkeypatch, RuntimeError("boom"))
    result = runner.invoke(app, ["--db", _sqlite(tmp_path), "init-db", "--json"])
    assert result.exit_code == 1
    error = json.loads(result.stdout)
    assert error["code"] == 1 and error["error"].startswith("internal error: RuntimeError: boom")
    assert result.stderr.strip() == error["error"]


def test_usage_errors_exit_2() -> None:
    assert runner.invoke(app, ["init-dbb"]).exit_code == 2
    assert runner.invoke(app, ["--seed", "many", "version"]).exit_code == 2


# --- global options and output -----------------------------------------------------------


def test_quiet_prints_no_tables_but_json_still_prints(tmp_path: Path) -> None:
    quiet = runner.invoke(app, ["--quiet", "--db", _sqlite(tmp_path), "init-db"])
    assert quiet.exit_code == 0 and quiet.stdout == ""
    both = runner.invoke(app, ["-q", "--json", "--db", _sqlite(tmp_path), "init-db"])
    assert set(json.loads(both.stdout)["tables"]) == TABLES


def test_version_option_and_command() -> None:
    option = runner.invoke(app, ["--version"])
    assert option.exit_code == 0 and option.stdout == f"adsgen {__version__}\n"
    command = runner.invoke(app, ["--json", "version"])
    versions = json.loads(command.stdout)
    assert versions["adsgen"] == __version__
    assert versions["python"] == ".".join(map(str, sys.version_info[:3]))
    assert {"sqlalchemy", "pydantic", "numpy", "pyarrow"} <= set(versions)


def test_global_options_reach_commands_through_state() -> None:
    seen: list[State] = []

    @app.command("probe-state", hidden=True)
    def probe(ctx: typer.Context) -> None:
        seen.append(State.of(ctx))

    try:
        result = runner.invoke(app, ["--db", "sqlite://", "--seed", "7", "--json", "--quiet",
                                     "--debug", "probe-state"], env={"ADSGEN_SEED": "3"})
        assert result.exit_code == 0, result.output
        assert seen == [State(db="sqlite://", seed=7, json=True, quiet=True, debug=True)]
        from_env = runner.invoke(app, ["probe-state"], env={"ADSGEN_SEED": "3",
                                                          "ADSGEN_DATABASE_URL": "sqlite://"})
        assert from_env.exit_code == 0
        assert seen[-1] == State(db="sqlite://", seed=3)
    finally:
        app.registered_commands[:] = [c for c in app.registered_commands
                                      if c.name != "probe-state"]


@dataclass
class _Row:
    name: str
    spend: Decimal


def test_to_jsonable_turns_domain_values_into_plain_json() -> None:
    flight = FlightSchema(start=datetime(2025, 1, 1), end=datetime(2025, 1, 2))
    value = {
        "money": Decimal("120000.50"), "whole": Decimal("25"), "type": BudgetType.daily,
        "when": datetime(2025, 3, 1, 6, tzinfo=UTC), "path": Path("out/x.parquet"),
        "set": {"b", "a"}, "rows": (_Row("a", Decimal("1.25")),), "flight": flight,
    }
    assert to_jsonable(value) == {
        "money": 120000.5, "whole": 25, "type": "daily",
        "when": "2025-03-01T06:00:00+00:00", "path": "out/x.parquet", "set": ["a", "b"],
        "rows": [{"name": "a", "spend": 1.25}],
        "flight": {"start": "2025-01-01T00:00:00", "end": "2025-01-02T00:00:00"},
    }
    json.dumps(to_jsonable(value))


def test_emit_renders_rows_as_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    State().emit([{"table": "performance", "rows": 1234567}, {"table": "ground_truth",
                                                               "rows": 8}], title="Rows")
    out = capsys.readouterr().out
    assert "Rows" in out and "performance" in out and "1,234,567" in out
    State(json=True).emit([{"table": "performance", "rows": 1}])
    assert json.loads(capsys.readouterr().out) == [{"table": "performance", "rows": 1}]


# --- the installed console script --------------------------------------------------------


def test_console_script_init_db_and_json(tmp_path: Path) -> None:
    result = _adsgen("--json", "init-db", cwd=tmp_path)  # default URL: ./ads.db
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["database"] == "sqlite:///ads.db"
    assert (tmp_path / "ads.db").exists()
    (tmp_path / "sub").mkdir()
    env_url = _sqlite(tmp_path / "sub")
    from_env = _adsgen("--quiet", "init-db", cwd=tmp_path, ADSGEN_DATABASE_URL=env_url)
    assert from_env.returncode == 0 and from_env.stdout == ""
    assert (tmp_path / "sub" / "ads.db").exists()


def test_console_script_exit_codes(tmp_path: Path) -> None:
    for url in (MISSING_FOLDER, UNREACHABLE):
        result = _adsgen("--db", url, "init-db", cwd=tmp_path)
        assert result.returncode == 2
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert _adsgen("no-such-command", cwd=tmp_path).returncode == 2


def test_python_dash_m_runs_the_same_cli(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "adsgen", "--version"], capture_output=True,
                            text=True, cwd=tmp_path, env=_env(), timeout=60)
    assert result.returncode == 0 and result.stdout == f"adsgen {__version__}\n"


def test_help_imports_no_heavy_module(tmp_path: Path) -> None:
    """`adsgen --help` starts fast: no NumPy, PyArrow, SQLAlchemy, Faker or Dask."""
    result = _adsgen("--help", cwd=tmp_path, PYTHONPROFILEIMPORTTIME="1")
    assert result.returncode == 0 and "init-db" in result.stdout
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")}
    assert "adsgen.cli" in imported  # the import log worked
    heavy = {"numpy", "pyarrow", "sqlalchemy", "faker", "dask", "pydantic", "yaml"}
    assert not heavy & {name.split(".")[0] for name in imported}


def test_notes_and_progress_go_to_stderr_unless_quiet(capsys: pytest.CaptureFixture[str]) -> None:
    State().note("wrote 3 files")
    with State().progress() as progress:
        progress.add_task("simulate", total=1, completed=1)
    captured = capsys.readouterr()
    assert captured.out == "" and "wrote 3 files" in captured.err and "simulate" in captured.err
    State(quiet=True).note("hidden")
    with State(quiet=True).progress() as progress:
        progress.add_task("hidden", total=1, completed=1)
    assert capsys.readouterr() == ("", "")


# --- options after the command name ------------------------------------------------------


def test_options_after_the_command_name_merge_into_state() -> None:
    from adsgen.cli import command

    seen: list[State] = []

    @command("probe-shared", hidden=True)
    def probe(ctx: typer.Context, value: int = 0) -> None:
        seen.append(State.of(ctx))

    try:
        after = runner.invoke(app, ["probe-shared", "--db", "sqlite://", "--seed", "7", "--json",
                                    "-q", "--value", "3"])
        assert after.exit_code == 0, after.output
        assert seen[-1] == State(db="sqlite://", seed=7, json=True, quiet=True)
        both = runner.invoke(app, ["--db", "sqlite:///global.db", "--seed", "1", "probe-shared",
                                   "--db", "sqlite:///command.db"])
        assert both.exit_code == 0, both.output
        assert seen[-1] == State(db="sqlite:///command.db", seed=1)  # the command's wins
        env = runner.invoke(app, ["probe-shared", "--seed", "5"],
                            env={"ADSGEN_DATABASE_URL": "sqlite:///env.db", "ADSGEN_SEED": "2"})
        assert env.exit_code == 0 and seen[-1] == State(db="sqlite:///env.db", seed=5)
    finally:
        app.registered_commands[:] = [c for c in app.registered_commands
                                      if c.name != "probe-shared"]


def test_every_command_takes_the_shared_options_after_its_name() -> None:
    names = [c.name for c in app.registered_commands if not c.hidden]
    assert {"init-db", "run-all", "status", "simulate", "list", "validate", "create-example",
            "create-profile", "create-advertiser", "create-campaign", "create-line-item",
            "create-creative", "version"} <= set(names)
    for name in names:
        result = runner.invoke(app, [name, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, (name, result.output)
        for option in ("--db", "--seed", "--json", "--quiet"):
            assert option in result.stdout, (name, option)


def test_init_db_with_options_after_the_command(tmp_path: Path) -> None:
    url = _sqlite(tmp_path)
    result = runner.invoke(app, ["init-db", "--json", "--db", url])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["database"] == url


# --- templates: list and validate --------------------------------------------------------


def test_list_examples_profiles_and_platforms() -> None:
    expected = {
        "examples": {"luxury_auto_awareness", "crunchy_snacks_consideration",
                     "nexbank_conversion"},
        "profiles": {"high_cpm_tv_awareness", "mobile_consideration", "conversion_interactive",
                     "multi_device_advanced"},
        "platforms": {"netflix_like"},
    }
    for kind, names in expected.items():
        result = runner.invoke(app, ["list", kind, "--json"])
        assert result.exit_code == 0, result.output
        rows = json.loads(result.stdout)
        assert {row["name"] for row in rows} >= names
        assert all(row["description"] for row in rows)
    human = runner.invoke(app, ["list", "profiles"])
    assert "mobile_consideration" in human.stdout and "Profiles" in human.stdout


def test_validate_every_bundled_template() -> None:
    from importlib.resources import files

    data = files("adsgen.templates") / "data"
    bundled = [Path(str(f)) for kind in ("examples", "profiles", "platforms")
               for f in (data / kind).iterdir() if f.name.endswith(".yml")]
    result = runner.invoke(app, ["validate", "--json", *map(str, bundled)])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == len(bundled) >= 6
    by_type = {row["type"] for row in rows}
    assert by_type == {"examples", "profile", "platform"}


def test_validate_names_the_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad_profile.yml"
    bad.write_text("type: profile\nobjectiv: awareness\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert str(bad) in result.stderr and "unknown key 'objectiv'" in result.stderr
    assert "did you mean 'objective'" in result.stderr


@pytest.mark.parametrize(("args", "expected"), [
    (["create-campaign", "--budget", "5"], "Missing option '--advertiser-id'"),
    (["create-campaign", "--advertiser-id", "1", "--budjet", "5"], "--budget"),
    (["run-all", "--scale", "-1"], "--scale"),
    (["init-dbb"], "Did you mean 'init-db'?"),
    (["--seed", "many", "version"], "--seed"),
])
def test_usage_errors_are_one_line_naming_the_option(args: list[str], expected: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0]
    assert "--help`)" in lines[0]


def test_no_arguments_prints_the_help() -> None:
    result = runner.invoke(app, [])
    assert result.exit_code == 2 and "run-all" in result.stdout


def test_progress_bars_appear_only_for_steps_over_a_second(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with State().bars() as progress:
        progress("writing entities", 0, 3)
        progress("writing entities", 3, 3)
    assert capsys.readouterr() == ("", "")  # quick: no bar at all
    monkeypatch.setattr("adsgen.cli.application.SHOW_PROGRESS_AFTER", 0.0)
    with State().bars() as progress:
        progress("simulating performance", 0, 4)
        progress("simulating performance", 4, 4)
    captured = capsys.readouterr()
    assert captured.out == "" and "simulating performance" in captured.err
    with State().bars(at_once=True) as progress:
        progress("planning", 1, 1)
    assert "planning" in capsys.readouterr().err
    with State(quiet=True).bars(at_once=True) as progress:
        progress("planning", 1, 1)
    assert capsys.readouterr() == ("", "")
