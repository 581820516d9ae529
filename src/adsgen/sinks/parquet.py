"""Parquet sink: zstd-compressed files that DuckDB, Polars, pandas and Spark read as is.

Each file is written by `pyarrow.parquet.ParquetWriter`, one row group per `write`, with
nothing in the file that depends on time or machine, so equal tables give equal bytes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from adsgen.sinks.base import FileSink, TableWriter

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["ParquetSink"]


class ParquetSink(FileSink):
    """Writes `.parquet` files with zstd compression (see FileSink for naming)."""

    extension: ClassVar[str] = "parquet"
    compression: ClassVar[str] = "zstd"

    def _open(self, path: Path, schema: pa.Schema) -> TableWriter:
        import pyarrow.parquet as pq

        writer: TableWriter = pq.ParquetWriter(path, schema, compression=self.compression)
        return writer
