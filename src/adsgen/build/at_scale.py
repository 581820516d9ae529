"""Plans for scale runs (`adsgen generate`): N advertisers or N line items on one flight.

Pure, like `adsgen.build.plans`: `build_scaled` draws advertisers with `build_random` (index
0, 1, 2 … so names are distinct and each advertiser depends only on the seed and its index)
until the wanted number of advertisers or line items is reached, then puts every campaign
and line item on the same flight [start, start + days). Budgets are scaled by
days / the campaign's drawn flight days, so daily spend stays what the providers drew: a
one-year run spends about twelve times a 30-day one. Daily caps and daily budgets are per
day already and stay as drawn.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from fractions import Fraction

from adsgen.build.plans import DEFAULT_START, build_random
from adsgen.domain.enums import BudgetType
from adsgen.exceptions import AdsgenError
from adsgen.domain.fields import MAX_AMOUNT, MAX_FLIGHT_DAYS, to_utc_naive
from adsgen.domain.schemas import (
    AdvertiserCreate,
    BudgetSchema,
    CampaignCreate,
    FlightSchema,
    LineItemCreate,
)
from adsgen.templates.spec import Platform, Profile

__all__ = ["DEFAULT_SCALE_DAYS", "DEFAULT_SCALE_START", "build_scaled", "scaled_flight"]

DEFAULT_SCALE_DAYS = 30
"""Flight length of a scale run when none is given."""
DEFAULT_SCALE_START = DEFAULT_START
"""First hour of a scale run's flight when none is given (2026-09-01 00:00 UTC)."""

_CENT = Decimal("0.01")


def scaled_flight(start: datetime, days: int) -> FlightSchema:
    """The flight [start, start + days) of a scale run; AdsgenError naming the option when
    `days` is out of 1..366 or `start` is not a whole UTC hour."""
    if not 1 <= days <= MAX_FLIGHT_DAYS:
        raise AdsgenError(f"--days must be between 1 and {MAX_FLIGHT_DAYS}, got {days}")
    first = to_utc_naive(start)
    if (first.minute, first.second, first.microsecond) != (0, 0, 0):
        raise AdsgenError(
            f"--start must be a date or a whole UTC hour (e.g. {first:%Y-%m-%dT%H}:00), "
            f"got {first.isoformat()}"
        )
    return FlightSchema(start=first, end=first + timedelta(days=days))


