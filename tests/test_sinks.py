"""Sinks: every format round-trips, partitions by UTC date, names files deterministically."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.dataset as ds
import pyarrow.json as pajson
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from adsgen.exceptions import UnknownNameError
from adsgen.simulate.columns import PERFORMANCE_SCHEMA
from adsgen.storage.sinks import (
    PARTITION_KEY,
    SINKS,
    CsvSink,
    DatabaseSink,
    FileSink,
    JsonlSink,
    ParquetSink,
    Sink,
    encode_jsonl,
    get_sink,
)

KEYS = ["line_item_id", "creative_id", "hour", "device"]


def performance_table(rows: int = 2_000, seed: int = 7) -> pa.Table:
    """A performance-shaped table over 4 UTC days, rows in no particular order."""
    gen = np.random.default_rng(seed)
    start = np.datetime64("2026-03-01T00", "s")
    hours = start + gen.permutation(rows) % (4 * 24) * np.timedelta64(3600, "s")
    columns: dict[str, pa.Array] = {
        "line_item_id": pa.array(np.arange(rows) // 50 + 1),
        "creative_id": pa.array(np.arange(rows) % 3 + 1),
        "hour": pa.array(hours, pa.timestamp("s")),
        "device": pa.array(gen.choice(["ctv", "mobile", "desktop"], rows)),
    }
    for field in PERFORMANCE_SCHEMA:
        if field.name not in columns:
            columns[field.name] = pa.array(gen.integers(0, 10**6, rows))
    return pa.Table.from_pydict(columns, schema=PERFORMANCE_SCHEMA)


def sorted_rows(table: pa.Table) -> pa.Table:
    """The performance columns with their declared types, in key order (for comparing)."""
    return (
        table.select(PERFORMANCE_SCHEMA.names)
        .cast(PERFORMANCE_SCHEMA)  # Parquet stores timestamp[s] as [ms]
        .sort_by([(k, "ascending") for k in KEYS])
    )


def write_parts(sink: type[FileSink], root: Path, table: pa.Table, parts: int = 2) -> None:
    """Write `table` as `parts` tasks' partitioned part files."""
    size = math.ceil(table.num_rows / parts)
    for part in range(parts):
        with sink(root, "performance", part=part, partition_by="hour") as out:
            out.write(table.slice(part * size, size))


def test_sinks_table_names_the_formats() -> None:
    assert set(SINKS) == {"parquet", "csv", "jsonl"}
    for name, cls in SINKS.items():
        assert get_sink(name) is cls and cls.extension == name
        assert isinstance(cls(Path("."), "t"), Sink)
    with pytest.raises(UnknownNameError, match="parquet"):
        get_sink("parquett")


def test_parquet_hive_partitions_read_back_by_pyarrow_and_duckdb(tmp_path: Path) -> None:
    table = performance_table()
    write_parts(ParquetSink, tmp_path, table)
    folders = sorted(p.name for p in (tmp_path / "performance").iterdir())
    assert folders == [f"{PARTITION_KEY}=2026-03-0{d}" for d in range(1, 5)]
    assert {p.name for p in (tmp_path / "performance").rglob("*.parquet")} == {
        "part-000000.parquet", "part-000001.parquet"}

    dataset = ds.dataset(tmp_path / "performance", format="parquet", partitioning="hive")
    back = dataset.to_table()
    assert back.num_rows == table.num_rows
    assert sorted_rows(back).equals(sorted_rows(table))
    # The partition key is the UTC date of the hour.
    day = pc.strftime(back.column("hour"), format="%Y-%m-%d")
    assert pc.all(pc.equal(day, back.column(PARTITION_KEY).cast(pa.string()))).as_py()

    glob = str(tmp_path / "performance" / "*" / "*.parquet")
    con = duckdb.connect()
    n, impressions, dates = con.execute(
        "SELECT count(*), sum(impressions), count(DISTINCT date) "
        f"FROM read_parquet('{glob}', hive_partitioning=true)"
    ).fetchone()
    assert (n, impressions, dates) == (table.num_rows, pc.sum(table["impressions"]).as_py(), 4)
    mismatched = con.execute(
        f"SELECT count(*) FROM read_parquet('{glob}', hive_partitioning=true) "
        "WHERE CAST(hour AS DATE) <> CAST(date AS DATE)"
    ).fetchone()
    assert mismatched == (0,)


