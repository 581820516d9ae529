"""US markets and audience segments: what the `dma`, `state` and `segment` targeting keys hold.

- **DMAs**: the 210 Nielsen Designated Market Areas with their TV households, read once from
  the package data file `domain/data/us_dmas.csv` (its header says the source and vintage:
  Nielsen's 2015-16 Local Television Market Universe Estimates). `dma_table()` gives them
  as NumPy columns (code, rank, TV households, state index) so that later lookups per
  household or line item stay vectorized; `dma(code)` gives one market.
- **States**: the 50 states and DC by USPS code (`US_STATES`).
- **Audience segments**: a small vocabulary of the segments CTV platforms sell, each of one
  `SegmentKind` (age/gender bands, household income, interests, in-market, retailer
  first-party, viewing behaviour); a platform says which kinds it sells.

Targeting values are validated here, and here is what they do to a line item's audience
(the world reads these, `adsgen.world.households.targetable`):

- **DMA / state** narrow the US part of a line item's geos to the TV homes of the targeted
  DMAs (`market_tv_households`): with states, of the DMAs whose principal state is one of
  them (the package holds no per-state household count, so a DMA counts wholly in its
  principal state, and DE, NH and NJ, principal to no DMA, match no household); with both,
  of the DMAs that are in both lists.
- **Segments** keep a share of households (`SEGMENT_SHARE`): within one `SegmentKind` the
  targeted segments are a union (shares add, capped at 1), across kinds an intersection
  (independence: shares multiply) — `segment_shares`.
- **Rates**: data targeting costs a CPM premium per kind targeted (`SEGMENT_CPM_PREMIUM`),
  and in-market and retailer audiences respond more to the ads (`SEGMENT_CONVERSION_LIFT`).

`audience_problem` tells why a targeting matches no household (or a US market outside the
US), for the schema's one-line error.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from importlib.resources import files
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # NumPy is imported where the table is built (`adsgen --help` stays light)
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "DMA_COUNT",
    "SEGMENT_CONVERSION_LIFT",
    "SEGMENT_CPM_PREMIUM",
    "SEGMENT_SHARE",
    "US_STATES",
    "AudienceSegment",
    "Dma",
    "DmaTable",
    "SegmentKind",
    "audience_problem",
    "check_dma",
    "check_state",
    "dma",
    "dma_table",
    "dmas",
    "market_mask",
    "market_tv_households",
    "segment_conversion_lift",
    "segment_cpm_factor",
    "segment_shares",
    "total_tv_households",
]

DMA_COUNT = 210
"""Nielsen divides the US into 210 DMAs."""

_STATES = """
AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ
NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY
"""
US_STATES: frozenset[str] = frozenset(_STATES.split())
"""USPS codes of the 50 states and the District of Columbia."""


class SegmentKind(StrEnum):
    """Families of audience segments; a platform sells some of them (its `segment_kinds`)."""

    demographic = "demographic"
    income = "income"
    interest = "interest"
    in_market = "in_market"
    retailer = "retailer"
    viewing = "viewing"


class AudienceSegment(StrEnum):
    """Audience segments a line item may target (`targeting.segment`); `kind` is its family."""

    age_18_34 = "age_18_34"
    age_35_54 = "age_35_54"
    age_55_plus = "age_55_plus"
    female = "female"
    male = "male"
    income_under_50k = "income_under_50k"
    income_50k_100k = "income_50k_100k"
    income_100k_plus = "income_100k_plus"
    interest_sports = "interest_sports"
    interest_food = "interest_food"
    interest_travel = "interest_travel"
    interest_technology = "interest_technology"
    in_market_auto = "in_market_auto"
    in_market_travel = "in_market_travel"
    in_market_home = "in_market_home"
    in_market_finance = "in_market_finance"
    retail_grocery_buyers = "retail_grocery_buyers"
    retail_electronics_buyers = "retail_electronics_buyers"
    retail_beauty_buyers = "retail_beauty_buyers"
    viewers_live_sports = "viewers_live_sports"
    viewers_streaming_heavy = "viewers_streaming_heavy"

    @property
    def kind(self) -> SegmentKind:
        """The family this segment belongs to (what platforms sell or not)."""
        return _KINDS[self]


_KINDS: dict[AudienceSegment, SegmentKind] = {
    **dict.fromkeys((AudienceSegment.age_18_34, AudienceSegment.age_35_54,
                     AudienceSegment.age_55_plus, AudienceSegment.female,
                     AudienceSegment.male), SegmentKind.demographic),
    **dict.fromkeys((AudienceSegment.income_under_50k, AudienceSegment.income_50k_100k,
                     AudienceSegment.income_100k_plus), SegmentKind.income),
    **{s: SegmentKind.interest for s in AudienceSegment if s.value.startswith("interest_")},
    **{s: SegmentKind.in_market for s in AudienceSegment if s.value.startswith("in_market_")},
    **{s: SegmentKind.retailer for s in AudienceSegment if s.value.startswith("retail_")},
    **{s: SegmentKind.viewing for s in AudienceSegment if s.value.startswith("viewers_")},
}


@dataclass(frozen=True, slots=True)
class Dma:
    """One Nielsen DMA: its code, rank by TV households, name, principal state, TV homes."""

    code: str
    rank: int
    name: str
    state: str
    tv_households: int


@dataclass(frozen=True, slots=True)
class DmaTable:
    """Every DMA as columns, sorted by code: what vectorized lookups index into."""

    codes: tuple[str, ...]
    code: npt.NDArray[np.int64]
    rank: npt.NDArray[np.int64]
    tv_households: npt.NDArray[np.int64]
    state: tuple[str, ...]

    def index(self, codes: list[str]) -> npt.NDArray[np.int64]:
        """Row of each code (KeyError for an unknown one): `np.searchsorted` over the codes."""
        import numpy as np

        wanted = np.array([int(c) for c in codes], dtype=np.int64)
        rows = np.searchsorted(self.code, wanted)
        rows = np.minimum(rows, self.code.size - 1)
        if np.any(self.code[rows] != wanted):
            raise KeyError(next(c for c, r in zip(codes, rows.tolist(), strict=True)
                                if int(c) != int(self.code[r])))
        return rows.astype(np.int64)


def check_dma(value: object) -> str:
    """The DMA code of `value` (501, "501" or " 501 ") as text; ValueError naming the
    allowed codes when it is not one of the 210."""
    code = str(value).strip()
    if code not in dmas():
        first, last = min(dmas(), key=int), max(dmas(), key=int)
        raise ValueError(
            f"{value!r} is not a Nielsen DMA code; use one of the {DMA_COUNT} codes {first}-"
            f"{last} (e.g. 501 New York, 803 Los Angeles, 602 Chicago) listed in "
            "adsgen/domain/data/us_dmas.csv"
        )
    return code


def check_state(value: object) -> str:
    """The upper-case USPS code of `value`; ValueError naming the rule when it is not a US
    state or DC."""
    code = str(value).strip().upper()
    if code not in US_STATES:
        raise ValueError(
            f"{value!r} is not a US state; use a two-letter USPS code such as CA, NY, TX "
            "(the 50 states and DC)"
        )
    return code


@functools.cache
def dmas() -> dict[str, Dma]:
    """Every DMA by code (as text, e.g. "501"), read once from the package data file."""
    text = (files("adsgen.domain") / "data" / "us_dmas.csv").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    found = {
        row["code"]: Dma(code=row["code"], rank=int(row["rank"]), name=row["name"],
                         state=row["state"], tv_households=int(row["tv_households"]))
        for row in csv.DictReader(io.StringIO("\n".join(lines)))
    }
    if len(found) != DMA_COUNT:  # a broken install, not a user error
        raise RuntimeError(f"us_dmas.csv holds {len(found)} DMAs, not {DMA_COUNT}")
    return found


def dma(code: str) -> Dma:
    """The DMA of a code ("501"); KeyError when there is none."""
    return dmas()[code]


@functools.cache
def dma_table() -> DmaTable:
    """The DMAs as NumPy columns sorted by code."""
    import numpy as np

    ordered = sorted(dmas().values(), key=lambda d: int(d.code))
    return DmaTable(
        codes=tuple(d.code for d in ordered),
        code=np.array([int(d.code) for d in ordered], dtype=np.int64),
        rank=np.array([d.rank for d in ordered], dtype=np.int64),
        tv_households=np.array([d.tv_households for d in ordered], dtype=np.int64),
        state=tuple(d.state for d in ordered),
    )


# --- what targeting does to the audience -----------------------------------------------------

SEGMENT_SHARE: dict[AudienceSegment, float] = {
    # Age of householder, Census CPS ASEC 2023 table HH-3 (households by age of householder),
    # rounded: under 35 (with the few under 18) ~20 %, 35-54 ~33 %, 55 and over ~47 %.
    AudienceSegment.age_18_34: 0.20,
    AudienceSegment.age_35_54: 0.33,
    AudienceSegment.age_55_plus: 0.47,
    # Modelling choice: a household's targeted person by the US sex ratio (Census 2020:
    # 50.5 % female), rounded.
    AudienceSegment.female: 0.51,
    AudienceSegment.male: 0.49,
    # Household income, Census "Income in the United States: 2022" (P60-279), households by
    # total money income, rounded to whole points.
    AudienceSegment.income_under_50k: 0.36,
    AudienceSegment.income_50k_100k: 0.28,
    AudienceSegment.income_100k_plus: 0.36,
    # Modelling choice: broad interest segments hold a fifth to a third of households.
    AudienceSegment.interest_sports: 0.35,
    AudienceSegment.interest_food: 0.30,
    AudienceSegment.interest_travel: 0.25,
    AudienceSegment.interest_technology: 0.20,
    # Modelling choice: in-market means shopping now, a few % of households at a time.
    AudienceSegment.in_market_auto: 0.06,
    AudienceSegment.in_market_travel: 0.08,
    AudienceSegment.in_market_home: 0.05,
    AudienceSegment.in_market_finance: 0.05,
    # Modelling choice: a retailer's buyers of a category (grocery is bought by most, but one
    # retailer's loyalty base is a fraction of them).
    AudienceSegment.retail_grocery_buyers: 0.30,
    AudienceSegment.retail_electronics_buyers: 0.12,
    AudienceSegment.retail_beauty_buyers: 0.10,
    # Modelling choice: live-sports viewers; heavy streamers are the top fifth of viewing
    # households (the heavy tail of `world.households.VIEWING_SHAPE`).
    AudienceSegment.viewers_live_sports: 0.30,
    AudienceSegment.viewers_streaming_heavy: 0.20,
}
"""Share of a platform's households in each segment (independent of geo, device, genre)."""

