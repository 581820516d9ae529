"""The database promises under a careful user's and an attacker's inputs (issue 9): a command
never empties tables adsgen does not own, a failing command leaves the database (and the
disk) as it was, credentials never reach the screen, user-fixable database problems exit 2
with one line, and run-all with --deterministic-timestamps gives identical content.

Everything goes through the CLI (Typer's runner, or the console script where another
process must hold a lock) against SQLite files and the servers of ADSGEN_TEST_POSTGRES_URL /
ADSGEN_TEST_MYSQL_URL (unset skips those cases; set and unreachable fails them).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import secrets
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, make_url, text
from sqlalchemy.exc import SQLAlchemyError

from adsgen.storage import database as store
from adsgen.storage.orm import Base
from cliutil import ADSGEN, dump, invoke, sqlite_url, subprocess_env, user_error
from conftest import MYSQL_ENV, POSTGRES_ENV

SECRET = "S3cr3tPw"
FAILING = ("create-campaign", "--advertiser-id", "1", "--auto")  # exits 2: no advertiser 1


def _server_url(env: str) -> str:
    url = os.environ.get(env, "").strip()
    if not url:
        pytest.skip(f"{env} is not set")
    return url


@pytest.fixture(params=["postgresql", "mysql"])
def fresh_server_db(request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of a new, empty database on a server (named after the configured one plus a
    random suffix), dropped at the end."""
    env = POSTGRES_ENV if request.param == "postgresql" else MYSQL_ENV
    base = make_url(_server_url(env))
    name = f"{base.database}_{secrets.token_hex(3)}"
    quote = '"' if request.param == "postgresql" else "`"
    admin = store.make_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {quote}{name}{quote}")
    except SQLAlchemyError as exc:
        admin.dispose()
        pytest.fail(f"{env} is set but not usable: {exc}", pytrace=False)
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            if request.param == "postgresql":
                conn.exec_driver_sql(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
                )
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {quote}{name}{quote}")
        admin.dispose()


def _tables(url: str) -> set[str]:
    engine = store.make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


# --- item 3: never empty a user's table -----------------------------------------------------


def test_run_all_refuses_to_touch_a_table_that_references_adsgen(engine: Engine) -> None:
    url = _url(engine)
    assert invoke("--db", url, "run-all").exit_code == 0
    with engine.begin() as conn:
        conn.execute(text(
            "CREATE TABLE crm_notes (id INTEGER PRIMARY KEY, advertiser_id INTEGER NOT NULL,"
            " note VARCHAR(100), FOREIGN KEY (advertiser_id) REFERENCES advertisers (id)"
            " ON DELETE CASCADE)"
        ))
        conn.execute(text("INSERT INTO crm_notes VALUES (1, 1, 'renewal in Q3'), (2, 2, 'vip')"))
    try:
        before = dump(url, timestamps=True)
        line = user_error(invoke("--quiet", "--db", url, "run-all", "--seed", "7"))
        assert "crm_notes" in line and "advertisers" in line
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM crm_notes")).scalar_one() == 2
        assert dump(url, timestamps=True) == before
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE crm_notes"))


# --- item 4: a failing command changes nothing ----------------------------------------------


def test_a_failing_command_leaves_no_new_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    user_error(invoke("--db", sqlite_url(path), *FAILING))
    assert sorted(tmp_path.iterdir()) == []


def test_a_failing_command_leaves_a_foreign_sqlite_file_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "theirs.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        conn.execute("INSERT INTO notes VALUES (1, 'keep me')")
    conn.close()
    before = _digest(path)
    user_error(invoke("--db", sqlite_url(path), *FAILING))
    assert _tables(sqlite_url(path)) == {"notes"}
    assert _digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["theirs.db"]


def test_a_failing_command_creates_no_table_on_a_fresh_server_database(
    fresh_server_db: str,
) -> None:
    user_error(invoke("--db", fresh_server_db, *FAILING))
    assert _tables(fresh_server_db) == set()
    # and a command that succeeds still creates them
    assert invoke("--db", fresh_server_db, "create-advertiser", "--auto").exit_code == 0
    assert "advertisers" in _tables(fresh_server_db)


def test_a_failing_load_into_a_new_sqlite_path_leaves_no_file(tmp_path: Path) -> None:
    out = tmp_path / "run"
    made = invoke("--quiet", "generate", "--line-items", "2", "--days", "1", "--out", str(out))
    assert made.exit_code == 0, made.stderr
    part = next((out / "performance").rglob("*.parquet"))
    part.write_bytes(part.read_bytes()[:100])  # a truncated (corrupt) part file
    target = tmp_path / "new.db"
    result = invoke("load", str(out), "--db", sqlite_url(target))
    assert result.exit_code != 0
    assert not target.exists()
    assert not any(p.name.startswith("new.db") for p in tmp_path.iterdir())


# --- item 7: no credential is ever printed --------------------------------------------------


