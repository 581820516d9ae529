"""Database access: engines from URLs, schema creation, sessions, and the bulk fact loader.

Entities go through the ORM in `session_scope`; the hourly fact tables go through
`bulk_insert`, which takes an Arrow table and uses the fastest path of the dialect inside
the caller's transaction: DBAPI `executemany` in large batches on SQLite, `COPY ... FROM
STDIN (FORMAT csv)` fed by Arrow's C++ CSV writer on PostgreSQL, pymysql's multi-row
`executemany` on MariaDB/MySQL. Failures a user can fix (bad URL, server down, missing
folder, read-only file, another writer, full disk) raise `adsgen.exceptions.DatabaseError`
with one line naming the URL and the reason.

Every write goes through `write_transaction`: the missing tables are created inside the
command's transaction (after checking that tables of adsgen's names are adsgen's), so a
failure leaves no table and no new SQLite file behind. URLs are only ever shown through
`masked_url`, and any text that may quote one (driver messages, tracebacks) through `scrub`:
the one place that knows what a credential looks like.
"""

from __future__ import annotations

import errno
import gc
import io
import re
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, unquote_plus

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    create_engine,
    delete,
    event,
    func,
    inspect,
    select,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.engine.interfaces import ExceptionContext
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    NoSuchModuleError,
    OperationalError,
    SAWarning,
    SQLAlchemyError,
)
from sqlalchemy.orm import Session

from adsgen.domain.fields import utc_timestamps
from adsgen.exceptions import AdsgenError, DatabaseError
from adsgen.settings import get_settings
from adsgen.simulate.columns import FACT_TABLES
from adsgen.storage.orm import Base, Budget, Performance

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "bulk_insert",
    "check_connection",
    "create_schema",
    "database_error",
    "database_size",
    "delete_facts",
    "fact_totals",
    "init_db",
    "make_engine",
    "masked_url",
    "scrub",
    "session_scope",
    "table_counts",
    "url_secrets",
    "write_transaction",
]

SQLITE_BATCH_ROWS = 100_000
POSTGRES_BATCH_ROWS = 200_000
MYSQL_BATCH_ROWS = 20_000
_DELETE_CHUNK = 1_000
_SQL_DATETIME = "%Y-%m-%d %H:%M:%S"  # how adsgen.storage.orm.UtcDateTime is stored on SQLite


# --- engines ----------------------------------------------------------------------------


_SECRET_KEY = re.compile(r"pass|pwd|secret|token|key|auth|credential", re.IGNORECASE)
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.%-]*)(:[0-9]*)?")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):(//)?(.*)", re.DOTALL)
MASK = "***"
_MIN_SECRET = 3  # shorter secrets are not searched for in messages (they would garble them)


def masked_url(url: str | URL) -> str:
    """The URL as text with every credential replaced by ***, safe to print anywhere.

    Masks the password of the userinfo (up to the last `@`, so an unescaped `@` in the
    password leaks nothing), the value of any query parameter whose name says it is secret
    (password, sslpassword, ssl_key, token …), any query part that is not `name=value`, and
    whatever of a malformed URL is not recognisably a scheme, a host, a port or a path:
    when in doubt only the scheme and the host are printed.
    """
    text = url.render_as_string(hide_password=False) if isinstance(url, URL) else str(url)
    match = _SCHEME.fullmatch(text.strip())
    if match is None:
        return MASK
    scheme, slashes, rest = match.groups()
    if not slashes:
        return f"{scheme}:{MASK}"
    location, has_query, query = rest.partition("?")
    authority, slash, path = location.partition("/")
    if "@" in location and not location.startswith("/"):
        userinfo, _, hostpath = location.rpartition("@")
        user, has_password, _ = userinfo.partition(":")
        authority, slash, path = hostpath.partition("/")
        authority = f"{user}:{MASK}@{authority}" if has_password else f"{user}@{authority}"
        host = authority.rpartition("@")[2]
    else:
        host = authority
    if not _HOST.fullmatch(host):
        return f"{scheme}://{MASK}"
    masked = f"{scheme}://{authority}{slash}{path}"
    if has_query:
        masked += "?" + "&".join(_masked_parameter(part) for part in query.split("&"))
    return masked