SEGMENT_CPM_PREMIUM: dict[SegmentKind, float] = {
    # Modelling choice, in the range of the data fees DSPs add on top of media for
    # third-party audiences: a few dollars CPM on $20-45 CTV media (10-30 %); the sharper the
    # data (purchase-based in-market and retailer audiences), the dearer.
    SegmentKind.demographic: 0.10,
    SegmentKind.income: 0.15,
    SegmentKind.interest: 0.15,
    SegmentKind.in_market: 0.25,
    SegmentKind.retailer: 0.30,
    SegmentKind.viewing: 0.10,
}
"""CPM premium per segment kind targeted: a drawn CPM is × (1 + Σ premiums of the kinds)."""

SEGMENT_CONVERSION_LIFT: dict[SegmentKind, float] = {
    # Modelling choice: households shopping now (in-market) or a retailer's own buyers act on
    # an ad more often than the average household; other kinds describe, not predict.
    SegmentKind.in_market: 2.0,
    SegmentKind.retailer: 1.5,
}
"""Multiplier of the incremental conversion rate per kind targeted (product over kinds; 1
for a kind not listed): `conversion_truth.incremental_rate_max` carries it."""

_SEGMENTS: tuple[AudienceSegment, ...] = tuple(AudienceSegment)
_KIND_LIST: tuple[SegmentKind, ...] = tuple(SegmentKind)


