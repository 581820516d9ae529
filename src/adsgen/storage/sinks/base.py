"""The Sink protocol and the file-sink base that names, partitions and finalises files.

A sink takes Arrow tables (`write`) and releases its resources (`close`); it is usable
with `with`. File sinks write one table either as one file (`<dir>/<name>.<ext>`, entity
tables) or as one task's part files (`<dir>/<name>/part-<part>.<ext>`), optionally split
into hive partitions by the UTC date of a timestamp column
(`<dir>/<name>/date=YYYY-MM-DD/part-<part>.<ext>`). File names depend only on the table
name, the part (task/block) index and the data, never on a worker, a process or the
clock, so every engine and worker count writes the same bytes. Each file is written under
a hidden temporary name and renamed on `close`, so readers never see half a file. Every
timestamp column is written as `timestamp[us, tz=UTC]` (`adsgen.domain.fields.utc_timestamps`),
whatever the producer gave, and as ISO 8601 text with a `Z` in the text formats
(`iso_timestamps`); column descriptions stay in the data dictionary, not in the files.
"""

from __future__ import annotations

import contextlib
import os
from abc import ABC, abstractmethod
from datetime import date, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, ClassVar, Protocol, Self, runtime_checkable

from adsgen.domain.fields import utc_timestamps
from adsgen.storage.sinks.held import HeldRows

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "PARTITION_KEY",
    "PART_ROWS",
    "FileSink",
    "Sink",
    "TableWriter",
    "iso_timestamps",
    "part_name",
]

# Hive partition key of the date-partitioned tables (`date=YYYY-MM-DD/`).
PARTITION_KEY = "date"
_EPOCH = date(1970, 1, 1)
PART_ROWS = 100_000
"""Rows an unpartitioned part holds before writing them as one row group (~14 MB of `reach`)."""


@runtime_checkable
class Sink(Protocol):
    """Where generated tables go: `write` any number of tables, then `close` (or use `with`)."""

    def write(self, table: pa.Table) -> None:
        """Append the rows of `table` (its schema must match earlier writes)."""

    def close(self) -> None:
        """Flush and release everything; the output is complete only after this."""

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class TableWriter(Protocol):
    """One open output file of a given schema (what a FileSink subclass opens)."""

    def write(self, table: pa.Table) -> None: ...

    def close(self) -> None: ...


def part_name(part: int, extension: str) -> str:
    """`part-000042.parquet`: the file of task/block `part`, zero-padded so names sort."""
    return f"part-{part:06d}.{extension}"


