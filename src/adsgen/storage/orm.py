"""SQLAlchemy 2.0 typed models of the ad platform: one class per table, portable DDL.

Entities (advertisers → campaigns → line items → creatives) are written through the ORM;
flights, budgets and frequency caps belong to exactly one campaign *or* line item (an
exclusive arc: two nullable FKs, a CHECK that exactly one is set, unique per owner).
The fact tables `performance` and `ground_truth` mirror the Arrow schemas of
`adsgen.simulate.columns` column for column and are loaded through
`adsgen.storage.database.bulk_insert`, never as ORM objects.

The database guards what a single row can break (positive money, end > start, funnel
order, viewable <= measurable <= impressions, …) with named CHECK constraints, and every
child FK is ON DELETE CASCADE (SQLite needs `PRAGMA foreign_keys=ON`, which
`adsgen.storage.database.make_engine` sets). Enums are stored as their string values in
VARCHARs and read back as enum members, except `status`, a plain string holding an
`EntityStatus` or a `CampaignStatus` value. Times are `UtcDateTime` (timestamptz on
PostgreSQL, UTC DATETIME elsewhere, naive UTC in Python); `created_at`/`updated_at` are set
by the database. The targeting table's class is `TargetingRule` so that it does not clash
with the Pydantic `Targeting` model in the registry. Works on SQLite, PostgreSQL and MariaDB/MySQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.type_api import TypeEngine

from adsgen.domain.enums import (
    AdFormat,
    AdPosition,
    BudgetType,
    CreativeMimeType,
    Currency,
    DspPartner,
    FrequencyPeriod,
    Industry,
    Objective,
    PacingPeriod,
    PacingType,
    QAStatus,
    TargetingKey,
)

__all__ = [
    "Advertiser",
    "Base",
    "Budget",
    "Campaign",
    "Creative",
    "EntityBase",
    "Flight",
    "FrequencyCap",
    "GroundTruth",
    "LineItem",
    "Performance",
    "TargetingRule",
    "UtcDateTime",
    "utcnow",
]

MICROS = 1_000_000

# Constraint names are deterministic (and < 64 characters for MySQL), so errors name them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

class UtcDateTime(TypeDecorator[datetime]):
    """A UTC instant: naive-UTC datetimes in Python, time-zone-aware where the database can.

    PostgreSQL: `timestamptz`, written and read as aware UTC whatever the session's TimeZone.
    MariaDB/MySQL: DATETIME holding UTC (they have no zone-aware type that spans 2038+).
    SQLite: 'YYYY-MM-DD HH:MM:SS' text, the format CURRENT_TIMESTAMP and the bulk loader
    write, so values compare equal as text whichever path wrote them. Aware datetimes are
    converted to UTC on the way in; values always come back naive UTC (the schemas' form).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(
                sqlite.DATETIME(truncate_microseconds=True)  # type: ignore[no-untyped-call]
            )
        return dialect.type_descriptor(DateTime(timezone=dialect.name == "postgresql"))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return aware if dialect.name == "postgresql" else aware.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value.astimezone(UTC).replace(tzinfo=None)
        return value  # type: ignore[no-any-return]


class utcnow(FunctionElement[datetime]):
    """The current time for a `UtcDateTime` column, rendered per dialect."""

    type = DateTime()
    inherit_cache = True


@compiles(utcnow)
def _utcnow_default(element: utcnow, compiler: SQLCompiler, **kw: Any) -> str:
    return "CURRENT_TIMESTAMP"  # SQLite: already UTC


@compiles(utcnow, "postgresql")
def _utcnow_postgresql(element: utcnow, compiler: SQLCompiler, **kw: Any) -> str:
    return "CURRENT_TIMESTAMP"  # timestamptz: an instant, whatever the session's TimeZone


@compiles(utcnow, "mysql", "mariadb")
def _utcnow_mysql(element: utcnow, compiler: SQLCompiler, **kw: Any) -> str:
    return "UTC_TIMESTAMP()"