LEAKY_URLS = [
    pytest.param(f"postgresql+psycopg://nobody@127.0.0.1:1/x?password={SECRET}", id="query"),
    pytest.param(f"postgresql+psycopg://nobody@127.0.0.1:1/x?sslpassword={SECRET}",
                 id="sslpassword"),
    pytest.param(f"postgresql+psycopg://nobody:{SECRET}@127.0.0.1:1/x", id="userinfo"),
    pytest.param(f"postgresql+psycopg://nobody:pa@{SECRET}@127.0.0.1:1/x", id="at-in-password"),
    pytest.param(f"postgresql+psycopg://nobody:{SECRET}@127.0.0.1:port/x", id="bad-port"),
    pytest.param(f"postgresql+psycopg://nobody:{SECRET}@[::1/x", id="bad-ipv6"),
    pytest.param(f"postgresql+psycopg://nobody:{SECRET}127.0.0.1:1/x&{SECRET}", id="malformed"),
    pytest.param(f"mysql+pymysql://root@127.0.0.1:1/x?ssl_key={SECRET}&password={SECRET}",
                 id="mysql-query"),
]


@pytest.mark.parametrize("url", LEAKY_URLS)
@pytest.mark.parametrize("command", [("init-db",), ("status",), FAILING])
def test_errors_never_print_a_credential(url: str, command: tuple[str, ...]) -> None:
    for debug in ((), ("--debug",)):
        result = invoke(*debug, "--json", "--db", url, *command)
        assert result.exit_code == 2, (result.exit_code, result.stderr)
        assert SECRET not in result.stdout + result.stderr
        assert "error: " in result.stderr


def test_a_driver_message_quoting_the_dsn_is_scrubbed_even_in_tracebacks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"postgresql+psycopg://nobody:{SECRET}@127.0.0.1:1/x?sslpassword=Other{SECRET}"

    def init_db(engine: Engine) -> None:
        raise RuntimeError(f"connect failed: dsn={url} password={SECRET}")

    monkeypatch.setattr(store, "init_db", init_db)
    result = invoke("--debug", "--db", url, "init-db")
    assert result.exit_code == 1
    assert "Traceback" in result.stderr and "connect failed" in result.stderr
    assert SECRET not in result.stderr


def test_the_console_script_masks_a_password_from_the_environment(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://nobody:{SECRET}@127.0.0.1:1/x?password={SECRET}"
    done = subprocess.run([ADSGEN, "--debug", "status"], capture_output=True, text=True,
                          cwd=tmp_path, env=subprocess_env(ADSGEN_DATABASE_URL=url), timeout=60)
    assert done.returncode == 2, done.stderr
    assert SECRET not in done.stdout + done.stderr


def test_json_output_masks_query_passwords_on_success(pg_engine: Engine, tmp_path: Path) -> None:
    """The servers here trust 127.0.0.1, so a password in the query is accepted and ignored."""
    url = make_url(_url(pg_engine)).update_query_dict({"password": SECRET})
    db = url.render_as_string(hide_password=False)
    report = json.loads(invoke("--json", "--db", db, "init-db").stdout)
    assert SECRET not in json.dumps(report) and "password=***" in report["database"]
    out = tmp_path / "run"
    generated = invoke("--json", "generate", "--line-items", "2", "--days", "1", "--out",
                       str(out), "--db", db)
    assert generated.exit_code == 0, generated.stderr
    assert SECRET not in generated.stdout
    assert SECRET not in "".join(p.read_text(errors="replace") for p in out.rglob("*.json"))
    assert json.loads(generated.stdout)["loaded"]["database"].count("***") == 1
    again = invoke("--debug", "--json", "load", str(out), "--db", db)  # the rows are there
    assert again.exit_code == 2 and SECRET not in again.stdout + again.stderr


def test_masked_url_keeps_what_is_safe() -> None:
    assert store.masked_url("sqlite:////tmp/a@b/ads.db") == "sqlite:////tmp/a@b/ads.db"
    assert (store.masked_url("postgresql+psycopg://u:p@w@h:5432/db?sslmode=require&password=x")
            == "postgresql+psycopg://u:***@h:5432/db?sslmode=require&password=***")
    assert store.masked_url("not a url") == "***"


# --- item 9: user-fixable database problems exit 2 with one line ----------------------------


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://postgres@127.0.0.1:abc/x",
    "postgresql+psycopg://postgres@[::1/x",
    "postgresql+psycopg://postgres@127.0.0.1:99999/x",
    "mysql+pymysql://root@127.0.0.1:3306/x?ssl_ca=/nonexistent/ca.pem",
    "mysql+pymysql://root@127.0.0.1:1/x?charset=bogus",
    "sqlite:///ads.db?bogus=1",
])
def test_a_bad_url_or_missing_certificate_exits_2(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    line = user_error(invoke("--db", url, "init-db"))
    assert list(tmp_path.iterdir()) == []
    if "ssl_ca" in url:
        assert "ssl_ca" in line and "/nonexistent/ca.pem" in line


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_table_of_an_adsgen_name_with_other_columns_is_refused(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if kind == "sqlite":
        url = sqlite_url(tmp_path / "theirs.db")
        engine = store.make_engine(url)
    else:
        engine = request.getfixturevalue("pg_engine")
        url = _url(engine)
        with engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):  # every adsgen table
                conn.execute(text(f"DROP TABLE {table.name} CASCADE"))  # and its views
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE advertisers (id INTEGER PRIMARY KEY, crm_code TEXT)"))
        conn.execute(text("INSERT INTO advertisers VALUES (1, 'A-1')"))
    try:
        line = user_error(invoke("--quiet", "--db", url, "run-all"))
        assert "'advertisers'" in line and "crm_code" in line
        assert _tables(url) == {"advertisers"}
    finally:
        if kind == "postgresql":
            with engine.begin() as conn:
                conn.execute(text("DROP TABLE advertisers"))
            store.init_db(engine)
        engine.dispose()


def test_a_locked_sqlite_file_waits_then_names_the_other_writer(tmp_path: Path) -> None:
    path = tmp_path / "ads.db"
    assert invoke("--db", sqlite_url(path), "init-db").exit_code == 0
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("INSERT INTO targeting (line_item_id, key, value) VALUES (1, 'geo', 'US')")
        done = subprocess.run(
            [ADSGEN, "--db", f"sqlite:///{path}?timeout=1", "create-advertiser", "--auto"],
            capture_output=True, text=True, cwd=tmp_path, env=subprocess_env(), timeout=120,
        )
    finally:
        holder.rollback()
        holder.close()
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ")
    assert f"pid {os.getpid()}" in done.stderr and "busy timeout" in done.stderr


def _run_all_copy(tmp_path: Path) -> tuple[str, dict[str, list[tuple[Any, ...]]]]:
    url = sqlite_url(tmp_path / "ads.db")
    assert invoke("--db", url, "run-all").exit_code == 0
    return url, dump(url, timestamps=True)


def test_sqlite_disk_full_exits_2_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, before = _run_all_copy(tmp_path)
    pages = sqlite3.connect(tmp_path / "ads.db").execute("PRAGMA page_count").fetchone()[0]
    plain = store._sqlite_on_connect

    def tiny_disk(dbapi_connection: Any, record: Any) -> None:
        plain(dbapi_connection, record)
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages + 5}")

    monkeypatch.setattr(store, "_sqlite_on_connect", tiny_disk)
    line = user_error(invoke("--quiet", "--db", url, "run-all", "--scale", "5", "--seed", "3"))
    assert "full" in line
    monkeypatch.undo()
    assert dump(url, timestamps=True) == before


