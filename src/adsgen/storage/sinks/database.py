"""Database sink: Arrow tables into a table of an open connection by the dialect's bulk path.

A thin adapter over `adsgen.storage.database.bulk_insert`, so code that writes tables can target a
database like a file; the caller owns the connection and its transaction.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Self

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlalchemy import Connection

__all__ = ["DatabaseSink"]


class DatabaseSink:
    """Appends to table `name` through `conn` (COPY, executemany …); `rows` counts them.

    Nothing is committed here: the rows become visible when the caller's transaction
    commits, and vanish if it rolls back.
    """

    def __init__(self, conn: Connection, name: str) -> None:
        self.conn = conn
        self.name = name
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        """Insert `table`'s rows."""
        from adsgen.storage.database import bulk_insert

        self.rows += bulk_insert(self.conn, self.name, table)

    def close(self) -> None:
        """Nothing to release: the connection belongs to the caller."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
