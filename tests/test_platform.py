"""The platform spec's geo weights: validated against the served geos, used by supply."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from adsgen.simulate.supply import _geo_weights
from adsgen.templates.catalog import get_platform

BUNDLED = get_platform("netflix_like")


def _with(**update: object) -> dict[str, object]:
    return {**BUNDLED.model_dump(), **update}


def test_bundled_weights_cover_every_served_geo() -> None:
    assert set(BUNDLED.geo_weights) == set(BUNDLED.geo_timezones)
    shares = _geo_weights(BUNDLED)
    assert sum(shares.values()) == pytest.approx(1.0)
    assert shares["US"] == pytest.approx(0.45 / sum(BUNDLED.geo_weights.values()))


def test_empty_weights_mean_equal_shares() -> None:
    platform = type(BUNDLED).model_validate(_with(geo_weights={}))
    assert list(_geo_weights(platform).values()) == pytest.approx([1 / 12] * 12)


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
