"""`adsgen generate`, `plan` and `load`: files every reader opens, a truthful manifest, the
same bytes on every engine and for every run of a seed, estimates that write nothing,
loads into every dialect, and one-line errors.

Small runs: 20 line items over 3 days (about 2,000 performance rows), blocks of 5.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pyarrow.json as pajson
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from adsgen import __version__
from adsgen.build.numbering import ENTITY_TABLES
from adsgen.runs.manifest import CHECKS, Manifest
from cliutil import counts, invoke, invoke_json, sqlite_url, user_error

SMALL = ("--line-items", "20", "--days", "3", "--seed", "7", "--block-size", "5")
FORMATS = ("parquet", "csv", "jsonl")
DUCKDB_READERS = {"parquet": "read_parquet", "csv": "read_csv_auto", "jsonl": "read_json_auto"}
UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:1/x"


def generate(out: Path, *options: str) -> dict[str, Any]:
    """Run `generate` with --json; the parsed summary."""
    result: dict[str, Any] = invoke_json("generate", *SMALL, "--out", str(out), *options)
    return result


def file_hashes(root: Path) -> dict[str, str]:
    """sha256 of every data file (the manifest records time and engine, so it differs)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file() and p.name != "manifest.json"
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, Any]]]:
    """One local run per format: format → (out folder, JSON summary)."""
    root = tmp_path_factory.mktemp("generate")
    return {fmt: (root / fmt, generate(root / fmt, "--format", fmt)) for fmt in FORMATS}


def read_back(out: Path, fmt: str, table: str, types: pa.Schema | None = None) -> pa.Table:
    """A table as pyarrow.dataset reads it (hive partitions for the fact tables); `types`
    fixes the CSV and JSON column types (inferred from the first rows, a float column
    whose first values are 0 reads as integers and fails on a fraction)."""
    extension = "jsonl" if fmt == "jsonl" else fmt
    path = out / table if (out / table).is_dir() else out / f"{table}.{extension}"
    file_format: Any = "json" if fmt == "jsonl" else fmt
    if types is not None and fmt != "parquet":
        fields = [f for f in types if f.name != "date"]
        file_format = (
            ds.CsvFileFormat(convert_options=pacsv.ConvertOptions(
                column_types={f.name: f.type for f in fields}))
            if fmt == "csv"
            else ds.JsonFileFormat(parse_options=pajson.ParseOptions(
                explicit_schema=pa.schema(fields)))
        )
    return ds.dataset(path, format=file_format, schema=types if fmt != "parquet" else None,
                      partitioning="hive" if path.is_dir() else None).to_table()


# --- what generate writes ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_files_read_back_with_pyarrow_and_duckdb(
    runs: dict[str, tuple[Path, dict[str, Any]]], fmt: str
) -> None:
    out, summary = runs[fmt]
    manifest = Manifest.read(out)
    assert summary["manifest"]["tables"] == json.loads(manifest.model_dump_json())["tables"]
    for table in (*ENTITY_TABLES, "performance", "ground_truth"):
        types = read_back(runs["parquet"][0], "parquet", table).schema
        assert read_back(out, fmt, table, types).num_rows == manifest.tables[table].rows, table
    assert manifest.tables["line_items"].rows == 20
    assert manifest.tables["performance"].rows > 1_000
    performance = read_back(out, fmt, "performance")
    days = {str(d) for d in performance.column("date").unique().to_pylist()}
    assert days == {"2026-09-01", "2026-09-02", "2026-09-03"}
    pattern = str(out / "performance" / "*" / f"*.{fmt}")
    sql = (f"SELECT count(*), count(DISTINCT date), min(hour), max(hour) "
           f"FROM {DUCKDB_READERS[fmt]}('{pattern}', hive_partitioning = true)")
    rows, dates, first, last = duckdb.connect().execute(sql).fetchone()  # type: ignore[misc]
    assert (rows, dates) == (manifest.tables["performance"].rows, 3)
    assert str(first).startswith("2026-09-01") and str(last).startswith("2026-09-03 23:00")


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_timestamp_is_utc_aware(
    runs: dict[str, tuple[Path, dict[str, Any]]], fmt: str
) -> None:
    """One type everywhere: timestamp[us, tz=UTC] in Parquet, ISO 8601 with Z in text files;
    DuckDB reads all of them as TIMESTAMP WITH TIME ZONE."""
    out = runs[fmt][0]
    timestamps = {"performance": ("hour",), "flights": ("start_at", "end_at")}
    reader = DUCKDB_READERS[fmt]
    for table, columns in timestamps.items():
        files = sorted((out / table).rglob(f"*.{fmt}")) or [out / f"{table}.{fmt}"]
        if fmt == "parquet":
            for path in files:
                schema = pq.read_schema(path)
                assert {schema.field(c).type for c in columns} == {pa.timestamp("us", "UTC")}
        else:
            first = files[0].read_text().splitlines()[1]
            assert len(re.findall(r"\d{4}-\d\d-\d\dT\d\d:00:00Z", first)) == len(columns), first
        typed = duckdb.connect().execute(
            "SELECT " + ", ".join(f"typeof({c})" for c in columns)
            + f" FROM {reader}('{files[0]}') LIMIT 1"
        ).fetchone()
        assert typed is not None and set(typed) == {"TIMESTAMP WITH TIME ZONE"}, (table, typed)


