"""Rows of one task's date-partitioned table, held compressed until each date is written whole.

A block's rows arrive line item by line item, each line item spanning its whole flight, while
its files are one per UTC date. Written as they come, every date file got one small row
group per flush (a year-long block: 13 row groups of ~1,900 rows per file), and small row
groups are both slow (zstd starts afresh for every column chunk: 42 % of a block's time went
into 5,121 `write_table` calls) and big on disk (2.2x the bytes of one row group per date).
Holding a block's rows as Arrow until the end would take ~150 bytes a row (1.4 GB for the
9.6 M rows of a year-long block). So `HeldRows` holds them compressed:

1. incoming tables are staged as they come until `stage_rows` rows (a bounded amount of
   plain Arrow: the tables the caller gave, no copy);
2. the staged tables are cut into groups of `span_days` consecutive dates (days since 1970
   // span_days); each group's rows of the stage are taken at once in date order (one
   copy: a stable sort by date, per staged table) and kept as one zstd-compressed Arrow IPC
   stream (~5.5 bytes a row for the performance table) with where each date's runs start;
3. when the sink closes, groups are decompressed one at a time, in date order, and each date's
   rows — every stage's rows of that date, in arrival order — come out as one table (one row
   group in Parquet). The last stage is cut the same way but not compressed: it is written
   at once. Memory: one stage, the compressed pieces, and one group as Arrow.

Given a `spill` path (the file sinks give a hidden file beside the part's folders), the
compressed pieces are appended to that file instead of memory and read back group by group:
a year-long block holds ~20 bytes a row compressed (10 M rows: ~200 MB), which made a
worker's memory grow with its block; spilled, it stays that of one stage and one group (the
pages sit in the OS's cache, which it may drop). The file is removed on `flush` and `clear`.

Two caps keep memory bounded whatever the block size: a group holding `group_rows` rows is
written at once (its dates then get a second row group if more rows come), and when all the
groups together hold `held_rows`, the largest are written until they hold half. Everything
depends only on the rows and their order — never on timing, the process or the engine — so
the bytes written are a pure function of the block's rows.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["GROUP_ROWS", "HELD_ROWS", "SPAN_DAYS", "STAGE_ROWS", "HeldRows", "days_of"]

STAGE_ROWS = 62_500
"""Rows staged as plain Arrow before they are compressed: ~10 MB of the performance table,
but the staged tables are the simulation's batches as given, each table's of every batch.
A year-long block (benchmarks/bench_block.py, 20,000 × 365, idle machine, twice each):
peak 379 MiB and 39.3-39.9 CPU s at 125,000, 318-320 MiB and 38.5-39.2 s at 62,500 (the
same bytes written); 250,000 measured 6 % less CPU and 30 MiB more than 125,000."""
SPAN_DAYS = 14
"""Consecutive dates per group: what is decompressed at once when writing (a year-long block
of 9.6 M rows: ~370 k rows, ~56 MB). Fewer days mean more, smaller compressed pieces."""
GROUP_ROWS = 500_000
"""A group holding this many rows is written at once (bounds the Arrow of one group)."""
HELD_ROWS = 16_000_000
"""Rows all the groups may hold (compressed: ~320 MB of the performance table, in the spill
file when there is one) before the largest groups are written."""
_CODEC = "zstd"  # 2x smaller than lz4 on these columns and as fast to write (measured)


def days_of(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Days since 1970-01-01 (int32) of timestamps (their UTC date) or of dates."""
    import pyarrow as pa

    if pa.types.is_date32(values.type):
        return np.asarray(values.cast(pa.int32()).to_numpy())
    if not pa.types.is_timestamp(values.type):
        raise TypeError(f"a date partition needs a timestamp or date column, not {values.type}")
    return np.asarray(values.cast(pa.date32()).cast(pa.int32()).to_numpy())


def _date_order(days: np.ndarray) -> np.ndarray | None:
    """The stable order that sorts `days`, or None when they are in order already.

    Days relative to the first fit 16 bits for any span under 179 years, and NumPy sorts
    16-bit integers stably with a radix sort (linear, ~4x timsort on a block's stage)."""
    if days.size == 0 or bool(np.all(days[1:] >= days[:-1])):
        return None
    low = int(days.min())
    if int(days.max()) - low < 1 << 16:
        return np.argsort((days - low).astype(np.uint16), kind="stable")
    return np.argsort(days, kind="stable")