def _enum(enum_cls: type[StrEnum]) -> SAEnum:
    """A VARCHAR(32) holding the member's value, read back as the member."""
    return SAEnum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=32,
        validate_strings=True,
        values_callable=lambda members: [m.value for m in members],
    )


def _money(micros: int | None) -> Decimal | None:
    return None if micros is None else Decimal(micros) / MICROS


class Base(DeclarativeBase):
    """Declarative base; its metadata holds every adsgen table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class _Timestamps:
    """created_at / updated_at maintained by the database (UTC)."""

    created_at: Mapped[datetime] = mapped_column(
        UtcDateTime(), server_default=utcnow(), sort_order=20
    )
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime(), server_default=utcnow(), onupdate=utcnow(), sort_order=21
    )
    # Fetch server-generated values at flush, so objects stay readable after the session.
    __mapper_args__: ClassVar[dict[str, Any]] = {"eager_defaults": True}


class EntityBase(_Timestamps):
    """id, status and timestamps shared by advertisers, campaigns, line items, creatives."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, sort_order=-20)
    status: Mapped[str] = mapped_column(
        String(32), default="active", server_default="active", sort_order=10
    )


# --- entities -------------------------------------------------------------------------


class Advertiser(EntityBase, Base):
    """A brand that buys ads; its name is unique on the platform."""

    __tablename__ = "advertisers"

    name: Mapped[str] = mapped_column(String(255), unique=True)
    industry: Mapped[Industry] = mapped_column(_enum(Industry))
    domain: Mapped[str] = mapped_column(String(255))
    currency: Mapped[Currency] = mapped_column(_enum(Currency), default=Currency.USD)

    campaigns: Mapped[list[Campaign]] = relationship(
        back_populates="advertiser", cascade="all, delete-orphan", passive_deletes=True,
        order_by="Campaign.id",
    )


