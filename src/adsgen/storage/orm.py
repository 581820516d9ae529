"""SQLAlchemy 2.0 typed models of the ad platform: one class per table, portable DDL.

Entities (advertisers → campaigns → line items → creatives) are written through the ORM;
flights, budgets and frequency caps belong to exactly one campaign *or* line item (an
exclusive arc: two nullable FKs, a CHECK that exactly one is set, unique per owner).
The fact tables — every entry of `adsgen.simulate.columns.FACT_TABLES` — mirror its Arrow
schemas column for column and are loaded through `adsgen.storage.database.bulk_insert`,
never as ORM objects. `performance` and `ground_truth` are written out here (with their
CHECKs); any other registered table is declared from the registry by `declare_fact_tables`
(types from Arrow, keys and nullability from the entry).

The database guards what a single row can break (positive money, end > start, funnel
order, viewable <= measurable <= impressions, …) with named CHECK constraints, and every
child FK is ON DELETE CASCADE (SQLite needs `PRAGMA foreign_keys=ON`, which
`adsgen.storage.database.make_engine` sets). Enums are stored as their string values in
VARCHARs and read back as enum members, except `status`, a plain string holding an
`EntityStatus` or a `CampaignStatus` value. Times are `UtcDateTime` (timestamptz on
PostgreSQL, UTC DATETIME elsewhere, naive UTC in Python); `created_at`/`updated_at` are set
by the database. The targeting table's class is `TargetingRule` so that it does not clash
with the Pydantic `Targeting` model in the registry. Works on SQLite, PostgreSQL and
MariaDB/MySQL.

Every table and column is documented here, once: `comment=` (the meaning, which the databases
keep in their catalog) and `info=` (unit, allowed values; grain, joins and files for a
table), read by `adsgen.storage.dictionary` and `adsgen schema`. The fact tables' column
descriptions come from the Arrow field metadata of `adsgen.simulate.columns`, their table
descriptions, grains and joins from its FACT_TABLES. The views
`campaign_budgets`, `line_item_budgets` (and likewise for flights and frequency caps) keep the
rows of one kind of owner; they are created with the tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    TypeDecorator,
    UniqueConstraint,
    event,
    select,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql import Select
from sqlalchemy.sql.compiler import DDLCompiler, SQLCompiler
from sqlalchemy.sql.ddl import ExecutableDDLElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.type_api import TypeEngine

from adsgen.domain.enums import (
    AdFormat,
    AdPosition,
    BudgetType,
    CampaignStatus,
    CreativeMimeType,
    Currency,
    DspPartner,
    EntityStatus,
    ExperimentType,
    FrequencyPeriod,
    Industry,
    Objective,
    PacingPeriod,
    PacingType,
    QAStatus,
    TargetingKey,
)
from adsgen.domain.fields import DEFAULT_TIME_ZONE
from adsgen.simulate.columns import FACT_TABLES, FactTable, describe

__all__ = [
    "NOT_IN_FILES",
    "VIEWS",
    "Advertiser",
    "Base",
    "Budget",
    "Campaign",
    "ChangeEvent",
    "CreateView",
    "Creative",
    "EntityBase",
    "Flight",
    "FrequencyCap",
    "GroundTruth",
    "LineItem",
    "Performance",
    "TargetingRule",
    "UtcDateTime",
    "View",
    "declare_fact_tables",
    "utcnow",
]

MICROS = 1_000_000
NOT_IN_FILES = "none (written by adsgen serve's API, not generated)"
"""`files` of a table generated files do not hold."""

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


def _doc(
    meaning: str, unit: str = "", values: Iterable[str] = (), *, files: bool = True
) -> dict[str, Any]:
    """`mapped_column` keywords documenting a column: its meaning as the comment; in `info`
    its unit, allowed values (when not an enum type already) and `files: False` for a
    column generated files leave out."""
    info: dict[str, Any] = {"unit": unit} if unit else {}
    if listed := tuple(values):
        info["values"] = listed
    if not files:
        info["files"] = False
    return {"comment": meaning, "info": info}


def _about(
    description: str, *, grain: str, joins: Iterable[str] = (), files: str = ""
) -> dict[str, Any]:
    """`__table_args__` keywords documenting a table (its comment, grain, joins, files)."""
    info: dict[str, Any] = {"grain": grain, "joins": tuple(joins)}
    if files:
        info["files"] = files
    return {"comment": description, "info": info}


_ACTIVE = "only active rows (with active parents) deliver"
_ID = "Id, assigned in plan order from 1; other tables refer to it by the table's name + _id."


class Base(DeclarativeBase):
    """Declarative base; its metadata holds every adsgen table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class _Timestamps:
    """created_at / updated_at maintained by the database (UTC)."""

    created_at: Mapped[datetime] = mapped_column(
        UtcDateTime(), server_default=utcnow(), sort_order=20,
        **_doc("When the row was written into the database, set by it (not in files).", "UTC",
               files=False),
    )
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime(), server_default=utcnow(), onupdate=utcnow(), sort_order=21,
        **_doc("When the row last changed in the database, set by it (not in files).", "UTC",
               files=False),
    )
    # Fetch server-generated values at flush, so objects stay readable after the session.
    __mapper_args__: ClassVar[dict[str, Any]] = {"eager_defaults": True}