def _masked_parameter(part: str) -> str:
    name, has_value, _ = part.partition("=")
    if not has_value or not _PLAIN_KEY.fullmatch(name):
        return MASK
    return f"{name}={MASK}" if _SECRET_KEY.search(name) else part


def url_secrets(url: str | URL | None) -> list[str]:
    """The secret parts of a database URL (password, secret query values; raw and decoded),
    longest first: what `scrub` removes from a message."""
    if url is None:
        return []
    text = url.render_as_string(hide_password=False) if isinstance(url, URL) else str(url)
    found: set[str] = set()
    match = _SCHEME.fullmatch(text.strip())
    rest = match.group(3) if match else text
    if masked_url(text).endswith(f"//{MASK}") or match is None:  # malformed
        after_colon = rest.partition("/")[0].partition("?")[0].partition(":")[2]
        found |= {rest, after_colon, *re.split(r"[:@\[\]]", after_colon)}
    location, _, query = rest.partition("?")
    if "@" in location and not location.startswith("/"):
        userinfo = location.rpartition("@")[0]
        if ":" in userinfo:
            password = userinfo.partition(":")[2]
            found |= {userinfo, password, *password.split("@")}
    for part in query.split("&"):
        name, has_value, value = part.partition("=")
        if not has_value or not _PLAIN_KEY.fullmatch(name) or _SECRET_KEY.search(name):
            found.add(value if has_value else part)
    if isinstance(url, URL) and url.password:
        found.add(str(url.password))
    found |= {unquote_plus(s) for s in found} | {unquote(s) for s in found}
    return sorted((s for s in found if len(s) >= _MIN_SECRET), key=len, reverse=True)


def scrub(message: str, url: str | URL | None) -> str:
    """`message` with every secret of `url` (and the URL itself) replaced by *** or its
    masked form: driver messages and tracebacks can quote the DSN."""
    if url is None:
        return message
    raw = url.render_as_string(hide_password=False) if isinstance(url, URL) else str(url)
    if len(raw.strip()) >= _MIN_SECRET:
        message = message.replace(raw.strip(), masked_url(raw))
    for secret in url_secrets(url):
        message = message.replace(secret, MASK)
    return message


SQLITE_BUSY_SECONDS = 30.0
"""How long a SQLite command waits for another writer (`?timeout=S` in the URL overrides)."""
_BEGIN = "adsgen_sqlite_begin"  # execution option: the BEGIN statement of a SQLite transaction
_SSL_FILES = ("ssl_ca", "ssl_cert", "ssl_key", "sslrootcert", "sslcert", "sslkey", "sslcrl")


def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    """SQLite ignores FOREIGN KEY clauses (and so ON DELETE CASCADE) unless told per connection.

    The driver's own transaction handling is switched off (`_sqlite_on_begin` emits BEGIN):
    pysqlite would otherwise run CREATE TABLE outside the transaction, and adsgen creates
    its tables inside the command's transaction.
    """
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
    dbapi_connection.isolation_level = None


def _sqlite_on_begin(conn: Connection) -> None:
    """BEGIN (IMMEDIATE for a writing command: it waits for the write lock up front, where
    the busy timeout applies, instead of failing on the first write)."""
    conn.exec_driver_sql(f"BEGIN {conn.get_execution_options().get(_BEGIN, '')}".strip())


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


_UNPARSABLE = (
    "cannot parse it (is the port a number, an IPv6 host in [brackets], and every @ : / ? # "
    "in the user or password %-escaped?)"
)


def _invalid_url(raw: str | URL, reason: str) -> DatabaseError:
    return DatabaseError(
        f"invalid database URL {masked_url(raw)!r}: {scrub(reason, raw)}; expected e.g. "
        "sqlite:///ads.db or postgresql+psycopg://user:password@host:5432/db"
    )