def total_tv_households() -> int:
    """TV homes of all 210 DMAs: the denominator of a DMA's share of US households."""
    return int(dma_table().tv_households.sum())


@functools.cache
def _state_codes() -> tuple[str, ...]:
    return tuple(sorted(US_STATES))


def market_tv_households(
    dma_lists: Sequence[Sequence[str]], state_lists: Sequence[Sequence[str]]
) -> npt.NDArray[np.int64]:
    """Per line item: TV homes of the DMAs it targets (all 210 when it names no DMA), kept
    only where the DMA's principal state is one of its states (when it names any).

    Masks over line items × DMAs, one matrix product: no per-row Python beyond indexing."""
    out: npt.NDArray[np.int64] = (market_mask(dma_lists, state_lists).astype("int64")
                                  @ dma_table().tv_households)
    return out


def market_mask(
    dma_lists: Sequence[Sequence[str]], state_lists: Sequence[Sequence[str]]
) -> npt.NDArray[np.bool_]:
    """(line items, DMAs in `dma_table` order): the DMAs each line item's audience lies in —
    those it targets (all when it names none) whose principal state is one of its states
    (when it names any). What `market_tv_households` sums and `market_delivery` splits over."""
    import numpy as np

    table = dma_table()
    n = len(dma_lists)
    wanted = np.ones((n, table.code.size), dtype=np.bool_)
    for k, codes in enumerate(dma_lists):
        if codes:
            wanted[k] = False
            wanted[k, table.index(list(codes))] = True
    states = _state_codes()
    state_of_dma = np.array([states.index(s) for s in table.state], dtype=np.int64)
    chosen = np.ones((n, len(states)), dtype=np.bool_)
    for k, codes in enumerate(state_lists):
        if codes:
            chosen[k] = False
            chosen[k, [states.index(s) for s in codes]] = True
    kept: npt.NDArray[np.bool_] = wanted & chosen[:, state_of_dma]
    return kept