def build_scaled(
    *,
    seed: int,
    platform: Platform,
    advertisers: int | None = None,
    line_items: int | None = None,
    days: int = DEFAULT_SCALE_DAYS,
    start: datetime = DEFAULT_SCALE_START,
    profiles: Sequence[Profile] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[AdvertiserCreate]:
    """`advertisers` advertisers, or advertisers holding exactly `line_items` line items.

    Give exactly one of the two counts. With `line_items`, the last advertiser keeps only
    the line items needed (its campaign budget shrinks by the share of the budgets it
    drops, so every rule of CampaignCreate still holds). Every flight is
    [start, start + days); lifetime budgets are scaled by days / drawn days (rounded down
    to the cent, so line items never outspend their campaign). Deterministic per (seed,
    profiles): the first k advertisers of a larger run equal a run of k. `progress(done,
    wanted)` hears of each advertiser added (counted as the count asked for). Raises AdsgenError
    for counts below 1, both or neither count, or a bad flight (see `scaled_flight`).
    """
    if (advertisers is None) == (line_items is None):
        raise AdsgenError("give either --advertisers N or --line-items N (not both)")
    wanted = advertisers if advertisers is not None else line_items
    if wanted is None or wanted < 1:
        option = "--advertisers" if advertisers is not None else "--line-items"
        raise AdsgenError(f"{option} must be at least 1, got {wanted}")
    flight = scaled_flight(start, days)
    if profiles is None:
        from adsgen.templates.catalog import profiles as bundled_profiles

        profiles = bundled_profiles()
    plan: list[AdvertiserCreate] = []
    taken: set[str] = set()
    items = 0
    index = 0
    while (len(plan) if advertisers is not None else items) < wanted:
        drawn = build_random(seed=seed, index=index, platform=platform, profiles=profiles,
                             start=flight.start, avoid=taken)
        index += 1
        if line_items is not None:
            drawn = _truncated(drawn, line_items - items)
        advertiser = drawn.model_copy(
            update={"campaigns": [_retimed(c, flight) for c in drawn.campaigns]}
        )
        taken.add(advertiser.name)
        items += sum(len(c.line_items) for c in advertiser.campaigns)
        plan.append(advertiser)
        if progress is not None:
            progress(len(plan) if advertisers is not None else items, wanted)
    return plan


def _truncated(advertiser: AdvertiserCreate, room: int) -> AdvertiserCreate:
    """The advertiser with at most `room` line items (campaigns left empty are dropped)."""
    if sum(len(c.line_items) for c in advertiser.campaigns) <= room:
        return advertiser
    campaigns: list[CampaignCreate] = []
    for campaign in advertiser.campaigns:
        if room <= 0:
            break
        kept = campaign.line_items[:room]
        room -= len(kept)
        if len(kept) < len(campaign.line_items):
            campaign = _shrunk(campaign, kept)
        campaigns.append(campaign)
    return advertiser.model_copy(update={"campaigns": campaigns})


def _shrunk(campaign: CampaignCreate, kept: list[LineItemCreate]) -> CampaignCreate:
    """The campaign with only `kept`, its lifetime budget cut by the dropped items' share.

    amount × kept / all, rounded up to the cent: at least the kept items' sum (which was at
    most amount × kept / all) and at most the amount.
    """
    budget = campaign.budget
    if budget.budget_type is BudgetType.lifetime:
        every = sum((item.budget.amount for item in campaign.line_items), Decimal(0))
        kept_sum = sum((item.budget.amount for item in kept), Decimal(0))
        if every > 0 and all(i.budget.budget_type is BudgetType.lifetime for i in kept):
            amount = (budget.amount * kept_sum / every).quantize(_CENT, rounding=ROUND_CEILING)
            budget = _budget(budget, min(max(amount, kept_sum), budget.amount))
    return campaign.model_copy(update={"line_items": kept, "budget": budget})


def _retimed(campaign: CampaignCreate, flight: FlightSchema) -> CampaignCreate:
    """The campaign and its line items on `flight`, lifetime budgets scaled to its length.

    One exact factor for the whole campaign (its own drawn days, capped so no amount passes
    MAX_AMOUNT), each amount rounded down to the cent in integer arithmetic:
    Σ floor(x·f) <= floor(Σx·f) <= floor(C·f), so the line items still fit the campaign.
    """
    factor = Fraction(flight.days, campaign.flight.days)
    if campaign.budget.budget_type is BudgetType.lifetime:
        factor = min(factor, Fraction(_cents(MAX_AMOUNT), _cents(campaign.budget.amount)))
    line_items = [
        item.model_copy(update={"flight": flight, "budget": _scaled(item.budget, factor)})
        for item in campaign.line_items
    ]
    return campaign.model_copy(update={
        "flight": flight, "budget": _scaled(campaign.budget, factor), "line_items": line_items,
    })


def _cents(amount: Decimal) -> int:
    return int(amount * 100)


def _scaled(budget: BudgetSchema, factor: Fraction) -> BudgetSchema:
    """A lifetime budget times `factor` (down to the cent, at least one); daily ones as is."""
    if budget.budget_type is not BudgetType.lifetime or factor == 1:
        return budget
    cents = _cents(budget.amount) * factor.numerator // factor.denominator
    return _budget(budget, Decimal(max(cents, 1)) / 100)


def _budget(budget: BudgetSchema, amount: Decimal) -> BudgetSchema:
    """`budget` with a new lifetime amount, its daily cap kept within it (validated)."""
    cap = budget.daily_cap
    fields = {**budget.model_dump(), "amount": amount,
              "daily_cap": None if cap is None else min(cap, amount)}
    return BudgetSchema.model_validate(fields)