def make_engine(url: str | URL | None = None, **kwargs: Any) -> Engine:
    """An Engine for `url` (default: settings / ADSGEN_DATABASE_URL, else sqlite:///ads.db).

    Nothing is opened yet; `check_connection` or `write_transaction` does that. SQLite
    connections get `PRAGMA foreign_keys=ON`, transactional DDL and a busy timeout of
    SQLITE_BUSY_SECONDS; PostgreSQL connections time out after 10 s unless the URL says
    otherwise. Extra keyword arguments go to `sqlalchemy.create_engine`.
    Raises DatabaseError for a malformed URL (bad port, bad host), a missing driver or a
    missing SSL certificate file.
    """
    raw = url if url is not None else get_settings().database_url
    try:
        parsed = make_url(raw)
        port = parsed.port  # a non-numeric port fails here or in make_url
    except (ArgumentError, ValueError, TypeError):
        # The parser's message quotes the text it choked on, which may be the password.
        raise _invalid_url(raw, _UNPARSABLE) from None
    if parsed.host is not None and "@" in parsed.host:
        raise _invalid_url(raw, "the password holds an unescaped '@'; write it as %40")
    if port is not None and not 0 < port < 65536:
        raise _invalid_url(raw, f"port {port} is not between 1 and 65535")
    for key in _SSL_FILES:
        value = parsed.query.get(key)
        if isinstance(value, str) and value not in ("", "system") and not Path(value).is_file():
            raise DatabaseError(
                f"cannot use database {masked_url(parsed)}: {key} file {value!r} does not exist"
            )
    backend = parsed.get_backend_name()
    if backend == "postgresql" and "connect_timeout" not in parsed.query:
        kwargs["connect_args"] = {"connect_timeout": 10, **kwargs.get("connect_args", {})}
    if backend == "sqlite" and "timeout" not in parsed.query:
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_SECONDS, **kwargs.get("connect_args", {})}
    try:
        with warnings.catch_warnings():
            # e.g. "Query string argument(s) ... are not accepted by the pysqlite driver"
            warnings.simplefilter("error", SAWarning)
            engine = create_engine(parsed, **kwargs)
    except (ArgumentError, NoSuchModuleError, ImportError, ValueError, TypeError,
            SAWarning) as exc:
        reason = " ".join(str(exc).split("(Background on")[0].split())
        raise DatabaseError(
            f"cannot use database URL {masked_url(parsed)}: {scrub(reason, parsed)}"
        ) from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
    elif engine.dialect.name in ("mysql", "mariadb"):
        event.listen(engine, "handle_error", _mysql_check_is_integrity_error)
    return engine


def _one_line(exc: BaseException, url: str | URL | None = None) -> str:
    """The driver's message on one line, without SQLAlchemy's boilerplate or secrets."""
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    args: tuple[Any, ...] = tuple(getattr(orig, "args", ()))
    if len(args) == 2 and isinstance(args[0], int):  # pymysql: (errno, message)
        text = f"{' '.join(str(args[1]).split())} (error {args[0]})"
    else:
        text = " ".join(str(orig).split()) or type(orig).__name__
    return scrub(text, url)


def _sqlite_file(url: URL) -> Path | None:
    """The database file of a SQLite URL, or None for an in-memory database."""
    database = url.database or ""
    if database.startswith("file:"):
        database = database[5:].split("?", 1)[0]
    if database in ("", ":memory:") or url.query.get("mode") == "memory":
        return None
    return Path(database)


def _holders(path: Path) -> list[str]:
    """Other processes holding `path` open, as 'pid N (command line)' (Linux /proc; best
    effort: empty where /proc cannot tell)."""
    import os

    try:
        target = path.resolve()
        pids = [p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]
    except OSError:
        return []
    found = []
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            if any(Path(os.readlink(f"/proc/{pid}/fd/{fd}")) == target for fd in fds):
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                found.append(f"pid {pid} ({cmdline.decode(errors='replace').strip()[:80]})")
        except OSError:
            continue
    return found


