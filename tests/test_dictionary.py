"""The data dictionary (`adsgen schema`): complete, true to the files and databases adsgen
writes, rendered as text, markdown, JSON and DDL without a database, and the committed
docs/data-dictionary.md current."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from sqlalchemy import Engine, func, inspect, select, text

from adsgen.simulate.columns import GROUND_TRUTH_SCHEMA, PERFORMANCE_SCHEMA
from adsgen.storage.database import make_engine, session_scope
from adsgen.storage.dictionary import (
    DDL_DIALECTS,
    arrow_schema,
    data_dictionary,
    ddl,
    to_markdown,
)
from adsgen.storage.orm import NOT_IN_FILES, VIEWS, Base, Campaign, LineItem
from adsgen.storage.persist import save_plan
from cliutil import invoke, invoke_json, user_error
from planfactory import sample_advertiser

DOCS = Path(__file__).resolve().parents[1] / "docs" / "data-dictionary.md"
MYSQL_COLUMN_COMMENT, MYSQL_TABLE_COMMENT = 1024, 2048  # MySQL/MariaDB limits
UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:1/x"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small generated folder (Parquet) on roku_like (which sells DMAs), its line items
    with experiments or DMAs (the experiment and market tables have rows only then)."""
    root = tmp_path_factory.mktemp("dictionary")
    (root / "templates" / "profiles").mkdir(parents=True)
    (root / "templates" / "profiles" / "lift.yml").write_text(
        "type: profile\nweight: 1000\nbudget: 200000\nline_item_count: 1\n"
        "experiment: {type: psa, control_share: 0.1}\n")
    (root / "templates" / "profiles" / "markets.yml").write_text(
        "type: profile\nweight: 1000\nbudget: 200000\nline_item_count: 1\n"
        "targeting: {dma: ['501', '803']}\n")
    out = root / "out"
    invoke_json("generate", "--line-items", "6", "--days", "2", "--seed", "3", "--out", str(out),
                "--templates-dir", str(root / "templates"), "--platform", "roku_like")
    return out


# --- complete, and written once --------------------------------------------------------------


def test_every_table_and_column_is_described() -> None:
    docs = {d.name: d for d in data_dictionary()}
    assert set(docs) == set(Base.metadata.tables) | {v.name for v in VIEWS}
    for table in Base.metadata.tables.values():
        doc = docs[table.name]
        assert doc.description and doc.grain and doc.joins, table.name
        assert len(doc.description) <= MYSQL_TABLE_COMMENT, table.name
        assert [c.name for c in doc.columns] == list(table.c.keys())
        for column in doc.columns:
            where = f"{table.name}.{column.name}"
            assert len(column.description) > 15, where
            assert len(column.description) <= MYSQL_COLUMN_COMMENT, where
            assert column.sql_type and column.file_type, where
    for view in VIEWS:
        assert [c.name for c in docs[view.name].columns] == [c.name for c in view.columns]


def test_fact_descriptions_come_from_the_arrow_schemas() -> None:
    """One home: the ORM's comments and the dictionary are the Arrow field metadata."""
    facts = {"performance": PERFORMANCE_SCHEMA, "ground_truth": GROUND_TRUTH_SCHEMA}
    for name, schema in facts.items():
        table = Base.metadata.tables[name]
        for field in schema:
            meta = field.metadata or {}
            assert table.c[field.name].comment == meta[b"description"].decode()
            assert table.c[field.name].info.get("unit", "") == meta.get(b"unit", b"").decode()


def test_keys_units_and_values_are_read_from_the_metadata() -> None:
    docs = {d.name: {c.name: c for c in d.columns} for d in data_dictionary()}
    assert docs["campaigns"]["advertiser_id"].key == "FK → advertisers.id"
    assert docs["budgets"]["campaign_id"].key == "unique, FK → campaigns.id"
    assert docs["performance"]["creative_id"].key == (
        "PK, FK (line_item_id, creative_id) → creatives (line_item_id, id)")
    assert docs["performance"]["hour"].file_type == "timestamp[us, tz=UTC]"
    assert docs["flights"]["end_at"].sql_type == "TIMESTAMP WITH TIME ZONE"
    assert docs["line_items"]["cpm_micros"].unit.startswith("micros")
    assert "households" in docs["performance"]["cumulative_reach"].unit
    assert docs["campaigns"]["status"].values[:2] == ("draft", "active")
    assert "lifetime" in docs["budgets"]["budget_type"].values


