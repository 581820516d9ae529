"""Database access: engines from URLs, schema creation, sessions, and the bulk fact loader.

Entities go through the ORM in `session_scope`; the hourly fact tables go through
`bulk_insert`, which takes an Arrow table and uses the fastest path of the dialect inside
the caller's transaction: DBAPI `executemany` in large batches on SQLite, `COPY ... FROM
STDIN (FORMAT csv)` fed by Arrow's C++ CSV writer on PostgreSQL, pymysql's multi-row
`executemany` on MariaDB/MySQL. Failures a user can fix (bad URL, server down, missing
folder, read-only file) raise `adsgen.exceptions.DatabaseError` with one line naming the
URL (password masked) and the reason.
"""

from __future__ import annotations

import gc
import io
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, Table, create_engine, delete, event, func, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.engine.interfaces import ExceptionContext
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.orm import Session

from adsgen.exceptions import DatabaseError
from adsgen.settings import get_settings
from adsgen.storage.orm import Base, GroundTruth, Performance

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "bulk_insert",
    "check_connection",
    "database_size",
    "delete_facts",
    "fact_totals",
    "init_db",
    "make_engine",
    "masked_url",
    "session_scope",
    "table_counts",
]

SQLITE_BATCH_ROWS = 100_000
POSTGRES_BATCH_ROWS = 200_000
MYSQL_BATCH_ROWS = 20_000
_DELETE_CHUNK = 1_000
_SQL_DATETIME = "%Y-%m-%d %H:%M:%S"  # how adsgen.storage.orm.UtcDateTime is stored on SQLite


# --- engines ----------------------------------------------------------------------------


def masked_url(url: str | URL) -> str:
    """The URL as text with its password replaced by ***, safe to print."""
    if isinstance(url, URL):
        return url.render_as_string(hide_password=True)
    return re.sub(r"(//[^:/@]*:)[^@/]*@", r"\1***@", url)


def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLite ignores FOREIGN KEY clauses (and so ON DELETE CASCADE) unless told per connection."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


# MariaDB's "CONSTRAINT ... failed", MySQL's "Check constraint ... is violated" and the
# strict-mode "Field ... doesn't have a default value" (a NOT NULL column left out) arrive
# from pymysql as OperationalError; every other dialect says IntegrityError.
_MYSQL_CHECK_ERRNOS = frozenset({4025, 3819, 1364})


def _mysql_check_is_integrity_error(context: ExceptionContext) -> BaseException | None:
    """handle_error hook: re-raise a failed CHECK as sqlalchemy.exc.IntegrityError."""
    orig = context.original_exception
    if (
        isinstance(context.sqlalchemy_exception, OperationalError)
        and orig.args
        and orig.args[0] in _MYSQL_CHECK_ERRNOS
    ):
        multi = context.execution_context.executemany if context.execution_context else None
        return IntegrityError(context.statement, context.parameters, orig, ismulti=multi)
    return None