def database_error(exc: BaseException, engine: Engine, doing: str) -> AdsgenError | None:
    """A failure the user can fix as a one-line DatabaseError (None for anything else):
    another writer holds a SQLite file past the busy timeout, the disk is full, the database
    is read-only or went away. `doing` says what failed ("cannot load …")."""
    where = masked_url(engine.url)
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return DatabaseError(f"{doing} {where}: no space left on device; nothing was written")
    if not isinstance(exc, OperationalError):
        return None
    reason = _one_line(exc, engine.url)
    lowered = reason.lower()
    if "database is locked" in lowered or "database table is locked" in lowered:
        path = _sqlite_file(engine.url) if engine.dialect.name == "sqlite" else None
        others = _holders(path) if path is not None else []
        who = f"another process ({'; '.join(others[:3])})" if others else "another process"
        return DatabaseError(
            f"{doing} {where}: {who} is writing to it and did not finish within the busy "
            "timeout; wait for it to end (or raise ?timeout=SECONDS in the URL) and run again"
        )
    if "disk is full" in lowered or "disk full" in lowered or "no space left" in lowered:
        return DatabaseError(f"{doing} {where}: the disk is full ({reason}); nothing was written")
    if "readonly" in lowered or "read-only" in lowered:
        return DatabaseError(f"{doing} {where}: it is read-only ({reason})")
    if exc.connection_invalidated or "server closed" in lowered or "lost connection" in lowered:
        return DatabaseError(f"{doing} {where}: the connection was lost ({reason})")
    return None


def check_connection(engine: Engine, *, write: bool = True) -> None:
    """Open a connection and, with `write`, make sure the database accepts writes.

    A SQLite file that does not exist yet is not created here: its folder must exist and be
    writable (the file appears in the command's transaction, and goes if that fails).
    Raises DatabaseError with one line (masked URL + reason) when the server is unreachable,
    the credentials are wrong, a SQLite file's folder is missing, or the database is read-only.
    """
    import os

    where = masked_url(engine.url)
    sqlite_file = _sqlite_file(engine.url) if engine.dialect.name == "sqlite" else None
    if sqlite_file is not None and not sqlite_file.parent.is_dir():
        raise DatabaseError(
            f"cannot open database {where}: folder {str(sqlite_file.parent)!r} does not exist;"
            " create it or choose another path"
        )
    if sqlite_file is not None and not sqlite_file.exists():
        if write and not os.access(sqlite_file.parent, os.W_OK | os.X_OK):
            raise DatabaseError(
                f"cannot create database {where}: folder {str(sqlite_file.parent)!r} is not"
                " writable"
            )
        return
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
    except (SQLAlchemyError, OSError) as exc:
        known = database_error(exc, engine, "cannot use database")
        raise known or DatabaseError(
            f"cannot use database {where}: {_one_line(exc, engine.url)}"
        ) from exc
    except DatabaseError:
        raise
    except Exception as exc:  # a driver choking on a URL parameter (pymysql: charset=bogus)
        raise DatabaseError(
            f"cannot use database {where}: the driver failed on this URL "
            f"({type(exc).__name__}: {_one_line(exc, engine.url)}); check its query parameters"
        ) from exc


def create_schema(conn: Connection) -> list[Table]:
    """Create the adsgen tables the database lacks, inside the caller's transaction; the
    tables created. A table of an adsgen name whose columns are not adsgen's is refused
    (DatabaseError naming it) before anything is created.
    """
    inspector = inspect(conn)
    existing = set(inspector.get_table_names())
    for table in Base.metadata.sorted_tables:
        if table.name not in existing:
            continue
        have = {c["name"] for c in inspector.get_columns(table.name)}
        want = {c.name for c in table.c}
        if have != want:
            missing = ", ".join(sorted(want - have)) or "none"
            extra = ", ".join(sorted(have - want)) or "none"
            raise DatabaseError(
                f"table {table.name!r} in {masked_url(conn.engine.url)} is not adsgen's "
                f"(columns missing: {missing}; not adsgen's: {extra}); use another database, "
                "or rename that table (a database made by another adsgen version: run-all "
                "into a new one)"
            )
    created = [t for t in Base.metadata.sorted_tables if t.name not in existing]
    Base.metadata.create_all(conn, tables=created, checkfirst=False)
    return created


