"""Currencies: the fixed rate table, conversions rounded down to the minor unit, on arrays."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from adsgen.domain.enums import Currency
from adsgen.domain.money import USD_RATES, convert, convert_micros, cpm_bounds, minor_unit


def test_every_currency_has_a_rate() -> None:
    assert set(USD_RATES) == set(Currency)
    assert USD_RATES[Currency.USD] == 1


def test_conversion_rounds_down_to_the_minor_unit() -> None:
    assert convert(Decimal("30.50"), Currency.JPY) == Decimal(4575)
    assert convert(Decimal("0.01"), Currency.JPY) == Decimal(1)      # 1.5 yen -> 1
    assert convert(Decimal("10.00"), Currency.EUR) == Decimal("9.20")
    assert convert(Decimal("0.05"), Currency.EUR) == Decimal("0.04")  # 0.046 -> 0.04
    assert convert(Decimal(4575), Currency.USD, source=Currency.JPY) == Decimal("30.50")
    assert minor_unit(Currency.KRW) == 1 and minor_unit(Currency.GBP) == Decimal("0.01")


def test_arrays_convert_per_row_in_one_call() -> None:
    usd = np.array([1_000_000, 25_500_000, 10_000], dtype=np.int64)
    out = convert_micros(usd, np.array(["JPY", "EUR", "KRW"]))
    assert out.tolist() == [150_000_000, 23_460_000, 13_000_000]
    assert convert_micros(usd, Currency.USD).tolist() == usd.tolist()
    with pytest.raises(ValueError, match="unknown currency XXX"):
        convert_micros(usd, np.array(["JPY", "XXX", "USD"]))


def test_largest_amounts_stay_exact() -> None:
    top = 10**15  # 1e9 units in micros, the largest budget
    assert int(convert_micros(top, Currency.KRW)) == 1360 * top
    assert int(convert_micros(1360 * top, Currency.USD, source=Currency.KRW)) == top


def test_cpm_bounds_follow_the_rate() -> None:
    assert cpm_bounds(Currency.USD) == (Decimal("0.50"), Decimal("500.00"))
    assert cpm_bounds(Currency.JPY) == (Decimal(75), Decimal(75_000))