def test_csv_partitions_round_trip(tmp_path: Path) -> None:
    table = performance_table()
    write_parts(CsvSink, tmp_path, table)
    options = pacsv.ConvertOptions(column_types=PERFORMANCE_SCHEMA)
    fmt = ds.CsvFileFormat(convert_options=options)
    back = ds.dataset(tmp_path / "performance", format=fmt, partitioning="hive").to_table()
    assert sorted_rows(back).equals(sorted_rows(table))


def test_jsonl_partitions_round_trip(tmp_path: Path) -> None:
    table = performance_table()
    write_parts(JsonlSink, tmp_path, table)
    fmt = ds.JsonFileFormat(parse_options=pajson.ParseOptions(explicit_schema=PERFORMANCE_SCHEMA))
    back = ds.dataset(tmp_path / "performance", format=fmt, partitioning="hive").to_table()
    assert sorted_rows(back).equals(sorted_rows(table))
    first = next((tmp_path / "performance").rglob("*.jsonl")).read_text().splitlines()[0]
    row = json.loads(first)
    assert list(row) == PERFORMANCE_SCHEMA.names and row["hour"].startswith("2026-03-0")


@pytest.mark.parametrize("fmt", sorted(SINKS))
def test_same_rows_give_same_bytes(tmp_path: Path, fmt: str) -> None:
    table = performance_table()
    for run in ("a", "b"):
        write_parts(SINKS[fmt], tmp_path / run, table)
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.*"))
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.*"))
    assert files_a == files_b and files_a
    for rel in files_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()


@pytest.mark.parametrize("fmt", sorted(SINKS))
def test_entity_table_is_one_file_even_when_empty(tmp_path: Path, fmt: str) -> None:
    schema = pa.schema([("id", pa.int64()), ("name", pa.string())])
    with SINKS[fmt](tmp_path, "advertisers") as sink:
        sink.write(pa.table({"id": [1, 2], "name": ["a", "b"]}, schema=schema))
        sink.write(pa.table({"id": [3], "name": ["c"]}, schema=schema))
    with SINKS[fmt](tmp_path, "targeting") as empty:
        empty.write(schema.empty_table())
    assert sink.rows == 3 and sink.files == {
        tmp_path / f"advertisers.{fmt}": (tmp_path / f"advertisers.{fmt}").stat().st_size}
    assert (tmp_path / f"targeting.{fmt}").exists() and empty.rows == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"advertisers.{fmt}", f"targeting.{fmt}"]
    if fmt == "parquet":
        back = ds.dataset(tmp_path / "advertisers.parquet").to_table()
        assert back["id"].to_pylist() == [1, 2, 3]


@pytest.mark.parametrize("unit", ["s", "ms", "ns"])
def test_every_sink_writes_timestamps_as_utc_microseconds(tmp_path: Path, unit: str) -> None:
    """Naive timestamps of any unit (taken as UTC) come out as timestamp[us, tz=UTC], or as
    ISO 8601 text with Z in the text formats."""
    moments = [datetime(2026, 3, 1, 5), datetime(2026, 3, 2, 23)]
    table = pa.table({"id": [1, 2], "at": pa.array(moments, pa.timestamp(unit))})
    for name, cls in SINKS.items():
        with cls(tmp_path / name, "t") as sink:
            sink.write(table)
        path = tmp_path / name / f"t.{cls.extension}"
        if name == "parquet":
            back = ds.dataset(path).to_table()
            assert back.schema.field("at").type == pa.timestamp("us", "UTC")
            assert back.column("at").to_pylist() == [m.replace(tzinfo=UTC) for m in moments]
        else:
            text = path.read_text()
            assert "2026-03-01T05:00:00Z" in text and "2026-03-02T23:00:00Z" in text, text