def _drop_created(engine: Engine, tables: list[Table]) -> None:
    """MariaDB/MySQL commit DDL at once: drop the (still empty) tables a failed command made."""
    with engine.begin() as conn:
        for table in reversed(tables):
            if conn.execute(select(func.count()).select_from(table)).scalar_one() == 0:
                table.drop(conn)


def _remove_sqlite_file(path: Path) -> None:
    for leftover in (path, *(path.with_name(path.name + s) for s in ("-journal", "-wal", "-shm"))):
        leftover.unlink(missing_ok=True)


@contextmanager
def write_transaction(engine: Engine, doing: str = "cannot write to") -> Iterator[Connection]:
    """One connection in one transaction that first creates the missing adsgen tables, then
    runs the block: committed when it ends, rolled back on any error.

    A failed command leaves the database as it was: on SQLite and PostgreSQL the CREATE
    TABLEs roll back with the rest, and a SQLite file this call created is removed;
    MariaDB/MySQL commit DDL at once, so there the tables this call created are dropped
    again after the rollback (each only while still empty). Failures the user can fix
    (another writer, disk full, read-only) become a one-line DatabaseError (`doing` says
    what failed).
    """
    path = _sqlite_file(engine.url) if engine.dialect.name == "sqlite" else None
    new_file = path if path is not None and not path.exists() else None
    created: list[Table] = []
    try:
        with engine.connect() as conn:
            conn.execution_options(**{_BEGIN: "IMMEDIATE"})
            with conn.begin():
                created = create_schema(conn)
                yield conn
    except BaseException as exc:
        if created and engine.dialect.name in ("mysql", "mariadb"):
            with suppress(SQLAlchemyError):  # the original error matters more
                _drop_created(engine, created)
        if new_file is not None:
            engine.dispose()
            if not _holders(new_file):  # another run may have opened the new file meanwhile
                _remove_sqlite_file(new_file)
        known = database_error(exc, engine, doing) if isinstance(exc, Exception) else None
        if known is not None:
            raise known from exc
        raise


