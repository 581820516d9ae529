"""The API's own request and response bodies; entities use the domain's Create and Read
schemas (`adsgen.domain.schemas`) as they are."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    field_serializer,
)

from adsgen.domain.fields import Money
from adsgen.domain.schemas import (
    AdvertiserRead,
    CampaignRead,
    CreativeRead,
    FlightSchema,
    LineItemRead,
)
from adsgen.runs.reports import Dimension, Metric

__all__ = [
    "OUT",
    "AdvertiserOut",
    "BudgetChange",
    "CampaignOut",
    "Change",
    "ChangeEventOut",
    "CreativeOut",
    "FlightChange",
    "FlightOut",
    "Health",
    "IsoDate",
    "JobIn",
    "JobOut",
    "LineItemOut",
    "PacingOut",
    "Page",
    "ReachOut",
    "ReportOut",
    "RunIn",
    "RunOut",
    "TruthOut",
]

T = TypeVar("T")
MAX_JOB_ROWS = 1_000_000
"""The most rows an asynchronous report job keeps."""
Value = str | int | float | None


def _iso_date(value: Any) -> Any:
    """Only YYYY-MM-DD text (or a date) is a date here: not a number of seconds."""
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.fullmatch(value)):
        return value
    raise ValueError("must be a date YYYY-MM-DD")


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
"""A date given as YYYY-MM-DD."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    """One page of a list; pass `next_cursor` as `cursor` for the next (null: the last)."""

    items: list[T]
    next_cursor: str | None = None


class BudgetChange(_Strict):
    """New budget amount and/or daily cap (null daily_cap with clear_daily_cap removes it)."""

    amount: Money | None = None
    daily_cap: Money | None = None
    clear_daily_cap: StrictBool = False


class FlightChange(_Strict):
    """New flight start and/or end (whole UTC hours)."""

    start: datetime | None = None
    end: datetime | None = None


class Change(_Strict):
    """What PATCH changes: status; for campaigns and line items also budget and flight."""

    status: str | None = Field(default=None, examples=["paused"])
    budget: BudgetChange | None = None
    flight: FlightChange | None = None


class Health(BaseModel):
    """The server answers and its database too."""

    status: Literal["ok"]
    dialect: str
    version: str


class ReportOut(BaseModel):
    """A delivery report: column names, grouped rows, and whether rows were cut at limit."""

    columns: list[str]
    rows: list[dict[str, Value]]
    truncated: bool


class PacingOut(BaseModel):
    """Goal vs delivered per pacing day, with the shortfall by reason."""

    rows: list[dict[str, Value]]


class FrequencyBucket(BaseModel):
    frequency: str
    households: int


class ReachOut(BaseModel):
    """Flight reach per line item and the frequency distribution summed over them."""

    line_items: list[dict[str, Value]]
    frequency_distribution: list[FrequencyBucket]


class TruthOut(BaseModel):
    """True rates and causal conversions next to what the rows show."""

    rates: dict[str, Value]
    conversions: list[dict[str, Value]]


class JobIn(_Strict):
    """An asynchronous delivery report: the same query as GET /reports/delivery, any size."""

    dimensions: list[Dimension] = Field(default_factory=list, max_length=len(Dimension))
    metrics: list[Metric] = Field(min_length=1, max_length=len(Metric))
    advertiser_id: StrictInt | None = Field(default=None, ge=1, le=2**31 - 1)
    campaign_id: StrictInt | None = Field(default=None, ge=1, le=2**31 - 1)
    line_item_id: StrictInt | None = Field(default=None, ge=1, le=2**31 - 1)
    device: str | None = Field(default=None, max_length=16)
    start: IsoDate | None = None
    end: IsoDate | None = None
    sort: list[str] = Field(default_factory=list, max_length=8)
    max_rows: StrictInt = Field(default=100_000, ge=1, le=MAX_JOB_ROWS)


class JobOut(BaseModel):
    """A report job: queued → running → done (or failed), then its result in JSON, CSV or
    Parquet at `result`."""

    id: str
    status: Literal["queued", "running", "done", "failed"]
    created_at: datetime
    finished_at: datetime | None = None
    rows: int | None = None
    truncated: bool | None = None
    error: str | None = None
    result: str | None = None

    @field_serializer("created_at", "finished_at")
    def _times(self, value: datetime | None) -> str | None:
        return None if value is None else _utc(value)




# --- background runs (POST /runs) -----------------------------------------------------------

MAX_SEED = 2**63 - 1
Seed = Annotated[StrictInt | None, Field(
    ge=0, le=MAX_SEED, description="Seed of every draw (default: the server's).")]


class RunAllIn(_Strict):
    """`adsgen run-all`: replace the dataset with the default one (examples, profiles, `scale`
    more advertisers drawn from the profiles)."""

    command: Literal["run-all"]
    scale: StrictInt = Field(default=0, ge=0, le=10_000)
    seed: Seed = None
    deterministic_timestamps: StrictBool = False


class SimulateIn(_Strict):
    """`adsgen simulate`: (re)generate the hourly facts of these line items (default: all)."""

    command: Literal["simulate"]
    line_item_ids: list[Annotated[StrictInt, Field(ge=1, le=2**31 - 1)]] | None = Field(
        default=None, min_length=1, max_length=10_000)
    seed: Seed = None


class GenerateIn(_Strict):
    """`adsgen generate --db`: plan `advertisers` (or `line_items`) at scale, simulate them to
    files and load those into the served database (it must not hold them already); the files
    are written to a temporary folder and removed after."""

    command: Literal["generate"]
    advertisers: StrictInt | None = Field(default=None, ge=1, le=20_000)
    line_items: StrictInt | None = Field(default=None, ge=1, le=100_000)
    days: StrictInt = Field(default=30, ge=1, le=366)
    start: IsoDate | None = Field(default=None, description="First day of every flight "
                                  "(default 2026-09-01).")
    seed: Seed = None


RunIn = Annotated[RunAllIn | SimulateIn | GenerateIn, Field(discriminator="command")]
"""What POST /runs starts: one of the database commands, told apart by `command`."""


class RunOut(BaseModel):
    """A run: queued → running → done, failed or cancelled. `stage` is where it is, `done`
    of `total` its units (`unit`: rows, or the stage's own: line items, advertisers),
    `percent` how far that stage is."""

    id: str
    command: Literal["run-all", "simulate", "generate"]
    status: Literal["queued", "running", "done", "failed", "cancelled"]
    cancel_requested: bool
    options: dict[str, Any]
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    stage: str | None = None
    done: int
    total: int
    unit: Literal["rows", "units"]
    percent: float | None = None
    per_second: float | None = Field(default=None, description="Units of the current stage "
                                     "per second.")
    rows_per_second: float | None = Field(default=None, description="Rows written per second "
                                          "(while a stage counted in rows runs; once done, "
                                          "the whole run's).")
    seconds: float | None = None
    summary: dict[str, Any] | None = None
    error: str | None = None

    @field_serializer("created_at", "started_at", "finished_at")
    def _times(self, value: datetime | None) -> str | None:
        return None if value is None else _utc(value)




# --- entities as answered: the Read schemas with times in RFC 3339 UTC ('…Z') ----------------


def _utc(value: datetime) -> str:
    """A naive-UTC (or aware) datetime as RFC 3339 with Z, what `format: date-time` means."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="seconds") + "Z"


class _Stamped(BaseModel):
    @field_serializer("created_at", "updated_at", check_fields=False)
    def _times(self, value: datetime) -> str:
        return _utc(value)


class FlightOut(FlightSchema):
    """A flight, its ends in RFC 3339 UTC."""

    @field_serializer("start", "end")
    def _ends(self, value: datetime) -> str:
        return _utc(value)


class AdvertiserOut(AdvertiserRead, _Stamped):
    """A stored advertiser."""


class CampaignOut(CampaignRead, _Stamped):
    """A stored campaign."""

    flight: FlightOut


class LineItemOut(LineItemRead, _Stamped):
    """A stored line item."""

    flight: FlightOut


class CreativeOut(CreativeRead, _Stamped):
    """A stored creative."""


OUT: dict[str, type[BaseModel]] = {"advertisers": AdvertiserOut, "campaigns": CampaignOut,
                                    "line_items": LineItemOut, "creatives": CreativeOut}
"""Entity kind → the model it is answered as."""


# --- change events ------------------------------------------------------------------------


class FieldChange(BaseModel):
    """One field's value before and after (null: none, e.g. after a delete)."""

    old: str | int | None
    new: str | int | None


class ChangeEventOut(BaseModel):
    """A change the API made to an entity (`change_events`), in `adsgen stream`'s names."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    occurred_at: datetime
    entity_type: Literal["advertiser", "campaign", "line_item", "creative"]
    entity_id: int
    event_type: str = Field(examples=["budgetChanged", "lineItemPaused"])
    changes: dict[str, FieldChange] = Field(
        examples=[{"budget_micros": {"old": 5000000000, "new": 6000000000}}])
    source: Literal["api"]

    @field_serializer("occurred_at")
    def _time(self, value: datetime) -> str:
        return _utc(value)