class EntityBase(_Timestamps):
    """id, status and timestamps shared by advertisers, campaigns, line items, creatives."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True, sort_order=-20, **_doc(_ID))
    status: Mapped[str] = mapped_column(
        String(32), default="active", server_default="active", sort_order=10,
        **_doc(f"Lifecycle status; {_ACTIVE}.", values=[s.value for s in EntityStatus]),
    )


# --- entities -------------------------------------------------------------------------


class Advertiser(EntityBase, Base):
    """A brand that buys ads; its name is unique on the platform."""

    __tablename__ = "advertisers"
    __table_args__ = _about(
        "Brands that buy ads on the platform; the root of every campaign.",
        grain="one row per advertiser",
        joins=["campaigns ON campaigns.advertiser_id = advertisers.id"],
    )

    name: Mapped[str] = mapped_column(
        String(255), unique=True, **_doc("Brand name, unique on the platform."))
    industry: Mapped[Industry] = mapped_column(
        _enum(Industry), **_doc("Industry vertical of the brand."))
    domain: Mapped[str] = mapped_column(
        String(255), **_doc("The brand's web domain (synthetic, under .example)."))
    currency: Mapped[Currency] = mapped_column(
        _enum(Currency), default=Currency.USD,
        **_doc("ISO 4217 currency of the advertiser: the unit of its budgets, CPMs and spend."),
    )

    campaigns: Mapped[list[Campaign]] = relationship(
        back_populates="advertiser", cascade="all, delete-orphan", passive_deletes=True,
        order_by="Campaign.id",
    )


class Campaign(EntityBase, Base):
    """An advertiser's campaign; `status` holds a CampaignStatus value."""

    __tablename__ = "campaigns"
    __table_args__ = (
        UniqueConstraint("advertiser_id", "name"),
        _about(
            "An advertiser's campaigns: an objective and the flight, budget and optional"
            " frequency cap (rows of flights, budgets, frequency_caps with campaign_id set)"
            " that frame its line items.",
            grain="one row per campaign",
            joins=[
                "advertisers ON advertisers.id = campaigns.advertiser_id",
                "line_items ON line_items.campaign_id = campaigns.id",
                "flights, budgets, frequency_caps (or the views campaign_flights,"
                " campaign_budgets, campaign_frequency_caps) ON their campaign_id ="
                " campaigns.id",
            ],
        ),
    )

    status: Mapped[str] = mapped_column(
        String(32), default="active", server_default="active", sort_order=10,
        **_doc(f"Lifecycle status; {_ACTIVE}.", values=[s.value for s in CampaignStatus]),
    )
    advertiser_id: Mapped[int] = mapped_column(
        ForeignKey("advertisers.id", ondelete="CASCADE"), index=True,
        **_doc("Advertiser running the campaign."),
    )
    name: Mapped[str] = mapped_column(
        String(255), **_doc("Campaign name, unique within its advertiser."))
    objective: Mapped[Objective] = mapped_column(
        _enum(Objective),
        **_doc("What the campaign buys for: awareness (reach, completed views),"
               " consideration (engagement, clicks) or conversion."),
    )
    dsp_partner: Mapped[DspPartner] = mapped_column(
        _enum(DspPartner), default=DspPartner.direct,
        **_doc("Buying platform the campaign is booked through (direct: the platform's own"
               " sales team)."),
    )
    time_zone: Mapped[str] = mapped_column(
        String(64), default=DEFAULT_TIME_ZONE, server_default=DEFAULT_TIME_ZONE,
        **_doc("IANA time zone of the campaign's pacing day (a day runs from local midnight"
               " to local midnight): by default the platform's zone of the campaign's first"
               " targeted geo, e.g. America/Chicago for US. Timestamps stay in UTC.",
               "IANA tz database name"),
    )

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
        _about(
            "The buys inside a campaign: format, position in the ad break and price, each with"
            " its own flight, budget and optional frequency cap (rows with line_item_id set),"
            " targeting rules and creatives. Delivery is simulated per line item.",
            grain="one row per line item",
            joins=[
                "campaigns ON campaigns.id = line_items.campaign_id",
                "creatives ON creatives.line_item_id = line_items.id",
                "targeting ON targeting.line_item_id = line_items.id",
                "flights, budgets, frequency_caps (or the views line_item_flights,"
                " line_item_budgets, line_item_frequency_caps) ON their line_item_id ="
                " line_items.id",
                ", ".join(t.name for t in FACT_TABLES.values() if "line_item_id" in t.schema.names)
                + " ON their line_item_id = line_items.id",
            ],
        ),
    )

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True,
        **_doc("Campaign the line item belongs to."),
    )
    name: Mapped[str] = mapped_column(
        String(255), **_doc("Line item name, unique within its campaign."))
    ad_format: Mapped[AdFormat] = mapped_column(
        _enum(AdFormat), default=AdFormat.video, **_doc("Ad format bought."))
    position: Mapped[AdPosition] = mapped_column(
        _enum(AdPosition), default=AdPosition.mid_roll,
        **_doc("Where in the ad break the ads run."),
    )
    cpm_micros: Mapped[int] = mapped_column(
        BigInteger,
        **_doc("Price per 1,000 impressions in micros of the advertiser's currency"
               " (25.00 = 25000000); spend_micros = (impressions − invalid) × cpm_micros / 1000.",
               "micros per 1,000 impressions"),
    )
    platform: Mapped[str | None] = mapped_column(
        String(64), nullable=True,
        **_doc("Platform the line item buys on (`adsgen list platforms`): every line item"
               " buys on one platform, a campaign on several through several line items;"
               " the fact tables repeat it in their `platform` column. Null: the run's"
               " platform (line items created through the API without one)."),
    )
    experiment_type: Mapped[ExperimentType | None] = mapped_column(
        _enum(ExperimentType), nullable=True,
        **_doc("The line item's lift experiment (null: none): holdout (ghost-ad control"
               " households, not served), psa (control served a public-service ad) or geo"
               " (control geos not served); see experiment_outcomes and experiment_truth."),
    )
    experiment_control_share: Mapped[float | None] = mapped_column(
        Double, nullable=True,
        **_doc("Share of the line item's households (holdout, psa) or targeted geos (geo)"
               " in the control group, in (0, 0.5]; null without an experiment.",
               "share 0-1"),
    )
    experiment_control_geos: Mapped[str | None] = mapped_column(
        String(255), nullable=True,
        **_doc("Geo experiments: the control geos as given (comma-separated ISO codes); null:"
               " the last round(control_share × n) targeted geos by name."),
    )

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
    def experiment(self) -> dict[str, Any] | None:
        """The experiment columns in the form the Pydantic ExperimentSchema accepts."""
        if self.experiment_type is None:
            return None
        geos = self.experiment_control_geos
        return {"type": self.experiment_type,
                "control_share": self.experiment_control_share,
                "control_geos": geos.split(",") if geos else []}

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
        _about(
            "Ad assets a line item serves, in rotation (each creative gets a fixed share of"
            " the line item's impressions).",
            grain="one row per creative",
            joins=[
                "line_items ON line_items.id = creatives.line_item_id",
                "performance ON performance.line_item_id = creatives.line_item_id AND"
                " performance.creative_id = creatives.id",
            ],
        ),
    )

    line_item_id: Mapped[int] = mapped_column(
        ForeignKey("line_items.id", ondelete="CASCADE"), index=True,
        **_doc("Line item serving the creative."),
    )
    name: Mapped[str] = mapped_column(
        String(255), **_doc("Creative name, unique within its line item."))
    ad_format: Mapped[AdFormat] = mapped_column(
        _enum(AdFormat), default=AdFormat.video, **_doc("Format of the asset."))
    mime_type: Mapped[CreativeMimeType] = mapped_column(
        _enum(CreativeMimeType), default=CreativeMimeType.mp4, **_doc("MIME type of the asset.")
    )
    duration_s: Mapped[int | None] = mapped_column(
        Integer, **_doc("Length of the video (null for static formats).", "seconds"))
    asset_url: Mapped[str] = mapped_column(
        String(2048), **_doc("HTTPS URL of the asset (synthetic)."))
    width: Mapped[int] = mapped_column(
        Integer, default=1920, **_doc("Width of the asset.", "pixels"))
    height: Mapped[int] = mapped_column(
        Integer, default=1080, **_doc("Height of the asset.", "pixels"))
    has_qr: Mapped[bool] = mapped_column(
        Boolean, default=False,
        **_doc("True when the creative shows a QR code (only then qr_scans > 0)."))
    interactive: Mapped[bool] = mapped_column(
        Boolean, default=False,
        **_doc("True for an interactive creative (only then clicks on CTV)."))
    qa_status: Mapped[QAStatus] = mapped_column(
        _enum(QAStatus), default=QAStatus.approved_servable,
        **_doc("Creative review status; only pending_servable and approved_servable"
               " creatives deliver."),
    )

    line_item: Mapped[LineItem] = relationship(back_populates="creatives")


