"""US DMAs, states and audience segments: the package data and the targeting keys they back."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from pydantic import ValidationError

from adsgen.domain.enums import TargetingKey
from adsgen.domain.markets import (
    DMA_COUNT,
    US_STATES,
    AudienceSegment,
    SegmentKind,
    dma,
    dma_table,
    dmas,
)
from adsgen.domain.schemas import Targeting

NIELSEN_2015_16_TOTAL = 113_314_340
"""NSI total U.S. TV homes of the table the data file holds (its header states the source)."""


def test_the_210_dmas_with_the_published_counts() -> None:
    table = dmas()
    assert len(table) == DMA_COUNT == 210
    assert sum(d.tv_households for d in table.values()) == NIELSEN_2015_16_TOTAL
    assert sorted(d.rank for d in table.values()) == list(range(1, 211))
    assert dma("501").name == "New York" and dma("501").rank == 1
    assert dma("803").name == "Los Angeles" and dma("803").tv_households == 5_489_810
    assert dma("798").name == "Glendive" and dma("798").tv_households == 4_230
    assert {d.state for d in table.values()} <= US_STATES
    by_rank = sorted(table.values(), key=lambda d: d.rank)
    assert all(a.tv_households >= b.tv_households for a, b in pairwise(by_rank))


def test_the_table_is_columns_with_a_vectorized_lookup() -> None:
    table = dma_table()
    assert table.code.dtype == np.int64 and np.all(np.diff(table.code) > 0)
    rows = table.index(["501", "881", "798"])
    assert table.tv_households[rows].tolist() == [7_368_320, 414_520, 4_230]
    with pytest.raises(KeyError):
        table.index(["501", "999"])


def test_targeting_takes_dmas_states_and_segments() -> None:
    targeting = Targeting.model_validate(
        {"dma": [501, "803"], "state": ["ca", "NY"], "segment": "age_18_34"})
    assert targeting.dma == ["501", "803"] and targeting.state == ["CA", "NY"]
    rows = targeting.rows()
    assert (TargetingKey.dma, "501") in rows and (TargetingKey.segment, "age_18_34") in rows
    assert Targeting.from_rows(rows) == targeting


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"dma": ["999"]}, "'999' is not a Nielsen DMA code; use one of the 210 codes 500-881"),
        ({"dma": [True]}, "expected a code"),
        ({"state": ["XX"]}, "'XX' is not a US state"),
        ({"segment": ["age_13_17"]}, "age_13_17"),
        ({"dma": ["501", 501]}, "lists 501 more than once"),
        ({"zip3": ["100"]}, "unknown targeting key 'zip3'"),
    ],
)
def test_unknown_values_are_refused_with_what_is_allowed(
    data: dict[str, object], fragment: str
) -> None:
    with pytest.raises(ValidationError, match=fragment):
        Targeting.model_validate(data)


def test_every_segment_has_one_kind_and_every_kind_a_segment() -> None:
    kinds = {segment.kind for segment in AudienceSegment}
    assert kinds == set(SegmentKind)
    assert AudienceSegment.retail_grocery_buyers.kind is SegmentKind.retailer
    assert AudienceSegment.female.kind is SegmentKind.demographic
