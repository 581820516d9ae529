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

Targeting values are validated here; what they do to delivery is the simulation's (a later
round): for now a line item keeps them as stored targeting rows.
"""

from __future__ import annotations

import csv
import functools
import io
from dataclasses import dataclass
from enum import StrEnum
from importlib.resources import files
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # NumPy is imported where the table is built (`adsgen --help` stays light)
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "DMA_COUNT",
    "US_STATES",
    "AudienceSegment",
    "Dma",
    "DmaTable",
    "SegmentKind",
    "check_dma",
    "check_state",
    "dma",
    "dma_table",
    "dmas",
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
