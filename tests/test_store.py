"""The store: engines and settings, connection errors a user can act on, transactions, and
the bulk loader's exact round trip and rollback on every dialect."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select, text
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from adsgen.exceptions import DatabaseError
from adsgen.settings import get_settings
from adsgen.simulate.columns import FUNNEL, GROUND_TRUTH_SCHEMA, PERFORMANCE_SCHEMA
from adsgen.storage.database import (
    bulk_insert,
    check_connection,
    delete_facts,
    init_db,
    make_engine,
    masked_url,
    session_scope,
    table_counts,
)
from adsgen.storage.orm import Advertiser, Base, Campaign, Creative, Flight, LineItem, Performance

HOUR0 = datetime(2025, 3, 1)
DEVICES = ("ctv", "mobile", "desktop")


def make_parents(engine: Engine, line_items: int = 2, creatives: int = 2) -> list[list[int]]:
    """Creative ids per line item, in line-item order (line item id = first element's owner)."""
    with session_scope(engine) as session:
        campaign = Campaign(name="c", objective="awareness")
        session.add(Advertiser(name="a", industry="retail", domain="a.example",
                               campaigns=[campaign]))
        for i in range(line_items):
            campaign.line_items.append(LineItem(
                name=f"li {i}", cpm_micros=25_000_000,
                creatives=[Creative(name=f"cr {j}", duration_s=15,
                                    asset_url="https://cdn.example/a.mp4")
                           for j in range(creatives)],
            ))
        session.flush()
        return [[li.id, *(c.id for c in li.creatives)] for li in campaign.line_items]


def performance_table(parents: list[list[int]], hours: int = 5) -> pa.Table:
    """Valid rows for every line item × creative × hour × device, with varied counts."""
    rows: list[dict[str, Any]] = []
    for li_id, *creative_ids in parents:
        for creative_id in creative_ids:
            for h in range(hours):
                for d, device in enumerate(DEVICES):
                    impressions = 1_000 + 37 * h + 11 * d + creative_id
                    funnel = [impressions - k * (3 + h) for k in range(len(FUNNEL))]
                    rows.append({
                        "line_item_id": li_id, "creative_id": creative_id,
                        "hour": HOUR0 + timedelta(hours=h), "device": device,
                        "platform": "netflix_like",
                        **dict(zip(FUNNEL, funnel, strict=True)),
                        "measurable": impressions - 5, "viewable": impressions - 9,
                        "invalid": h, "clicks": d, "qr_scans": 0, "click_conversions": d,
                        "view_conversions": h, "cumulative_reach": 100 * h + d,
                        "spend_micros": impressions * 25_000 + 2**40,  # beyond 32 bits
                    })
    return pa.Table.from_pylist(rows, schema=PERFORMANCE_SCHEMA)


def ground_truth_table(parents: list[list[int]]) -> pa.Table:
    rows = [
        {"line_item_id": li_id, "device": device, "platform": "netflix_like",
         "seed": 2**62 + li_id, "audience": 10**9,
         "cpm_micros": 25_000_000, "p_start": 1 / 3, "p_first_quartile": 0.1 + 0.2,
         "p_midpoint": 2.0**-30, "p_third_quartile": 5e-324, "p_complete": 0.0,
         "p_measurable": 1.0, "p_viewable": 0.8765432109876543, "p_invalid": 1e-300,
         "p_click": 0.0021, "p_qr_scan": 0.000123, "p_conversion": 0.5,
         "conversion_lag_mean_hours": 36.25,
         "conversion_share_in_flight": 0.8125, "targetable_households": 2**40,
         "exposure_shape": 1e-3, "planned_frequency": 12.5, "win_rate": 0.25,
         "allocated_share": 1 / 3}
        for li_id, *_ in parents for device in DEVICES
    ]
    return pa.Table.from_pylist(rows, schema=GROUND_TRUTH_SCHEMA)


def read_back(engine: Engine, table_name: str, schema: pa.Schema, conn: Any = None) -> pa.Table:
    """The table's rows in primary-key order, as an Arrow table of `schema`."""
    table = Base.metadata.tables[table_name]
    query = select(*(table.c[name] for name in schema.names)).order_by(*table.primary_key)
    if conn is None:
        with engine.connect() as own:
            rows = own.execute(query).mappings().all()
    else:
        rows = conn.execute(query).mappings().all()
    return pa.Table.from_pylist([dict(r) for r in rows], schema=schema)


def sort_like_pk(data: pa.Table, table_name: str) -> pa.Table:
    keys = [c.name for c in Base.metadata.tables[table_name].primary_key]
    return data.sort_by([(k, "ascending") for k in keys])


# --- settings and engines -------------------------------------------------------------------


@pytest.fixture
def clean_settings(monkeypatch: pytest.MonkeyPatch) -> Any:
    for name in list(os.environ):
        if name.startswith("ADSGEN_") and not name.startswith("ADSGEN_TEST_"):
            monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def test_make_engine_defaults_to_settings(clean_settings: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    assert str(make_engine().url) == "sqlite:///ads.db"
    get_settings.cache_clear()
    clean_settings.setenv("ADSGEN_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    assert make_engine().url.database == str(tmp_path / "env.db")


def test_sqlite_connections_enforce_foreign_keys(sqlite_engine: Engine) -> None:
    with sqlite_engine.connect() as first, sqlite_engine.connect() as second:
        for conn in (first, second):
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", "invalid database URL"),
        ("nosuchdb://user:hunter2@host/db", "cannot use database URL"),
        ("postgresql+nosuchdriver://user:hunter2@host/db", "cannot use database URL"),
    ],
)
def test_make_engine_rejects_bad_urls(url: str, expected: str) -> None:
    with pytest.raises(DatabaseError, match=expected) as info:
        make_engine(url)
    assert "hunter2" not in str(info.value)


def test_masked_url_hides_the_password() -> None:
    assert masked_url("postgresql://u:s3cret@h:5432/d") == "postgresql://u:***@h:5432/d"
    assert masked_url("sqlite:///ads.db") == "sqlite:///ads.db"


# --- connection errors a user can fix -------------------------------------------------------


def _one_line_error(engine: Engine) -> str:
    with pytest.raises(DatabaseError) as info:
        check_connection(engine)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://postgres:hunter2@127.0.0.1:1/test",
        "mysql+pymysql://root:hunter2@127.0.0.1:1/test",
    ],
)
def test_unreachable_server_is_one_clear_line(url: str) -> None:
    message = _one_line_error(make_engine(url))
    assert message.startswith("cannot use database ")
    assert ":***@127.0.0.1:1/test" in message and "hunter2" not in message
    assert "refused" in message.lower() or "can't connect" in message.lower()