def _segment_mask(lists: Sequence[Sequence[AudienceSegment | str]]) -> npt.NDArray[np.bool_]:
    import numpy as np

    mask = np.zeros((len(lists), len(_SEGMENTS)), dtype=np.bool_)
    for k, segments in enumerate(lists):
        if segments:
            mask[k, [_SEGMENTS.index(AudienceSegment(s)) for s in segments]] = True
    return mask


def _kind_onehot() -> npt.NDArray[np.float64]:
    import numpy as np

    onehot = np.zeros((len(_SEGMENTS), len(_KIND_LIST)))
    onehot[np.arange(len(_SEGMENTS)), [_KIND_LIST.index(s.kind) for s in _SEGMENTS]] = 1.0
    return onehot


def segment_shares(lists: Sequence[Sequence[AudienceSegment | str]]) -> npt.NDArray[np.float64]:
    """Per line item: the share of households its segments keep (1 with none).

    Within a kind the shares add (capped at 1: bands of one family are disjoint), across
    kinds they multiply (independence)."""
    import numpy as np

    mask = _segment_mask(lists)
    onehot = _kind_onehot()
    share = np.array([SEGMENT_SHARE[s] for s in _SEGMENTS])
    per_kind = np.minimum((mask * share) @ onehot, 1.0)
    targeted = (mask.astype(np.float64) @ onehot) > 0
    out: npt.NDArray[np.float64] = np.where(targeted, per_kind, 1.0).prod(axis=1)
    return out


def segment_cpm_factor(segments: Sequence[AudienceSegment | str]) -> float:
    """1 + the CPM premiums of the kinds `segments` target (1.0 with none)."""
    kinds = {AudienceSegment(s).kind for s in segments}
    return 1.0 + sum(SEGMENT_CPM_PREMIUM[k] for k in kinds)


def segment_conversion_lift(
    lists: Sequence[Sequence[AudienceSegment | str]],
) -> npt.NDArray[np.float64]:
    """Per line item: the product of SEGMENT_CONVERSION_LIFT over the kinds it targets."""
    import numpy as np

    targeted = (_segment_mask(lists).astype(np.float64) @ _kind_onehot()) > 0
    lift = np.array([SEGMENT_CONVERSION_LIFT.get(k, 1.0) for k in _KIND_LIST])
    out: npt.NDArray[np.float64] = np.where(targeted, lift, 1.0).prod(axis=1)
    return out


def audience_problem(
    *, geo: Sequence[str], dma: Sequence[str], state: Sequence[str],
    segment: Sequence[AudienceSegment | str],
) -> str | None:
    """Why this targeting matches no household (None when it matches some): a DMA or state
    with geos that leave out the US, DMAs none of which lies in the targeted states, or a
    state that is the principal state of no DMA."""
    if (dma or state) and geo and "US" not in geo:
        key = "dma" if dma else "state"
        return (f"{key} names US markets but geo ({', '.join(geo)}) leaves "
                "out US; add US to geo or drop the DMAs and states")
    if (dma or state) and int(market_tv_households([dma], [state])[0]) == 0:
        if dma:
            return (f"dma ({', '.join(dma)}) has no DMA whose principal state is in "
                    f"state ({', '.join(state)}): the audience is 0 households; "
                    "drop one of the two or pick DMAs of those states")
        return (f"state ({', '.join(state)}) is the principal state of no DMA "
                "(DE, NH and NJ are served by DMAs of neighbouring states): the audience is 0 "
                "households; target those DMAs or states instead")
    if segment and float(segment_shares([segment])[0]) <= 0:  # every share is > 0 today
        return f"segment ({', '.join(map(str, segment))}) matches no household"
    return None
