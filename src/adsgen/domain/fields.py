"""Reusable field types and conversions behind the schemas: each field rule lives here once.

Annotated types (Name, Money, Cpm, Hostname, HttpsUrl, CountryCode, UtcHour, TimeZoneName,
UniqueList) carry the rules and the user-facing messages, which say what is allowed because
users read them as "file: key.path: message" (`error_lines`). Money is a Decimal with at
most 2 places, stored as integer micros (`to_micros` / `from_micros`); times are
hour-aligned naive UTC (`to_utc_naive`) in Python, and stored everywhere (Arrow tables,
files, databases) as one type: microseconds, UTC-aware (`TIMESTAMP_UNIT`, `TIMESTAMP_TZ`).
Providers draw within the bounds exported here (CPM_MIN, CPM_MAX, MAX_AMOUNT, ...).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Any, TypeVar
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ValidationError
from pydantic_core import PydanticCustomError

from adsgen.domain.dates import to_utc_naive
from adsgen.domain.geo import ISO_COUNTRY_CODES
from adsgen.domain.markets import check_dma, check_state
from adsgen.exceptions import shorten, shown

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "CPM_MAX",
    "CPM_MIN",
    "DEFAULT_TIME_ZONE",
    "FIRST_START",
    "LAST_START",
    "MAX_AMOUNT",
    "MAX_FLIGHT_DAYS",
    "MAX_IMPRESSIONS_PER_CAP",
    "MAX_PIXELS",
    "MICROS_PER_UNIT",
    "NAME_MAX_LENGTH",
    "TIMESTAMP_TZ",
    "TIMESTAMP_UNIT",
    "CountryCode",
    "Cpm",
    "DmaCode",
    "FlightStart",
    "Hostname",
    "HttpsUrl",
    "Money",
    "Name",
    "TimeZoneName",
    "UniqueList",
    "UsStateCode",
    "UtcHour",
    "check_flight_start",
    "check_time_zone",
    "decode_micros",
    "error_lines",
    "from_micros",
    "rule_error",
    "to_micros",
    "to_utc_naive",
    "utc_timestamps",
]

MICROS_PER_UNIT = 1_000_000
NAME_MAX_LENGTH = 255
MAX_AMOUNT = Decimal("1000000000")
CPM_MIN = Decimal("0.50")
CPM_MAX = Decimal("500.00")
MAX_FLIGHT_DAYS = 366
FIRST_START = datetime(1970, 1, 1)
"""The earliest flight start (the Unix epoch; CTV advertising is far younger)."""
LAST_START = datetime(9000, 1, 1)
"""The latest flight start: its end, local times and year transitions stay far from year 9999,
the last one dates (and MariaDB's DATETIME) hold."""
MAX_IMPRESSIONS_PER_CAP = 1000
DEFAULT_TIME_ZONE = "UTC"
"""A campaign's time zone when nothing (template, profile, platform geo) gives one."""
MAX_PIXELS = 8192
# Every stored timestamp, in every table and file: `timestamp[us, tz=UTC]` in Arrow and
# Parquet (DuckDB: TIMESTAMP WITH TIME ZONE), `...Z` text in CSV/JSONL, timestamptz on
# PostgreSQL. One unit, so tables join without casts; µs, the unit Python, Parquet,
# PostgreSQL and DuckDB share.
TIMESTAMP_UNIT = "us"
TIMESTAMP_TZ = "UTC"
_CENT = Decimal("0.01")
_T = TypeVar("_T")


def rule_error(message: str) -> PydanticCustomError:
    """A validation error shown to the user exactly as written (no "Value error," prefix)."""
    return PydanticCustomError("adsgen", message)


def to_micros(value: Decimal) -> int:
    """Integer micros of a money amount (1 unit = 1_000_000); ValueError beyond 6 places."""
    micros = value.scaleb(6)
    if micros != micros.to_integral_value():
        raise ValueError(f"{value} has more than 6 decimal places and cannot be held as micros")
    return int(micros)


def from_micros(micros: int) -> Decimal:
    """The exact Decimal of integer micros, with 2 places when it has cents only (1.50)."""
    value = Decimal(int(micros)).scaleb(-6)
    cents = value.quantize(_CENT)
    return cents if cents == value else value.normalize()


def utc_timestamps(table: pa.Table) -> pa.Table:
    """`table` with every timestamp column as `timestamp[us, tz=UTC]` (itself when already so).

    Naive timestamps are taken as UTC (Arrow stores epoch values, so only the label changes);
    other units are converted (a lossy one raises pyarrow.ArrowInvalid).
    """
    import pyarrow as pa

    target = pa.timestamp(TIMESTAMP_UNIT, tz=TIMESTAMP_TZ)
    schema = pa.schema(
        [f.with_type(target) if pa.types.is_timestamp(f.type) else f for f in table.schema],
        metadata=table.schema.metadata,
    )
    return table if schema.equals(table.schema) else table.cast(schema)


def error_lines(error: ValidationError) -> list[str]:
    """One "key.path: message" line per problem, ready to prefix with the file name; key
    paths and messages cut to a bounded length (`adsgen.exceptions.shorten`)."""
    lines = []
    for item in error.errors():
        path = shorten(".".join(shown(part, quote=False) for part in item["loc"]))
        message = shorten(str(item["msg"]))
        lines.append(f"{path}: {message}" if path else message)
    return lines


# --- reusable field types: each rule once --------------------------------------------------


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
"""Control characters: NUL (which PostgreSQL refuses in text), tabs, line breaks …"""


def _check_name(value: str) -> str:
    name = value.strip()
    if _CONTROL.search(name):
        raise rule_error(
            f"must not hold control characters (NUL, tab, line break …), got {shown(name)}")
    if not name:
        raise rule_error(f"must not be empty; give a name of 1 to {NAME_MAX_LENGTH} characters")
    if len(name) > NAME_MAX_LENGTH:
        raise rule_error(f"is {len(name)} characters long; at most {NAME_MAX_LENGTH} allowed")
    return name


def _parse_decimal(value: Any) -> Any:
    """Turn numbers and numeric text into a finite Decimal, or say what a number looks like."""
    if isinstance(value, int | float | str | Decimal) and not isinstance(value, bool):
        try:
            number = Decimal(str(value).strip())
        except ArithmeticError:
            number = None
        if number is not None and number.is_finite():
            return number
    raise rule_error(
        f"must be a number with at most 2 decimal places, like 1500.00; got {shown(value)}")


def _check_cents(value: Decimal) -> Decimal:
    """Exact check (no rounding) that a bounded Decimal has at most 2 decimal places."""
    try:
        cents = value.quantize(_CENT)
    except InvalidOperation:  # more digits than the decimal context holds (28)
        raise rule_error(f"is too large, got {shown(value)}") from None
    if cents != value:
        raise rule_error(f"must have at most 2 decimal places (whole cents), got {shown(value)}")
    return cents


def _check_money(value: Decimal) -> Decimal:
    if value <= 0:
        raise rule_error(f"must be greater than 0, got {shown(value)}")
    if value > MAX_AMOUNT:
        raise rule_error(f"must be at most {MAX_AMOUNT:,}, got {shown(value)}")
    return _check_cents(value)


def _check_cpm(value: Decimal) -> Decimal:
    # The range (CPM_MIN..CPM_MAX USD, converted) depends on the currency: the line item and
    # profile models check it (adsgen.domain.money.cpm_bounds).
    if value <= 0:
        raise rule_error(f"CPM must be greater than 0, got {shown(value)}")
    return _check_cents(value)


_HOSTNAME = re.compile(
    r"(?=.{1,253}\Z)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?"
)


def _check_hostname(value: str) -> str:
    host = value.strip().lower()
    if not _HOSTNAME.fullmatch(host):
        raise rule_error(
            f"must be a host name like 'brand.example' (dot-separated letters, digits and "
            f"hyphens, no scheme or path), got {shown(value)}"
        )
    return host


def _check_https_url(value: str) -> str:
    url = value.strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        parts, host = None, ""
    if (
        parts is None
        or parts.scheme.lower() != "https"
        or not _HOSTNAME.fullmatch(host)
        or len(url) > 2048
        or any(char.isspace() for char in url)
        or _CONTROL.search(url)
    ):
        raise rule_error(
            f"must be an https:// URL like 'https://cdn.brand.example/ad.mp4' (no spaces or "
            f"control characters), got {shown(value)}"
        )
    return url


def _ruled(check: Any, value: Any) -> str:
    """`check(value)` with its ValueError as a rule error (the message shown as written)."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise rule_error(f"expected a code (text), got {shown(value)}")
    try:
        result: str = check(value)
    except ValueError as error:
        raise rule_error(str(error)) from None
    return result


def _check_country(value: str) -> str:
    code = value.strip().upper()
    if code not in ISO_COUNTRY_CODES:
        raise rule_error(
            f"{shown(value)} is not an ISO 3166-1 alpha-2 country code; use two letters like US, "
            "GB, DE"
        )
    return code


def check_flight_start(moment: datetime) -> datetime:
    """`moment` (naive UTC) if a flight may start then, else ValueError naming the range.

    FIRST_START..LAST_START keeps a whole flight (up to 366 days) and its local times inside
    what dates, time zones and every database can hold; ends are bounded by the flight.
    """
    if not FIRST_START <= moment <= LAST_START:
        raise ValueError(f"must be a date from {FIRST_START:%Y-%m-%d} to {LAST_START:%Y-%m-%d} "
                         f"(UTC), got {moment.isoformat()}")
    return moment


def _check_start(value: datetime) -> datetime:
    try:
        return check_flight_start(value)
    except ValueError as error:
        raise rule_error(str(error)) from None


def _check_utc_hour(value: datetime) -> datetime:
    try:
        moment = to_utc_naive(value)
    except ValueError as error:  # 0001-01-01T00:00+01:00 is before year 1 in UTC
        raise rule_error(str(error)) from None
    if (moment.minute, moment.second, moment.microsecond) != (0, 0, 0):
        raise rule_error(
            f"must be on the hour in UTC (minutes and seconds zero), e.g. "
            f"{moment:%Y-%m-%dT%H}:00:00; got {moment.isoformat()}"
        )
    return moment


def check_time_zone(value: str) -> str:
    """`value` if it names an IANA time zone (zoneinfo knows it: 'America/Chicago', 'UTC'),
    else ValueError saying so, with the closest names."""
    import difflib
    import zoneinfo

    if isinstance(value, str) and value and value == value.strip():
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            pass
        else:
            return value
    close = difflib.get_close_matches(str(value), sorted(zoneinfo.available_timezones()), n=2)
    hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
    raise ValueError(
        f"{shown(value)} is not an IANA time zone name{hint}; use one like America/Chicago, "
        "Europe/London or UTC"
    )


def _check_time_zone(value: str) -> str:
    try:
        return check_time_zone(value)
    except ValueError as error:
        raise rule_error(str(error)) from None


def _check_unique(values: list[_T]) -> list[_T]:
    seen: list[_T] = []
    repeated: list[str] = []
    for value in values:
        if value in seen and str(value) not in repeated:
            repeated.append(str(value))
        seen.append(value)
    if repeated:
        raise rule_error(f"lists {', '.join(repeated)} more than once; give each value once")
    return values


Name = Annotated[str, AfterValidator(_check_name)]
"""A display name: stripped, 1..255 characters."""
Money = Annotated[Decimal, BeforeValidator(_parse_decimal), AfterValidator(_check_money)]
"""A money amount: 0 < x <= 1e9, at most 2 decimal places, returned with 2 places."""
Cpm = Annotated[Decimal, BeforeValidator(_parse_decimal), AfterValidator(_check_cpm)]
"""Cost per thousand impressions: 0.50..500.00, at most 2 decimal places."""
Hostname = Annotated[str, AfterValidator(_check_hostname)]
"""A lower-case DNS host name such as "luxuryautoco.example"."""
HttpsUrl = Annotated[str, AfterValidator(_check_https_url)]
"""An https:// URL with a valid host name."""
CountryCode = Annotated[str, AfterValidator(_check_country)]
"""An upper-case ISO 3166-1 alpha-2 code (input case-insensitive)."""
DmaCode = Annotated[str, BeforeValidator(lambda value: _ruled(check_dma, value))]
"""A Nielsen DMA code of adsgen.domain.markets ("501"; a number is accepted too)."""
UsStateCode = Annotated[str, BeforeValidator(lambda value: _ruled(check_state, value))]
"""A USPS code of a US state or DC, upper case (input case-insensitive)."""
UtcHour = Annotated[datetime, AfterValidator(_check_utc_hour)]
"""An hour-aligned naive UTC datetime; aware inputs converted, a date means 00:00 UTC."""
FlightStart = Annotated[datetime, AfterValidator(_check_utc_hour), AfterValidator(_check_start)]
"""The first hour of a flight: a UtcHour from FIRST_START to LAST_START."""
TimeZoneName = Annotated[str, AfterValidator(_check_time_zone)]
"""An IANA time zone name zoneinfo knows, such as "America/Chicago" (case as written)."""
UniqueList = Annotated[list[_T], AfterValidator(_check_unique)]
"""A list in which each value appears once."""


def decode_micros(data: Any, model: type[BaseModel], money: tuple[str, ...]) -> Any:
    """An object holding money as `<name>_micros` (an ORM row) as a dict of Decimal fields.

    Use in a `model_validator(mode="before")` so Read models build from ORM rows; mappings,
    models and objects without such attributes pass through unchanged.
    """
    if isinstance(data, Mapping | BaseModel) or not any(
        hasattr(data, f"{name}_micros") for name in money
    ):
        return data
    values = {name: getattr(data, name) for name in model.model_fields if hasattr(data, name)}
    for name in money:
        if name not in values and hasattr(data, f"{name}_micros"):
            micros = getattr(data, f"{name}_micros")
            values[name] = None if micros is None else from_micros(micros)
    return values
