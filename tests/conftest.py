"""Database fixtures shared by every test module.

- `sqlite_engine`: a fresh SQLite file per test, tables created.
- `pg_engine`: PostgreSQL at ADSGEN_TEST_POSTGRES_URL, in a schema of its own for this test
  session (`adsgen_test_<pid>_<hex>`, reached through `search_path` in the URL, dropped at the
  end); tables are emptied after each test.
- `mysql_engine`: MariaDB/MySQL at ADSGEN_TEST_MYSQL_URL, in a database of its own for this
  test session, dropped at the end; tables are emptied after each test.
- `engine`: parametrized over the three, for tests that must hold on every dialect.
- `db` (SQLite, PostgreSQL) and `any_db` (all three): such an engine holding the default
  dataset (run-all, seed 42), for the API's and the reports' tests.

A server variable that is unset skips its tests; set but unreachable fails them. To hand
one of these databases to a subprocess (the CLI), pass
`engine.url.render_as_string(hide_password=False)`: the URL carries the schema/database.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import URL, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from adsgen.exceptions import DatabaseError
from adsgen.storage.database import init_db, make_engine
from adsgen.storage.persist import clear_dataset

POSTGRES_ENV = "ADSGEN_TEST_POSTGRES_URL"
MYSQL_ENV = "ADSGEN_TEST_MYSQL_URL"


def _unique_name() -> str:
    """Unique per test session, even when several sessions share a server."""
    return f"adsgen_test_{os.getpid()}_{secrets.token_hex(3)}"


def _server_url(env: str) -> str:
    url = os.environ.get(env, "").strip()
    if not url:
        pytest.skip(f"{env} is not set")
    return url


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    """A new SQLite file database with every adsgen table."""
    engine = make_engine(f"sqlite:///{tmp_path / 'ads.db'}")
    init_db(engine)
    yield engine
    engine.dispose()


def _server_engine(
    env: str, label: str, create: str, drop: str, scoped: Callable[[URL, str], URL]
) -> Iterator[Engine]:
    """An engine on its own schema/database of the server `env` names, dropped at the end.

    Set and unusable fails the run (CI must not pass by skipping); unset skips.
    """
    url = _server_url(env)
    name = _unique_name()
    admin = make_engine(url)
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(create.format(name=name))
        engine = make_engine(scoped(make_url(url), name))
        init_db(engine)
    except (SQLAlchemyError, DatabaseError) as exc:
        admin.dispose()
        pytest.fail(f"{env} is set but {label} is not usable: {exc}", pytrace=False)
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(drop.format(name=name))
        admin.dispose()


@pytest.fixture(scope="session")
def _pg_session_engine() -> Iterator[Engine]:
    yield from _server_engine(
        POSTGRES_ENV, "PostgreSQL",
        'CREATE SCHEMA "{name}"', 'DROP SCHEMA IF EXISTS "{name}" CASCADE',
        lambda url, name: url.update_query_dict({"options": f"-csearch_path={name}"}),
    )


@pytest.fixture(scope="session")
def _mysql_session_engine() -> Iterator[Engine]:
    yield from _server_engine(
        MYSQL_ENV, "MariaDB/MySQL", "CREATE DATABASE `{name}` CHARACTER SET utf8mb4",
        "DROP DATABASE IF EXISTS `{name}`", lambda url, name: url.set(database=name),
    )


def _empty_tables(engine: Engine) -> None:
    """Remove every row (ids restart where the dialect allows); a lock left by a test fails
    after 10 s, never hangs."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
        else:
            conn.exec_driver_sql("SET SESSION innodb_lock_wait_timeout = 10")
        clear_dataset(conn)


@pytest.fixture
def pg_engine(_pg_session_engine: Engine) -> Iterator[Engine]:
    """PostgreSQL engine in this session's schema; tables emptied after the test."""
    yield _pg_session_engine
    _empty_tables(_pg_session_engine)


@pytest.fixture
def mysql_engine(_mysql_session_engine: Engine) -> Iterator[Engine]:
    """MariaDB/MySQL engine in this session's database; tables emptied after the test."""
    yield _mysql_session_engine
    _empty_tables(_mysql_session_engine)


_DIALECT_FIXTURES = {"sqlite": "sqlite_engine", "postgresql": "pg_engine",
                     "mysql": "mysql_engine"}


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """The same test on SQLite, PostgreSQL and MariaDB (the servers when configured)."""
    result: Engine = request.getfixturevalue(_DIALECT_FIXTURES[request.param])
    return result


def _generated(request: pytest.FixtureRequest) -> Engine:
    from apiutil import generated

    result: Engine = request.getfixturevalue(_DIALECT_FIXTURES[request.param])
    generated(result)
    return result


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest) -> Engine:
    """A database with the default dataset (run-all, seed 42), on SQLite and PostgreSQL."""
    return _generated(request)


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def any_db(request: pytest.FixtureRequest) -> Engine:
    """The default dataset on every dialect, MariaDB too (for the reports' SQL)."""
    return _generated(request)
