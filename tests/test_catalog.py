"""Catalog: bundled and user templates by name, file validation, and file/line errors."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest

from adsgen.exceptions import SpecError, UnknownNameError
from adsgen.templates import catalog
from adsgen.templates.spec import Example, ExampleFile, Platform, Profile

BUNDLED = files("adsgen.templates") / "data"
PROFILE = "type: profile\ndescription: mine\nobjective: conversion\nflight_days: 10\n"


def _bundled_files() -> list[str]:
    return sorted(
        f"{kind}/{entry.name}"
        for kind in catalog.KINDS
        for entry in (BUNDLED / kind).iterdir()
        if entry.name.endswith(".yml")
    )


@pytest.mark.parametrize("relative", _bundled_files())
def test_every_bundled_yaml_validates(relative: str) -> None:
    kind, name = relative.split("/")
    summary = catalog.validate_file(Path(str(BUNDLED / kind / name)))
    assert summary.names
    if kind != "examples":
        assert summary.names == (name.removesuffix(".yml"),)  # file name = name


def test_bundled_names() -> None:
    assert catalog.names("examples") == [
        "crunchy_snacks_consideration", "luxury_auto_awareness", "nexbank_conversion",
        "wanderlust_cross_platform"]
    assert catalog.names("profiles") == [
        "conversion_interactive", "cross_screen", "high_cpm_tv_awareness",
        "mobile_consideration", "multi_device_advanced"]
    assert catalog.names("platforms") == [
        "fast_like", "hulu_like", "netflix_like", "peacock_like", "prime_like", "roku_like",
        "youtube_tv_like"]


@pytest.mark.parametrize(
    ("name", "hours"),
    [("luxury_auto_awareness", 480), ("crunchy_snacks_consideration", 504),
     ("nexbank_conversion", 432)],
)
def test_example_flights(name: str, hours: int) -> None:
    example = catalog.get_example(name)
    assert example.campaign.flight.hours == hours
    assert all(item.flight.hours == hours for item in example.campaign.line_items)


def test_example_facts_match_the_brief() -> None:
    lux = catalog.get_example("luxury_auto_awareness")
    assert (lux.advertiser.name, lux.campaign.name) == ("Luxury Auto Co", "EV Awareness Launch")
    assert lux.campaign.budget.amount == 120000
    item = lux.campaign.line_items[0]
    assert item.cpm == 25 and item.targeting.device == ["ctv"] and item.targeting.genre == ["drama"]
    assert {c.duration_s for c in item.creatives} == {30}
    nex = catalog.get_example("nexbank_conversion")
    assert {d for li in nex.campaign.line_items for d in li.targeting.device} == {
        "mobile", "desktop"}
    assert sum(li.budget.amount for li in nex.campaign.line_items) == 40000


@pytest.mark.parametrize(
    ("name", "days"),
    [("high_cpm_tv_awareness", 46), ("mobile_consideration", 39), ("conversion_interactive", 31)],
)
def test_profile_flight_days(name: str, days: int) -> None:
    assert catalog.get_profile(name).flight_days == days


def test_unknown_names_suggest_close_matches() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'mobile_consideration'"):
        catalog.get_profile("mobile_considertion")
    with pytest.raises(UnknownNameError, match="Known examples: crunchy_snacks_consideration"):
        catalog.get_example("nope")
    with pytest.raises(UnknownNameError, match="netflix_like"):
        catalog.get_platform("netflix")
    with pytest.raises(UnknownNameError):
        catalog.names("widgets")  # type: ignore[arg-type]


def test_load_template_dispatches_on_type(tmp_path: Path) -> None:
    (tmp_path / "mine.yml").write_text(PROFILE)
    loaded = catalog.load_template(tmp_path / "mine.yml")
    assert isinstance(loaded, Profile) and loaded.name == "mine"
    bundled = catalog.load_template(str(BUNDLED / "examples" / "netflix-ads-examples.yml"))
    assert isinstance(bundled, ExampleFile)
    assert isinstance(catalog.load_template(str(BUNDLED / "platforms" / "netflix_like.yml")),
                      Platform)


def test_templates_dir_with_folders_and_flat_files(tmp_path: Path) -> None:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "folder_profile.yml").write_text(
        "description: no type needed in a kind folder\nflight_days: 5\n")
    (tmp_path / "flat_profile.yaml").write_text(PROFILE)
    lux = (BUNDLED / "examples" / "netflix-ads-examples.yml").read_text()
    (tmp_path / "mine.yml").write_text(lux.replace("luxury_auto_awareness", "my_luxury"))
    (tmp_path / "mobile_consideration.yml").write_text(PROFILE)  # shadows the bundled one
    extra = [tmp_path]
    assert {"folder_profile", "flat_profile", "high_cpm_tv_awareness"} <= set(
        catalog.names("profiles", extra))
    assert "my_luxury" in catalog.names("examples", extra)
    assert isinstance(catalog.get_example("my_luxury", extra_dirs=extra), Example)
    assert catalog.get_profile("mobile_consideration", extra).description == "mine"
    assert catalog.get_profile("mobile_consideration").description != "mine"
    assert len(catalog.profiles(extra)) == len(catalog.names("profiles", extra))


def test_get_example_from_a_template_file(tmp_path: Path) -> None:
    path = tmp_path / "single.yml"
    text = (BUNDLED / "examples" / "netflix-ads-examples.yml").read_text()
    path.write_text(text)
    assert catalog.get_example("nexbank_conversion", template=path).advertiser.name == "NexBank"
    with pytest.raises(UnknownNameError, match="did you mean 'nexbank_conversion'"):
        catalog.get_example("nexbank_conversio", template=path)


def test_user_file_edits_are_seen(tmp_path: Path) -> None:
    import os

    path = tmp_path / "p.yml"
    path.write_text(PROFILE)
    assert catalog.get_profile("p", [path]).flight_days == 10
    path.write_text(PROFILE.replace("10", "12"))
    os.utime(path, ns=(1, 2))  # a new mtime even on coarse clocks
    assert catalog.get_profile("p", [path]).flight_days == 12


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("type: profile\nobjective: [awareness\n", "malformed YAML at line 3"),
        ("type: profile\nobjective: awareness\nobjective: conversion\n",
         "found key 'objective' twice"),
        ("type: profile\nflight_days: 5\nobjectiv: awareness\n",
         "bad.yml: objectiv: unknown key 'objectiv' (did you mean 'objective'?)"),
        ("type: profile\nbudget: -100\n",
         "bad.yml: budget: must be greater than 0, got -100 (line 2)"),
        ("type: profile\nname: other\n", "bad.yml: name: name 'other' differs from the file"),
        ("", "empty file"),
    ],
)
def test_bad_files_raise_spec_error_with_file(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(text)
    with pytest.raises(SpecError) as caught:
        catalog.validate_file(path)
    assert str(path) in str(caught.value)
    assert fragment in str(caught.value)


def test_validation_errors_carry_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text("type: profile\n\nline_items:\n  - name: a\n    cpm: -1\n")
    with pytest.raises(SpecError, match=r"line_items\.0\.cpm: .*\(line 5\)"):
        catalog.load_template(path)


def test_example_errors_name_the_key_path(tmp_path: Path) -> None:
    text = (BUNDLED / "examples" / "netflix-ads-examples.yml").read_text()
    path = tmp_path / "ex.yml"
    path.write_text(text.replace("budget: {amount: 120000.00}", "budget: {amount: -1}", 1))
    with pytest.raises(SpecError) as caught:
        catalog.get_example("luxury_auto_awareness", template=path)
    assert caught.value.where == f"{path}: examples.luxury_auto_awareness.campaign.budget.amount"


def test_wrong_kind_in_a_kind_folder(tmp_path: Path) -> None:
    (tmp_path / "platforms").mkdir()
    (tmp_path / "platforms" / "p.yml").write_text(PROFILE)
    with pytest.raises(SpecError, match="'profile' file in the platforms/ folder"):
        catalog.names("platforms", [tmp_path])


def test_missing_user_path(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such template file or folder"):
        catalog.names("profiles", [tmp_path / "absent"])
