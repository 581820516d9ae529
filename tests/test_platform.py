"""The platform spec's geo weights: validated against the served geos, used by supply."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from adsgen.templates.catalog import get_platform
from adsgen.world.households import geo_households, served_geos

BUNDLED = get_platform("netflix_like")


def _with(**update: object) -> dict[str, object]:
    return {**BUNDLED.model_dump(), **update}


def test_bundled_weights_cover_every_served_geo() -> None:
    assert set(BUNDLED.geo_weights) == set(BUNDLED.geo_timezones)
    households = dict(zip(served_geos(BUNDLED), geo_households(BUNDLED), strict=True))
    assert sum(households.values()) == BUNDLED.households
    share = households["US"] / BUNDLED.households
    assert share == pytest.approx(0.45 / sum(BUNDLED.geo_weights.values()), abs=1e-7)


def test_empty_weights_mean_equal_shares() -> None:
    platform = type(BUNDLED).model_validate(_with(geo_weights={}))
    households = geo_households(platform)
    assert households.sum() == platform.households
    assert households.max() - households.min() <= 1


@pytest.mark.parametrize(
    ("weights", "fragment"),
    [
        ({**BUNDLED.geo_weights, "XX": 1.0}, "not served: ['XX']"),
        ({g: w for g, w in BUNDLED.geo_weights.items() if g != "JP"}, "no weight: ['JP']"),
        ({**BUNDLED.geo_weights, "US": 0.0}, "positive weight"),
    ],
)
def test_weights_must_match_the_served_geos(weights: dict[str, float], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        type(BUNDLED).model_validate(_with(geo_weights=weights))