def test_cumulative_reach_is_documented_as_not_summable() -> None:
    reach = next(c for d in data_dictionary() if d.name == "performance"
                 for c in d.columns if c.name == "cumulative_reach")
    assert "never SUM" in reach.description and "MAX(cumulative_reach)" in reach.description


def test_what_the_dictionary_says_of_cumulative_reach_holds(generated: Path) -> None:
    """Repeated on every creative row of a line item × device × hour, non-decreasing, so the
    documented MAX is the reach at the last hour, and a SUM overstates it."""
    rows = f"read_parquet('{generated}/performance/*/*.parquet', hive_partitioning = true)"
    con = duckdb.connect()
    spread = con.execute(
        f"SELECT max(n) FROM (SELECT count(DISTINCT cumulative_reach) AS n FROM {rows}"
        " GROUP BY line_item_id, device, hour)").fetchone()
    assert spread == (1,)
    reach, last, summed = con.execute(
        f"SELECT sum(reach), sum(last), sum(summed) FROM (SELECT max(cumulative_reach) AS reach,"
        " arg_max(cumulative_reach, hour) AS last, sum(cumulative_reach) AS summed"
        f" FROM {rows} GROUP BY line_item_id, device)").fetchone()  # type: ignore[misc]
    assert reach == last and summed > reach > 0


# --- true to the files and databases ---------------------------------------------------------


def test_generated_files_have_the_dictionarys_columns_and_types(generated: Path) -> None:
    for table in Base.metadata.tables.values():
        if table.info.get("files") == NOT_IN_FILES:  # change_events: the API's only
            continue
        paths = sorted((generated / table.name).rglob("*.parquet")) or [
            generated / f"{table.name}.parquet"]
        written = pq.read_schema(paths[0])
        names = [n for n in written.names if n != "date"]
        expected = arrow_schema(table.name, names)
        assert [(f.name, f.type) for f in written if f.name != "date"] == [
            (f.name, f.type) for f in expected], table.name
        absent = {c.name for c in table.c if c.name not in names}
        assert absent <= {"created_at", "updated_at"}, (table.name, absent)


def test_views_split_the_owner_tables_on_every_database(engine: Engine) -> None:
    with session_scope(engine) as session:
        save_plan(session, [sample_advertiser("A"), sample_advertiser("B")])
    with engine.connect() as conn:
        campaigns = conn.scalar(select(func.count()).select_from(Campaign))
        line_items = conn.scalar(select(func.count()).select_from(LineItem))
        for view in VIEWS:
            count = conn.execute(text(f"SELECT count(*) FROM {view.name}")).scalar()
            assert count == (campaigns if view.owner == "campaign_id" else line_items) or (
                view.table.name == "frequency_caps" and view.owner == "line_item_id"
            ), view.name
            names = [c["name"] for c in inspect(conn).get_columns(view.name)]
            assert names == [c.name for c in view.columns], view.name
        assert conn.execute(text(
            "SELECT count(*) FROM line_item_budgets b JOIN line_items l ON l.id ="
            " b.line_item_id")).scalar() == line_items


def test_drop_all_drops_the_views_first(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'ads.db'}")
    Base.metadata.create_all(engine)
    assert {v.name for v in VIEWS} <= set(inspect(engine).get_view_names())
    Base.metadata.drop_all(engine)
    assert inspect(engine).get_view_names() == [] and inspect(engine).get_table_names() == []
    engine.dispose()


# --- adsgen schema ---------------------------------------------------------------------------


def test_markdown_is_committed_and_current() -> None:
    assert DOCS.exists() and DOCS.read_text() == to_markdown(data_dictionary()), (
        "docs/data-dictionary.md is stale: run `make docs`"
        " (adsgen schema --format markdown > docs/data-dictionary.md) and commit it")


