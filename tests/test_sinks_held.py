"""HeldRows and the partitioned sinks: each date's rows come out whole, in arrival order,
within the memory caps, and the bytes depend only on the rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adsgen.storage.sinks import ParquetSink
from adsgen.storage.sinks.base import TableWriter
from adsgen.storage.sinks.held import HeldRows, days_of

DAY = 86_400


def rows(days: list[int], start: int = 0) -> pa.Table:
    """A table with one row per entry of `days` (a day number), numbered from `start`."""
    seconds = np.asarray(days, dtype=np.int64) * DAY + 3600 * (np.arange(len(days)) % 24)
    return pa.table({
        "n": pa.array(np.arange(start, start + len(days), dtype=np.int64)),
        "hour": pa.array(seconds * 1_000_000, pa.timestamp("us", "UTC")),
    })


@settings(max_examples=60, deadline=None)
@given(
    calls=st.lists(st.lists(st.integers(20_000, 20_040), max_size=30), min_size=1, max_size=12),
    stage=st.integers(1, 40), span=st.integers(1, 9), group=st.integers(1, 60),
    held=st.integers(1, 120),
)
def test_each_date_comes_out_in_arrival_order_within_the_caps(
    calls: list[list[int]], stage: int, span: int, group: int, held: int
) -> None:
    out: list[tuple[int, pa.Table]] = []
    holder = HeldRows("hour", lambda day, table: out.append((day, table)),
                      stage_rows=stage, span_days=span, group_rows=group, held_rows=held)
    tables, numbered = [], 0
    for days in calls:
        tables.append(rows(days, numbered))
        numbered += len(days)
        holder.add(tables[-1])
        assert holder.rows < held + stage  # the caps bound what stays held
    holder.flush()
    assert holder.rows == 0
    given_rows = pa.concat_tables(tables)
    expected = days_of(given_rows.column("hour"))
    for day, table in out:
        assert table.column("hour").num_chunks <= 1
        assert set(days_of(table.column("hour")).tolist()) == {day}
    # every row once; per date, in the order the rows came
    written = pa.concat_tables([t for _, t in out]) if out else given_rows.slice(0, 0)
    assert sorted(written.column("n").to_pylist()) == list(range(numbered))
    for day in set(expected.tolist()):
        came = [t.column("n").to_pylist() for d, t in out if d == day]
        assert [n for chunk in came for n in chunk] == np.flatnonzero(expected == day).tolist()


def test_without_caps_each_date_is_written_once_in_date_order() -> None:
    out: list[int] = []
    holder = HeldRows("hour", lambda day, table: out.append(day), stage_rows=5, span_days=3)
    for start in range(0, 200, 10):  # each call spans many dates, as a line item's flight
        holder.add(rows([20_000 + (start + i) % 17 for i in range(10)], start))
    assert out == []  # nothing is written before flush
    holder.flush()
    assert out == sorted(set(out)) and len(out) == 17


def test_a_partitioned_part_gets_one_row_group_per_date_whatever_the_writes(
    tmp_path: Path,
) -> None:
    """Many small writes, each spanning every date (line items of a long flight): one row
    group per date file, and the same bytes as one big write."""
    days = [20_000 + i % 30 for i in range(3_000)]
    whole = rows(days)
    for name, pieces in (("small", 100), ("one", 1)):
        with ParquetSink(tmp_path / name, "performance", part=0, partition_by="hour") as sink:
            for piece in np.array_split(np.arange(whole.num_rows), pieces):
                sink.write(whole.take(pa.array(piece)))
        assert sink.rows == whole.num_rows and len(sink.files) == 30
    for path in (tmp_path / "small").rglob("*.parquet"):
        assert pq.ParquetFile(path).metadata.num_row_groups == 1
        same = tmp_path / "one" / path.relative_to(tmp_path / "small")
        assert path.read_bytes() == same.read_bytes()
        n = pq.read_table(path).column("n").to_numpy()
        assert np.all(np.diff(n) > 0)  # the rows of a date keep their order


def test_an_unpartitioned_part_writes_large_row_groups(tmp_path: Path) -> None:
    table = rows([20_000] * 100)
    with ParquetSink(tmp_path, "reach", part=3) as sink:
        for i in range(100):
            sink.write(table.slice(i, 1))
    path = tmp_path / "reach" / "part-000003.parquet"
    assert pq.ParquetFile(path).metadata.num_row_groups == 1
    assert pq.read_table(path).column("n").to_pylist() == list(range(100))


def test_a_failure_while_closing_publishes_nothing(tmp_path: Path) -> None:
    """The held dates are written at close: the second file failing removes the first."""
    sink = ParquetSink(tmp_path, "performance", part=0, partition_by="hour")
    sink.write(rows([20_000, 20_001, 20_002]))
    opened: list[Path] = []
    real = sink._open

    def flaky(path: Path, schema: pa.Schema) -> TableWriter:
        if opened:
            raise OSError("disk full")
        opened.append(path)
        return real(path, schema)

    sink._open = flaky  # type: ignore[method-assign]
    with pytest.raises(OSError, match="disk full"):
        sink.close()
    assert opened and [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_spilled_rows_come_back_as_held_in_memory_and_the_file_goes(tmp_path: Path) -> None:
    """With a spill file the compressed pieces live on disk, not in memory: the same dates
    come out with the same rows, and the file is gone after flush (and after clear)."""
    calls = [rows([20_000 + (start + i) % 40 for i in range(50)], start)
             for start in range(0, 2_000, 50)]
    spill = tmp_path / ".part-000000.held.tmp"
    out: dict[str, list[tuple[int, pa.Table]]] = {"memory": [], "spill": []}
    holders = {
        "memory": HeldRows("hour", lambda d, t: out["memory"].append((d, t)), stage_rows=120,
                           span_days=4),
        "spill": HeldRows("hour", lambda d, t: out["spill"].append((d, t)), stage_rows=120,
                          span_days=4, spill=spill),
    }
    for table in calls:
        for holder in holders.values():
            holder.add(table)
    assert spill.stat().st_size > 0
    pieces = [p for group in holders["spill"]._groups.values() for p in group]
    assert pieces and all(isinstance(p.data, tuple) for p in pieces)  # none in memory
    for holder in holders.values():
        holder.flush()
    assert not spill.exists()
    assert [d for d, _ in out["spill"]] == [d for d, _ in out["memory"]]
    for (_, spilled), (_, held) in zip(out["spill"], out["memory"], strict=True):
        assert spilled.equals(held)
    again = HeldRows("hour", lambda d, t: None, stage_rows=10, spill=spill)
    for table in calls[:5]:
        again.add(table)
    assert spill.exists()
    again.clear()
    assert not spill.exists()


def test_a_partitioned_part_leaves_no_spill_file(tmp_path: Path) -> None:
    days = [20_000 + i % 30 for i in range(300_000)]
    with ParquetSink(tmp_path, "performance", part=7, partition_by="hour") as sink:
        for piece in np.array_split(np.arange(len(days)), 10):
            sink.write(rows([days[i] for i in piece], int(piece[0])))
    assert len(sink.files) == 30
    assert sorted(p.name for p in (tmp_path / "performance").iterdir()
                  if not p.is_dir()) == []