def test_manifest_tells_how_the_run_was_made(
    runs: dict[str, tuple[Path, dict[str, Any]]]
) -> None:
    out, summary = runs["parquet"]
    manifest = Manifest.read(out / "manifest.json")
    assert summary["manifest_path"] == str(out / "manifest.json")
    assert (manifest.seed, manifest.line_items, manifest.format) == (7, 20, "parquet")
    assert (manifest.engine, manifest.workers, manifest.block_size) == ("local", 1, 5)
    assert manifest.blocks == 4 and manifest.adsgen_version == __version__
    assert 0 < manifest.allocation_seconds < manifest.elapsed_seconds
    assert manifest.ok and manifest.checks_failed == 0
    assert manifest.checks_passed == len(CHECKS) == len(manifest.checks)
    assert manifest.checks["funnel_order"].checked == manifest.tables["performance"].rows
    files = {table: len([p for p in out.rglob("*.parquet")
                         if table in {p.stem, *(q.name for q in p.parents)}])
             for table in manifest.tables}
    assert files == {table: stats.files for table, stats in manifest.tables.items()}
    assert not list(out.parent.glob(".*adsgen*"))  # no staging folder left behind


def test_same_files_on_every_engine(
    runs: dict[str, tuple[Path, dict[str, Any]]], tmp_path: Path
) -> None:
    """local, a pool of 2 processes and a 2-worker Dask LocalCluster write the same bytes."""
    reference = file_hashes(runs["parquet"][0])
    for engine in ("processes", "dask"):
        out = tmp_path / engine
        summary = generate(out, "--engine", engine, "--workers", "2")
        assert (summary["manifest"]["engine"], summary["manifest"]["workers"]) == (engine, 2)
        assert file_hashes(out) == reference, engine
    table = read_back(tmp_path / "dask", "parquet", "performance")
    assert table.equals(read_back(runs["parquet"][0], "parquet", "performance"))


def test_same_seed_same_files_other_seed_other_files(
    runs: dict[str, tuple[Path, dict[str, Any]]], tmp_path: Path
) -> None:
    reference = file_hashes(runs["parquet"][0])
    generate(tmp_path / "again")
    assert file_hashes(tmp_path / "again") == reference
    generate(tmp_path / "other", "--seed", "8")  # the last --seed wins
    other = file_hashes(tmp_path / "other")
    assert other.keys() == reference.keys() and other != reference