def test_files_leave_the_column_descriptions_to_the_dictionary(tmp_path: Path) -> None:
    """The schemas carry descriptions in field metadata; Parquet parts must not repeat them."""
    assert PERFORMANCE_SCHEMA.field("cumulative_reach").metadata
    with ParquetSink(tmp_path, "performance", part=0) as sink:
        sink.write(performance_table(rows=10))
    written = pq.read_schema(tmp_path / "performance" / "part-000000.parquet")
    assert [f.metadata for f in written] == [None] * len(PERFORMANCE_SCHEMA)
    assert written.field("hour").type == pa.timestamp("us", "UTC")


def test_schema_change_and_closed_sink_are_errors(tmp_path: Path) -> None:
    sink = ParquetSink(tmp_path, "t")
    sink.write(pa.table({"a": [1]}))
    with pytest.raises(ValueError, match="schema changed"):
        sink.write(pa.table({"a": ["x"]}))
    sink.close()
    with pytest.raises(ValueError, match="closed"):
        sink.write(pa.table({"a": [1]}))
    with pytest.raises(ValueError, match="part"):
        ParquetSink(tmp_path, "t", partition_by="hour")


def test_a_failed_write_publishes_nothing(tmp_path: Path) -> None:
    table = performance_table()
    sink = ParquetSink(tmp_path, "p", part=0, partition_by="hour")
    with pytest.raises(RuntimeError), sink:
        sink.write(table)
        raise RuntimeError("task failed")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


json_values = st.one_of(
    st.none(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
)


@settings(max_examples=60, deadline=None)
@given(
    ints=st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), min_size=1, max_size=20),
    texts=st.lists(st.one_of(st.none(), st.text()), min_size=20, max_size=20),
    floats=st.lists(st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)),
                    min_size=20, max_size=20),
    flags=st.lists(st.one_of(st.none(), st.booleans()), min_size=20, max_size=20),
)
def test_jsonl_encoding_is_valid_json_with_the_same_values(
    ints: list[int | None], texts: list[str | None], floats: list[float | None],
    flags: list[bool | None],
) -> None:
    n = len(ints)
    hours = [datetime(2026, 1, 1) + timedelta(hours=i) for i in range(n)]
    table = pa.table({
        "i": pa.array(ints, pa.int64()), 's"k\\ey': pa.array(texts[:n], pa.string()),
        "f": pa.array(floats[:n], pa.float64()), "b": pa.array(flags[:n], pa.bool_()),
        "hour": pa.array(hours, pa.timestamp("s")),
    })
    lines = b"".join(bytes(b) for b in encode_jsonl(table)).decode().split("\n")
    assert lines[-1] == "" and len(lines) == n + 1
    rows = [json.loads(line) for line in lines[:-1]]
    assert [r["i"] for r in rows] == ints
    assert [r['s"k\\ey'] for r in rows] == texts[:n]
    assert [r["f"] for r in rows] == floats[:n]
    assert [r["b"] for r in rows] == flags[:n]
    assert [r["hour"] for r in rows] == [h.isoformat() for h in hours]


def test_jsonl_non_finite_floats_are_null() -> None:
    table = pa.table({"f": [float("nan"), float("inf"), -float("inf"), 1.5]})
    text_out = b"".join(bytes(b) for b in encode_jsonl(table)).decode()
    assert [json.loads(line)["f"] for line in text_out.splitlines()] == [None, None, None, 1.5]


def test_database_sink_inserts_in_the_callers_transaction(sqlite_engine: Engine) -> None:
    rows = pa.table({"id": [1, 2], "name": ["A", "B"], "industry": ["automotive"] * 2,
                     "domain": ["a.example", "b.example"], "currency": ["USD"] * 2,
                     "status": ["active"] * 2})
    def count() -> int:
        with sqlite_engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM advertisers")).scalar_one())

    with sqlite_engine.connect() as conn, conn.begin() as tx:
        DatabaseSink(conn, "advertisers").write(rows)
        tx.rollback()
    assert count() == 0
    with sqlite_engine.begin() as conn, DatabaseSink(conn, "advertisers") as sink:
        sink.write(rows)
    assert sink.rows == 2 and count() == 2