def make_engine(url: str | URL | None = None, **kwargs: Any) -> Engine:
    """An Engine for `url` (default: settings / ADSGEN_DATABASE_URL, else sqlite:///ads.db).

    Nothing is opened yet; `check_connection` or `init_db` does that. SQLite connections get
    `PRAGMA foreign_keys=ON`; PostgreSQL connections time out after 10 s unless the URL says
    otherwise. Extra keyword arguments go to `sqlalchemy.create_engine`.
    Raises DatabaseError for a malformed URL or a missing driver.
    """
    raw = url if url is not None else get_settings().database_url
    try:
        parsed = make_url(raw)
    except ArgumentError as exc:
        raise DatabaseError(
            f"invalid database URL {masked_url(str(raw))!r}: {exc}; expected e.g. "
            "sqlite:///ads.db or postgresql+psycopg://user@host:5432/db"
        ) from exc
    if parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        kwargs["connect_args"] = {"connect_timeout": 10, **kwargs.get("connect_args", {})}
    try:
        engine = create_engine(parsed, **kwargs)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise DatabaseError(f"cannot use database URL {masked_url(parsed)}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
    elif engine.dialect.name in ("mysql", "mariadb"):
        event.listen(engine, "handle_error", _mysql_check_is_integrity_error)
    return engine


def _one_line(exc: BaseException) -> str:
    """The driver's message on one line, without SQLAlchemy's boilerplate."""
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    args: tuple[Any, ...] = tuple(getattr(orig, "args", ()))
    if len(args) == 2 and isinstance(args[0], int):  # pymysql: (errno, message)
        return f"{' '.join(str(args[1]).split())} (error {args[0]})"
    return " ".join(str(orig).split()) or type(orig).__name__


def _sqlite_file(url: URL) -> Path | None:
    """The database file of a SQLite URL, or None for an in-memory database."""
    database = url.database or ""
    if database.startswith("file:"):
        database = database[5:].split("?", 1)[0]
    if database in ("", ":memory:") or url.query.get("mode") == "memory":
        return None
    return Path(database)


def check_connection(engine: Engine, *, write: bool = True) -> None:
    """Open a connection and, with `write`, make sure the database accepts writes.

    Raises DatabaseError with one line (masked URL + reason) when the server is unreachable,
    the credentials are wrong, a SQLite file's folder is missing, or the database is read-only.
    """
    where = masked_url(engine.url)
    sqlite_file = _sqlite_file(engine.url) if engine.dialect.name == "sqlite" else None
    if sqlite_file is not None and not sqlite_file.parent.is_dir():
        raise DatabaseError(
            f"cannot open database {where}: folder {str(sqlite_file.parent)!r} does not exist;"
            " create it or choose another path"
        )
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1").scalar()
            if write and engine.dialect.name == "sqlite":
                # Rewriting user_version (same value) touches the file: fails when read-only.
                version = conn.exec_driver_sql("PRAGMA user_version").scalar()
                conn.exec_driver_sql(f"PRAGMA user_version = {int(version or 0)}")
            elif (
                write
                and engine.dialect.name == "postgresql"
                and conn.exec_driver_sql("SHOW transaction_read_only").scalar() == "on"
            ):
                raise DatabaseError(f"cannot write to database {where}: it is read-only")
    except SQLAlchemyError as exc:
        raise DatabaseError(f"cannot use database {where}: {_one_line(exc)}") from exc


def init_db(engine: Engine) -> None:
    """Create every adsgen table that does not exist yet (idempotent; never drops data)."""
    check_connection(engine)
    try:
        Base.metadata.create_all(engine)
    except SQLAlchemyError as exc:
        raise DatabaseError(
            f"cannot create tables in {masked_url(engine.url)}: {_one_line(exc)}"
        ) from exc


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A Session in one transaction: committed on success, rolled back on any error.

    Objects stay readable after the block (expire_on_commit=False); load relationships
    you need inside it.
    """
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def table_counts(engine: Engine | Connection) -> dict[str, int]:
    """Rows per adsgen table, in dependency order; DatabaseError if a table is missing."""
    tables = list(Base.metadata.tables.values())

    def count(conn: Connection) -> dict[str, int]:
        return {
            t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in tables
        }

    try:
        if isinstance(engine, Connection):
            return count(engine)
        with engine.connect() as conn:
            return count(conn)
    except SQLAlchemyError as exc:
        raise DatabaseError(
            f"cannot count rows in {masked_url(engine.engine.url)}: {_one_line(exc)};"
            " run `adsgen init-db` first?"
        ) from exc


def delete_facts(conn: Connection, line_item_ids: Iterable[int]) -> int:
    """Delete the performance and ground_truth rows of these line items; rows deleted.

    Used before re-simulating line items, inside the caller's transaction.
    """
    ids = sorted(set(line_item_ids))
    deleted = 0
    for table in (Performance.__table__, GroundTruth.__table__):
        assert isinstance(table, Table)
        for i in range(0, len(ids), _DELETE_CHUNK):
            chunk = ids[i : i + _DELETE_CHUNK]
            result = conn.execute(delete(table).where(table.c.line_item_id.in_(chunk)))
            deleted += max(result.rowcount, 0)
    return deleted


def database_size(engine: Engine) -> int | None:
    """Bytes the database takes on disk (SQLite file, PostgreSQL database, MySQL schema)."""
    name = engine.dialect.name
    path = _sqlite_file(engine.url) if name == "sqlite" else None
    if name == "sqlite":
        return path.stat().st_size if path is not None and path.exists() else None
    query = {
        "postgresql": "SELECT pg_database_size(current_database())",
        "mysql": "SELECT COALESCE(SUM(data_length + index_length), 0) FROM "
        "information_schema.tables WHERE table_schema = DATABASE()",
    }.get("mysql" if name == "mariadb" else name)
    if query is None:
        return None
    with engine.connect() as conn:
        return int(conn.exec_driver_sql(query).scalar_one())


def fact_totals(conn: Connection) -> dict[str, Any]:
    """Delivery date range and totals of the performance table (None dates when empty)."""
    perf = Performance.__table__
    assert isinstance(perf, Table)
    row = conn.execute(
        select(
            func.min(perf.c.hour), func.max(perf.c.hour),
            func.coalesce(func.sum(perf.c.impressions), 0),
            func.coalesce(func.sum(perf.c.completes), 0),
            func.coalesce(func.sum(perf.c.clicks), 0),
            func.coalesce(func.sum(perf.c.spend_micros), 0),
        )
    ).one()
    first, last, impressions, completes, clicks, spend = row
    return {
        "first_hour": first,
        "last_hour": last,
        "impressions": int(impressions),
        "completes": int(completes),
        "clicks": int(clicks),
        "spend_micros": int(spend),
    }


# --- bulk loading -----------------------------------------------------------------------


def _target(conn: Connection, table_name: str, columns: list[str]) -> tuple[str, list[str]]:
    """Quoted table name (honouring schema_translate_map) and quoted column names."""
    table = Base.metadata.tables.get(table_name)
    if table is None:
        known = ", ".join(Base.metadata.tables)
        raise ValueError(f"unknown table {table_name!r}; known tables: {known}")
    unknown = [c for c in columns if c not in table.c]
    if unknown:
        raise ValueError(f"table {table_name!r} has no column(s) {', '.join(unknown)}")
    preparer = conn.dialect.identifier_preparer
    translate = conn.get_execution_options().get("schema_translate_map") or {}
    schema = translate.get(table.schema, table.schema)
    qualified = preparer.quote(table.name)
    if schema:
        qualified = f"{preparer.quote_schema(schema)}.{qualified}"
    return qualified, [preparer.quote(c) for c in columns]


def _timestamp_texts(col: pa.ChunkedArray) -> list[Any]:
    """Naive-UTC 'YYYY-MM-DD HH:MM:SS' strings; each distinct hour is formatted once."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    # Casting drops the zone (values are UTC) and truncates to whole seconds.
    seconds = col.cast(pa.timestamp("s"), safe=False).combine_chunks()
    if seconds.null_count:
        texts: list[Any] = pc.strftime(seconds, format=_SQL_DATETIME).to_pylist()
        return texts
    encoded = seconds.dictionary_encode()
    distinct = pc.strftime(encoded.dictionary, format=_SQL_DATETIME).to_pylist()
    texts = np.asarray(distinct, dtype=object)[encoded.indices.to_numpy()].tolist()
    return texts


def _python_columns(batch: pa.Table) -> list[list[Any]]:
    """Each column as a Python list, converted column-wise (never per row in Python)."""
    import pyarrow as pa

    out: list[list[Any]] = []
    for col in batch.columns:
        kind = col.type
        if pa.types.is_timestamp(kind):
            out.append(_timestamp_texts(col))
        elif (pa.types.is_integer(kind) or pa.types.is_floating(kind)) and col.null_count == 0:
            out.append(col.to_numpy().tolist())  # much faster than to_pylist
        else:
            out.append(col.to_pylist())
    return out


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while millions of acyclic tuples are built (~30% of the time)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _executemany(conn: Connection, sql: str, data: pa.Table, batch_rows: int) -> None:
    """Column-wise conversion, then DBAPI executemany per batch (SQLite, MySQL/MariaDB)."""
    for offset in range(0, data.num_rows, batch_rows):
        with _gc_paused():
            columns = _python_columns(data.slice(offset, batch_rows))
            rows = list(zip(*columns, strict=True))
            del columns
            conn.exec_driver_sql(sql, rows)
            del rows


def _copy_postgres(conn: Connection, sql: str, data: pa.Table, batch_rows: int) -> None:
    """COPY FROM STDIN in CSV made by Arrow's C++ writer (no per-row Python)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    naive = pa.schema([
        pa.field(f.name, pa.timestamp(f.type.unit)) if pa.types.is_timestamp(f.type) else f
        for f in data.schema
    ])
    data = data.cast(naive)  # zone-aware timestamps become naive UTC
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    if not conn.in_transaction():
        conn.begin()  # the raw cursor below must run inside the caller's transaction
    dbapi_connection: Any = conn.connection.dbapi_connection  # a psycopg.Connection
    try:
        with dbapi_connection.cursor() as cursor, cursor.copy(sql) as copy:
            for offset in range(0, data.num_rows, batch_rows):
                buffer = io.BytesIO()
                pacsv.write_csv(data.slice(offset, batch_rows), buffer, options)
                copy.write(buffer.getbuffer())
    except conn.dialect.loaded_dbapi.Error as exc:
        # Same exception classes as the other paths (IntegrityError, …).
        raise DBAPIError.instance(sql, None, exc, conn.dialect.loaded_dbapi.Error) from exc


def bulk_insert(
    conn: Connection, table_name: str, data: pa.Table, *, batch_rows: int | None = None
) -> int:
    """Insert an Arrow table into `table_name` by the dialect's fastest path; rows inserted.

    Runs inside the caller's transaction (nothing is committed here), so a rollback undoes
    it. Arrow column names must be columns of the table (any order, any subset that
    satisfies NOT NULL). Timestamps are written as naive UTC. Constraint violations raise
    sqlalchemy.exc.IntegrityError on every dialect. `batch_rows` overrides the batch size.
    """
    if data.num_rows == 0:
        return 0
    table, columns = _target(conn, table_name, data.column_names)
    column_list = ", ".join(columns)
    dialect = conn.dialect.name
    if dialect == "postgresql":
        sql = f"COPY {table} ({column_list}) FROM STDIN (FORMAT csv)"
        _copy_postgres(conn, sql, data, batch_rows or POSTGRES_BATCH_ROWS)
    else:
        markers = {"qmark": "?", "format": "%s", "pyformat": "%s"}  # positional parameters
        marker = markers.get(conn.dialect.paramstyle)
        if marker is None:
            raise DatabaseError(
                f"bulk_insert cannot use the {conn.dialect.driver} driver"
                f" (paramstyle {conn.dialect.paramstyle}); use pysqlite, psycopg or pymysql"
            )
        placeholders = ", ".join([marker] * len(columns))
        sql = f"INSERT INTO {table} ({column_list}) VALUES ({placeholders})"
        default = SQLITE_BATCH_ROWS if dialect == "sqlite" else MYSQL_BATCH_ROWS
        _executemany(conn, sql, data, batch_rows or default)
    return int(data.num_rows)
