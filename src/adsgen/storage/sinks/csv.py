"""CSV sink: Arrow's C++ CSV writer, a header line, timestamps as `YYYY-MM-DD HH:MM:SS`.

No per-row Python: `pyarrow.csv.CSVWriter` formats whole columns.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from adsgen.storage.sinks.base import FileSink, TableWriter

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["CsvSink"]


class CsvSink(FileSink):
    """Writes `.csv` files with a header (see FileSink for naming)."""

    extension: ClassVar[str] = "csv"

    def _open(self, path: Path, schema: pa.Schema) -> TableWriter:
        import pyarrow.csv as pacsv

        options = pacsv.WriteOptions(include_header=True, quoting_style="needed")
        writer: TableWriter = pacsv.CSVWriter(path, schema, write_options=options)
        return writer
