"""Budget provider: CPM, budget, pacing and DSP partner consistent with platform and objective.

Awareness buys premium reach: higher CPMs (upper part of the platform's `cpm_range`) and
large budgets; conversion buys cheaper, smaller (realism.md B: premium streaming CPM
$20-65, 2024 deals nearer $20-30). Budgets scale with the flight length through a daily
spend level, then round to whole thousands as planners write them. Every range here is in
USD; `budget` and `split` round to the minor unit of the budget's currency (whole yen), the
plan builder converts drawn USD amounts with adsgen.domain.money. Daily caps sit at 1.0-1.4
times the average daily spend, so that they bind (DV360 daily caps cut strong days).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_DOWN, Decimal
from typing import ClassVar

from adsgen.build import pools
from adsgen.build.providers.base import WeightedProvider
from adsgen.domain.enums import Currency, DspPartner, Objective, PacingPeriod, PacingType
from adsgen.domain.money import minor_unit
from adsgen.domain.schemas import BudgetSchema, FlightSchema
from adsgen.templates.spec import Platform

__all__ = ["BudgetProvider"]

CENT = Decimal("0.01")


class BudgetProvider(WeightedProvider):
    """Money draws: objective mix, CPM, lifetime budget, pacing, DSP partner, budget splits."""

    OBJECTIVE_MIX: ClassVar[Mapping[Objective, float]] = pools.OBJECTIVE_MIX
    CPM_BAND: ClassVar[Mapping[Objective, tuple[float, float]]] = pools.CPM_BAND
    CPM_STEP: ClassVar[Decimal] = pools.CPM_STEP
    DAILY_SPEND: ClassVar[Mapping[Objective, tuple[int, int]]] = pools.DAILY_SPEND
    BUDGET_STEP: ClassVar[Decimal] = pools.BUDGET_STEP
    PACING_MIX: ClassVar[Mapping[tuple[PacingType, PacingPeriod], float]] = pools.PACING_MIX
    DAILY_CAP_FACTOR: ClassVar[tuple[Decimal, Decimal]] = pools.DAILY_CAP_FACTOR
    DAILY_CAP_RATE: ClassVar[float] = pools.DAILY_CAP_RATE
    FLIGHT_DAYS: ClassVar[Mapping[int, float]] = pools.FLIGHT_DAYS
    LINE_ITEM_COUNT: ClassVar[Mapping[int, float]] = pools.LINE_ITEM_COUNT
    DSP_MIX: ClassVar[Mapping[DspPartner, float]] = pools.DSP_MIX

    def objective(self) -> Objective:
        """A campaign objective drawn by its share of streaming campaigns."""
        return self.weighted(self.OBJECTIVE_MIX)

    def dsp_partner(self) -> DspPartner:
        """The DSP (or direct IO) that buys the campaign."""
        return self.weighted(self.DSP_MIX)

    def flight_days(self) -> int:
        """A campaign length in days, as planners book them (two weeks to a quarter)."""
        return self.weighted(self.FLIGHT_DAYS)

    def line_item_count(self) -> int:
        """How many line items a campaign splits its budget into."""
        return self.weighted(self.LINE_ITEM_COUNT)

    def cpm(self, objective: Objective, platform: Platform, *, premium: float = 1.0) -> Decimal:
        """A CPM inside the platform's range, in the objective's band, × `premium` (the data
        fee of audience segments, `adsgen.domain.markets.segment_cpm_factor`), in steps of
        $0.50."""
        low, high = platform.cpm_range
        band_low, band_high = self.CPM_BAND[objective]
        value = (low + (high - low) * self.generator.random.uniform(band_low, band_high)) * premium
        return max(self.round_to(Decimal(str(value)), self.CPM_STEP), Decimal("0.50"))

    def budget_amount(self, objective: Objective, flight: FlightSchema) -> Decimal:
        """A lifetime budget: a daily spend level for the objective times the flight days."""
        daily = self.generator.random.uniform(*self.DAILY_SPEND[objective])
        amount = self.round_to(Decimal(str(daily * flight.days)), self.BUDGET_STEP)
        return max(amount, self.BUDGET_STEP)

    def pacing(self) -> tuple[PacingType, PacingPeriod]:
        """A DV360-valid (pacing type, pacing period) pair."""
        return self.weighted(self.PACING_MIX)

    def budget(
        self,
        amount: Decimal,
        flight: FlightSchema,
        *,
        pacing: tuple[PacingType, PacingPeriod],
        currency: Currency = Currency.USD,
    ) -> BudgetSchema:
        """A lifetime budget of `amount` in `currency`; pacing per day gets a daily cap
        (`daily_cap`)."""
        pacing_type, pacing_period = pacing
        daily_cap = None
        if pacing_period is PacingPeriod.daily:
            daily_cap = self.daily_cap(amount, flight, currency)
        return BudgetSchema(
            amount=amount,
            currency=currency,
            pacing_type=pacing_type,
            pacing_period=pacing_period,
            daily_cap=daily_cap,
        )

    def daily_cap(self, amount: Decimal, flight: FlightSchema, currency: Currency) -> Decimal:
        """A daily cap of DAILY_CAP_FACTOR (drawn in its range) times the average daily
        spend `amount / flight days`, in whole minor units of `currency`, from one unit up
        to `amount`: near the average, so it binds on days with more supply."""
        unit = minor_unit(currency)
        factor = Decimal(str(self.generator.random.uniform(*map(float, self.DAILY_CAP_FACTOR))))
        cap = (amount * factor / flight.days).quantize(unit)
        return min(amount, max(cap, unit))

    def with_daily_cap(self, budget: BudgetSchema, flight: FlightSchema) -> BudgetSchema:
        """A line item's budget, given a daily cap (`daily_cap`) DAILY_CAP_RATE of the time
        when it has none (one it has, from its campaign's pacing per day, is kept)."""
        if budget.daily_cap is not None or self.generator.random.random() >= self.DAILY_CAP_RATE:
            return budget
        cap = self.daily_cap(budget.amount, flight, budget.currency)
        return BudgetSchema.model_validate({**budget.model_dump(), "daily_cap": cap})

    def fake_budget_and_cpm(
        self, objective: Objective, platform: Platform, flight: FlightSchema
    ) -> tuple[BudgetSchema, Decimal]:
        """A campaign budget and a CPM that fit the platform, the objective and the flight."""
        amount = self.budget_amount(objective, flight)
        return self.budget(amount, flight, pacing=self.pacing()), self.cpm(objective, platform)

    def amount_between(self, low: Decimal, high: Decimal, step: Decimal = CENT) -> Decimal:
        """A uniform amount in [low, high], rounded to `step` and kept inside the range."""
        if low >= high:
            return low
        value = Decimal(str(self.generator.random.uniform(float(low), float(high))))
        return min(max(self.round_to(value, step), low), high)

    def split(self, budget: BudgetSchema, shares: Sequence[float]) -> list[BudgetSchema]:
        """Line-item budgets from a campaign budget: `shares` of its amount, rounded down to
        the currency's minor unit (cents, whole yen).

        The sum never exceeds the campaign amount (shares must sum to <= 1); pacing and
        currency are inherited, a daily cap is split by the same share.
        """
        if sum(shares) > 1 + 1e-9 or any(s <= 0 for s in shares):
            raise ValueError("budget shares must be > 0 and sum to <= 1")
        parts = []
        unit = minor_unit(budget.currency)
        for share in shares:
            fraction = Decimal(str(share))
            amount = _floor(budget.amount * fraction, unit)
            cap = None if budget.daily_cap is None else _floor(budget.daily_cap * fraction, unit)
            if amount <= 0 or (cap is not None and cap <= 0):
                raise ValueError(f"a budget share of {share} of {budget.amount} is under a cent")
            fields = {**budget.model_dump(), "amount": amount, "daily_cap": cap}
            parts.append(BudgetSchema.model_validate(fields))
        return parts

    @staticmethod
    def round_to(value: Decimal, step: Decimal) -> Decimal:
        """`value` rounded to the nearest multiple of `step`, with two decimal places."""
        return ((value / step).quantize(Decimal(1)) * step).quantize(CENT)


def _floor(value: Decimal, unit: Decimal) -> Decimal:
    return value.quantize(unit, rounding=ROUND_DOWN)
