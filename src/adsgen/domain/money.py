"""Money in several currencies: one fixed table of exchange rates against USD, and conversions
rounded down to each currency's minor unit (ISO 4217 decimals, `Currency.minor_units`).

Why a fixed table: the ranges adsgen draws from (a platform's `cpm_range`, the providers'
daily spend, the bundled profiles' budgets) are in USD, and an advertiser that pays in JPY
must get budgets and CPMs in JPY: the same draw, converted. Live rates would make the same
seed give different data from one day to the next, so these are round reference rates (about
the 2024 annual averages of the U.S. Federal Reserve's H.10 release), part of the domain like
the enums, and change only with a release of adsgen.

Conversions work on integer micros (the unit every amount is stored and simulated in) and
round down, so a converted line-item budget never exceeds its converted campaign budget and a
converted daily cap never exceeds its amount. `convert_micros` takes whole arrays (a
columnar planner converts a column in one call); the Decimal helpers call it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction

import numpy as np
from numpy.typing import ArrayLike, NDArray

from adsgen.domain.enums import Currency
from adsgen.domain.fields import CPM_MAX, CPM_MIN, MAX_AMOUNT, from_micros, to_micros

__all__ = [
    "USD_RATES",
    "convert",
    "convert_micros",
    "cpm_bounds",
    "max_amount",
    "minor_unit",
    "shown_amount",
    "usd_per_unit",
]

USD_RATES: Mapping[Currency, Fraction] = {
    Currency.USD: Fraction(1),
    Currency.EUR: Fraction("0.92"),
    Currency.GBP: Fraction("0.79"),
    Currency.CAD: Fraction("1.37"),
    Currency.AUD: Fraction("1.52"),
    Currency.JPY: Fraction(150),
    Currency.KRW: Fraction(1360),
    Currency.BRL: Fraction("5.40"),
    Currency.MXN: Fraction("18.30"),
}
"""Units of each currency one USD buys (fixed; see the module docstring)."""

_ORDER: tuple[Currency, ...] = tuple(Currency)
# Per currency, in _ORDER: the rate as numerator/denominator and the minor unit in micros.
_NUM = np.array([USD_RATES[c].numerator for c in _ORDER], dtype=np.int64)
_DEN = np.array([USD_RATES[c].denominator for c in _ORDER], dtype=np.int64)
_STEP = np.array([10 ** (6 - c.minor_units) for c in _ORDER], dtype=np.int64)


def _index(currency: Currency | str | ArrayLike) -> NDArray[np.intp] | int:
    """Position of each currency in _ORDER (codes such as 'JPY' or Currency members)."""
    if isinstance(currency, Currency | str):
        return _ORDER.index(Currency(currency))
    codes = np.asarray(currency).astype(str)
    positions = np.full(codes.shape, -1, dtype=np.intp)
    for i, member in enumerate(_ORDER):
        positions[codes == member.value] = i
    if (positions < 0).any():
        unknown = sorted(set(codes[positions < 0].tolist()))
        known = ", ".join(c.value for c in _ORDER)
        raise ValueError(f"unknown currency {', '.join(unknown)}; known: {known}")
    return positions


def convert_micros(
    micros: ArrayLike,
    to: Currency | str | Sequence[str] | NDArray[np.str_],
    *,
    source: Currency | str | Sequence[str] | NDArray[np.str_] = Currency.USD,
) -> NDArray[np.int64]:
    """Amounts in integer micros of `source` (default USD) as micros of `to`, at USD_RATES,
    rounded down to the minor unit of `to` (whole yen, whole cents).

    `micros` is a scalar or an array; `to` and `source` are one currency or one per amount.
    Exact integer arithmetic: no float rounding, the same result on every machine. Amounts
    up to adsgen's limits (1e9 units, 1e15 micros) stay inside int64.
    """
    values = np.asarray(micros, dtype=np.int64)
    src, dst = _index(source), _index(to)
    # amount × rate(to) / rate(source), as integers: num_to·den_src / (den_to·num_src).
    numerator = _NUM[dst] * _DEN[src]
    denominator = _DEN[dst] * _NUM[src]
    step = _STEP[dst]
    units = values // 1_000 * numerator // denominator  # in thousandths of a unit
    return np.asarray(units * 1_000 // step * step, dtype=np.int64)


def convert(
    amount: Decimal, to: Currency, *, source: Currency = Currency.USD
) -> Decimal:
    """One amount from `source` (default USD) to `to`, rounded down to its minor unit."""
    if to is source:
        return amount.quantize(minor_unit(to), rounding=ROUND_DOWN)
    converted = from_micros(int(convert_micros(to_micros(amount), to, source=source)))
    return converted.quantize(minor_unit(to))


def shown_amount(amount: Decimal, currency: Currency) -> str:
    """`amount` as people write it: thousands separated, the currency's decimals, its code
    (`1,234.50 USD`, `185,175 JPY`)."""
    return f"{amount.quantize(minor_unit(currency)):,} {currency}"


def minor_unit(currency: Currency) -> Decimal:
    """The smallest amount of the currency: 0.01 (cents), or 1 for JPY and KRW."""
    return Decimal(1).scaleb(-currency.minor_units)


def cpm_bounds(currency: Currency) -> tuple[Decimal, Decimal]:
    """The allowed CPM range (CPM_MIN..CPM_MAX USD) in `currency`."""
    low = max(convert(CPM_MIN, currency), minor_unit(currency))
    return low, convert(CPM_MAX, currency)


def max_amount(currency: Currency) -> Decimal:
    """The largest budget (MAX_AMOUNT USD) in `currency`."""
    return convert(MAX_AMOUNT, currency)


def usd_per_unit(currencies: Sequence[Currency]) -> NDArray[np.float64]:
    """USD one unit of each currency is worth (for comparisons with USD ranges)."""
    return np.array([1.0 / float(USD_RATES[c]) for c in currencies], dtype=np.float64)