def test_progress_and_summary_for_humans(tmp_path: Path) -> None:
    result = invoke("generate", *SMALL, "--out", str(tmp_path / "out"), env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stderr
    assert "generating rows" in result.stderr and "rows/s" in result.stderr
    for text in ("invariant checks", "22 passed", "manifest.json", "performance", "rows/s"):
        assert text in result.stdout, text
    quiet = invoke("generate", *SMALL, "--out", str(tmp_path / "quiet"), "--quiet")
    assert quiet.exit_code == 0 and quiet.stdout == quiet.stderr == ""


# --- plan and --dry-run ---------------------------------------------------------------------


def test_plan_and_dry_run_estimate_and_write_nothing(
    runs: dict[str, tuple[Path, dict[str, Any]]], tmp_path: Path
) -> None:
    manifest = Manifest.read(runs["parquet"][0])
    out = tmp_path / "never"
    dry = invoke_json("generate", *SMALL, "--out", str(out), "--dry-run")
    plan = invoke_json("plan", *SMALL)
    assert not out.exists() and list(tmp_path.iterdir()) == []
    for guess in (dry, plan):
        assert guess["rows"]["performance"] == manifest.tables["performance"].rows
        assert guess["entities"]["line_items"] == 20 and guess["blocks"] == 4
        assert guess["bytes"] > 0 and guess["seconds"] > 0
    human = invoke("plan", *SMALL, "--engine", "processes", "--workers", "2")
    assert human.exit_code == 0, human.stderr
    assert "performance rows" in human.stdout and "disk (estimated)" in human.stdout


def test_dry_run_refuses_what_the_run_would(
    runs: dict[str, tuple[Path, dict[str, Any]]]
) -> None:
    line = user_error(invoke("generate", *SMALL, "--out", str(runs["csv"][0]), "--dry-run"))
    assert "holds a previous run" in line


# --- the output folder ------------------------------------------------------------------------


def test_out_with_a_previous_run_needs_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "out"
    generate(out)
    before = file_hashes(out)
    line = user_error(invoke("generate", *SMALL, "--out", str(out), "--seed", "9"))
    assert "holds a previous run; pass --overwrite" in line
    assert file_hashes(out) == before
    generate(out, "--seed", "9", "--overwrite", "--format", "csv")
    assert Manifest.read(out).seed == 9 and not list(out.glob("*.parquet"))
    assert not list(tmp_path.glob(".*"))


def test_out_with_other_files_is_never_replaced(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    assert "is not empty" in user_error(invoke("generate", *SMALL, "--out", str(out)))
    line = user_error(invoke("generate", *SMALL, "--out", str(out), "--overwrite"))
    assert "holds files adsgen did not write (notes.txt)" in line
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    generate(empty)  # an empty folder is fine
    assert (empty / "manifest.json").exists()


# --- load -----------------------------------------------------------------------------------


def check_loaded(url: str, out: Path) -> None:
    """The database holds what the manifest counts, and the ORM reads it back."""
    from adsgen.storage.database import make_engine
    from adsgen.storage.orm import LineItem, Performance

    manifest = Manifest.read(out)
    rows = counts(url)
    assert {t: rows[t] for t in manifest.tables} == {
        t: s.rows for t, s in manifest.tables.items()}
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            item = session.get(LineItem, 1)
            assert item is not None and item.creatives and item.flight is not None
            assert item.flight.start.isoformat() == "2026-09-01T00:00:00"
            first, last = session.execute(
                select(func.min(Performance.hour), func.max(Performance.hour))).one()
            hours = read_back(out, manifest.format, "performance").column("hour")
            utc = pa.timestamp("us", "UTC")
            expected = pc.min_max(hours.cast(utc)).as_py()
            assert (first, last) == (expected["min"].replace(tzinfo=None),
                                     expected["max"].replace(tzinfo=None))
            spent = session.scalar(select(func.sum(Performance.spend_micros)))
            assert spent is not None and spent > 0
    finally:
        engine.dispose()


@pytest.mark.parametrize("fmt", FORMATS)
def test_load_into_sqlite(
    runs: dict[str, tuple[Path, dict[str, Any]]], tmp_path: Path, fmt: str
) -> None:
    out = runs[fmt][0]
    url = sqlite_url(tmp_path / "ads.db")
    loaded = invoke_json("load", str(out), "--db", url)
    assert loaded["matches_manifest"] is True
    assert loaded["rows"] == sum(s.rows for s in Manifest.read(out).tables.values())
    check_loaded(url, out)
    again = user_error(invoke("load", str(out), "--db", url))  # the same rows twice
    assert "nothing was loaded" in again
    check_loaded(url, out)


def test_generate_with_db_loads_too_but_never_the_env_default(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "typed.db")
    summary = generate(tmp_path / "out", "--db", url)
    assert summary["loaded"]["matches_manifest"] is True
    check_loaded(url, tmp_path / "out")
    env_db = tmp_path / "env.db"
    result = invoke("--json", "generate", *SMALL, "--out", str(tmp_path / "out2"),
                    env={"ADSGEN_DATABASE_URL": sqlite_url(env_db)})
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["loaded"] is None and not env_db.exists()


@pytest.mark.parametrize("server", ["pg_engine", "mysql_engine"])
def test_load_into_postgresql_and_mariadb(
    runs: dict[str, tuple[Path, dict[str, Any]]], request: pytest.FixtureRequest, server: str
) -> None:
    engine: Engine = request.getfixturevalue(server)
    if server == "pg_engine":  # timestamptz must not depend on the session's time zone
        options = f"{engine.url.query.get('options', '')} -ctimezone=Asia/Tokyo".strip()
        url = engine.url.update_query_dict({"options": options}).render_as_string(
            hide_password=False)
    else:
        url = engine.url.render_as_string(hide_password=False)
    out = runs["parquet"][0]
    loaded = invoke_json("load", str(out), "--db", url)
    assert loaded["matches_manifest"] is True
    check_loaded(url, out)


def test_load_errors_are_one_line(
    runs: dict[str, tuple[Path, dict[str, Any]]], tmp_path: Path
) -> None:
    url = sqlite_url(tmp_path / "ads.db")
    line = user_error(invoke("load", str(tmp_path), "--db", url))
    assert "is not a generated directory (no manifest.json)" in line
    assert "no manifest.json" in user_error(invoke("load", str(tmp_path / "missing")))
    line = user_error(invoke("load", str(runs["parquet"][0]), "--db", UNREACHABLE))
    assert "nobody" in line and "127.0.0.1:1" in line
    assert "no manifest" not in line
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "manifest.json").write_text("{}")
    assert "is not an adsgen manifest" in user_error(invoke("load", str(bad), "--db", url))


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--line-items", "20", "--days", "-3"], "--days must be between 1 and 366, got -3"),
        (["--line-items", "20", "--days", "400"], "--days must be between 1 and 366"),
        (["--line-items", "20", "--advertisers", "2"], "either --advertisers N or --line-items"),
        ([], "either --advertisers N or --line-items N"),
        (["--advertisers", "0"], "--advertisers must be at least 1, got 0"),
        (["--line-items", "5", "--format", "parqet"],
         "unknown format 'parqet'; did you mean 'parquet'?"),
        (["--line-items", "5", "--engine", "spark"], "unknown engine 'spark'"),
        (["--line-items", "5", "--engine", "dusk"], "did you mean 'dask'?"),
        (["--line-items", "5", "--workers", "0", "--engine", "processes"],
         "--workers must be at least 1"),
        (["--line-items", "5", "--block-size", "0"], "--block-size must be at least 1"),
        (["--line-items", "5", "--scheduler", "tcp://x:1"], "--scheduler needs --engine dask"),
        (["--line-items", "5", "--start", "2026-09-01T10:30:00"], "whole UTC hour"),
        (["--line-items", "5", "--start", "tomorrow"], "Invalid value for '--start'"),
        (["--line-items", "5", "--platform", "netflix"], "unknown platform 'netflix'"),
        (["--line-items", "5", "--db", UNREACHABLE], "cannot"),
    ],
)
@pytest.mark.parametrize("command", ["generate", "plan"])
def test_bad_input_exits_2_with_one_line(
    tmp_path: Path, command: str, options: list[str], message: str
) -> None:
    out = tmp_path / "out"
    if command == "plan" and "--db" in options:
        pytest.skip("plan never opens a database")
    where = ["--out", str(out)] if command == "generate" else []
    line = user_error(invoke(command, *options, *where))
    assert message in line
    assert not out.exists() and list(tmp_path.iterdir()) == []