def iso_timestamps(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """ISO 8601 text of timestamps: 'YYYY-MM-DDTHH:MM:SSZ' (fractions only when there are any).

    `Z` for UTC-aware values (adsgen's), none for naive ones. Arrow's cast to string is ~40x
    faster than `strftime`; it puts a space where ISO wants T.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if values.type.unit != "s":
        with contextlib.suppress(pa.ArrowInvalid):  # a safe cast fails when it would lose data
            values = values.cast(pa.timestamp("s", values.type.tz))
    return pc.utf8_replace_slice(values.cast(pa.string()), 10, 11, "T")


def _without_field_metadata(table: pa.Table) -> pa.Table:
    """`table` without its columns' metadata (descriptions live in the data dictionary;
    Parquet would repeat them in every part file, ~6.5 KB each)."""
    import pyarrow as pa

    if not any(f.metadata for f in table.schema):
        return table
    plain = pa.schema([f.remove_metadata() for f in table.schema], metadata=table.schema.metadata)
    return pa.Table.from_arrays(table.columns, schema=plain)


class FileSink(ABC):
    """Base of the file formats: one table → one file, or one task's (partitioned) parts.

    `directory` is the output root; `name` the table name. With `part=None` the table is
    one file `<directory>/<name>.<ext>` (written even when empty, so readers see the
    schema). With `part=k` this task writes `<directory>/<name>/part-k.<ext>`; with
    `partition_by="hour"` also split by that column's UTC date into `date=YYYY-MM-DD/`.
    After `close`, `rows` is the number of rows written, `files` maps each file written
    to its size in bytes and `file_rows` to its rows.

    A part's rows are held and written in large pieces, never call by call: an unpartitioned
    part writes every PART_ROWS rows; a partitioned one holds its rows compressed
    (`HeldRows`, spilled to a hidden file in the table's folder) and writes each date's rows
    at `close`, one row group (one `write`) per
    date file unless a memory cap forced an earlier piece out. What is written where depends
    only on the rows and their order, so equal rows give equal bytes.
    """

    extension: ClassVar[str]

    def __init__(
        self,
        directory: Path,
        name: str,
        *,
        part: int | None = None,
        partition_by: str | None = None,
    ) -> None:
        if partition_by is not None and part is None:
            raise ValueError("a partitioned sink writes parts: give `part` too")
        self.directory = Path(directory)
        self.name = name
        self.part = part
        self.partition_by = partition_by
        self.rows = 0
        self.files: dict[Path, int] = {}
        self.file_rows: dict[Path, int] = {}
        self._schema: pa.Schema | None = None
        self._writers: dict[Path, TableWriter] = {}
        self._done: list[Path] = []  # files finished under their temporary names
        self._closed = False
        self._closing = False
        self._pending: list[pa.Table] = []  # an unpartitioned part's rows not yet written
        self._pending_rows = 0
        self._held = (None if partition_by is None
                      else HeldRows(partition_by, self._write_day, spill=self._spill_path()))

    # --- subclass hook ----------------------------------------------------------------

    @abstractmethod
    def _open(self, path: Path, schema: pa.Schema) -> TableWriter:
        """Open a writer for a new file at `path` (a temporary name) with `schema`."""

    # --- naming -------------------------------------------------------------------------

    def path_for(self, partition: str | None = None) -> Path:
        """The final path of the file holding `partition` (a YYYY-MM-DD date, or None)."""
        if self.part is None:
            return self.directory / f"{self.name}.{self.extension}"
        folder = self.directory / self.name
        if partition is not None:
            folder = folder / f"{PARTITION_KEY}={partition}"
        return folder / part_name(self.part, self.extension)

    def _spill_path(self) -> Path:
        """Where a partitioned part spills the rows it holds (HeldRows): a hidden file in
        the table's folder, removed when the part closes or aborts."""
        assert self.part is not None
        return self.directory / self.name / f".{part_name(self.part, 'held')}.tmp"

    @staticmethod
    def _temporary(path: Path) -> Path:
        # A leading dot hides it from pyarrow.dataset, DuckDB globs and Spark.
        return path.with_name(f".{path.name}.tmp")

    # --- Sink ---------------------------------------------------------------------------

    def write(self, table: pa.Table) -> None:
        """Append `table`'s rows to this sink's file(s)."""
        if self._closed:
            raise ValueError(f"sink for {self.name!r} is closed")
        table = _without_field_metadata(utc_timestamps(table))
        if self._schema is None:
            self._schema = table.schema
        elif not table.schema.equals(self._schema):
            raise ValueError(
                f"table {self.name!r}: schema changed between writes:\n{table.schema}"
            )
        if table.num_rows == 0:
            return
        self.rows += table.num_rows
        if self._held is not None:
            self._held.add(table)
        elif self.part is None:
            self._write(self.path_for(None), table)
        else:
            self._pending.append(table)
            self._pending_rows += table.num_rows
            if self._pending_rows >= PART_ROWS:
                self._write_pending()

    def _write_pending(self) -> None:
        import pyarrow as pa

        if self._pending:
            table = pa.concat_tables(self._pending)
            self._pending, self._pending_rows = [], 0
            self._write(self.path_for(None), table)

    def _write_day(self, day: int, table: pa.Table) -> None:
        """HeldRows' callback: the rows of one date (days since 1970-01-01)."""
        path = self.path_for((_EPOCH + timedelta(days=day)).isoformat())
        self._write(path, table)
        if self._closing:  # nothing more comes for this date: finish its file now
            self._finish(path)

    def _write(self, path: Path, table: pa.Table) -> None:
        self._writer(path).write(table)
        self.file_rows[path] = self.file_rows.get(path, 0) + table.num_rows

    def _writer(self, path: Path) -> TableWriter:
        writer = self._writers.get(path)
        if writer is None:
            assert self._schema is not None
            path.parent.mkdir(parents=True, exist_ok=True)
            writer = self._writers[path] = self._open(self._temporary(path), self._schema)
        return writer

    def close(self) -> None:
        """Write what is held, finish every file and move it to its final name; idempotent.

        Should writing fail here, nothing is published (as `abort`)."""
        if self._closed:
            return
        self._closing = True
        try:
            if self._held is not None:
                self._held.flush()
            self._write_pending()
            if self.part is None and not self._writers and self._schema is not None:
                self._writer(self.path_for(None))  # an empty table still gets its file
            for path in list(self._writers):
                self._finish(path)
        except BaseException:
            self.abort()
            raise
        self._closed = True
        for path in self._done:
            os.replace(self._temporary(path), path)
            self.files[path] = path.stat().st_size
            self.file_rows.setdefault(path, 0)
        self._done.clear()

    def _finish(self, path: Path) -> None:
        """Close the file of `path` (still under its temporary name until `close` ends)."""
        self._writers.pop(path).close()
        self._done.append(path)

    def abort(self) -> None:
        """Drop what is held, close and delete the temporary files after a failure (nothing
        is published)."""
        self._closed = True
        if self._held is not None:
            self._held.clear()
        self._pending, self._pending_rows = [], 0
        for path, writer in self._writers.items():
            try:
                writer.close()
            finally:
                self._temporary(path).unlink(missing_ok=True)
        for path in self._done:
            self._temporary(path).unlink(missing_ok=True)
        self._writers.clear()
        self._done.clear()

    @property
    def bytes(self) -> int:
        """Total size of the files written (known after `close`)."""
        return sum(self.files.values())

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
