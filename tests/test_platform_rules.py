"""Several bundled platforms and their rules: creatives, targeting and formats meet a platform.

Issue 12: a spot length a platform does not take, a targeting key or segment it does not
sell, a non-mezzanine file where it needs one, are SpecErrors naming the platform and the
rule; what the providers draw obeys the same rules on every bundled platform; a platform
file that leaves the new keys out behaves as before.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from pydantic import ValidationError

from adsgen.build.at_scale import build_scaled
from adsgen.build.plans import build_example, build_profile
from adsgen.domain.enums import CreativeMimeType, TargetingKey
from adsgen.exceptions import SpecError, UnknownNameError
from adsgen.templates import catalog
from adsgen.templates.platform_rules import MEZZANINE_MIME_TYPES, SPOT_LENGTHS, CreativeRules
from adsgen.templates.spec import Example, Platform, Profile

BUNDLED = ("fast_like", "hulu_like", "netflix_like", "peacock_like", "prime_like",
           "roku_like", "youtube_tv_like")


def _platform(base: str, **update: Any) -> Platform:
    return Platform.model_validate({**catalog.get_platform(base).model_dump(), **update})


def _example(*, creative: dict[str, Any] | None = None, **item: Any) -> Example:
    """The bundled luxury example with its first line item and creative changed."""
    data = catalog.get_example("luxury_auto_awareness").model_dump(mode="json")
    data["platforms"] = []
    line = data["campaign"]["line_items"][0]
    line.update(item)
    line["creatives"] = [{**line["creatives"][0], **(creative or {})}]
    return Example.model_validate(data)


# --- the bundled platforms ------------------------------------------------------------------


def test_seven_bundled_platforms_each_valid_and_distinct() -> None:
    assert catalog.names("platforms") == list(BUNDLED)
    platforms = [catalog.get_platform(name) for name in BUNDLED]
    assert len({p.cpm_range for p in platforms}) == len(BUNDLED)
    assert all(p.pods is not None for p in platforms)


@pytest.mark.parametrize("name", BUNDLED)
def test_overlaps_name_other_bundled_platforms(name: str) -> None:
    overlap = catalog.get_platform(name).subscriber_overlap
    assert set(overlap) == set(BUNDLED) - {name}
    assert all(0 < share < 1 for share in overlap.values())


def test_the_cited_facts_are_what_the_files_say() -> None:
    """A few values realism.md F states, read back (a typo in a file fails here)."""
    roku = catalog.get_platform("roku_like")
    assert roku.creative_rules.duration_windows == ((13, 17), (28, 31))
    assert roku.creative_rules.spot_lengths == (15, 30)
    assert roku.measurement.completion == 0.95
    assert {TargetingKey.dma, TargetingKey.state} <= set(roku.sells.targeting_keys)
    peacock = catalog.get_platform("peacock_like")
    assert peacock.creative_rules.mezzanine_required and not peacock.creative_rules.stitched_ads
    fast = catalog.get_platform("fast_like")
    assert fast.pods is not None and fast.pods.ads_per_break == (3, 5)
    assert fast.cpm_range == (15.0, 21.0)
    assert catalog.get_platform("youtube_tv_like").device_mix["ctv"] > 0.70


def test_a_platform_without_the_new_keys_restricts_nothing() -> None:
    data = catalog.get_platform("netflix_like").model_dump()
    for key in ("pods", "creative_rules", "sells", "measurement", "subscriber_overlap"):
        data.pop(key)
    bare = Platform.model_validate(data)
    assert bare.creative_rules.spot_lengths == SPOT_LENGTHS
    assert set(bare.sells.targeting_keys) == set(TargetingKey)
    assert bare.pods is None


@pytest.mark.parametrize(
    ("update", "fragment"),
    [
        ({"creative_rules": {"duration_windows": [[90, 120]]}}, "no spot length adsgen makes"),
        ({"creative_rules": {"duration_windows": [[17, 13]]}}, "must be [shortest, longest]"),
        ({"sells": {"targeting_keys": ["genre", "geo"]}}, "missing: device"),
        ({"sells": {"targeting_keys": ["zip"]}}, "'zip' is not allowed"),
        ({"pods": {"breaks_per_hour": 4, "ads_per_break": [5, 3],
                   "position_share": {"mid_roll": 1}}}, "fewest <= most"),
        ({"pods": {"breaks_per_hour": 4, "ads_per_break": [1, 3],
                   "position_share": {"mid_roll": 0.5}}}, "sum to 1"),
        ({"subscriber_overlap": {"roku_like": 1.5}}, "between 0 and 1"),
        ({"subscriber_overlap": {"netflix_like": 0.5}}, "names the platform itself"),
        ({"sells": {"formatz": ["video"]}}, "unknown key 'formatz'"),
    ],
)
def test_a_bad_platform_file_names_the_key(update: dict[str, Any], fragment: str) -> None:
    data = {**catalog.get_platform("netflix_like").model_dump(mode="json"), **update}
    data.pop("type")
    from adsgen.templates.spec import parse_template

    with pytest.raises(SpecError) as caught:
        parse_template({"type": "platform", **data}, source="p.yml")
    assert fragment in str(caught.value)


# --- creatives meet a platform --------------------------------------------------------------


def test_a_spot_length_the_platform_does_not_take_names_platform_and_rule() -> None:
    example = _example(creative={"duration_s": 20})
    with pytest.raises(SpecError) as caught:
        build_example(example, seed=1, platform=catalog.get_platform("roku_like"))
    message = str(caught.value)
    assert "platform roku_like takes spots of 13-17 s or 28-31 s" in message
    assert "is 20 s (allowed: 15, 30 s)" in message
    assert "line_items.0.creatives.0.duration_s" in message
    build_example(example, seed=1, platform=catalog.get_platform("netflix_like"))  # no window


def test_a_stream_where_a_mezzanine_file_is_needed() -> None:
    example = _example(creative={"mime_type": "application/x-mpegURL"})
    with pytest.raises(SpecError, match="platform peacock_like needs a VAST mezzanine file"):
        build_example(example, seed=1, platform=catalog.get_platform("peacock_like"))
    build_example(_example(), seed=1, platform=catalog.get_platform("peacock_like"))


def test_interactive_creatives_where_the_platform_runs_none() -> None:
    strict = _platform("netflix_like", creative_rules={"interactive": False})
    example = _example(ad_format="interactive_video",
                       creative={"ad_format": "interactive_video", "interactive": True})
    with pytest.raises(SpecError, match="runs no interactive"):
        build_example(example, seed=1, platform=strict)


def test_an_ad_format_the_platform_does_not_sell() -> None:
    example = _example(ad_format="pause_ad", creative={
        "ad_format": "pause_ad", "mime_type": "image/png", "duration_s": None})
    with pytest.raises(SpecError) as caught:
        build_example(example, seed=1, platform=catalog.get_platform("hulu_like"))
    assert "platform hulu_like does not sell ad_format pause_ad" in str(caught.value)
    assert "it sells video, interactive_video" in str(caught.value)


# --- targeting meets a platform -------------------------------------------------------------


def test_a_targeting_key_the_platform_does_not_sell() -> None:
    example = _example(targeting={"device": ["ctv"], "geo": ["US"], "dma": ["501"]})
    with pytest.raises(SpecError) as caught:
        build_example(example, seed=1, platform=catalog.get_platform("netflix_like"))
    message = str(caught.value)
    assert "platform netflix_like does not sell targeting key dma" in message
    assert "it sells device, genre, geo, daypart, media_rating" in message
    assert message.startswith("example luxury_auto_awareness: campaign.line_items.0.targeting.dma")
    built = build_example(example, seed=1, platform=catalog.get_platform("roku_like"))
    assert built.campaigns[0].line_items[0].targeting.dma == ["501"]


def test_a_segment_kind_the_platform_does_not_sell() -> None:
    example = _example(targeting={"segment": ["retail_grocery_buyers"]})
    with pytest.raises(SpecError, match="platform hulu_like does not sell retailer segments"):
        build_example(example, seed=1, platform=catalog.get_platform("hulu_like"))
    build_example(example, seed=1, platform=catalog.get_platform("prime_like"))


def test_a_profile_fixing_an_unsold_key_or_no_fitting_length_fails_before_drawing() -> None:
    dma = Profile(name="local", targeting={"dma": ["803"]})
    with pytest.raises(SpecError, match=r"profile local: targeting\.dma: platform prime_like"):
        build_profile(dma, seed=1, platform=catalog.get_platform("prime_like"))
    short = Profile(name="short", creatives={"durations": [6, 10]})
    with pytest.raises(SpecError) as caught:
        build_scaled(seed=1, platform=catalog.get_platform("roku_like"), line_items=5,
                     profiles=[short])
    assert "none of durations [6, 10] fits (allowed: 15, 30 s)" in str(caught.value)


def test_a_profile_duration_list_is_narrowed_to_the_lengths_the_platform_takes() -> None:
    mixed = Profile(name="mixed", line_item_count=4, creatives={"count": 5,
                                                                "durations": [6, 15, 20]})
    roku = catalog.get_platform("roku_like")
    built = build_profile(mixed, seed=3, platform=roku)
    lengths = {c.duration_s for li in built.campaigns[0].line_items for c in li.creatives}
    assert lengths == {15}
    plan = build_scaled(seed=3, platform=roku, line_items=40, profiles=[mixed])
    assert set(plan.tables["creatives"]["duration_s"].to_pylist()) == {15}


# --- what the providers draw obeys every bundled platform ------------------------------------


@pytest.mark.parametrize("name", BUNDLED)
def test_drawn_plans_obey_the_platform(name: str) -> None:
    platform = catalog.get_platform(name)
    rules: CreativeRules = platform.creative_rules
    plan = build_scaled(seed=11, platform=platform, line_items=300)
    creatives = plan.tables["creatives"].to_pydict()
    video = [(d, m) for d, m in zip(creatives["duration_s"], creatives["mime_type"],
                                    strict=True) if d is not None]
    assert video and all(rules.takes(d) for d, _ in video)
    if rules.mezzanine_required:
        assert {m for _, m in video} <= {m.value for m in MEZZANINE_MIME_TYPES}
    for profile in catalog.profiles():
        made = build_profile(profile, seed=5, platform=platform)
        for item in made.campaigns[0].line_items:
            assert all(rules.takes(c.duration_s) for c in item.creatives if c.duration_s)
            if rules.mezzanine_required:
                assert all(c.mime_type in MEZZANINE_MIME_TYPES for c in item.creatives
                           if c.mime_type.is_video)


def test_mezzanine_narrowing_keeps_the_mix_of_the_allowed_files() -> None:
    plan = build_scaled(seed=2, platform=catalog.get_platform("peacock_like"), line_items=800)
    mimes = Counter(plan.tables["creatives"]["mime_type"].to_pylist())
    assert mimes[CreativeMimeType.mp4.value] > mimes[CreativeMimeType.quicktime.value] > 0
    assert set(mimes) <= {"video/mp4", "video/quicktime", "image/jpeg", "image/png"}


def test_a_key_the_platform_does_not_sell_is_not_drawn() -> None:
    keys = ["device", "genre", "geo", "media_rating"]
    no_daypart = _platform("netflix_like", name="no_daypart", sells={"targeting_keys": keys})
    with pytest.raises(SpecError) as caught:  # a bundled profile fixes a day-part
        build_scaled(seed=4, platform=no_daypart, line_items=30)
    assert str(caught.value).startswith(
        "profile multi_device_advanced: line_items.0.targeting.daypart: platform no_daypart "
        "does not sell targeting key daypart")
    plan = build_scaled(seed=4, platform=no_daypart, line_items=300,
                        profiles=[catalog.get_profile("cross_screen")])
    targeting = Counter(plan.tables["targeting"]["key"].to_pylist())
    assert targeting["daypart"] == 0 and targeting["media_rating"] > 0
    drawn = [build_profile(catalog.get_profile("cross_screen"), seed=s, platform=no_daypart)
             for s in range(30)]
    items = [li for a in drawn for li in a.campaigns[0].line_items]
    assert not any(li.targeting.daypart for li in items)
    assert any(li.targeting.media_rating for li in items)


# --- templates name the platforms they buy on -----------------------------------------------


def test_templates_buy_on_their_platforms() -> None:
    known = catalog.names("platforms")
    own = catalog.get_example("nexbank_conversion")
    assert own.platforms == ("netflix_like",)
    assert catalog.for_platform([own], "netflix_like", known=known) == [own]
    assert catalog.for_platform([own], "roku_like", known=known) == []
    with pytest.raises(SpecError, match="buys on netflix_like, not on roku_like"):
        catalog.check_buys_on(own, "roku_like", known=known)
    anywhere = catalog.get_profile("cross_screen")
    assert catalog.for_platform([anywhere], "fast_like", known=known) == [anywhere]


def test_several_or_unknown_platforms_are_errors_not_one_of_them_used() -> None:
    known = catalog.names("platforms")
    both = Profile(name="both", platforms=["netflix_like", "roku_like"])
    assert catalog.for_platform([both], "roku_like", known=known) == [both]  # buys on both
    assert catalog.buying_platforms(both, "roku_like") == ["netflix_like", "roku_like"]
    assert catalog.for_platform([both], "fast_like", known=known) == []
    with pytest.raises(SpecError, match="buys on netflix_like, roku_like, not on fast_like"):
        catalog.check_buys_on(both, "fast_like", known=known)
    typo = Profile(name="typo", platforms=["roku_lik"])
    with pytest.raises(UnknownNameError, match="did you mean 'roku_like'"):
        catalog.for_platform([typo], "netflix_like", known=known)
    with pytest.raises(ValidationError, match="given twice"):
        Profile(name="twice", platforms=["roku_like", "roku_like"])


def test_a_profile_fixing_dmas_and_segments_keeps_them_in_both_planners() -> None:
    local = Profile(name="local", line_item_count=2, targeting={
        "device": ["ctv"], "dma": ["501", 803], "segment": ["viewers_live_sports"]})
    roku = catalog.get_platform("roku_like")
    built = build_profile(local, seed=2, platform=roku)
    for item in built.campaigns[0].line_items:
        assert item.targeting.dma == ["501", "803"]
        assert item.targeting.segment == ["viewers_live_sports"]
    plan = build_scaled(seed=2, platform=roku, line_items=6, profiles=[local])
    rows = plan.tables["targeting"].to_pydict()
    by_key = Counter(rows["key"])
    assert by_key["dma"] == 12 and by_key["segment"] == 6 and by_key["state"] == 0
    first = [(k, v) for k, v, li in zip(rows["key"], rows["value"], rows["line_item_id"],
                                        strict=True) if li == 1]
    assert first[-3:] == [("dma", "501"), ("dma", "803"), ("segment", "viewers_live_sports")]
