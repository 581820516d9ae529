"""Every schema rule, accepted and rejected; Hypothesis for the numeric rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from adsgen.domain import schemas
from adsgen.domain.enums import (
    AdFormat,
    BudgetType,
    CreativeMimeType,
    Currency,
    DeviceType,
    FrequencyPeriod,
    Genre,
    MediaRating,
    PacingPeriod,
    PacingType,
    TargetingKey,
)
from adsgen.domain.fields import CPM_MAX, CPM_MIN, MAX_AMOUNT, MAX_FLIGHT_DAYS, error_lines
from adsgen.domain.schemas import (
    AdvertiserCreate,
    AdvertiserRead,
    BudgetSchema,
    CampaignCreate,
    CampaignRead,
    CreativeCreate,
    CreativeRead,
    FlightSchema,
    FrequencyCapSchema,
    LineItemCreate,
    LineItemRead,
    Targeting,
)

URL = "https://cdn.brand.example/ads/spot.mp4"
STAMP = datetime(2024, 1, 1, 12)


def errors(call: Any, *args: Any, **kwargs: Any) -> str:
    """Run a constructor that must fail; return its "key.path: message" lines joined."""
    with pytest.raises(ValidationError) as caught:
        call(*args, **kwargs)
    return "\n".join(error_lines(caught.value))


def flight(start: Any = "2024-03-01", end: Any = "2024-04-01") -> dict[str, Any]:
    return {"start": start, "end": end}


def budget(amount: Any = "1000", **kwargs: Any) -> dict[str, Any]:
    return {"amount": amount, **kwargs}


def line_item(name: str = "CTV prime", **kwargs: Any) -> dict[str, Any]:
    return {"name": name, "cpm": "35.00", "budget": budget("400"), "flight": flight(), **kwargs}


def campaign(**kwargs: Any) -> dict[str, Any]:
    return {"name": "Spring", "objective": "awareness", "budget": budget(), "flight": flight(),
            **kwargs}


def creative(**kwargs: Any) -> dict[str, Any]:
    return {"name": "Spot 30", "duration_s": 30, "asset_url": URL, **kwargs}


def advertiser(**kwargs: Any) -> dict[str, Any]:
    return {"name": "Luxury Auto Co", "industry": "automotive", "domain": "luxuryautoco.example",
            **kwargs}


# --- module surface --------------------------------------------------------------------------


def test_all_names_exist_and_every_model_forbids_unknown_keys() -> None:
    for name in schemas.__all__:
        value = getattr(schemas, name)
        if isinstance(value, type) and issubclass(value, BaseModel):
            assert value.model_config.get("extra") == "forbid", name


# --- names ---------------------------------------------------------------------------------

NAMED = [
    (AdvertiserCreate, advertiser),
    (CampaignCreate, campaign),
    (LineItemCreate, line_item),
    (CreativeCreate, creative),
]


@pytest.mark.parametrize(("model", "make"), NAMED)
def test_names_are_stripped_and_may_be_255_characters(model: Any, make: Any) -> None:
    assert model(**{**make(), "name": "  Spring sale  "}).name == "Spring sale"
    assert model(**{**make(), "name": "x" * 255}).name == "x" * 255


@pytest.mark.parametrize(("model", "make"), NAMED)
@pytest.mark.parametrize("bad", ["", "   ", "x" * 256])
def test_names_empty_blank_or_too_long_are_rejected(model: Any, make: Any, bad: str) -> None:
    message = errors(model, **{**make(), "name": bad})
    assert message.startswith("name: ")
    assert "255" in message


# --- money -----------------------------------------------------------------------------------

CENTS_AMOUNTS = st.integers(0, 2).flatmap(
    lambda places: st.integers(1, int(MAX_AMOUNT) * 10**places).map(
        lambda n: Decimal(n).scaleb(-places)
    )
)
SUB_CENT_AMOUNTS = st.integers(3, 6).flatmap(
    lambda places: st.tuples(st.integers(0, 10**8), st.integers(1, 9)).map(
        lambda kd: Decimal(kd[0] * 10 + kd[1]).scaleb(-places)
    )
)


@given(CENTS_AMOUNTS)
def test_money_with_at_most_two_places_is_accepted_and_exact_in_micros(value: Decimal) -> None:
    parsed = BudgetSchema(amount=value)
    assert parsed.amount == value
    assert parsed.amount_micros == int(value * 1_000_000)
    assert parsed.amount.as_tuple().exponent == -2


@given(SUB_CENT_AMOUNTS)
def test_money_with_more_than_two_places_is_rejected(value: Decimal) -> None:
    assert "at most 2 decimal places" in errors(BudgetSchema, amount=value)


@pytest.mark.parametrize(
    ("bad", "hint"),
    [
        ("10.001", "at most 2 decimal places"),
        (0, "greater than 0"),
        (-5, "greater than 0"),
        ("abc", "must be a number"),
        ("NaN", "must be a number"),
        (True, "must be a number"),
        ("1000000000.01", "at most 1,000,000,000"),
    ],
)
def test_money_rejections_say_what_is_allowed(bad: Any, hint: str) -> None:
    message = errors(BudgetSchema, amount=bad)
    assert message.startswith("amount: ") and hint in message


def test_money_accepts_numbers_text_and_floats_as_written() -> None:
    assert BudgetSchema(amount=10.1).amount == Decimal("10.10")
    assert BudgetSchema(amount=" 12.5 ").amount == Decimal("12.50")
    assert BudgetSchema(amount=MAX_AMOUNT).amount == MAX_AMOUNT


def test_daily_cap_is_money_too() -> None:
    assert BudgetSchema(amount=100, daily_cap="20.5").daily_cap_micros == 20_500_000
    assert BudgetSchema(amount=100).daily_cap_micros is None
    assert errors(BudgetSchema, amount=100, daily_cap="1.001").startswith("daily_cap: ")
    assert errors(BudgetSchema, amount=100, daily_cap=0).startswith("daily_cap: ")


# --- CPM -------------------------------------------------------------------------------------


@given(st.integers(50, 50_000))
def test_cpm_within_range_is_accepted(cents: int) -> None:
    item = LineItemCreate(**line_item(cpm=Decimal(cents).scaleb(-2)))
    assert CPM_MIN <= item.cpm <= CPM_MAX
    assert item.cpm_micros == cents * 10_000


@given(st.integers(-10**6, 49) | st.integers(50_001, 10**8))
def test_cpm_outside_range_is_rejected(cents: int) -> None:
    message = errors(LineItemCreate, **line_item(cpm=Decimal(cents).scaleb(-2)))
    assert message.startswith("cpm: ")
    assert "between 0.50 and 500.00 USD" in message or (
        cents <= 0 and "greater than 0" in message
    )


def test_cpm_with_sub_cent_price_is_rejected() -> None:
    assert "2 decimal places" in errors(LineItemCreate, **line_item(cpm="35.001"))


# --- currency ----------------------------------------------------------------------------------


def test_currency_comes_from_the_enum() -> None:
    assert BudgetSchema(amount=1, currency="EUR").currency is Currency.EUR
    assert AdvertiserCreate(**advertiser(currency="JPY")).currency is Currency.JPY
    message = errors(BudgetSchema, amount=1, currency="XYZ")
    assert message.startswith("currency: ") and "'USD'" in message


# --- flights ---------------------------------------------------------------------------------

HOURLY_STARTS = st.datetimes(datetime(2000, 1, 1), datetime(2090, 1, 1)).map(
    lambda moment: moment.replace(minute=0, second=0, microsecond=0)
)


@given(HOURLY_STARTS, st.integers(1, MAX_FLIGHT_DAYS * 24))
def test_flights_up_to_366_days_are_accepted(start: datetime, hours: int) -> None:
    parsed = FlightSchema(start=start, end=start + timedelta(hours=hours))
    assert parsed.hours == hours
    assert parsed.days == -(-hours // 24)
    assert parsed.start.tzinfo is None


@given(HOURLY_STARTS, st.integers(MAX_FLIGHT_DAYS * 24 + 1, 5000 * 24))
def test_flights_longer_than_366_days_are_rejected(start: datetime, hours: int) -> None:
    end = start + timedelta(hours=hours)
    assert "at most 366 days" in errors(FlightSchema, start=start, end=end)


@given(HOURLY_STARTS, st.integers(-1000, 0))
def test_flights_must_end_after_they_start(start: datetime, hours: int) -> None:
    assert "must be after start" in errors(
        FlightSchema, start=start, end=start + timedelta(hours=hours)
    )


def test_a_date_means_midnight_utc() -> None:
    parsed = FlightSchema(start=date(2024, 3, 1), end="2024-03-02")
    assert (parsed.start, parsed.end) == (datetime(2024, 3, 1), datetime(2024, 3, 2))
    assert (parsed.hours, parsed.days) == (24, 1)


def test_aware_times_become_naive_utc() -> None:
    new_york = timezone(timedelta(hours=-5))
    parsed = FlightSchema(start=datetime(2024, 3, 1, 19, tzinfo=new_york),
                          end="2024-03-05T06:00:00+02:00")
    assert parsed.start == datetime(2024, 3, 2, 0)
    assert parsed.end == datetime(2024, 3, 5, 4)
    assert parsed.start.tzinfo is None and parsed.end.tzinfo is None
    assert FlightSchema(start=datetime(2024, 3, 1, tzinfo=UTC), end="2024-03-02").hours == 24


@pytest.mark.parametrize(
    "start",
    ["2024-03-01T10:30:00", "2024-03-01T10:00:01", "2024-03-01T10:00:00+05:30"],
)
def test_flights_must_be_hour_aligned_in_utc(start: str) -> None:
    message = errors(FlightSchema, start=start, end="2024-04-01")
    assert message.startswith("start: ") and "on the hour" in message


def test_partial_days_count_as_whole_days() -> None:
    assert FlightSchema(start="2024-03-01", end="2024-03-02T01:00:00").days == 2


def test_contains() -> None:
    outer = FlightSchema(**flight())
    assert outer.contains(outer)
    assert outer.contains(FlightSchema(start="2024-03-10", end="2024-03-11"))
    assert not outer.contains(FlightSchema(start="2024-02-28", end="2024-03-11"))


# --- frequency caps ----------------------------------------------------------------------------

UNITS = st.sampled_from(list(FrequencyPeriod))


@given(UNITS.flatmap(lambda unit: st.tuples(st.just(unit), st.integers(1, unit.max_count))))
def test_cap_counts_within_dv360_limits_are_accepted(case: tuple[FrequencyPeriod, int]) -> None:
    unit, count = case
    cap = FrequencyCapSchema(max_impressions=3, time_unit=unit, time_unit_count=count)
    assert cap.time_unit_count == count


@given(
    UNITS.flatmap(
        lambda unit: st.tuples(
            st.just(unit), st.integers(unit.max_count + 1, 10**6) | st.integers(-10**6, 0)
        )
    )
)
def test_cap_counts_beyond_dv360_limits_are_rejected(case: tuple[FrequencyPeriod, int]) -> None:
    unit, count = case
    message = errors(FrequencyCapSchema, max_impressions=3, time_unit=unit, time_unit_count=count)
    assert f"for time_unit {unit}" in message and "weeks 1-4" in message


@pytest.mark.parametrize(
    ("unit", "limit"), [("minutes", 59), ("hours", 23), ("days", 6), ("weeks", 4), ("months", 1)]
)
def test_cap_limits_per_unit(unit: str, limit: int) -> None:
    assert FrequencyCapSchema(max_impressions=1, time_unit=unit, time_unit_count=limit)
    errors(FrequencyCapSchema, max_impressions=1, time_unit=unit, time_unit_count=limit + 1)


@pytest.mark.parametrize(("count", "ok"), [(0, False), (1, True), (1000, True), (1001, False)])
def test_cap_max_impressions_range(count: int, ok: bool) -> None:
    if ok:
        assert FrequencyCapSchema(max_impressions=count, time_unit="days").time_unit_count == 1
    else:
        assert errors(FrequencyCapSchema, max_impressions=count, time_unit="days").startswith(
            "max_impressions: "
        )


# --- targeting ---------------------------------------------------------------------------------

TARGETING_CASES = [
    ("device", ["ctv", "mobile"], [DeviceType.ctv, DeviceType.mobile], "tablet"),
    ("genre", ["drama", "sports"], [Genre.drama, Genre.sports], "opera"),
    ("geo", ["US", "gb"], ["US", "GB"], "XX"),
    ("daypart", ["prime_time"], ["prime_time"], "brunch"),
    ("media_rating", ["mature"], [MediaRating.mature], "r_rated"),
]


@pytest.mark.parametrize(("key", "given_", "expected", "bad"), TARGETING_CASES)
def test_targeting_values_are_validated_per_key(
    key: str, given_: list[str], expected: list[Any], bad: str
) -> None:
    assert getattr(Targeting(**{key: given_}), key) == expected
    assert errors(Targeting, **{key: [*given_, bad]}).startswith(f"{key}.{len(given_)}: ")


@pytest.mark.parametrize("bad", ["USA", "uk", "", "1A"])
def test_geo_must_be_iso_alpha_2(bad: str) -> None:
    assert "ISO 3166-1 alpha-2" in errors(Targeting, geo=[bad])


@pytest.mark.parametrize(("key", "values"), [("device", ["ctv", "ctv"]), ("geo", ["us", "US"])])
def test_targeting_rejects_duplicates(key: str, values: list[str]) -> None:
    assert "more than once" in errors(Targeting, **{key: values})


def test_targeting_generic_form() -> None:
    parsed = Targeting.model_validate({TargetingKey.device: ["ctv"], "geo": "de", "genre": None})
    assert parsed == Targeting(device=["ctv"], geo=["DE"])
    assert Targeting() == Targeting.model_validate({}) and Targeting().rows() == []


def test_targeting_unknown_key_names_the_allowed_keys() -> None:
    message = errors(Targeting.model_validate, {"devices": ["ctv"]})
    assert "'devices'" in message
    assert "allowed keys: device, genre, geo, daypart, media_rating" in message
    assert "allowed keys" in errors(Targeting.from_rows, [("region", "US")])


@given(
    st.lists(st.sampled_from(list(DeviceType)), unique=True),
    st.lists(st.sampled_from(list(Genre)), unique=True),
    st.lists(st.sampled_from(["US", "GB", "DE", "FR", "JP"]), unique=True),
)
def test_targeting_rows_round_trip(
    devices: list[DeviceType], genres: list[Genre], geos: list[str]
) -> None:
    original = Targeting(device=devices, genre=genres, geo=geos)
    rows = original.rows()
    assert len(rows) == len(devices) + len(genres) + len(geos)
    assert all(isinstance(key, TargetingKey) and type(value) is str for key, value in rows)
    assert Targeting.from_rows(rows) == original
    orm_rows = [SimpleNamespace(key=key.value, value=value) for key, value in rows]
    assert Targeting.model_validate(orm_rows) == original


def test_targeting_rows_must_be_pairs() -> None:
    assert "(key, value) pairs" in errors(Targeting.model_validate, [("geo",)])


# --- creatives ---------------------------------------------------------------------------------


def test_creative_defaults_are_a_video_spot() -> None:
    spot = CreativeCreate(**creative())
    assert (spot.ad_format, spot.mime_type, spot.width, spot.height) == (
        AdFormat.video, CreativeMimeType.mp4, 1920, 1080)
    assert CreativeCreate(**creative(mime_type="webm")).mime_type is CreativeMimeType.webm


@pytest.mark.parametrize(
    ("fmt", "mime", "duration"),
    [("video", "video/mp4", 15), ("interactive_video", "application/x-mpegURL", 30),
     ("pause_ad", "image/jpeg", None), ("overlay", "image/png", None)],
)
def test_creative_consistent_with_format_is_accepted(
    fmt: str, mime: str, duration: int | None
) -> None:
    parsed = CreativeCreate(**creative(ad_format=fmt, mime_type=mime, duration_s=duration))
    assert parsed.mime_type in parsed.ad_format.allowed_mime_types


@pytest.mark.parametrize(
    ("fmt", "mime", "duration", "hint"),
    [
        ("pause_ad", "video/mp4", None, "allowed: image/jpeg, image/png"),
        ("video", "image/png", 30, "allowed: application/x-mpegURL, video/mp4"),
        ("video", "video/mp4", 31, "use one of 6, 10, 15, 20, 30, 45, 60 seconds"),
        ("video", "video/mp4", None, "use one of"),
        ("pause_ad", "image/jpeg", 15, "must be empty (null)"),
    ],
)
def test_creative_inconsistent_with_format_is_rejected(
    fmt: str, mime: str, duration: int | None, hint: str
) -> None:
    assert hint in errors(CreativeCreate, **creative(ad_format=fmt, mime_type=mime,
                                                     duration_s=duration))


@pytest.mark.parametrize(
    "url",
    ["http://cdn.brand.example/a.mp4", "ftp://cdn.brand.example/a.mp4", "garbage", "https://",
     "https://bad host.example/a.mp4", "https://-x.example/a.mp4", "//cdn.brand.example/a.mp4"],
)
def test_creative_asset_url_must_be_https(url: str) -> None:
    message = errors(CreativeCreate, **creative(asset_url=url))
    assert message.startswith("asset_url: ") and "https://" in message


def test_creative_https_url_is_accepted() -> None:
    url = "https://cdn.brand.example:8443/spots/a.mp4?v=2"
    assert CreativeCreate(**creative(asset_url=url)).asset_url == url


def test_interactive_requires_interactive_video() -> None:
    parsed = CreativeCreate(**creative(ad_format="interactive_video", interactive=True))
    assert parsed.interactive
    assert "needs ad_format interactive_video" in errors(
        CreativeCreate, **creative(interactive=True)
    )


@pytest.mark.parametrize("size", [0, -1, 100_000])
def test_creative_size_must_be_plausible(size: int) -> None:
    errors(CreativeCreate, **creative(width=size))


# --- budgets -----------------------------------------------------------------------------------


def test_asap_needs_a_daily_pacing_period() -> None:
    ok = BudgetSchema(amount=10, pacing_type="asap", pacing_period="daily")
    assert (ok.pacing_type, ok.pacing_period) == (PacingType.asap, PacingPeriod.daily)
    assert "needs pacing_period daily" in errors(BudgetSchema, amount=10, pacing_type="asap")


def test_daily_cap_at_most_the_lifetime_amount() -> None:
    assert BudgetSchema(amount=100, daily_cap=100).daily_cap == Decimal("100.00")
    assert "at most the budget" in errors(BudgetSchema, amount=100, daily_cap="100.01")
    daily = BudgetSchema(budget_type="daily", amount=100, daily_cap=150)
    assert daily.budget_type is BudgetType.daily


def test_lifetime_micros_multiplies_daily_budgets_by_days() -> None:
    week = FlightSchema(start="2024-03-01", end="2024-03-07T12:00:00")
    assert BudgetSchema(amount="10.50").lifetime_micros(week) == 10_500_000
    assert BudgetSchema(budget_type="daily", amount="10.50").lifetime_micros(week) == 73_500_000


def test_assignments_are_validated() -> None:
    parsed = BudgetSchema(amount=10)
    with pytest.raises(ValidationError):
        parsed.amount = Decimal("10.001")
    with pytest.raises(ValidationError):
        parsed.pacing_type = PacingType.asap


# --- campaigns ---------------------------------------------------------------------------------


def test_campaign_whose_line_items_fit_is_accepted() -> None:
    parsed = CampaignCreate(**campaign(line_items=[
        line_item("A", budget=budget("600")),
        line_item("B", budget=budget("400"), flight=flight("2024-03-10", "2024-04-01")),
    ]))
    assert [item.name for item in parsed.line_items] == ["A", "B"]
    assert parsed.advertiser_id is None and parsed.frequency_cap is None


def test_line_item_budgets_may_not_exceed_the_campaign_budget() -> None:
    message = errors(CampaignCreate, **campaign(line_items=[
        line_item("A", budget=budget("600")), line_item("B", budget=budget("400.01"))]))
    assert "line-item budgets total 1,000.01 USD" in message
    assert "campaign budget 1,000.00 USD" in message


def test_daily_line_item_budgets_count_per_day() -> None:
    ten_days = flight("2024-03-01", "2024-03-11")
    ok = line_item(budget=budget("100", budget_type="daily"), flight=ten_days)
    assert CampaignCreate(**campaign(line_items=[ok]))
    over = line_item(budget=budget("100.01", budget_type="daily"), flight=ten_days)
    assert "1,000.10 USD" in errors(CampaignCreate, **campaign(line_items=[over]))


def test_line_item_currency_must_match_the_campaign() -> None:
    message = errors(CampaignCreate, **campaign(
        line_items=[line_item(budget=budget("10", currency="EUR"))]))
    assert "line_items.0 ('CTV prime'): budget currency EUR differs" in message


@pytest.mark.parametrize(
    "span",
    [flight("2024-02-29T23:00:00", "2024-03-10"), flight("2024-03-10", "2024-04-01T01:00:00")],
)
def test_line_item_flight_must_lie_within_the_campaign(span: dict[str, Any]) -> None:
    message = errors(CampaignCreate, **campaign(line_items=[line_item(flight=span)]))
    assert "is outside the campaign flight 2024-03-01T00:00 to 2024-04-01T00:00" in message


def test_line_item_names_are_unique_within_a_campaign() -> None:
    message = errors(CampaignCreate, **campaign(line_items=[
        line_item("Same", budget=budget("1")), line_item(" Same ", budget=budget("1"))]))
    assert "line_items.1 ('Same'): duplicate name" in message


# --- advertisers and the whole tree ------------------------------------------------------------


@pytest.mark.parametrize("domain", ["LuxuryAutoCo.example", "shop.brand-1.co.uk", " a.io "])
def test_advertiser_domain_is_a_host_name(domain: str) -> None:
    assert AdvertiserCreate(**advertiser(domain=domain)).domain == domain.strip().lower()


@pytest.mark.parametrize(
    "domain", ["https://brand.example", "brand", "bad host.example", "-brand.example",
               "brand.example/path", "brand..example", ""]
)
def test_advertiser_domain_rejects_non_host_names(domain: str) -> None:
    assert "host name like 'brand.example'" in errors(AdvertiserCreate, **advertiser(domain=domain))


def test_full_plan_tree_from_yaml_like_data() -> None:
    tree = advertiser(campaigns=[campaign(
        frequency_cap={"max_impressions": 3, "time_unit": "days"},
        line_items=[line_item(
            targeting={"device": ["ctv"], "geo": ["US"]},
            frequency_cap={"max_impressions": 10, "time_unit": "weeks", "time_unit_count": 1},
            creatives=[creative(), creative(name="Spot 15", duration_s=15)],
        )],
    )])
    parsed = AdvertiserCreate.model_validate(tree)
    item = parsed.campaigns[0].line_items[0]
    assert item.targeting.device == [DeviceType.ctv] and len(item.creatives) == 2
    assert AdvertiserCreate.model_validate(parsed.model_dump()) == parsed


def test_errors_point_at_the_key_path() -> None:
    tree = advertiser(campaigns=[campaign(line_items=[line_item(
        cpm="-1", creatives=[creative(colour="red")])])])
    lines = errors(AdvertiserCreate.model_validate, tree).splitlines()
    assert "campaigns.0.line_items.0.cpm: CPM must be greater than 0, got -1" in lines
    assert "campaigns.0.line_items.0.creatives.0.colour: Extra inputs are not permitted" in lines
    # The CPM's range depends on the currency: the line item's rule names it.
    tree = advertiser(campaigns=[campaign(line_items=[line_item(cpm="0.10")])])
    assert errors(AdvertiserCreate.model_validate, tree).splitlines() == [
        "campaigns.0.line_items.0: cpm: CPM must be between 0.50 and 500.00 USD, got 0.10"
    ]


# --- read models from ORM-like rows ------------------------------------------------------------


def stored(**fields: Any) -> SimpleNamespace:
    return SimpleNamespace(id=7, created_at=STAMP, updated_at=STAMP, **fields)


def orm_budget(**fields: Any) -> SimpleNamespace:
    values = {"budget_type": "lifetime", "amount_micros": 1_000_000_000, "currency": "USD",
              "pacing_type": "even", "pacing_period": "flight", "daily_cap_micros": None}
    return SimpleNamespace(**{**values, **fields})


def orm_flight() -> SimpleNamespace:
    return SimpleNamespace(start=datetime(2024, 3, 1), end=datetime(2024, 4, 1))


def test_read_models_build_from_orm_rows_with_micros() -> None:
    row = stored(campaign_id=3, name="LI", status="active", ad_format="video",
                 position="pre_roll", cpm_micros=25_500_000, budget=orm_budget(daily_cap_micros=5),
                 flight=orm_flight(), frequency_cap=None,
                 targeting=[SimpleNamespace(key="geo", value="US")])
    with pytest.raises(ValidationError):  # 5 micros is not whole cents
        LineItemRead.model_validate(row)
    row.budget = orm_budget(daily_cap_micros=50_000_000)
    parsed = LineItemRead.model_validate(row)
    assert (parsed.id, parsed.campaign_id, parsed.cpm) == (7, 3, Decimal("25.50"))
    assert parsed.budget.daily_cap == Decimal("50.00") and parsed.targeting.geo == ["US"]
    row.targeting = {"device": ["ctv"]}  # the ORM's dict view is accepted too
    assert LineItemRead.model_validate(row).targeting.device == [DeviceType.ctv]


def test_other_read_models() -> None:
    adv = AdvertiserRead.model_validate(stored(name="A", industry="retail", domain="a.example",
                                               currency="GBP", status="active"))
    assert adv.currency is Currency.GBP and adv.id == 7
    camp = CampaignRead.model_validate(stored(
        advertiser_id=1, name="C", objective="conversion", status="active",
        dsp_partner="dv360", budget=orm_budget(), flight=orm_flight(), frequency_cap=None))
    assert camp.budget.amount == Decimal("1000.00") and camp.flight.days == 31
    spot = CreativeRead.model_validate(stored(line_item_id=2, **creative(
        ad_format="video", mime_type="video/mp4", width=1920, height=1080, has_qr=True,
        interactive=False, qa_status="approved_servable", status="active")))
    assert spot.line_item_id == 2 and spot.has_qr
    assert "id: Field required" in errors(AdvertiserRead.model_validate, advertiser())
