"""CSV sink: Arrow's C++ CSV writer, a header line, timestamps as ISO 8601 UTC text.

No per-row Python: `pyarrow.csv.CSVWriter` formats whole columns, and timestamp columns are
turned into `YYYY-MM-DDTHH:MM:SSZ` text by one vectorized cast per write (the `Z` keeps
them UTC-aware for every reader: pyarrow, DuckDB, pandas, PostgreSQL's COPY).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from adsgen.storage.sinks.base import FileSink, TableWriter, iso_timestamps

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["CsvSink"]


class _CsvWriter:
    """An open `.csv` file whose timestamp columns are written as ISO 8601 text."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        self._timestamps = [i for i, f in enumerate(schema) if pa.types.is_timestamp(f.type)]
        text = pa.schema([
            f.with_type(pa.string()) if i in self._timestamps else f for i, f in enumerate(schema)
        ])
        options = pacsv.WriteOptions(include_header=True, quoting_style="needed")
        self._writer = pacsv.CSVWriter(path, text, write_options=options)

    def write(self, table: pa.Table) -> None:
        for i in self._timestamps:
            table = table.set_column(i, table.field(i).name, iso_timestamps(table.column(i)))
        self._writer.write(table)

    def close(self) -> None:
        self._writer.close()


class CsvSink(FileSink):
    """Writes `.csv` files with a header (see FileSink for naming)."""

    extension: ClassVar[str] = "csv"

    def _open(self, path: Path, schema: pa.Schema) -> TableWriter:
        return _CsvWriter(path, schema)
