"""Sinks: where generated tables go, behind one tiny interface (`write`, `close`, `with`).

File formats are looked up by name in `SINKS` (the CLI's `--format`, `registry.sink`):
each class is built as `cls(directory, table_name, *, part=None, partition_by=None)`
(see `FileSink`). `DatabaseSink(conn, table_name)` writes through the dialect's bulk path.
"""

from __future__ import annotations

from adsgen.storage.sinks.base import PARTITION_KEY, FileSink, Sink, part_name
from adsgen.storage.sinks.csv import CsvSink
from adsgen.storage.sinks.database import DatabaseSink
from adsgen.storage.sinks.jsonl import JsonlSink, encode_jsonl
from adsgen.storage.sinks.parquet import ParquetSink

__all__ = [
    "PARTITION_KEY",
    "SINKS",
    "CsvSink",
    "DatabaseSink",
    "FileSink",
    "JsonlSink",
    "ParquetSink",
    "Sink",
    "encode_jsonl",
    "get_sink",
    "part_name",
]

# File format name → sink class. Plugins may add entries (entry point group adsgen.plugins).
SINKS: dict[str, type[FileSink]] = {
    "parquet": ParquetSink,
    "csv": CsvSink,
    "jsonl": JsonlSink,
}


def get_sink(name: str) -> type[FileSink]:
    """The sink class of file format `name`; UnknownNameError lists the known formats."""
    from adsgen.exceptions import UnknownNameError

    try:
        return SINKS[name]
    except KeyError:
        raise UnknownNameError("format", name, SINKS) from None