def init_db(engine: Engine) -> None:
    """Create every adsgen table that does not exist yet (idempotent; never drops data)."""
    check_connection(engine)
    try:
        with write_transaction(engine, "cannot create tables in"):
            pass
    except SQLAlchemyError as exc:
        raise DatabaseError(
            f"cannot create tables in {masked_url(engine.url)}: {_one_line(exc, engine.url)}"
        ) from exc


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A Session in one transaction (`write_transaction`): committed on success, rolled back
    on any error.

    Objects stay readable after the block (expire_on_commit=False); load relationships
    you need inside it.
    """
    with write_transaction(engine) as conn, Session(bind=conn, expire_on_commit=False) as session:
        yield session
        session.flush()


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
        url = engine.engine.url
        raise DatabaseError(
            f"cannot count rows in {masked_url(url)}: {_one_line(exc, url)};"
            " run `adsgen init-db` first?"
        ) from exc


def delete_facts(conn: Connection, line_item_ids: Iterable[int]) -> int:
    """Delete the rows of these line items from every fact table (FACT_TABLES with a
    line_item_id column); rows deleted.

    Used before re-simulating line items, inside the caller's transaction.
    """
    ids = sorted(set(line_item_ids))
    deleted = 0
    for name, spec in FACT_TABLES.items():
        if "line_item_id" not in spec.schema.names:
            continue
        table = Base.metadata.tables[name]
        for i in range(0, len(ids), _DELETE_CHUNK):
            chunk = ids[i : i + _DELETE_CHUNK]
            result = conn.execute(delete(table).where(table.c.line_item_id.in_(chunk)))
            deleted += max(result.rowcount, 0)
    return deleted


def delete_advertiser_facts(conn: Connection, advertiser_ids: Iterable[int]) -> int:
    """Delete the rows of these advertisers from every summed fact table (FactTable.summed:
    rows added over an advertiser's line items, replaced whole); rows deleted."""
    ids = sorted(set(advertiser_ids))
    deleted = 0
    for name, spec in FACT_TABLES.items():
        if not spec.summed:
            continue
        table = Base.metadata.tables[name]
        for i in range(0, len(ids), _DELETE_CHUNK):
            chunk = ids[i : i + _DELETE_CHUNK]
            result = conn.execute(delete(table).where(table.c.advertiser_id.in_(chunk)))
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


def analyze(engine: Engine, tables: Iterable[str]) -> None:
    """PostgreSQL: ANALYZE these adsgen tables, so report queries are planned on statistics
    of the rows just loaded rather than on none (autovacuum analyzes a fresh table only
    after its naptime, and a big COPY-loaded table is then planned blind meanwhile).
    Other dialects: nothing (SQLite's planner does well on its indexes; MariaDB keeps
    persistent statistics itself). DatabaseError when the database refuses."""
    if engine.dialect.name != "postgresql":
        return
    known = Base.metadata.tables
    quote = engine.dialect.identifier_preparer.quote
    try:
        with engine.begin() as conn:
            for name in tables:
                if name in known:  # only our own table names reach the statement
                    conn.exec_driver_sql(f"ANALYZE {quote(name)}")
    except SQLAlchemyError as exc:
        raise DatabaseError(f"the rows are in {masked_url(engine.url)}, but ANALYZE failed: "
                            f"{_one_line(exc, engine.url)}") from exc


def fact_totals(conn: Connection) -> dict[str, Any]:
    """Delivery date range and totals of the performance table (None dates when empty).

    Spend is summed per currency (the currency of each line item's budget), never across
    currencies: `spend_micros` maps a currency code to micros of it, {} when nothing spent.
    """
    perf = Performance.__table__
    budgets = Budget.__table__
    assert isinstance(perf, Table) and isinstance(budgets, Table)
    row = conn.execute(
        select(
            func.min(perf.c.hour), func.max(perf.c.hour),
            func.coalesce(func.sum(perf.c.impressions), 0),
            func.coalesce(func.sum(perf.c.completes), 0),
            func.coalesce(func.sum(perf.c.clicks), 0),
        )
    ).one()
    first, last, impressions, completes, clicks = row
    # Spend per line item first (one scan of performance), then per its budget's currency.
    per_item = (
        select(perf.c.line_item_id, func.sum(perf.c.spend_micros).label("spend"))
        .group_by(perf.c.line_item_id)
        .subquery()
    )
    by_currency = conn.execute(
        select(budgets.c.currency, func.sum(per_item.c.spend))
        .join(per_item, per_item.c.line_item_id == budgets.c.line_item_id)
        .group_by(budgets.c.currency)
        .order_by(budgets.c.currency)
    ).all()
    return {
        "first_hour": first,
        "last_hour": last,
        "impressions": int(impressions),
        "completes": int(completes),
        "clicks": int(clicks),
        "spend_micros": {
            str(getattr(currency, "value", currency)): int(spend)
            for currency, spend in by_currency
            if spend
        },
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
    import pyarrow.csv as pacsv

    # Timestamps go as '… 00:00:00Z' text: the `Z` makes timestamptz exact whatever the
    # session's TimeZone (naive Arrow timestamps are UTC, as everywhere in adsgen).
    data = utc_timestamps(data)
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
    satisfies NOT NULL). Timestamps are UTC (naive Arrow ones taken as UTC): timestamptz on
    PostgreSQL, UTC DATETIME text elsewhere. Constraint violations raise
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


def read_while_writing(engine: Engine) -> None:
    """Let readers go on while a long write transaction runs: on a SQLite file, switch to
    write-ahead logging (WAL). In SQLite's default rollback journal, a transaction larger
    than the page cache takes the exclusive lock before it commits, and every reader waits
    for the whole run (`adsgen serve` with a run in the background). The mode stays with the
    file (its -wal and -shm files come and go beside it); other dialects, and in-memory
    SQLite, need nothing."""
    if engine.dialect.name != "sqlite" or _sqlite_file(engine.url) is None:
        return
    raw = engine.raw_connection()  # outside a transaction: SQLite refuses the switch in one
    try:
        raw.driver_connection.execute("PRAGMA journal_mode=WAL")  # type: ignore[union-attr]
    finally:
        raw.close()