class Campaign(EntityBase, Base):
    """An advertiser's campaign; `status` holds a CampaignStatus value."""

    __tablename__ = "campaigns"
    __table_args__ = (UniqueConstraint("advertiser_id", "name"),)

    advertiser_id: Mapped[int] = mapped_column(
        ForeignKey("advertisers.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    objective: Mapped[Objective] = mapped_column(_enum(Objective))
    dsp_partner: Mapped[DspPartner] = mapped_column(_enum(DspPartner), default=DspPartner.direct)

    advertiser: Mapped[Advertiser] = relationship(back_populates="campaigns")
    line_items: Mapped[list[LineItem]] = relationship(
        back_populates="campaign", cascade="all, delete-orphan", passive_deletes=True,
        order_by="LineItem.id",
    )
    flight: Mapped[Flight | None] = relationship(
        back_populates="campaign", cascade="all, delete-orphan", passive_deletes=True
    )
    budget: Mapped[Budget | None] = relationship(
        back_populates="campaign", cascade="all, delete-orphan", passive_deletes=True
    )
    frequency_cap: Mapped[FrequencyCap | None] = relationship(
        back_populates="campaign", cascade="all, delete-orphan", passive_deletes=True
    )


class LineItem(EntityBase, Base):
    """A buy inside a campaign: format, position, CPM, targeting and creatives."""

    __tablename__ = "line_items"
    __table_args__ = (
        UniqueConstraint("campaign_id", "name"),
        CheckConstraint("cpm_micros > 0", name="cpm_positive"),
    )

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    ad_format: Mapped[AdFormat] = mapped_column(_enum(AdFormat), default=AdFormat.video)
    position: Mapped[AdPosition] = mapped_column(_enum(AdPosition), default=AdPosition.mid_roll)
    cpm_micros: Mapped[int] = mapped_column(BigInteger)

    campaign: Mapped[Campaign] = relationship(back_populates="line_items")
    creatives: Mapped[list[Creative]] = relationship(
        back_populates="line_item", cascade="all, delete-orphan", passive_deletes=True,
        order_by="Creative.id",
    )
    targeting_rules: Mapped[list[TargetingRule]] = relationship(
        back_populates="line_item", cascade="all, delete-orphan", passive_deletes=True,
        order_by="TargetingRule.id",
    )
    flight: Mapped[Flight | None] = relationship(
        back_populates="line_item", cascade="all, delete-orphan", passive_deletes=True
    )
    budget: Mapped[Budget | None] = relationship(
        back_populates="line_item", cascade="all, delete-orphan", passive_deletes=True
    )
    frequency_cap: Mapped[FrequencyCap | None] = relationship(
        back_populates="line_item", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def cpm(self) -> Decimal:
        """CPM in currency units (read models validate this attribute)."""
        return Decimal(self.cpm_micros) / MICROS

    @property
    def targeting(self) -> dict[str, list[str]]:
        """Targeting rules grouped by key, the generic form the Pydantic Targeting accepts."""
        grouped: dict[str, list[str]] = {}
        for rule in self.targeting_rules:
            grouped.setdefault(str(rule.key), []).append(rule.value)
        return grouped


class Creative(EntityBase, Base):
    """An ad asset served by one line item."""

    __tablename__ = "creatives"
    __table_args__ = (
        UniqueConstraint("line_item_id", "name"),
        UniqueConstraint("line_item_id", "id"),  # target of performance's composite FK
        CheckConstraint("duration_s IS NULL OR duration_s > 0", name="duration_positive"),
        CheckConstraint("width > 0 AND height > 0", name="size_positive"),
    )

    line_item_id: Mapped[int] = mapped_column(
        ForeignKey("line_items.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    ad_format: Mapped[AdFormat] = mapped_column(_enum(AdFormat), default=AdFormat.video)
    mime_type: Mapped[CreativeMimeType] = mapped_column(
        _enum(CreativeMimeType), default=CreativeMimeType.mp4
    )
    duration_s: Mapped[int | None] = mapped_column(Integer)
    asset_url: Mapped[str] = mapped_column(String(2048))
    width: Mapped[int] = mapped_column(Integer, default=1920)
    height: Mapped[int] = mapped_column(Integer, default=1080)
    has_qr: Mapped[bool] = mapped_column(Boolean, default=False)
    interactive: Mapped[bool] = mapped_column(Boolean, default=False)
    qa_status: Mapped[QAStatus] = mapped_column(_enum(QAStatus), default=QAStatus.approved_servable)

    line_item: Mapped[LineItem] = relationship(back_populates="creatives")


class TargetingRule(Base):
    """One (key, value) restriction of a line item; table `targeting`."""

    __tablename__ = "targeting"
    __table_args__ = (UniqueConstraint("line_item_id", "key", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    line_item_id: Mapped[int] = mapped_column(ForeignKey("line_items.id", ondelete="CASCADE"))
    key: Mapped[TargetingKey] = mapped_column(_enum(TargetingKey))
    value: Mapped[str] = mapped_column(String(64))

    line_item: Mapped[LineItem] = relationship(back_populates="targeting_rules")


# --- exclusive-arc components: owned by one campaign or one line item -------------------


def _not_mysql(
    ddl: Any,
    target: Any,
    bind: Any,
    tables: Any = None,
    state: Any = None,
    *,
    dialect: Dialect,
    compiler: Any = None,
    checkfirst: bool = False,
) -> bool:
    """False on MySQL proper, which forbids CHECKs on columns of cascading FKs (MariaDB allows)."""
    return not (dialect.name == "mysql" and not getattr(dialect, "is_mariadb", False))


def _one_owner() -> CheckConstraint:
    """Exactly one of campaign_id / line_item_id is set (a fresh object per table)."""
    check = CheckConstraint("(campaign_id IS NULL) <> (line_item_id IS NULL)", name="one_owner")
    return check.ddl_if(callable_=_not_mysql)


class _Owned(_Timestamps):
    """id plus the two owner FKs; each owner has at most one row (unique)."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, sort_order=-20)
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), unique=True, sort_order=-19
    )
    line_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("line_items.id", ondelete="CASCADE"), unique=True, sort_order=-18
    )


class Flight(_Owned, Base):
    """[start_at, end_at) in UTC, hour-aligned (the schemas' `start`/`end`)."""

    __tablename__ = "flights"
    __table_args__ = (
        _one_owner(),
        CheckConstraint("end_at > start_at", name="end_after_start"),
    )

    start_at: Mapped[datetime] = mapped_column(UtcDateTime())
    end_at: Mapped[datetime] = mapped_column(UtcDateTime())

    campaign: Mapped[Campaign | None] = relationship(back_populates="flight")
    line_item: Mapped[LineItem | None] = relationship(back_populates="flight")

    @property
    def start(self) -> datetime:
        """First hour of the flight (read models validate this attribute)."""
        return self.start_at

    @property
    def end(self) -> datetime:
        """End of the flight, exclusive (read models validate this attribute)."""
        return self.end_at


class Budget(_Owned, Base):
    """Amount in integer micros of `currency`, with its pacing rules."""

    __tablename__ = "budgets"
    __table_args__ = (
        _one_owner(),
        CheckConstraint("amount_micros > 0", name="amount_positive"),
        CheckConstraint(
            "daily_cap_micros IS NULL OR daily_cap_micros > 0", name="daily_cap_positive"
        ),
        CheckConstraint(
            "daily_cap_micros IS NULL OR budget_type <> 'lifetime'"
            " OR daily_cap_micros <= amount_micros",
            name="daily_cap_within_amount",
        ),
        CheckConstraint(
            "NOT (pacing_type = 'asap' AND pacing_period = 'flight')", name="asap_daily_only"
        ),
    )

    budget_type: Mapped[BudgetType] = mapped_column(_enum(BudgetType), default=BudgetType.lifetime)
    amount_micros: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[Currency] = mapped_column(_enum(Currency), default=Currency.USD)
    pacing_type: Mapped[PacingType] = mapped_column(_enum(PacingType), default=PacingType.even)
    pacing_period: Mapped[PacingPeriod] = mapped_column(
        _enum(PacingPeriod), default=PacingPeriod.flight
    )
    daily_cap_micros: Mapped[int | None] = mapped_column(BigInteger)

    campaign: Mapped[Campaign | None] = relationship(back_populates="budget")
    line_item: Mapped[LineItem | None] = relationship(back_populates="budget")

    @property
    def amount(self) -> Decimal:
        """Amount in currency units (read models validate this attribute)."""
        return Decimal(self.amount_micros) / MICROS

    @property
    def daily_cap(self) -> Decimal | None:
        """Daily cap in currency units, or None."""
        return _money(self.daily_cap_micros)


class FrequencyCap(_Owned, Base):
    """At most `max_impressions` per household per `time_unit_count` × `time_unit`."""

    __tablename__ = "frequency_caps"
    __table_args__ = (
        _one_owner(),
        CheckConstraint("max_impressions > 0", name="max_impressions_positive"),
        CheckConstraint("time_unit_count > 0", name="time_unit_count_positive"),
    )

    max_impressions: Mapped[int] = mapped_column(Integer)
    time_unit: Mapped[FrequencyPeriod] = mapped_column(_enum(FrequencyPeriod))
    time_unit_count: Mapped[int] = mapped_column(Integer, default=1)

    campaign: Mapped[Campaign | None] = relationship(back_populates="frequency_cap")
    line_item: Mapped[LineItem | None] = relationship(back_populates="frequency_cap")


# --- fact tables: columns in the order of simulate/columns.py -------------------------

_FUNNEL_ORDER = (
    "completes <= third_quartile AND third_quartile <= midpoint AND midpoint <= first_quartile"
    " AND first_quartile <= starts AND starts <= impressions"
)
_NON_NEGATIVE = (
    "completes", "viewable", "invalid", "clicks", "qr_scans",
    "click_conversions", "view_conversions", "cumulative_reach", "spend_micros",
)


class Performance(Base):
    """Delivery of one line item × creative × hour (UTC) × device."""

    __tablename__ = "performance"
    __table_args__ = (
        CheckConstraint(_FUNNEL_ORDER, name="funnel_order"),
        CheckConstraint("viewable <= measurable AND measurable <= impressions", name="viewability"),
        CheckConstraint(
            "clicks <= impressions AND invalid <= impressions AND qr_scans <= impressions",
            name="within_impressions",
        ),
        CheckConstraint(" AND ".join(f"{c} >= 0" for c in _NON_NEGATIVE), name="non_negative"),
        # One FK, not two: the creative must belong to the line item, and the database checks
        # one key per row instead of two (COPY on PostgreSQL is ~30% faster). Deleting a line
        # item still cascades, through its creatives.
        ForeignKeyConstraint(
            ["line_item_id", "creative_id"], ["creatives.line_item_id", "creatives.id"],
            ondelete="CASCADE",
        ),
        Index("ix_performance_line_item_id_hour", "line_item_id", "hour"),
    )

    line_item_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    creative_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hour: Mapped[datetime] = mapped_column(UtcDateTime(), primary_key=True)
    device: Mapped[str] = mapped_column(String(16), primary_key=True)
    impressions: Mapped[int] = mapped_column(BigInteger)
    starts: Mapped[int] = mapped_column(BigInteger)
    first_quartile: Mapped[int] = mapped_column(BigInteger)
    midpoint: Mapped[int] = mapped_column(BigInteger)
    third_quartile: Mapped[int] = mapped_column(BigInteger)
    completes: Mapped[int] = mapped_column(BigInteger)
    measurable: Mapped[int] = mapped_column(BigInteger)
    viewable: Mapped[int] = mapped_column(BigInteger)
    invalid: Mapped[int] = mapped_column(BigInteger)
    clicks: Mapped[int] = mapped_column(BigInteger)
    qr_scans: Mapped[int] = mapped_column(BigInteger)
    click_conversions: Mapped[int] = mapped_column(BigInteger)
    view_conversions: Mapped[int] = mapped_column(BigInteger)
    cumulative_reach: Mapped[int] = mapped_column(BigInteger)
    spend_micros: Mapped[int] = mapped_column(BigInteger)


_PROBABILITIES = (
    "p_start", "p_first_quartile", "p_midpoint", "p_third_quartile", "p_complete",
    "p_measurable", "p_viewable", "p_invalid", "p_click", "p_qr_scan", "p_conversion",
)


class GroundTruth(Base):
    """The true per-impression probabilities of a line item on a device, with the seed."""

    __tablename__ = "ground_truth"
    __table_args__ = (
        CheckConstraint("audience >= 0 AND cpm_micros > 0", name="audience_cpm"),
        CheckConstraint(
            " AND ".join(f"{p} >= 0 AND {p} <= 1" for p in _PROBABILITIES), name="probabilities"
        ),
        CheckConstraint("conversion_lag_mean_hours >= 0", name="lag_non_negative"),
    )

    line_item_id: Mapped[int] = mapped_column(
        ForeignKey("line_items.id", ondelete="CASCADE"), primary_key=True
    )
    device: Mapped[str] = mapped_column(String(16), primary_key=True)
    seed: Mapped[int] = mapped_column(BigInteger)
    audience: Mapped[int] = mapped_column(BigInteger)
    cpm_micros: Mapped[int] = mapped_column(BigInteger)
    p_start: Mapped[float] = mapped_column(Double)
    p_first_quartile: Mapped[float] = mapped_column(Double)
    p_midpoint: Mapped[float] = mapped_column(Double)
    p_third_quartile: Mapped[float] = mapped_column(Double)
    p_complete: Mapped[float] = mapped_column(Double)
    p_measurable: Mapped[float] = mapped_column(Double)
    p_viewable: Mapped[float] = mapped_column(Double)
    p_invalid: Mapped[float] = mapped_column(Double)
    p_click: Mapped[float] = mapped_column(Double)
    p_qr_scan: Mapped[float] = mapped_column(Double)
    p_conversion: Mapped[float] = mapped_column(Double)
    conversion_lag_mean_hours: Mapped[float] = mapped_column(Double)
