"""The ORM: schema mirrors the Arrow fact schemas, constraints hold at the database on every
dialect, relationships cascade, timestamps are maintained in naive UTC."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import (
    BigInteger,
    Date,
    Double,
    Engine,
    Integer,
    String,
    delete,
    func,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateTable

import adsgen.storage.orm as orm
from adsgen.domain.enums import (
    AdFormat,
    BudgetType,
    CampaignStatus,
    Currency,
    DeviceType,
    FrequencyPeriod,
    Industry,
    Objective,
    PacingPeriod,
    PacingType,
    QAStatus,
    TargetingKey,
)
from adsgen.simulate.columns import FACT_TABLES
from adsgen.storage.database import init_db, session_scope, table_counts
from adsgen.storage.orm import (
    Advertiser,
    Base,
    Budget,
    Campaign,
    Creative,
    Flight,
    FrequencyCap,
    GroundTruth,
    LineItem,
    Performance,
    TargetingRule,
    UtcDateTime,
)

START = datetime(2025, 3, 1)
CREATIVES = Base.metadata.tables["creatives"]
END = datetime(2025, 4, 1)


def make_tree(name: str = "Acme Motors") -> Advertiser:
    """One advertiser → campaign → line item → creative, with every component."""
    creative = Creative(
        name="spot 30s", ad_format=AdFormat.video, duration_s=30,
        asset_url="https://cdn.example/acme/30.mp4", has_qr=True,
    )
    line_item = LineItem(
        name="CTV prime", cpm_micros=32_500_000,
        flight=Flight(start_at=START, end_at=START + timedelta(days=7)),
        budget=Budget(amount_micros=10_000_000_000, daily_cap_micros=2_000_000_000),
        frequency_cap=FrequencyCap(max_impressions=3, time_unit=FrequencyPeriod.days),
        targeting_rules=[
            TargetingRule(key=TargetingKey.device, value="ctv"),
            TargetingRule(key=TargetingKey.geo, value="US"),
            TargetingRule(key=TargetingKey.geo, value="CA"),
        ],
        creatives=[creative],
    )
    campaign = Campaign(
        name="Spring launch", objective=Objective.awareness, status=CampaignStatus.active,
        flight=Flight(start_at=START, end_at=END),
        budget=Budget(amount_micros=50_000_000_000, pacing_type=PacingType.ahead),
        line_items=[line_item],
    )
    return Advertiser(
        name=name, industry=Industry.automotive, domain="acmemotors.example",
        campaigns=[campaign],
    )


def _persist(engine: Engine, name: str = "Acme Motors") -> dict[str, int]:
    with session_scope(engine) as session:
        advertiser = make_tree(name)
        session.add(advertiser)
        session.flush()
        campaign = advertiser.campaigns[0]
        line_item = campaign.line_items[0]
        return {
            "advertiser": advertiser.id, "campaign": campaign.id,
            "line_item": line_item.id, "creative": line_item.creatives[0].id,
        }


# --- schema -----------------------------------------------------------------------------


_ARROW_TO_SQL: dict[pa.DataType, tuple[type[Any], ...]] = {
    pa.int64(): (Integer, BigInteger),
    pa.float64(): (Double,),
    pa.string(): (String,),
    pa.timestamp("us", tz="UTC"): (UtcDateTime,),
    pa.date32(): (Date,),
}


@pytest.mark.parametrize("name", list(FACT_TABLES))
def test_fact_tables_mirror_the_arrow_schemas(name: str) -> None:
    table, spec = Base.metadata.tables[name], FACT_TABLES[name]
    assert [c.name for c in table.columns] == spec.schema.names
    for field in spec.schema:
        assert isinstance(table.c[field.name].type, _ARROW_TO_SQL[field.type]), field.name
        assert table.c[field.name].nullable == (field.name in spec.nullable), field.name
    assert Performance.__table__ is Base.metadata.tables["performance"]
    assert GroundTruth.__table__ is Base.metadata.tables["ground_truth"]


def test_table_names_and_exports() -> None:
    assert set(Base.metadata.tables) == {
        "advertisers", "campaigns", "line_items", "creatives", "flights", "budgets",
        "frequency_caps", "targeting", "performance", "ground_truth", "creative_truth",
        "conversion_truth", "daily", "mmm", "experiment_outcomes", "experiment_truth", "reach",
        "pacing", "pod_delivery", "market_delivery", "campaign_reach", "change_events",
    }
    for name in orm.__all__:
        assert hasattr(orm, name), name


def test_performance_index_and_keys() -> None:
    table = Base.metadata.tables["performance"]
    assert [c.name for c in table.primary_key] == ["line_item_id", "creative_id", "hour", "device"]
    indexes = {tuple(c.name for c in ix.columns) for ix in table.indexes}
    assert ("line_item_id", "hour") in indexes
    assert [c.name for c in GroundTruth.__table__.primary_key] == ["line_item_id", "device"]


@pytest.mark.parametrize(("mariadb", "expected"), [(True, True), (False, False)])
def test_exclusive_arc_check_is_left_out_on_mysql_only(mariadb: bool, expected: bool) -> None:
    """MySQL 8 rejects CHECKs on columns of cascading FKs; MariaDB and the others keep it."""
    ddl = str(CreateTable(Base.metadata.tables["flights"]).compile(
        dialect=mysql.dialect(is_mariadb=mariadb)))
    assert ("ck_flights_one_owner" in ddl) is expected
    assert "ck_flights_end_after_start" in ddl


def test_schema_created_in_database(engine: Engine) -> None:
    inspector = inspect(engine)
    assert set(Base.metadata.tables) <= set(inspector.get_table_names())
    indexes = {ix["name"] for ix in inspector.get_indexes("performance")}
    assert "ix_performance_line_item_id_hour" in indexes
    (fk,) = inspector.get_foreign_keys("performance")
    assert fk["referred_table"] == "creatives"
    assert fk["constrained_columns"] == ["line_item_id", "creative_id"]
    assert fk["referred_columns"] == ["line_item_id", "id"]
    assert (fk.get("options") or {}).get("ondelete", "").upper() == "CASCADE"


def test_init_db_is_idempotent(engine: Engine) -> None:
    ids = _persist(engine)
    init_db(engine)
    init_db(engine)
    with Session(engine) as session:
        assert session.get(Advertiser, ids["advertiser"]) is not None


# --- round trip, relationships, cascades -------------------------------------------------


def test_tree_round_trips_with_enums_and_money(engine: Engine) -> None:
    ids = _persist(engine)
    with Session(engine) as session:
        advertiser = session.get_one(Advertiser, ids["advertiser"])
        assert advertiser.industry is Industry.automotive
        assert advertiser.currency is Currency.USD
        assert advertiser.status == "active"
        campaign = advertiser.campaigns[0]
        assert campaign.objective is Objective.awareness
        assert campaign.flight is not None and campaign.flight.end == END
        assert campaign.budget is not None and campaign.budget.amount == Decimal("50000")
        assert campaign.budget.pacing_period is PacingPeriod.flight
        assert campaign.frequency_cap is None
        line_item = campaign.line_items[0]
        assert line_item.cpm == Decimal("32.5")
        assert line_item.budget is not None and line_item.budget.daily_cap == Decimal("2000")
        assert line_item.budget.budget_type is BudgetType.lifetime
        assert line_item.frequency_cap is not None
        assert line_item.frequency_cap.time_unit is FrequencyPeriod.days
        assert line_item.flight is not None and line_item.flight.start == START
        assert line_item.flight.line_item is line_item and line_item.flight.campaign is None
        assert line_item.targeting == {"device": ["ctv"], "geo": ["US", "CA"]}
        creative = line_item.creatives[0]
        assert creative.qa_status is QAStatus.approved_servable
        assert (creative.width, creative.height, creative.has_qr) == (1920, 1080, True)
        assert creative.line_item is line_item


def test_enum_columns_store_the_value(engine: Engine) -> None:
    ids = _persist(engine)
    with engine.connect() as conn:
        row = conn.execute(
            select(CREATIVES.c.mime_type, CREATIVES.c.qa_status)
            .where(CREATIVES.c.id == ids["creative"])
        ).one()
    assert tuple(row) == ("video/mp4", "approved_servable")


def test_deleting_an_advertiser_removes_everything(engine: Engine) -> None:
    ids = _persist(engine)
    other = _persist(engine, "Other Brand")  # an identical tree that must survive
    with engine.begin() as conn:
        conn.execute(insert(Performance).values(_perf_row(ids)))
        conn.execute(insert(GroundTruth).values(_truth_row(ids)))
    before = table_counts(engine)
    with session_scope(engine) as session:
        session.delete(session.get_one(Advertiser, ids["advertiser"]))
    after = table_counts(engine)
    assert after == {
        name: 0 if name in ("performance", "ground_truth") else count // 2
        for name, count in before.items()
    }
    with Session(engine) as session:
        survivor = session.get_one(Advertiser, other["advertiser"])
        targeting = survivor.campaigns[0].line_items[0].targeting
        assert targeting == {"device": ["ctv"], "geo": ["US", "CA"]}


def test_database_cascades_without_the_orm(engine: Engine) -> None:
    """ON DELETE CASCADE holds for plain SQL too (SQLite needs PRAGMA foreign_keys=ON)."""
    ids = _persist(engine)
    with engine.begin() as conn:
        conn.execute(insert(Performance).values(_perf_row(ids)))
        conn.execute(delete(Advertiser))
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 0, table


def test_replacing_a_one_to_one_component_deletes_the_orphan(engine: Engine) -> None:
    ids = _persist(engine)
    with session_scope(engine) as session:
        line_item = session.get_one(LineItem, ids["line_item"])
        line_item.frequency_cap = None
        line_item.targeting_rules = [TargetingRule(key=TargetingKey.genre, value="drama")]
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(FrequencyCap)) == 0
        assert session.get_one(LineItem, ids["line_item"]).targeting == {"genre": ["drama"]}


# --- timestamps -------------------------------------------------------------------------


def test_timestamps_are_set_on_insert_in_naive_utc(engine: Engine) -> None:
    with engine.connect() as conn:
        # A session time zone far from UTC must not leak into the stored values.
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET TIME ZONE 'Asia/Tokyo'")
        elif engine.dialect.name in ("mysql", "mariadb"):
            conn.exec_driver_sql("SET time_zone = '+09:00'")
        with Session(bind=conn) as session:
            advertiser = make_tree()
            session.add(advertiser)
            session.flush()
            conn.commit()
            now = datetime.now(UTC).replace(tzinfo=None)
            for obj in (advertiser, advertiser.campaigns[0].flight):
                assert obj is not None
                assert obj.created_at.tzinfo is None
                assert abs(obj.created_at - now) < timedelta(minutes=2)
                assert obj.updated_at == obj.created_at
        conn.invalidate()  # do not return a connection with a changed time zone to the pool


def test_updated_at_changes_on_update(engine: Engine) -> None:
    ids = _persist(engine)
    past = datetime(2000, 1, 1)
    with engine.begin() as conn:
        conn.execute(update(Advertiser).values(created_at=past, updated_at=past))
    with session_scope(engine) as session:
        advertiser = session.get_one(Advertiser, ids["advertiser"])
        assert advertiser.updated_at == past
        advertiser.domain = "acme.example"
        session.flush()
        assert advertiser.updated_at > past + timedelta(days=365 * 20)
    with Session(engine) as session:
        advertiser = session.get_one(Advertiser, ids["advertiser"])
        assert advertiser.created_at == past
        assert advertiser.updated_at > past + timedelta(days=365 * 20)


# --- constraints at the database ----------------------------------------------------------


def _perf_row(ids: dict[str, int], **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "line_item_id": ids["line_item"], "creative_id": ids["creative"],
        "hour": datetime(2025, 3, 1, 20), "device": DeviceType.ctv.value,
        "impressions": 100, "starts": 98, "first_quartile": 95, "midpoint": 90,
        "third_quartile": 85, "completes": 80, "measurable": 90, "viewable": 85,
        "invalid": 1, "clicks": 2, "qr_scans": 1, "click_conversions": 1,
        "view_conversions": 1, "cumulative_reach": 70, "spend_micros": 3_250_000,
        "platform": "netflix_like",
    }
    return row | changes


def _truth_row(ids: dict[str, int], **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "line_item_id": ids["line_item"], "device": "ctv", "seed": 42, "audience": 1000,
        "cpm_micros": 32_500_000, "p_start": 0.98, "p_first_quartile": 0.95,
        "p_midpoint": 0.9, "p_third_quartile": 0.85, "p_complete": 0.8,
        "p_measurable": 0.9, "p_viewable": 0.85, "p_invalid": 0.01, "p_click": 0.002,
        "p_qr_scan": 0.001, "p_conversion": 0.0005, "conversion_lag_mean_hours": 36.0,
        "conversion_share_in_flight": 0.75, "targetable_households": 5000,
        "exposure_shape": 0.2, "planned_frequency": 5.0, "win_rate": 0.1, "allocated_share": 1.0,
        "platform": "netflix_like",
    }
    return row | changes


def _budget(ids: dict[str, int], **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "campaign_id": None, "line_item_id": None, "budget_type": "lifetime",
        "amount_micros": 1_000_000, "currency": "USD", "pacing_type": "even",
        "pacing_period": "flight", "daily_cap_micros": None,
    }
    return row | {"line_item_id": _new_line_item(ids)} | changes


# Line items created by a test that need a component of their own (unique per owner).
_NEW_LINE_ITEM = "__new_line_item__"


def _new_line_item(ids: dict[str, int]) -> int:
    return ids[_NEW_LINE_ITEM]


BadRow = Callable[[dict[str, int]], tuple[type[Base], dict[str, Any]]]

BAD_ROWS: dict[str, BadRow] = {
    "cpm_zero": lambda ids: (LineItem, {"campaign_id": ids["campaign"], "name": "x",
                                        "ad_format": "video", "position": "mid_roll",
                                        "cpm_micros": 0}),
    "budget_zero": lambda ids: (Budget, _budget(ids, amount_micros=0)),
    "budget_negative": lambda ids: (Budget, _budget(ids, amount_micros=-5)),
    "daily_cap_zero": lambda ids: (Budget, _budget(ids, daily_cap_micros=0)),
    "daily_cap_above_lifetime": lambda ids: (Budget, _budget(ids, daily_cap_micros=2_000_000)),
    "asap_over_flight": lambda ids: (Budget, _budget(ids, pacing_type="asap")),
    "budget_no_owner": lambda ids: (Budget, _budget(ids, line_item_id=None)),
    "budget_two_owners": lambda ids: (Budget, _budget(ids, campaign_id=ids["campaign"])),
    "second_budget_same_owner": lambda ids: (Budget, _budget(ids, line_item_id=ids["line_item"])),
    "flight_end_equals_start": lambda ids: (Flight, {"line_item_id": _new_line_item(ids),
                                                     "start_at": START, "end_at": START}),
    "flight_end_before_start": lambda ids: (Flight, {"line_item_id": _new_line_item(ids),
                                                     "start_at": END, "end_at": START}),
    "frequency_cap_zero": lambda ids: (FrequencyCap, {"line_item_id": _new_line_item(ids),
                                                      "max_impressions": 0, "time_unit": "days",
                                                      "time_unit_count": 1}),
    "frequency_unit_count_zero": lambda ids: (FrequencyCap, {
        "line_item_id": _new_line_item(ids), "max_impressions": 3, "time_unit": "days",
        "time_unit_count": 0}),
    "completes_above_third_quartile": lambda ids: (Performance, _perf_row(ids, completes=86)),
    "midpoint_above_first_quartile": lambda ids: (Performance, _perf_row(ids, midpoint=96)),
    "starts_above_impressions": lambda ids: (Performance, _perf_row(ids, starts=101)),
    "viewable_above_measurable": lambda ids: (Performance, _perf_row(ids, viewable=91)),
    "measurable_above_impressions": lambda ids: (Performance, _perf_row(ids, measurable=101)),
    "clicks_above_impressions": lambda ids: (Performance, _perf_row(ids, clicks=101)),
    "invalid_above_impressions": lambda ids: (Performance, _perf_row(ids, invalid=101)),
    "qr_scans_above_impressions": lambda ids: (Performance, _perf_row(ids, qr_scans=101)),
    "negative_conversions": lambda ids: (Performance, _perf_row(ids, view_conversions=-1)),
    "negative_spend": lambda ids: (Performance, _perf_row(ids, spend_micros=-1)),
    "negative_reach": lambda ids: (Performance, _perf_row(ids, cumulative_reach=-1)),
    "all_negative_funnel": lambda ids: (Performance, _perf_row(
        ids, impressions=-1, starts=-1, first_quartile=-1, midpoint=-1, third_quartile=-1,
        completes=-1, measurable=-1, viewable=-1, invalid=-1, clicks=-1, qr_scans=-1)),
    "performance_unknown_line_item": lambda ids: (Performance, _perf_row(
        ids, line_item_id=ids["line_item"] + 1000)),
    "creative_of_another_line_item": lambda ids: (Performance, _perf_row(
        ids, line_item_id=_new_line_item(ids))),
    "duplicate_performance_key": lambda ids: (Performance, _perf_row(ids)),
    "probability_above_one": lambda ids: (GroundTruth, _truth_row(ids, p_click=1.5)),
    "negative_audience": lambda ids: (GroundTruth, _truth_row(ids, audience=-1)),
    "duplicate_advertiser_name": lambda ids: (Advertiser, {"name": "Acme Motors",
                                                           "industry": "retail",
                                                           "domain": "x.example",
                                                           "currency": "USD"}),
    "duplicate_campaign_name": lambda ids: (Campaign, {"advertiser_id": ids["advertiser"],
                                                       "name": "Spring launch",
                                                       "objective": "awareness",
                                                       "dsp_partner": "direct"}),
    "duplicate_line_item_name": lambda ids: (LineItem, {"campaign_id": ids["campaign"],
                                                        "name": "CTV prime",
                                                        "ad_format": "video",
                                                        "position": "mid_roll",
                                                        "cpm_micros": 1}),
    "duplicate_creative_name": lambda ids: (Creative, {
        "line_item_id": ids["line_item"], "name": "spot 30s", "ad_format": "video",
        "mime_type": "video/mp4", "asset_url": "https://x.example/a.mp4", "width": 1,
        "height": 1, "has_qr": False, "interactive": False, "qa_status": "approved_servable"}),
    "creative_zero_width": lambda ids: (Creative, {
        "line_item_id": ids["line_item"], "name": "new", "ad_format": "video",
        "mime_type": "video/mp4", "asset_url": "https://x.example/a.mp4", "width": 0,
        "height": 1, "has_qr": False, "interactive": False, "qa_status": "approved_servable"}),
    "duplicate_targeting": lambda ids: (TargetingRule, {"line_item_id": ids["line_item"],
                                                        "key": "geo", "value": "US"}),
    "missing_not_null": lambda ids: (Advertiser, {"name": "No industry", "domain": "x.example",
                                                  "currency": "USD"}),
}


@pytest.fixture
def seeded(engine: Engine) -> dict[str, int]:
    """A full tree plus a bare line item (no components), with a performance row."""
    ids = _persist(engine)
    with engine.begin() as conn:
        conn.execute(insert(Performance).values(_perf_row(ids)))
        bare = conn.execute(
            insert(LineItem).values(
                campaign_id=ids["campaign"], name="bare", ad_format="video",
                position="mid_roll", cpm_micros=1_000_000,
            )
        ).inserted_primary_key
        assert bare is not None
        ids[_NEW_LINE_ITEM] = int(bare[0])
    return ids


@pytest.mark.parametrize("case", list(BAD_ROWS))
def test_database_rejects_bad_rows(engine: Engine, seeded: dict[str, int], case: str) -> None:
    model, row = BAD_ROWS[case](seeded)
    with engine.connect() as conn:
        with pytest.raises(IntegrityError):
            conn.execute(insert(model).values(row))
        conn.rollback()


def test_good_rows_pass_the_same_constraints(engine: Engine, seeded: dict[str, int]) -> None:
    """The valid baselines of the bad-row cases are accepted, so each rejection is specific."""
    with engine.begin() as conn:
        conn.execute(insert(Performance).values(_perf_row(seeded, device="mobile")))
        conn.execute(insert(GroundTruth).values(_truth_row(seeded)))
        conn.execute(insert(Budget).values(
            _budget(seeded, pacing_type="asap", pacing_period="daily", daily_cap_micros=5)))
        conn.execute(insert(Flight).values(
            line_item_id=seeded[_NEW_LINE_ITEM], start_at=START, end_at=START + timedelta(hours=1)))
        conn.execute(insert(Campaign).values(  # same name, another advertiser
            advertiser_id=_persist_bare_advertiser(conn), name="Spring launch",
            objective="awareness", dsp_partner="direct"))


def _persist_bare_advertiser(conn: Any) -> int:
    result = conn.execute(insert(Advertiser).values(
        name="Second", industry="retail", domain="second.example", currency="USD"))
    return int(result.inserted_primary_key[0])
