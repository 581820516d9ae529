"""Dates as users type them: `2026-09-01`, `2026-09-01T06:00`, `today`, `+7d`, `-3d`.

One parser for every command that takes a date (`--start`, `--end`), so every door accepts
the same forms and says the same thing when a value is none of them. Relative dates count
whole days from today's midnight, UTC, whatever the machine's time zone: `+7d` is the same
instant on every machine on a given UTC day. The clock is a parameter (pure, testable), and
nothing heavy is imported: the help texts quote DATE_FORMS when `adsgen --help` starts.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

__all__ = ["DATE_FORMS", "parse_date", "to_utc_naive"]

DATE_FORMS = "YYYY-MM-DD, YYYY-MM-DDTHH:MM, today, +Nd or -Nd (N days from today)"
"""The accepted forms, as help texts and error messages quote them."""

_RELATIVE = re.compile(r"(?P<sign>[+-])(?P<days>\d{1,5})d")


def to_utc_naive(value: date | datetime) -> datetime:
    """Naive UTC datetime: aware values converted, naive ones taken as UTC, a date as 00:00.

    ValueError (what parsers catch, not OverflowError) when the UTC time is before year 1 or
    after year 9999 (0001-01-01T00:00+14:00).
    """
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day)
    if value.utcoffset() is not None:
        try:
            value = value.astimezone(UTC)
        except OverflowError:
            raise ValueError(f"{value.isoformat()} is out of range in UTC") from None
    return value.replace(tzinfo=None)


def parse_date(text: str, *, now: datetime | None = None) -> datetime:
    """`text` as a naive UTC datetime; ValueError naming the accepted forms if it is none.

    `today` is today's 00:00 UTC and `+Nd`/`-Nd` that midnight N days later or earlier;
    `now` (default: the current time; naive means UTC) says which day it is. Absolute values
    are ISO 8601: a date means 00:00, a time without an offset is UTC, one with an offset is
    converted.
    """
    word = text.strip().lower()
    midnight = to_utc_naive(to_utc_naive(now or datetime.now(UTC)).date())
    if word == "today":
        return midnight
    relative = _RELATIVE.fullmatch(word)
    try:
        if relative is not None:
            days = int(relative["days"]) * (1 if relative["sign"] == "+" else -1)
            return midnight + timedelta(days=days)
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a date; use {DATE_FORMS}, in UTC") from None
    except OverflowError:
        raise ValueError(f"{text!r} is past the years 1 to 9999") from None
    try:
        return to_utc_naive(parsed)
    except ValueError:  # 0001-01-01T00:00+14:00 is before year 1 in UTC
        raise ValueError(f"{text!r} is outside the years 1 to 9999 in UTC") from None