def test_missing_sqlite_folder(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'nowhere' / 'ads.db'}")
    message = _one_line_error(engine)
    assert "nowhere" in message and "does not exist" in message
    with pytest.raises(DatabaseError, match="does not exist"):
        init_db(engine)
    assert not (tmp_path / "nowhere").exists()  # never created behind the user's back


def test_read_only_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    sqlite3.connect(path).close()
    engine = make_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    message = _one_line_error(engine)
    assert "readonly" in message and str(path) in message
    check_connection(engine, write=False)  # reading is fine
    with pytest.raises(DatabaseError, match="readonly"):
        init_db(engine)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can write anything")
def test_read_only_sqlite_permissions(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    sqlite3.connect(path).close()
    path.chmod(0o444)
    assert "readonly" in _one_line_error(make_engine(f"sqlite:///{path}"))


def test_check_connection_passes_on_working_databases(engine: Engine) -> None:
    check_connection(engine)


def test_table_counts_needs_init_db(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(DatabaseError, match="init-db"):
        table_counts(engine)
    init_db(engine)
    assert table_counts(engine) == dict.fromkeys(Base.metadata.tables, 0)


# --- transactions ---------------------------------------------------------------------------


def test_session_scope_commits_or_rolls_back(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(Advertiser(name="kept", industry="retail", domain="k.example"))
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        session.add(Advertiser(name="lost", industry="retail", domain="l.example"))
        session.flush()
        raise RuntimeError("boom")
    with Session(engine) as session:
        assert session.scalars(select(Advertiser.name)).all() == ["kept"]


def test_objects_stay_readable_after_the_scope(engine: Engine) -> None:
    with session_scope(engine) as session:
        advertiser = Advertiser(name="a", industry="retail", domain="a.example")
        session.add(advertiser)
    assert advertiser.id > 0 and advertiser.created_at is not None


# --- bulk_insert ---------------------------------------------------------------------------


@pytest.mark.parametrize("batch_rows", [None, 7])
def test_bulk_insert_round_trips_exactly(engine: Engine, batch_rows: int | None) -> None:
    parents = make_parents(engine)
    performance = performance_table(parents)
    truth = ground_truth_table(parents)
    with engine.begin() as conn:
        assert bulk_insert(conn, "performance", performance, batch_rows=batch_rows) == 60
        assert bulk_insert(conn, "ground_truth", truth, batch_rows=batch_rows) == 6
    assert read_back(engine, "performance", PERFORMANCE_SCHEMA).equals(
        sort_like_pk(performance, "performance"))
    assert read_back(engine, "ground_truth", GROUND_TRUTH_SCHEMA).equals(
        sort_like_pk(truth, "ground_truth"))


def test_bulk_rows_read_back_through_the_orm(engine: Engine) -> None:
    """Timestamps written by the bulk path compare equal to ORM-bound datetimes."""
    parents = make_parents(engine, line_items=1, creatives=1)
    with engine.begin() as conn:
        bulk_insert(conn, "performance", performance_table(parents))
    hour = HOUR0 + timedelta(hours=3)
    with Session(engine) as session:
        rows = session.scalars(select(Performance).where(Performance.hour == hour)).all()
        assert {(r.hour, r.device) for r in rows} == {(hour, d) for d in DEVICES}
        between = select(func.count()).where(Performance.hour >= hour, Performance.hour < hour
                                             + timedelta(hours=2))
        assert session.scalar(between) == 6


def test_sqlite_stores_datetimes_as_the_orm_does(sqlite_engine: Engine) -> None:
    parents = make_parents(sqlite_engine, line_items=1, creatives=1)
    with session_scope(sqlite_engine) as session:
        line_item = session.get_one(LineItem, parents[0][0])
        line_item.flight = Flight(start_at=HOUR0, end_at=HOUR0 + timedelta(hours=5))
    with sqlite_engine.begin() as conn:
        bulk_insert(conn, "performance", performance_table(parents, hours=1))
        bulk_text = conn.exec_driver_sql("SELECT DISTINCT hour FROM performance").scalar()
        orm_text, created = conn.exec_driver_sql("SELECT start_at, created_at FROM flights").one()
    assert bulk_text == orm_text == "2025-03-01 00:00:00"
    assert len(created) == len(bulk_text)  # CURRENT_TIMESTAMP has the same shape


def test_timestamps_are_utc_instants_whatever_the_session_time_zone(engine: Engine) -> None:
    """The bulk path and the ORM store the same UTC instant (timestamptz on PostgreSQL), and
    the ORM reads it back as naive UTC, even when the session's time zone is not UTC."""
    parents = make_parents(engine, line_items=1, creatives=1)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL TIME ZONE 'America/New_York'")
        bulk_insert(conn, "performance", performance_table(parents, hours=2))
        with Session(bind=conn) as session:
            session.add(Flight(line_item_id=parents[0][0], start_at=HOUR0 + timedelta(hours=1),
                               end_at=HOUR0 + timedelta(days=1)))
            session.flush()
            assert session.scalar(select(Flight.start_at)) == HOUR0 + timedelta(hours=1)
            assert session.scalar(select(func.min(Performance.hour))) == HOUR0
        same = conn.execute(text(
            "SELECT count(*) FROM performance p JOIN flights f ON p.hour = f.start_at")).scalar()
        assert same == 3  # the three devices' rows of the second hour
        if engine.dialect.name == "postgresql":
            kinds = conn.execute(text(
                "SELECT DISTINCT data_type FROM information_schema.columns WHERE table_schema ="
                " current_schema() AND column_name IN ('hour', 'start_at', 'end_at', "
                "'created_at', 'updated_at')")).scalars().all()
            assert kinds == ["timestamp with time zone"]
            epoch = conn.execute(text("SELECT extract(epoch FROM min(hour)) FROM performance"))
            assert int(epoch.scalar_one()) == int(HOUR0.replace(tzinfo=UTC).timestamp())


def test_no_column_name_needs_quoting() -> None:
    """Plain SQL works on every dialect: no reserved word as a name (flights used "end").

    `targeting.key` is the one exception left (a MySQL/SQLite keyword), listed here."""
    quoted = {
        dialect.name: sorted(
            f"{table.name}.{name}" for table in Base.metadata.tables.values()
            for name in (table.name, *table.c.keys())
            if dialect.identifier_preparer._requires_quotes(name)
        )
        for dialect in (postgresql.dialect(), mysql.dialect(), sqlite.dialect())
    }
    assert quoted == {"postgresql": [], "mysql": ["targeting.key"], "sqlite": ["targeting.key"]}


def test_bulk_insert_is_rolled_back_with_the_transaction(engine: Engine) -> None:
    parents = make_parents(engine)
    with engine.connect() as conn:
        bulk_insert(conn, "performance", performance_table(parents))
        assert conn.execute(select(func.count()).select_from(Performance)).scalar_one() == 60
        conn.rollback()
    with pytest.raises(RuntimeError), engine.begin() as conn:
        bulk_insert(conn, "ground_truth", ground_truth_table(parents))
        raise RuntimeError("a later step failed")
    counts = table_counts(engine)
    assert counts["performance"] == counts["ground_truth"] == 0


def test_bulk_insert_constraint_violation_is_integrity_error(engine: Engine) -> None:
    parents = make_parents(engine)
    data = performance_table(parents)
    bad = data.set_column(
        data.schema.get_field_index("completes"), "completes",
        pa.array([10**9] * data.num_rows, pa.int64()),
    )
    with engine.connect() as conn:
        with pytest.raises(IntegrityError):
            bulk_insert(conn, "performance", bad, batch_rows=50)
        conn.rollback()
    with engine.connect() as conn, pytest.raises(IntegrityError):
        bulk_insert(conn, "performance", data.slice(0, 3).select(data.column_names[::-1]))
        bulk_insert(conn, "performance", data.slice(2, 3))  # duplicate key
    assert table_counts(engine)["performance"] == 0


def test_bulk_insert_accepts_any_column_order_and_zoned_times(engine: Engine) -> None:
    parents = make_parents(engine, line_items=1, creatives=1)
    data = performance_table(parents, hours=2)
    hour_index = data.schema.get_field_index("hour")
    zone = pa.timestamp("ms", tz="America/New_York")  # same instants, shown in New York
    zoned = data.set_column(hour_index, pa.field("hour", zone), data.column("hour").cast(zone))
    with engine.begin() as conn:
        bulk_insert(conn, "performance", zoned.select(sorted(zoned.column_names)))
    assert read_back(engine, "performance", PERFORMANCE_SCHEMA).equals(
        sort_like_pk(data, "performance"))


def test_bulk_insert_rejects_unknown_names(sqlite_engine: Engine) -> None:
    data = pa.table({"line_item_id": [1], "nope": [2]})
    with sqlite_engine.begin() as conn:
        with pytest.raises(ValueError, match="known tables: advertisers"):
            bulk_insert(conn, "perfomance", data)
        with pytest.raises(ValueError, match="no column"):
            bulk_insert(conn, "performance", data)
        assert bulk_insert(conn, "performance", PERFORMANCE_SCHEMA.empty_table()) == 0


def test_bulk_insert_honours_schema_translate_map(sqlite_engine: Engine) -> None:
    parents = make_parents(sqlite_engine, line_items=1, creatives=1)
    with sqlite_engine.connect() as raw:
        conn = raw.execution_options(schema_translate_map={None: "main"})
        bulk_insert(conn, "performance", performance_table(parents, hours=1))
        conn.commit()
    assert table_counts(sqlite_engine)["performance"] == 3


@st.composite
def performance_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Rows obeying every CHECK, with extreme but legal values."""
    big = st.integers(0, 2**62)
    n = draw(st.integers(1, 30))
    rows = []
    for h in range(n):
        funnel = sorted((draw(big) for _ in FUNNEL), reverse=True)
        impressions = funnel[0]
        measurable = draw(st.integers(0, impressions))
        invalid = draw(st.integers(0, impressions))
        rows.append({
            "line_item_id": 0, "creative_id": 0,
            "hour": HOUR0 + timedelta(hours=h), "device": draw(st.sampled_from(DEVICES)),
            "platform": draw(st.sampled_from(["netflix_like", "roku_like"])),
            **dict(zip(FUNNEL, funnel, strict=True)),
            "measurable": measurable, "viewable": draw(st.integers(0, measurable)),
            "invalid": invalid,  # invalid traffic never clicks or scans
            "clicks": draw(st.integers(0, impressions - invalid)),
            "qr_scans": draw(st.integers(0, impressions - invalid)),
            "click_conversions": draw(big), "view_conversions": draw(big),
            "cumulative_reach": draw(big), "spend_micros": draw(st.integers(0, 2**63 - 1)),
        })
    return rows


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=performance_rows())
def test_any_valid_rows_round_trip_on_sqlite(sqlite_engine: Engine,
                                              rows: list[dict[str, Any]]) -> None:
    with sqlite_engine.connect() as conn:
        ids = conn.exec_driver_sql("SELECT line_item_id, id FROM creatives").first()
        if ids is None:
            conn.rollback()
            make_parents(sqlite_engine, line_items=1, creatives=1)
            ids = conn.exec_driver_sql("SELECT line_item_id, id FROM creatives").one()
        for row in rows:
            row["line_item_id"], row["creative_id"] = ids
        data = pa.Table.from_pylist(rows, schema=PERFORMANCE_SCHEMA)
        bulk_insert(conn, "performance", data)
        got = read_back(sqlite_engine, "performance", PERFORMANCE_SCHEMA, conn=conn)
        conn.rollback()  # leave the database as it was for the next example
    assert got.equals(sort_like_pk(data, "performance"))


# --- replacing facts, counting ---------------------------------------------------------------


def test_delete_facts_only_touches_the_given_line_items(engine: Engine) -> None:
    parents = make_parents(engine, line_items=3, creatives=1)
    with engine.begin() as conn:
        bulk_insert(conn, "performance", performance_table(parents))
        bulk_insert(conn, "ground_truth", ground_truth_table(parents))
    kept, *dropped = (li_id for li_id, *_ in parents)
    with engine.begin() as conn:
        assert delete_facts(conn, [*dropped, *dropped, 10**6]) == 2 * (15 + 3)
    with engine.connect() as conn:
        for table in ("performance", "ground_truth"):
            remaining = conn.execute(text(f"SELECT DISTINCT line_item_id FROM {table}"))
            assert remaining.scalars().all() == [kept]
    counts = table_counts(engine)
    assert (counts["line_items"], counts["performance"], counts["ground_truth"]) == (3, 15, 3)
