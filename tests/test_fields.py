"""Conversions in adsgen.domain.fields and the ISO country list in adsgen.domain.geo."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from adsgen.domain.fields import MICROS_PER_UNIT, error_lines, from_micros, to_micros, to_utc_naive
from adsgen.domain.geo import ISO_COUNTRY_CODES, is_country_code
from adsgen.domain.schemas import BudgetSchema


@given(st.integers(-(10**15), 10**15))
def test_micros_round_trip_exactly(micros: int) -> None:
    assert to_micros(from_micros(micros)) == micros


@given(st.integers(0, 10**13))
def test_whole_cents_read_back_with_two_places(cents: int) -> None:
    value = from_micros(cents * 10_000)
    assert value == Decimal(cents).scaleb(-2) and value.as_tuple().exponent == -2


def test_to_micros() -> None:
    assert to_micros(Decimal("1.5")) == 1_500_000 == MICROS_PER_UNIT * 3 // 2
    assert to_micros(Decimal("0.000001")) == 1
    with pytest.raises(ValueError, match="more than 6 decimal places"):
        to_micros(Decimal("0.0000001"))


def test_to_utc_naive() -> None:
    assert to_utc_naive(date(2024, 3, 1)) == datetime(2024, 3, 1)
    assert to_utc_naive(datetime(2024, 3, 1, 5)) == datetime(2024, 3, 1, 5)
    aware = datetime(2024, 3, 1, 5, tzinfo=timezone(timedelta(hours=2)))
    assert to_utc_naive(aware) == datetime(2024, 3, 1, 3)


def test_error_lines_are_key_path_and_message() -> None:
    with pytest.raises(ValidationError) as caught:
        BudgetSchema.model_validate({"amount": "1.001", "currency": "USD", "colour": 1})
    assert error_lines(caught.value) == [
        "amount: must have at most 2 decimal places (whole cents), got 1.001",
        "colour: Extra inputs are not permitted",
    ]


def test_iso_country_codes() -> None:
    assert len(ISO_COUNTRY_CODES) == 249
    assert all(len(code) == 2 and code.isupper() for code in ISO_COUNTRY_CODES)
    assert {"US", "GB", "DE", "JP", "BR", "KR"} <= ISO_COUNTRY_CODES
    assert is_country_code("CA") and not is_country_code("UK") and not is_country_code("us")


@pytest.mark.parametrize(
    "moment",
    [datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),
     datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-14)))],
)
def test_to_utc_naive_out_of_range_is_a_value_error(moment: datetime) -> None:
    """Parsers catch ValueError: an OverflowError from astimezone would escape as exit 1."""
    with pytest.raises(ValueError, match="out of range in UTC"):
        to_utc_naive(moment)


@pytest.mark.parametrize("cpm", [1e26, "1e40", Decimal("123456789012345678901234567.5")])
def test_a_huge_cpm_is_a_validation_error_not_a_crash(cpm: object) -> None:
    """Found by schemathesis through the API: 1e26 made Decimal.quantize raise
    InvalidOperation (more digits than its context holds), an internal error."""
    from pydantic import TypeAdapter

    from adsgen.domain.fields import Cpm, Money

    with pytest.raises(ValidationError, match="too large"):
        TypeAdapter(Cpm).validate_python(cpm)
    with pytest.raises(ValidationError, match="at most"):
        TypeAdapter(Money).validate_python(cpm)