@dataclass(frozen=True, slots=True)
class _Piece:
    """One stage's rows of one group, with the runs of each date in them: compressed (an
    Arrow IPC stream, in memory or at (offset, size) of the spill file) while held, plain
    when the sink is flushing (written at once)."""

    data: pa.Buffer | pa.Table | tuple[int, int]
    days: np.ndarray  # the date of each run of rows (a date has one run per staged table)
    bounds: np.ndarray  # the rows of run i are bounds[i]:bounds[i + 1]

    @property
    def rows(self) -> int:
        return int(self.bounds[-1])

    def table(self, spill: BinaryIO | None) -> pa.Table:
        """The piece's rows as Arrow (read back from `spill`, decompressed, when held
        compressed)."""
        import pyarrow as pa

        if isinstance(self.data, pa.Table):
            return self.data
        data = self.data
        if isinstance(data, tuple):
            assert spill is not None
            offset, size = data
            spill.seek(offset)  # appends seek to the end first (`HeldRows._keep`)
            data = pa.py_buffer(spill.read(size))
        return pa.ipc.open_stream(data).read_all()


class HeldRows:
    """Rows of one date-partitioned table held until each date can be written in one piece.

    `add` takes a table (every call with the same schema); `write(day, rows)` is called
    for each date a cap forces out and, on `flush`, for every date still held, in date
    order. Days are days since 1970-01-01 of `column`'s UTC date; each day's rows keep their
    arrival order and come out as one single-chunk table.
    """

    def __init__(
        self,
        column: str,
        write: Callable[[int, pa.Table], None],
        *,
        stage_rows: int = STAGE_ROWS,
        span_days: int = SPAN_DAYS,
        group_rows: int = GROUP_ROWS,
        held_rows: int = HELD_ROWS,
        spill: Path | None = None,
    ) -> None:
        if min(stage_rows, span_days, group_rows, held_rows) < 1:
            raise ValueError("HeldRows sizes must be positive")
        self.column = column
        self.write = write
        self.stage_rows = stage_rows
        self.span_days = span_days
        self.group_rows = group_rows
        self.held_rows = held_rows
        self._stage: list[tuple[pa.Table, np.ndarray]] = []  # date-sorted, with their days
        self._staged = 0
        self._groups: dict[int, list[_Piece]] = {}
        self._rows: dict[int, int] = {}  # rows held per group
        self.spill = spill
        self._spill: BinaryIO | None = None  # opened when the first piece is compressed

    @property
    def rows(self) -> int:
        """Rows held (staged or compressed)."""
        return self._staged + sum(self._rows.values())

    def add(self, table: pa.Table) -> None:
        """Hold `table`'s rows; write the dates of any group a cap forces out.

        The table is staged as given (no copy) until the stage is cut and compressed, which
        copies each row once, in date order."""
        if table.num_rows == 0:
            return
        self._stage.append((table, days_of(table.column(self.column))))
        self._staged += table.num_rows
        if self._staged < self.stage_rows:
            return
        self._compress()
        for group in sorted(g for g, rows in self._rows.items() if rows >= self.group_rows):
            self._release(group)
        total = sum(self._rows.values())
        if total >= self.held_rows:
            # the largest first (ties: the earliest dates), until half is left
            for group in sorted(self._rows, key=lambda g: (-self._rows[g], g)):
                if total < self.held_rows // 2:
                    break
                total -= self._rows[group]
                self._release(group)

    def flush(self) -> None:
        """Write every date still held, in date order; nothing is held afterwards (the spill
        file is gone). The last stage is cut into its groups but not compressed: it is
        written at once."""
        self._compress(plain=True)
        for group in sorted(self._rows):
            self._release(group)
        self._close_spill()

    def clear(self) -> None:
        """Drop everything held (after a failure), the spill file with it."""
        self._stage, self._staged = [], 0
        self._groups.clear()
        self._rows.clear()
        self._close_spill()

    def _close_spill(self) -> None:
        if self._spill is not None:
            self._spill.close()
            self._spill = None
            assert self.spill is not None
            self.spill.unlink(missing_ok=True)

    def _keep(self, data: pa.Buffer) -> pa.Buffer | tuple[int, int]:
        """Where a compressed piece is held: appended to the spill file (its offset and
        size), or in memory without one."""
        if self.spill is None:
            return data
        if self._spill is None:
            self.spill.parent.mkdir(parents=True, exist_ok=True)
            self._spill = self.spill.open("w+b")
        offset = self._spill.seek(0, os.SEEK_END)
        self._spill.write(memoryview(data))
        return offset, data.size

    def _compress(self, *, plain: bool = False) -> None:
        """Cut the staged tables into groups; take each group's rows at once in date order
        (each staged table's rows stably sorted by date, the tables in arrival order) and
        compress them (`plain`: keep them as Arrow)."""
        import pyarrow as pa

        if not self._staged:
            return
        stage, self._stage, self._staged = self._stage, [], 0
        # group → the stage's rows of it (indices into the staged tables, concatenated), in
        # arrival order, with their date runs
        slices: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
        offset = 0
        for table, days in stage:
            order = _date_order(days)
            if order is not None:
                days = days[order]
            starts = np.flatnonzero(np.diff(days, prepend=days[0] - 1))  # first row of a date
            groups = days[starts] // self.span_days
            cuts = np.flatnonzero(np.diff(groups, prepend=groups[0] - 1))
            edges = np.append(starts, days.size)
            for lo, hi in itertools.pairwise([*cuts.tolist(), int(starts.size)]):
                first, last = int(edges[lo]), int(edges[hi])
                rows = (np.arange(first, last, dtype=np.int64) if order is None
                        else order[first:last].astype(np.int64))
                slices.setdefault(int(groups[lo]), []).append(
                    (rows + offset, days[starts[lo:hi]], edges[lo:hi] - first))
            offset += table.num_rows
        whole = pa.concat_tables([table for table, _ in stage])
        del stage
        options = pa.ipc.IpcWriteOptions(compression=_CODEC)
        for group in sorted(slices):
            parts = slices.pop(group)
            table = _take(whole, np.concatenate([rows for rows, _, _ in parts]))
            offsets = np.cumsum([0, *(rows.size for rows, _, _ in parts)])
            data: pa.Buffer | pa.Table | tuple[int, int] = table
            if not plain:
                stream = pa.BufferOutputStream()
                with pa.ipc.new_stream(stream, table.schema, options=options) as writer:
                    writer.write_table(table)
                if self.spill is None:
                    # a copy of the exact size: the stream's buffer grows by doubling (2x)
                    data = pa.py_buffer(stream.getvalue().to_pybytes())
                else:
                    data = self._keep(stream.getvalue())
                del stream
            piece = _Piece(
                data,
                np.concatenate([runs for _, runs, _ in parts]),
                np.append(np.concatenate([starts + offset for (_, _, starts), offset
                                          in zip(parts, offsets[:-1], strict=True)]),
                          table.num_rows).astype(np.int64),
            )
            del table, data
            self._groups.setdefault(group, []).append(piece)
            self._rows[group] = self._rows.get(group, 0) + piece.rows

    def _release(self, group: int) -> None:
        """Decompress one group and write its dates' rows, in date order."""
        import pyarrow as pa

        pieces = self._groups.pop(group)
        del self._rows[group]
        tables = [piece.table(self._spill) for piece in pieces]
        by_day: dict[int, list[pa.Table]] = {}
        for piece, table in zip(pieces, tables, strict=True):
            for day, lo, hi in zip(piece.days.tolist(), piece.bounds[:-1].tolist(),
                                   piece.bounds[1:].tolist(), strict=True):
                by_day.setdefault(day, []).append(table.slice(lo, hi - lo))
        del pieces, tables
        for day in sorted(by_day):
            self.write(day, pa.concat_tables(by_day.pop(day)).combine_chunks())


def _take(table: pa.Table, rows: np.ndarray) -> pa.Table:
    """`table`'s `rows` (ascending or not) as one contiguous table: a slice copied when
    the rows run in order (combine_chunks), else a take."""
    import pyarrow as pa

    first = int(rows[0]) if rows.size else 0
    if rows.size and int(rows[-1]) - first == rows.size - 1 and (
            rows.size < 2 or bool(np.all(np.diff(rows) == 1))):
        return table.slice(first, rows.size).combine_chunks()
    return table.take(pa.array(rows))