def test_schema_prints_every_table_without_a_database() -> None:
    result = invoke("schema", "--db", UNREACHABLE, env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.stderr
    for doc in data_dictionary():
        assert doc.name in result.stdout
    assert "TIMESTAMP WITH TIME ZONE" in result.stdout and "never SUM" in result.stdout
    markdown = invoke("schema", "--format", "markdown", "--db", UNREACHABLE)
    assert markdown.exit_code == 0 and markdown.stdout == DOCS.read_text()


def test_schema_json_and_one_table() -> None:
    document: dict[str, Any] = invoke_json("schema")
    assert [t["name"] for t in document["tables"]] == [d.name for d in data_dictionary()]
    assert document["conventions"]
    one = json.loads(invoke("schema", "--format", "json", "--table", "flights").stdout)
    (flights,) = one["tables"]
    assert [c["name"] for c in flights["columns"]][3:5] == ["start_at", "end_at"]
    text_one = invoke("schema", "--table", "campaign_budgets", env={"COLUMNS": "160"})
    assert text_one.exit_code == 0 and "campaign_budgets" in text_one.stdout
    assert "advertisers" not in text_one.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--table", "flight"), "unknown table 'flight'; did you mean 'flights'"),
        (("--format", "yaml"), "unknown format 'yaml'"),
        (("--ddl", "oracle"), "unknown dialect 'oracle'"),
    ],
)
def test_schema_user_errors_exit_2_listing_the_choices(
    args: tuple[str, ...], expected: str
) -> None:
    line = user_error(invoke("schema", *args))
    assert expected in line
    if args[0] == "--table":
        assert all(name in line for name in ("advertisers", "performance", "line_item_budgets"))


@pytest.mark.parametrize("dialect", DDL_DIALECTS)
def test_ddl_of_every_dialect(dialect: str) -> None:
    result = invoke("schema", "--ddl", dialect, "--db", UNREACHABLE)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ddl(dialect)
    statements = result.stdout.count("CREATE TABLE")
    assert statements == len(Base.metadata.tables)
    assert result.stdout.count(" VIEW ") == len(VIEWS)
    timestamptz = "TIMESTAMP WITH TIME ZONE" in result.stdout
    assert timestamptz is (dialect == "postgresql")
    assert ("COMMENT ON COLUMN" in result.stdout) is (dialect == "postgresql")
    one = invoke("schema", "--ddl", dialect, "--table", "budgets").stdout
    assert one.count("CREATE TABLE") == 1 and "campaign_budgets" in one


def test_sqlite_ddl_runs_as_printed(tmp_path: Path) -> None:
    """What --ddl sqlite prints builds the same tables and views as init-db."""
    path = tmp_path / "from-ddl.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(ddl("sqlite"))
    engine = make_engine(f"sqlite:///{path}")
    assert set(inspect(engine).get_table_names()) == set(Base.metadata.tables)
    assert set(inspect(engine).get_view_names()) == {v.name for v in VIEWS}
    engine.dispose()


def test_readme_links_the_dictionary_and_lists_every_table() -> None:
    readme = (DOCS.parents[1] / "README.md").read_text()
    section = readme.split("## Data dictionary", 1)[1].split("\n## ", 1)[0]
    assert "(docs/data-dictionary.md)" in section
    for doc in data_dictionary():
        assert f"`{doc.name}`" in section, doc.name


def test_postgresql_ddl_runs_as_printed(pg_engine: Engine) -> None:
    """What --ddl postgresql prints (COMMENT ON, timestamptz, views) runs on PostgreSQL; in a
    schema of its own, rolled back."""
    with pg_engine.connect() as conn, conn.begin() as transaction:
        conn.exec_driver_sql("CREATE SCHEMA adsgen_ddl_check")
        conn.exec_driver_sql("SET LOCAL search_path TO adsgen_ddl_check")
        for statement in ddl("postgresql").split(";\n\n"):
            conn.exec_driver_sql(statement.strip().removesuffix(";").replace("%", "%%"))
        found = inspect(conn)
        assert set(found.get_table_names(schema="adsgen_ddl_check")) == set(Base.metadata.tables)
        assert set(found.get_view_names(schema="adsgen_ddl_check")) == {v.name for v in VIEWS}
        comment = conn.execute(text(
            "SELECT col_description('adsgen_ddl_check.performance'::regclass, 5)")).scalar()
        assert comment == Base.metadata.tables["performance"].c["impressions"].comment
        transaction.rollback()
