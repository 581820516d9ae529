"""How command results are written: plain JSON values, Rich tables, sizes for humans.

`to_jsonable` turns domain values (Decimal, datetime, enums, dataclasses, Pydantic models)
into plain JSON types; `render` draws the same data as Rich tables. Rich is imported inside
the functions, so `adsgen --help` does not load it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["console", "human_bytes", "render", "to_jsonable"]


def to_jsonable(value: Any) -> Any:
    """`value` as plain JSON types: Decimal → number, datetime → ISO text, enum → its value,
    Pydantic models and dataclasses → objects, sets → sorted lists."""
    if isinstance(value, Enum):
        return to_jsonable(value.value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, Mapping):
        return {str(to_jsonable(k)): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((to_jsonable(v) for v in value), key=str)
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    if hasattr(value, "model_dump"):  # a Pydantic model, without importing pydantic
        return to_jsonable(value.model_dump(mode="json"))
    return str(value)


def human_bytes(size: int | None) -> str:
    """'12.3 MB' for humans; 'unknown' when the database cannot say."""
    if size is None:
        return "unknown"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def console(*, stderr: bool = False) -> Console:
    """A Rich console on stdout (results) or stderr (notes, progress)."""
    from rich.console import Console

    return Console(stderr=stderr, soft_wrap=False)


def _rows(value: Any) -> list[Mapping[str, Any]] | None:
    """`value` as a list of row mappings, or None when it is not one."""
    if isinstance(value, Sequence) and not isinstance(value, str) and value:
        rows = [to_jsonable(v) for v in value]
        if all(isinstance(r, Mapping) for r in rows):
            return rows
    return None


def _cell(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 100 else f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(_cell(v) for v in value)
    return str(value)


def render(console: Console, result: Any, *, title: str) -> None:
    """Draw `result` as tables: a mapping as key/value rows (each nested mapping or list of
    mappings as a table of its own), a list of mappings as one table, a column per key."""
    from rich.table import Table

    data = to_jsonable(result)
    rows = _rows(data)
    if rows is not None:
        table = Table(title=title or None, title_justify="left")
        columns = list(dict.fromkeys(key for row in rows for key in row))
        for column in columns:
            numeric = all(isinstance(r.get(column), int | float) for r in rows)
            table.add_column(column, justify="right" if numeric else "left")
        for row in rows:
            table.add_row(*(_cell(row.get(column, "")) for column in columns))
        console.print(table)
        return
    if not isinstance(data, Mapping):
        console.print(_cell(data), highlight=False)
        return
    summary = Table(title=title or None, title_justify="left", show_header=False)
    summary.add_column(style="bold")
    summary.add_column()
    nested: list[tuple[str, Any]] = []
    for key, value in data.items():
        if isinstance(value, Mapping) or _rows(value) is not None:
            nested.append((key, value))
        else:
            summary.add_row(key, _cell(value))
    if summary.row_count:
        console.print(summary)
    for key, value in nested:
        if isinstance(value, Mapping):
            table = Table(title=key, title_justify="left", show_header=False)
            table.add_column(style="bold")
            table.add_column(justify="right")
            for k, v in value.items():
                table.add_row(k, _cell(v))
            console.print(table)
        else:
            render(console, value, title=key)