class TargetingRule(Base):
    """One (key, value) restriction of a line item; table `targeting`."""

    __tablename__ = "targeting"
    __table_args__ = (
        UniqueConstraint("line_item_id", "key", "value"),
        _about(
            "Where and when each line item may serve, as (key, value) rows: a line item serves"
            " on any of the values listed under a key, and must match every key it lists; a"
            " key with no row does not restrict it. dma, state and segment narrow its audience"
            " (ground_truth.audience): DMAs and states keep the TV homes of those markets of"
            " the US (a DMA counts in its principal state), segments keep their share of"
            " households (adsgen.domain.markets.SEGMENT_SHARE); segments raise a drawn CPM by"
            " a data premium per kind (+10 % to +30 %) and in-market or retailer segments the"
            " incremental conversion rate (conversion_truth.incremental_rate_max).",
            grain="one row per line item × key × value",
            joins=["line_items ON line_items.id = targeting.line_item_id"],
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, **_doc(_ID))
    line_item_id: Mapped[int] = mapped_column(
        ForeignKey("line_items.id", ondelete="CASCADE"), **_doc("Line item restricted."))
    key: Mapped[TargetingKey] = mapped_column(
        _enum(TargetingKey),
        **_doc("What is targeted (a reserved word on MySQL and SQLite: quote it as `key` or"
               ' "key").'),
    )
    value: Mapped[str] = mapped_column(
        String(64),
        **_doc("One allowed value of the key: a device class (ctv), a genre, an ISO 3166"
               " country code (US), a daypart, a media rating, a Nielsen DMA code (501), a US"
               " state (CA) or an audience segment (age_18_34)."),
    )

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

    id: Mapped[int] = mapped_column(Integer, primary_key=True, sort_order=-20, **_doc(_ID))
    campaign_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), unique=True, sort_order=-19,
        **_doc("The owning campaign on a campaign's row; null on a line item's row. Exactly"
               " one of campaign_id and line_item_id is set."),
    )
    line_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("line_items.id", ondelete="CASCADE"), unique=True, sort_order=-18,
        **_doc("The owning line item on a line item's row; null on a campaign's row."),
    )