def test_enospc_while_writing_exits_2_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, before = _run_all_copy(tmp_path)

    def no_space(*args: Any, **kwargs: Any) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(store, "bulk_insert", no_space)
    line = user_error(invoke("--quiet", "--db", url, "run-all", "--seed", "3"))
    assert "no space left" in line
    monkeypatch.undo()
    assert dump(url, timestamps=True) == before


# --- item 12: the same seed gives identical content, timestamps included -------------------


def test_run_all_twice_gives_identical_content_with_deterministic_timestamps(
    engine: Engine,
) -> None:
    url = _url(engine)
    dumps = []
    for _ in range(2):
        result = invoke("--db", url, "run-all", "--deterministic-timestamps")
        assert result.exit_code == 0, result.stderr
        dumps.append(dump(url, timestamps=True))
    assert dumps[0] == dumps[1]
    assert len(dumps[0]["advertisers"]) >= 7
    assert [row[0] for row in dumps[0]["advertisers"]] == list(
        range(1, len(dumps[0]["advertisers"]) + 1)
    )


def test_ids_go_on_after_a_numbered_run_all(engine: Engine) -> None:
    """run-all numbers its rows itself: the database's own counters must still go past them."""
    url = _url(engine)
    assert invoke("--db", url, "run-all").exit_code == 0
    advertisers = len(dump(url)["advertisers"])
    created = json.loads(invoke("--json", "--db", url, "create-campaign", "--advertiser-id", "1",
                                "--auto").stdout)
    assert created["created"]["campaigns"] == 1
    assert json.loads(invoke("--json", "--db", url, "create-advertiser", "--auto").stdout)[
        "ids"]["advertisers"][0] > advertisers


def test_the_same_seed_gives_the_same_content_on_every_engine(
    sqlite_engine: Engine, pg_engine: Engine, mysql_engine: Engine
) -> None:
    """Ids by plan position and plan timestamps: SQLite, PostgreSQL and MariaDB hold the same
    rows, every column included, after the MariaDB database has counted ids elsewhere."""
    # a first run moves MariaDB's AUTO_INCREMENT counters on
    assert invoke("-q", "--db", _url(mysql_engine), "run-all").exit_code == 0
    dumps = []
    for engine in (sqlite_engine, pg_engine, mysql_engine):
        result = invoke("-q", "--db", _url(engine), "run-all", "--deterministic-timestamps")
        assert result.exit_code == 0, result.stderr
        dumps.append(dump(_url(engine), timestamps=True))
    assert dumps[0] == dumps[1] == dumps[2]
