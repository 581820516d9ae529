"""Template models (Example, ExampleFile, Profile) and their user-facing validation errors."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from adsgen.domain.enums import DeviceType, FrequencyPeriod, Genre, Objective
from adsgen.exceptions import SpecError
from adsgen.templates.spec import (
    Example,
    ExampleFile,
    Platform,
    Profile,
    ProfileCreatives,
    ProfileLineItem,
    parse_template,
)


def _example(**campaign: Any) -> dict[str, Any]:
    flight = {"start": "2026-09-01", "end": "2026-09-21"}
    base: dict[str, Any] = {
        "name": "EV Awareness Launch",
        "objective": "awareness",
        "budget": {"amount": 120000},
        "flight": flight,
        "line_items": [
            {
                "name": "CTV",
                "cpm": 25,
                "budget": {"amount": 120000},
                "flight": flight,
                "targeting": {"device": ["ctv"]},
                "creatives": [
                    {"name": "Hero", "duration_s": 30,
                     "asset_url": "https://cdn.luxuryautoco.example/hero.mp4"}
                ],
            }
        ],
    }
    base.update(campaign)
    return {
        "advertiser": {"name": "Luxury Auto Co", "industry": "automotive",
                       "domain": "luxuryautoco.example"},
        "campaign": base,
    }


def _file(**example_campaign: Any) -> dict[str, Any]:
    return {"type": "examples", "examples": {"lux": _example(**example_campaign)}}


def _error(data: object, **kwargs: Any) -> str:
    with pytest.raises(SpecError) as caught:
        parse_template(data, source="t.yml", **kwargs)
    return str(caught.value)


def test_example_file_names_examples_by_key() -> None:
    parsed = parse_template(_file(), source="t.yml")
    assert isinstance(parsed, ExampleFile)
    example = parsed.examples["lux"]
    assert isinstance(example, Example) and example.name == "lux"
    assert example.campaign.flight.hours == 480
    assert example.campaign.line_items[0].creatives[0].duration_s == 30


def test_example_rejects_campaigns_under_the_advertiser() -> None:
    data = _file()
    data["examples"]["lux"]["advertiser"]["campaigns"] = [data["examples"]["lux"]["campaign"]]
    assert "advertiser.campaigns must be empty" in _error(data)


def test_explicit_example_name_must_match_key() -> None:
    data = _file()
    data["examples"]["lux"]["name"] = "other"
    assert "differs from its key" in _error(data)


@pytest.mark.parametrize(
    ("campaign", "path", "fragment"),
    [
        ({"budget": {"amount": -5}}, "examples.lux.campaign.budget.amount", "greater than 0"),
        ({"budget": {"amount": "lots"}}, "examples.lux.campaign.budget.amount", "a number"),
        ({"budget": {"amout": 5}}, "examples.lux.campaign.budget.amout", "did you mean 'amount'"),
        ({"flight": {"start": "2026-09-21", "end": "2026-09-01"}},
         "examples.lux.campaign.flight", "must be after start"),
        ({"objective": "awarness"}, "examples.lux.campaign.objective", "did you mean 'awareness'"),
    ],
)
def test_errors_name_file_and_key_path(campaign: dict[str, Any], path: str, fragment: str) -> None:
    message = _error(_file(**campaign))
    assert message.startswith(f"t.yml: {path}: ")
    assert fragment in message


def test_unknown_key_lists_allowed_keys() -> None:
    message = _error({"type": "profile", "name": "p", "objectiv": "awareness"})
    assert "t.yml: objectiv: unknown key 'objectiv' (did you mean 'objective'?)" in message
    assert "allowed keys:" in message and "flight_days" in message


def test_line_numbers_come_from_locate() -> None:
    message = _error({"type": "profile", "name": "p", "flight_days": 0},
                     locate=lambda loc: 7 if loc == ("flight_days",) else None)
    assert message.endswith("(line 7)")


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"name": "p"}, "missing key 'type'"),
        ({"type": "profle"}, "did you mean 'profile'"),
        (None, "empty file"),
        (["a"], "expected a mapping"),
    ],
)
def test_document_shape_errors(data: object, fragment: str) -> None:
    assert fragment in _error(data)


def test_expected_model_skips_dispatch() -> None:
    profile = parse_template({"name": "p", "objective": "conversion"}, source="t.yml",
                             expected=Profile)
    assert isinstance(profile, Profile) and profile.objective is Objective.conversion


def test_platform_dispatch() -> None:
    message = _error({"type": "platform", "name": "x"})
    assert message.startswith("t.yml: households: missing required key 'households'")
    assert Platform.model_fields["type"].default == "platform"


def test_profile_numbers_or_ranges() -> None:
    profile = Profile.model_validate({"name": "p", "budget": 250000, "cpm": [20, 30]})
    assert profile.budget == (Decimal("250000.00"), Decimal("250000.00"))
    assert profile.cpm == (Decimal("20.00"), Decimal("30.00"))
    assert "low <= high" in _error({"type": "profile", "name": "p", "cpm": [30, 20]})
    assert "CPM must be between" in _error({"type": "profile", "name": "p", "cpm": 0.1})


def test_profile_rejects_inconsistent_settings() -> None:
    base = {"type": "profile", "name": "p"}
    assert "sum to 1.2" in _error({**base, "line_items": [{"budget_share": 0.6},
                                                          {"budget_share": 0.6}]})
    assert "leave room" in _error({**base, "line_items": [{"budget_share": 1.0}, {}]})
    assert "line_item_count 3 differs" in _error({**base, "line_item_count": 3,
                                                  "line_items": [{}]})
    assert "asap needs pacing_period daily" in _error({**base, "pacing_type": "asap"})
    assert "durations [7] not allowed" in _error({**base, "creatives": {"durations": [7]}})
    assert "needs ad_format interactive_video" in _error(
        {**base, "creatives": {"interactive": True, "ad_format": "video"}})
    assert "names must be unique" in _error({**base, "line_items": [{"name": "a"},
                                                                    {"name": "a"}]})
    assert "flight_days" in _error({**base, "flight_days": 400})


def test_line_item_settings_merge_profile_defaults() -> None:
    profile = Profile.model_validate({
        "name": "p",
        "cpm": 25,
        "targeting": {"device": ["ctv"], "genre": ["drama"]},
        "creatives": {"durations": [30], "qr": True},
        "frequency_cap": {"max_impressions": 3, "time_unit": "days"},
        "line_items": [
            {"name": "a"},
            {"name": "b", "cpm": 30, "targeting": {"device": ["mobile"]},
             "creatives": {"qr": False}, "frequency_cap": None},
        ],
    })
    first, second = profile.line_item_settings()
    assert first.cpm == (Decimal(25), Decimal(25)) and first.targeting is not None
    assert first.targeting.device == [DeviceType.ctv]
    assert second.cpm == (Decimal(30), Decimal(30))
    assert second.targeting is not None
    assert second.targeting.device == [DeviceType.mobile]
    assert second.targeting.genre == [Genre.drama]
    assert {"device", "genre"} == second.targeting.model_fields_set
    assert second.creatives == ProfileCreatives(durations=[30], qr=False)
    assert first.frequency_cap is not None
    assert first.frequency_cap.time_unit is FrequencyPeriod.days
    assert second.frequency_cap is None and "frequency_cap" in second.model_fields_set


def test_unset_settings_stay_unset() -> None:
    """Drawn keys must be told apart from fixed ones after the merge."""
    defaults = Profile(name="p").defaults()
    assert "frequency_cap" not in defaults.model_fields_set
    assert "cpm" not in defaults.model_fields_set
    assert defaults.targeting is None
    assert ProfileLineItem().budget_share is None


def test_models_are_frozen() -> None:
    profile = Profile(name="p")
    with pytest.raises(Exception, match="frozen"):
        profile.flight_days = 3  # type: ignore[misc]