class Flight(_Owned, Base):
    """[start_at, end_at) in UTC, hour-aligned (the schemas' `start`/`end`)."""

    __tablename__ = "flights"
    __table_args__ = (
        _one_owner(),
        CheckConstraint("end_at > start_at", name="end_after_start"),
        _about(
            "When each campaign and each line item runs, [start_at, end_at) in UTC. Holds"
            " rows of two owners: a campaign's (campaign_id set) and a line item's"
            " (line_item_id set); filter on the owner, or use the views campaign_flights and"
            " line_item_flights. A line item delivers only within its own flight.",
            grain="one row per campaign and one per line item",
            joins=[
                "campaigns ON campaigns.id = flights.campaign_id",
                "line_items ON line_items.id = flights.line_item_id",
            ],
        ),
    )

    start_at: Mapped[datetime] = mapped_column(
        UtcDateTime(), **_doc("First hour of the flight (inclusive), a whole UTC hour.", "UTC"))
    end_at: Mapped[datetime] = mapped_column(
        UtcDateTime(),
        **_doc("End of the flight (exclusive), a whole UTC hour after start_at: the last hour"
               " with delivery starts at end_at - 1 hour.", "UTC"),
    )

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
        _about(
            "How much each campaign and each line item may spend and how the spend is paced."
            " Holds rows of two owners, like flights: filter on campaign_id or line_item_id, or"
            " use the views campaign_budgets and line_item_budgets. A line item's spend"
            " (performance.spend_micros) stays within its own budget and daily cap.",
            grain="one row per campaign and one per line item",
            joins=[
                "campaigns ON campaigns.id = budgets.campaign_id",
                "line_items ON line_items.id = budgets.line_item_id",
            ],
        ),
    )

    budget_type: Mapped[BudgetType] = mapped_column(
        _enum(BudgetType), default=BudgetType.lifetime,
        **_doc("lifetime: amount_micros covers the whole flight; daily: it is per UTC day."),
    )
    amount_micros: Mapped[int] = mapped_column(
        BigInteger, **_doc("Budget in micros of `currency` (per flight or per day).", "micros"))
    currency: Mapped[Currency] = mapped_column(
        _enum(Currency), default=Currency.USD,
        **_doc("Currency of amount_micros and daily_cap_micros."),
    )
    pacing_type: Mapped[PacingType] = mapped_column(
        _enum(PacingType), default=PacingType.even,
        **_doc("How spend is spread: even (evenly over the pacing period), ahead (front-loaded)"
               " or asap (as fast as supply allows; daily pacing only)."),
    )
    pacing_period: Mapped[PacingPeriod] = mapped_column(
        _enum(PacingPeriod), default=PacingPeriod.flight,
        **_doc("The period pacing evens spend over: each UTC day, or the whole flight."),
    )
    daily_cap_micros: Mapped[int | None] = mapped_column(
        BigInteger,
        **_doc("Most the owner may spend in one UTC day, in micros of `currency` (null: no"
               " cap).", "micros"),
    )

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
        _about(
            "The most impressions one household may see from a campaign or a line item per"
            " window of time_unit_count × time_unit. Holds rows of two owners, like flights"
            " (views campaign_frequency_caps, line_item_frequency_caps); a line item without"
            " its own cap uses its campaign's.",
            grain="one row per capped campaign and one per capped line item",
            joins=[
                "campaigns ON campaigns.id = frequency_caps.campaign_id",
                "line_items ON line_items.id = frequency_caps.line_item_id",
            ],
        ),
    )

    max_impressions: Mapped[int] = mapped_column(
        Integer, **_doc("Impressions a household may see per window.", "impressions"))
    time_unit: Mapped[FrequencyPeriod] = mapped_column(
        _enum(FrequencyPeriod), **_doc("Unit of the window (a month counts 30 days)."))
    time_unit_count: Mapped[int] = mapped_column(
        Integer, default=1, **_doc("Length of the window in time units (3 per 1 day)."))

    campaign: Mapped[Campaign | None] = relationship(back_populates="frequency_cap")
    line_item: Mapped[LineItem | None] = relationship(back_populates="frequency_cap")


