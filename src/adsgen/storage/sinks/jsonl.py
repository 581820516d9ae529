"""JSON lines sink, vectorized: each column is formatted as JSON text by Arrow compute
kernels, the columns are joined element-wise with their keys, and the resulting string
buffer is written as is — no per-row `json.dumps`.

Numbers are JSON numbers (NaN and ±inf become null), booleans true/false, strings are
escaped and quoted, timestamps are `"YYYY-MM-DDTHH:MM:SSZ"` (UTC), dates
`"YYYY-MM-DD"`, nulls null. Types Arrow cannot format (lists, structs, …) fall back to
`json.dumps` of that column only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, ClassVar

import numpy as np

from adsgen.storage.sinks.base import FileSink, TableWriter, iso_timestamps

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["JsonlSink", "encode_jsonl"]

# Rows formatted per kernel call: bounds the temporary strings (~ rows × line length).
_CHUNK_ROWS = 65_536
# (character, escape) pairs JSON requires, backslash first.
_ESCAPES = (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t"))
_OTHER_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"
_NEEDS_ESCAPE = r'["\\\x00-\x1f]'  # a quote, a backslash or a control character


def _json_strings(values: pa.Array, *, plain: bool = False) -> pa.Array:
    """Quoted, escaped JSON strings (nulls stay null); `plain`: nothing needs escaping."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = values.cast(pa.string())
    if not plain and pc.any(pc.match_substring_regex(text, _NEEDS_ESCAPE)).as_py():
        for char, escape in _ESCAPES:
            text = pc.replace_substring(text, char, escape)
        rare = pc.match_substring_regex(text, _OTHER_CONTROL)
        if pc.any(rare).as_py():  # \b, \f, NUL …: escape those few values exactly
            fixed = [json.dumps(v)[1:-1] if r else None for v, r in zip(
                values.cast(pa.string()).to_pylist(), rare.to_pylist(), strict=True
            )]
            text = pc.if_else(rare, pa.array(fixed, pa.string()), text)
    return pc.binary_join_element_wise('"', text, '"', "")


def _json_column(values: pa.Array) -> pa.Array:
    """One column as JSON value texts (null → "null")."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = values.type
    if pa.types.is_dictionary(kind):
        return _json_column(values.cast(kind.value_type))
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind) or pa.types.is_decimal(kind):
        text = values.cast(pa.string())
    elif pa.types.is_floating(kind):
        finite = pc.is_finite(values)
        text = pc.if_else(finite, values.cast(pa.string()), pa.scalar(None, pa.string()))
    elif pa.types.is_timestamp(kind):
        text = _json_strings(iso_timestamps(values), plain=True)
    elif pa.types.is_date(kind):
        text = _json_strings(values, plain=True)
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = _json_strings(values)
    elif pa.types.is_null(kind):
        text = pa.nulls(len(values), pa.string())
    else:
        text = pa.array(
            [json.dumps(v, default=str, ensure_ascii=False) for v in values.to_pylist()],
            pa.string(),
        )
    return pc.fill_null(text, "null")


def encode_jsonl(table: pa.Table) -> list[pa.Buffer]:
    """The JSON lines of `table` (one object per row, '\\n'-terminated) as UTF-8 buffers."""
    import pyarrow.compute as pc

    keys = [json.dumps(name, ensure_ascii=False) for name in table.column_names]
    buffers: list[pa.Buffer] = []
    for offset in range(0, table.num_rows, _CHUNK_ROWS):
        chunk = table.slice(offset, _CHUNK_ROWS).combine_chunks()
        parts: list[Any] = []
        for i, (key, column) in enumerate(zip(keys, chunk.columns, strict=True)):
            parts.append(("{" if i == 0 else ",") + key + ":")
            parts.append(_json_column(column.chunk(0) if column.num_chunks else column))
        parts.append("}\n")
        lines = pc.binary_join_element_wise(*parts, "")
        _, offsets, data = lines.buffers()
        bounds = np.frombuffer(offsets, np.int32)[lines.offset : lines.offset + len(lines) + 1]
        buffers.append(data[int(bounds[0]) : int(bounds[-1])])
    return buffers


class _JsonlWriter:
    """An open `.jsonl` file; `write` appends the encoded rows."""

    def __init__(self, path: Path) -> None:
        self._file: IO[bytes] = open(path, "wb")  # noqa: SIM115 - closed by close()

    def write(self, table: pa.Table) -> None:
        for buffer in encode_jsonl(table):
            self._file.write(memoryview(buffer))

    def close(self) -> None:
        self._file.close()


class JsonlSink(FileSink):
    """Writes `.jsonl` files, one JSON object per row (see FileSink for naming)."""

    extension: ClassVar[str] = "jsonl"

    def _open(self, path: Path, schema: pa.Schema) -> TableWriter:
        return _JsonlWriter(path)