# --- fact tables: the registry adsgen.simulate.columns.FACT_TABLES, in the database ---------


def _fact_about(table: FactTable) -> dict[str, Any]:
    """`_about` of a fact table, from its registry entry."""
    return _about(table.description, grain=table.grain, joins=table.joins, files=table.files)


_FUNNEL_ORDER = (
    "completes <= third_quartile AND third_quartile <= midpoint AND midpoint <= first_quartile"
    " AND first_quartile <= starts AND starts <= impressions"
)
_NON_NEGATIVE = (
    "completes", "viewable", "invalid", "clicks", "qr_scans",
    "click_conversions", "view_conversions", "cumulative_reach", "spend_micros",
)


class ChangeEvent(Base):
    """One change the API made to an entity, written in the edit's own transaction.

    No foreign key to the entity: a delete's event outlives the row it names. The event
    types are `adsgen stream`'s change vocabulary (`adsgen.stream.events.CHANGE_TYPES`)
    plus the changes only the API makes (`adsgen.runs.edits.EVENT_TYPES`)."""

    __tablename__ = "change_events"
    __table_args__ = (
        Index("ix_change_events_entity", "entity_type", "entity_id", "id"),
        _about(
            "Creates, changes of status, budget and flight and deletes made through `adsgen"
            " serve`'s API, one row per event, in the order they were made; read them at"
            " GET /api/v1/changes. Entity tables hold the state; this says how it got there.",
            grain="one row per entity change event",
            joins=["advertisers, campaigns, line_items or creatives ON their id = entity_id"
                   " (by entity_type; a deleted entity's row is gone)"],
            files=NOT_IN_FILES,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True,
                                    **_doc("Event id, increasing in the order of the changes."))
    occurred_at: Mapped[datetime] = mapped_column(
        UtcDateTime(), server_default=utcnow(),
        **_doc("When the change was written, set by the database.", "UTC"))
    entity_type: Mapped[str] = mapped_column(
        String(32), **_doc("The kind of entity changed.",
                           values=["advertiser", "campaign", "line_item", "creative"]))
    entity_id: Mapped[int] = mapped_column(Integer, **_doc("Id of the entity changed."))
    event_type: Mapped[str] = mapped_column(
        String(32), **_doc("What happened, in the names of `adsgen stream`'s change events"
                           " (budgetChanged, lineItemPaused, …)."))
    changes: Mapped[dict[str, Any]] = mapped_column(
        JSON, **_doc('Changed fields, each {"old": …, "new": …} (status, budget_micros,'
                     ' daily_cap_micros, start_at, end_at; a create: each from null; a'
                     ' delete: the status it had).'))
    source: Mapped[str] = mapped_column(
        String(16), default="api", server_default="api",
        **_doc("Who made the change.", values=["api"]))


class Performance(Base):
    """Delivery of one line item × creative × hour (UTC) × device."""

    __tablename__ = "performance"
    __table_args__ = (
        CheckConstraint(_FUNNEL_ORDER, name="funnel_order"),
        CheckConstraint("viewable <= measurable AND measurable <= impressions", name="viewability"),
        CheckConstraint(
            "invalid <= impressions AND clicks <= impressions - invalid"
            " AND qr_scans <= impressions - invalid",
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
        _fact_about(FACT_TABLES["performance"]),
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
    platform: Mapped[str] = mapped_column(String(64))


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
        CheckConstraint(
            "conversion_share_in_flight >= 0 AND conversion_share_in_flight <= 1",
            name="share_in_flight",
        ),
        _fact_about(FACT_TABLES["ground_truth"]),
    )

    line_item_id: Mapped[int] = mapped_column(
        ForeignKey("line_items.id", ondelete="CASCADE"), primary_key=True
    )
    device: Mapped[str] = mapped_column(String(16), primary_key=True)
    seed: Mapped[int] = mapped_column(BigInteger)
    audience: Mapped[int] = mapped_column(BigInteger)
    cpm_micros: Mapped[int] = mapped_column(BigInteger)
    industry: Mapped[str | None] = mapped_column(String(32))
    targetable_households: Mapped[int] = mapped_column(BigInteger)
    exposure_shape: Mapped[float] = mapped_column(Double)
    planned_frequency: Mapped[float] = mapped_column(Double)
    win_rate: Mapped[float] = mapped_column(Double)
    allocated_share: Mapped[float] = mapped_column(Double)
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
    conversion_share_in_flight: Mapped[float] = mapped_column(Double)
    platform: Mapped[str] = mapped_column(String(64))


def _sql_type(name: str, kind: Any) -> TypeEngine[Any]:
    """The column type of an Arrow type in a declared fact table. Ids (`*_id`) are INTEGER
    like the entity ids they name; TypeError for a type adsgen does not store."""
    import pyarrow as pa

    checks: list[tuple[Callable[[Any], bool], Callable[[], TypeEngine[Any]]]] = [
        (lambda k: pa.types.is_integer(k) and name.endswith("_id"), Integer),
        (pa.types.is_int64, BigInteger),
        (lambda k: pa.types.is_int8(k) or pa.types.is_int16(k), SmallInteger),
        (pa.types.is_integer, Integer),
        (pa.types.is_floating, Double),
        (pa.types.is_boolean, Boolean),
        (lambda k: pa.types.is_string(k) or pa.types.is_large_string(k), lambda: String(64)),
        (pa.types.is_timestamp, UtcDateTime),
        (pa.types.is_date32, Date),
    ]
    for accepts, make in checks:
        if accepts(kind):
            return make()
    raise TypeError(f"fact column {name!r}: no database type for Arrow {kind}")


def _declare(spec: FactTable) -> Table:
    """A fact table from its registry entry: its columns in schema order (NOT NULL but the
    entry's `nullable`), its key as the primary key, a cascading foreign key to its creative
    (line_item_id, creative_id) or else its line item or else its advertiser, and a CHECK
    keeping every probability column (unit "probability 0-1") within [0, 1]."""
    columns = []
    for arrow_field in spec.schema:
        meaning, unit = describe(arrow_field)
        columns.append(Column(
            arrow_field.name, _sql_type(arrow_field.name, arrow_field.type),
            primary_key=arrow_field.name in spec.key,
            nullable=arrow_field.name in spec.nullable, **_doc(meaning, unit)))
    names = set(spec.schema.names)
    constraints: list[Any] = []
    if {"line_item_id", "creative_id"} <= names:
        constraints.append(ForeignKeyConstraint(
            ["line_item_id", "creative_id"], ["creatives.line_item_id", "creatives.id"],
            ondelete="CASCADE"))
    elif "line_item_id" in names:
        constraints.append(ForeignKeyConstraint(
            ["line_item_id"], ["line_items.id"], ondelete="CASCADE"))
    elif "advertiser_id" in names:
        constraints.append(ForeignKeyConstraint(
            ["advertiser_id"], ["advertisers.id"], ondelete="CASCADE"))
    probabilities = [f.name for f in spec.schema if describe(f)[1] == "probability 0-1"]
    if probabilities:
        constraints.append(CheckConstraint(
            " AND ".join(f"{p} >= 0 AND {p} <= 1" for p in probabilities),
            name="probabilities"))
    return Table(spec.name, Base.metadata, *columns, *constraints, **_fact_about(spec))


def declare_fact_tables() -> list[Table]:
    """Declare a table for every FACT_TABLES entry the metadata does not hold yet (run on
    import; again after registering a table at run time); the tables declared.

    Every fact table's column comments and units come from its Arrow field metadata.
    """
    declared = [_declare(spec) for name, spec in FACT_TABLES.items()
                if name not in Base.metadata.tables]
    for name, spec in FACT_TABLES.items():
        for column in Base.metadata.tables[name].columns:
            meaning, unit = describe(spec.schema.field(column.name))
            column.comment = meaning
            column.info.update(_doc(meaning, unit)["info"])
    return declared


declare_fact_tables()


# --- owner views: the rows of one kind of owner of flights, budgets, frequency caps -----------


@dataclass(frozen=True)
class View:
    """A view keeping the rows of `table` whose `owner` column is set, without the other one."""

    table: Table
    owner: str  # "campaign_id" or "line_item_id"

    @property
    def kind(self) -> str:
        """campaign or line_item."""
        return self.owner.removesuffix("_id")

    @property
    def name(self) -> str:
        """campaign_budgets, line_item_flights, …"""
        return f"{self.kind}_{self.table.name}"

    @property
    def columns(self) -> list[Any]:
        """The table's columns but the other owner's."""
        other = "line_item_id" if self.owner == "campaign_id" else "campaign_id"
        return [c for c in self.table.columns if c.name != other]

    @property
    def query(self) -> Select[Any]:
        """SELECT those columns WHERE owner IS NOT NULL."""
        return select(*self.columns).where(self.table.c[self.owner].is_not(None))

    @property
    def description(self) -> str:
        return (f"The rows of {self.table.name} that belong to a {self.kind.replace('_', ' ')}"
                f" ({self.owner} IS NOT NULL), without the other owner column.")

    @property
    def grain(self) -> str:
        return f"one row per {self.kind.replace('_', ' ')} that has one ({self.owner} is unique)"

    @property
    def joins(self) -> tuple[str, ...]:
        return (f"{self.kind}s ON {self.kind}s.id = {self.name}.{self.owner}",)


VIEWS: tuple[View, ...] = tuple(
    View(table, owner)
    for table in (Flight.__table__, Budget.__table__, FrequencyCap.__table__)
    if isinstance(table, Table)
    for owner in ("campaign_id", "line_item_id")
)
"""campaign_flights, line_item_flights, campaign_budgets, …: created with their tables."""


class CreateView(ExecutableDDLElement):
    """CREATE VIEW of an owner view; idempotent (OR REPLACE, IF NOT EXISTS on SQLite)."""

    def __init__(self, view: View) -> None:
        self.view = view


class DropView(ExecutableDDLElement):
    """DROP VIEW IF EXISTS of an owner view."""

    def __init__(self, view: View) -> None:
        self.view = view


@compiles(CreateView)
def _create_view(element: CreateView, compiler: DDLCompiler, **kw: Any) -> str:
    body = compiler.sql_compiler.process(element.view.query, literal_binds=True)
    verb = "CREATE VIEW IF NOT EXISTS" if compiler.dialect.name == "sqlite" else (
        "CREATE OR REPLACE VIEW")
    return f"{verb} {compiler.preparer.quote(element.view.name)} AS {body}"


@compiles(DropView)
def _drop_view(element: DropView, compiler: DDLCompiler, **kw: Any) -> str:
    return f"DROP VIEW IF EXISTS {compiler.preparer.quote(element.view.name)}"


@event.listens_for(Base.metadata, "after_create")
def _create_views(target: MetaData, connection: Any, *, tables: Any = (), **kw: Any) -> None:
    """After create_all: the views of the owner tables it just created."""
    created = {t.name for t in tables or ()}
    for view in VIEWS:
        if view.table.name in created:
            connection.execute(CreateView(view))


@event.listens_for(Base.metadata, "before_drop")
def _drop_views(target: MetaData, connection: Any, *, tables: Any = (), **kw: Any) -> None:
    """Before drop_all: the views of the owner tables it drops (PostgreSQL needs that)."""
    dropped = {t.name for t in tables or ()}
    for view in VIEWS:
        if view.table.name in dropped:
            connection.execute(DropView(view))
