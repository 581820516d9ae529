"""Every domain enumeration, as StrEnum, carrying the industry's own codes.

Values are stable lower-case names used in YAML, the CLI and the database. Where an
industry code exists (OpenRTB 2.6 / AdCOM 1.0, IAB Content Taxonomy 3.1, ISO 4217,
DV360 API names) it is an attribute of the member, so generated data joins with real
bid-stream and ad-server data. Sources: ../shared/realism.md section A.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

__all__ = [
    "AdFormat",
    "AdPosition",
    "BudgetType",
    "CampaignStatus",
    "CreativeMimeType",
    "Currency",
    "Daypart",
    "DeviceType",
    "DspPartner",
    "EntityStatus",
    "ExperimentType",
    "FrequencyPeriod",
    "Genre",
    "Industry",
    "MediaRating",
    "Objective",
    "PacingPeriod",
    "PacingType",
    "QAStatus",
    "TargetingKey",
]


class _Coded(StrEnum):
    """A StrEnum whose members also carry an integer or string industry code."""

    code: int | str

    def __new__(cls, value: str, code: int | str = "") -> Self:
        member = str.__new__(cls, value)
        member._value_ = value
        member.code = code
        return member

    @classmethod
    def from_code(cls, code: int | str) -> Self:
        """Return the member with this industry code; ValueError names the known codes."""
        for member in cls:
            if member.code == code:
                return member
        known = ", ".join(str(m.code) for m in cls)
        raise ValueError(f"{cls.__name__} has no code {code!r}; known codes: {known}")


class BudgetType(StrEnum):
    """The period a budget amount covers: the whole flight, or each day."""

    lifetime = "lifetime"
    daily = "daily"


class PacingType(StrEnum):
    """DV360 pacing type: spread evenly, front-load, or spend as fast as possible."""

    even = "even"
    ahead = "ahead"
    asap = "asap"


class PacingPeriod(StrEnum):
    """DV360 pacing period: goals per day or over the whole flight (ASAP only with DAILY)."""

    daily = "daily"
    flight = "flight"


class FrequencyPeriod(_Coded):
    """DV360 frequency-cap time unit; `code` is the DV360 name, `max_count` its limit."""

    minutes = ("minutes", "TIME_UNIT_MINUTES")
    hours = ("hours", "TIME_UNIT_HOURS")
    days = ("days", "TIME_UNIT_DAYS")
    weeks = ("weeks", "TIME_UNIT_WEEKS")
    months = ("months", "TIME_UNIT_MONTHS")

    @property
    def max_count(self) -> int:
        """Largest timeUnitCount DV360 accepts for this unit."""
        return {"minutes": 59, "hours": 23, "days": 6, "weeks": 4, "months": 1}[self.value]

    @property
    def hours_per_unit(self) -> float:
        """Length of one unit in hours (a month counted as 30 days)."""
        return {"minutes": 1 / 60, "hours": 1.0, "days": 24.0, "weeks": 168.0, "months": 720.0}[
            self.value
        ]


class CreativeMimeType(StrEnum):
    """Creative asset MIME types (AdCOM video MIME types plus images for pause ads)."""

    mp4 = "video/mp4"
    webm = "video/webm"
    quicktime = "video/quicktime"
    hls = "application/x-mpegURL"
    jpeg = "image/jpeg"
    png = "image/png"

    @property
    def is_video(self) -> bool:
        """True for video containers and streams."""
        return self in (CreativeMimeType.mp4, CreativeMimeType.webm,
                        CreativeMimeType.quicktime, CreativeMimeType.hls)


class AdFormat(_Coded):
    """Ad format; `code` is the OpenRTB 2.6 video `plcmt` subtype it serves in."""

    video = ("video", 1)
    interactive_video = ("interactive_video", 1)
    pause_ad = ("pause_ad", 5)
    overlay = ("overlay", 7)

    @property
    def is_video(self) -> bool:
        """True for formats that play a timed video asset."""
        return self in (AdFormat.video, AdFormat.interactive_video)

    @property
    def allowed_durations(self) -> frozenset[int]:
        """Durations in seconds this format accepts; empty for static formats."""
        if self.is_video:
            return frozenset({6, 10, 15, 20, 30, 45, 60})
        return frozenset()

    @property
    def allowed_mime_types(self) -> frozenset[CreativeMimeType]:
        """MIME types consistent with this format."""
        if self.is_video:
            return frozenset(m for m in CreativeMimeType if m.is_video)
        return frozenset({CreativeMimeType.jpeg, CreativeMimeType.png})


class AdPosition(_Coded):
    """Position in the ad break; `code` is the OpenRTB start delay (0, -1, -2)."""

    pre_roll = ("pre_roll", 0)
    mid_roll = ("mid_roll", -1)
    post_roll = ("post_roll", -2)


class TargetingKey(StrEnum):
    """Targeting dimensions a line item can restrict."""

    device = "device"
    genre = "genre"
    geo = "geo"
    daypart = "daypart"
    media_rating = "media_rating"
    dma = "dma"
    state = "state"
    segment = "segment"


class ExperimentType(StrEnum):
    """How a line item's experiment keeps its control group from the ads (issue 11).

    holdout: user-level, ghost-ad style — control households are not served, the ad server
    logs the ads they would have seen; psa: control households are served a public-service
    ad instead (bought like any impression, no effect); geo: control geos are not served.
    """

    holdout = "holdout"
    psa = "psa"
    geo = "geo"


class Objective(StrEnum):
    """Campaign objective, top to bottom of the funnel."""

    awareness = "awareness"
    consideration = "consideration"
    conversion = "conversion"


class QAStatus(_Coded):
    """DV360 creative review status; `code` is the API name."""

    pending_not_servable = ("pending_not_servable", "REVIEW_STATUS_PENDING_NOT_SERVABLE")
    pending_servable = ("pending_servable", "REVIEW_STATUS_PENDING_SERVABLE")
    approved_servable = ("approved_servable", "REVIEW_STATUS_APPROVED_SERVABLE")
    rejected_not_servable = ("rejected_not_servable", "REVIEW_STATUS_REJECTED_NOT_SERVABLE")

    @property
    def servable(self) -> bool:
        """True when the ad server may deliver the creative."""
        return self in (QAStatus.pending_servable, QAStatus.approved_servable)


class EntityStatus(_Coded):
    """DV360 entity status; ARCHIVED never spends, only ACTIVE delivers."""

    active = ("active", "ENTITY_STATUS_ACTIVE")
    paused = ("paused", "ENTITY_STATUS_PAUSED")
    draft = ("draft", "ENTITY_STATUS_DRAFT")
    archived = ("archived", "ENTITY_STATUS_ARCHIVED")


class CampaignStatus(StrEnum):
    """Lifecycle of a campaign as a planner sees it; only `active` delivers."""

    draft = "draft"
    active = "active"
    paused = "paused"
    completed = "completed"
    archived = "archived"


class Currency(_Coded):
    """ISO 4217 currencies; `code` is the numeric code, `minor_units` the decimals."""

    USD = ("USD", 840)
    EUR = ("EUR", 978)
    GBP = ("GBP", 826)
    CAD = ("CAD", 124)
    AUD = ("AUD", 36)
    JPY = ("JPY", 392)
    KRW = ("KRW", 410)
    BRL = ("BRL", 986)
    MXN = ("MXN", 484)

    @property
    def minor_units(self) -> int:
        """Decimal places of the currency (ISO 4217)."""
        return 0 if self in (Currency.JPY, Currency.KRW) else 2


class DspPartner(StrEnum):
    """DSPs that buy premium streaming inventory (2024), plus direct insertion orders."""

    the_trade_desk = "the_trade_desk"
    dv360 = "dv360"
    yahoo_dsp = "yahoo_dsp"
    microsoft_invest = "microsoft_invest"
    direct = "direct"


class DeviceType(_Coded):
    """Device class of an impression; `code` is the AdCOM/OpenRTB devicetype."""

    ctv = ("ctv", 3)
    mobile = ("mobile", 1)
    desktop = ("desktop", 2)


class Genre(_Coded):
    """CTV genre; `code` is the IAB Content Taxonomy 3.1 id (IAB CTV genre mapping)."""

    action_adventure = ("action_adventure", "325")
    animation_anime = ("animation_anime", "641")
    children_family = ("children_family", "645")
    comedy = ("comedy", "646")
    crime = ("crime", "KHPC5A")
    documentary = ("documentary", "332")
    drama = ("drama", "647")
    fantasy = ("fantasy", "335")
    horror = ("horror", "336")
    mystery = ("mystery", "331")
    news = ("news", "1020")
    reality = ("reality", "651")
    romance = ("romance", "326")
    sci_fi = ("sci_fi", "652")
    sports = ("sports", "483")
    thriller = ("thriller", "700")
    game_show = ("game_show", "JLBCU7")
    cooking = ("cooking", "216")
    western = ("western", "KHPC6A")
    business = ("business", "52")


class Daypart(_Coded):
    """TV day-parts in local time; `code` is the [start, end) local hour range."""

    early_morning = ("early_morning", "06-09")
    daytime = ("daytime", "09-16")
    early_fringe = ("early_fringe", "16-19")
    prime_access = ("prime_access", "19-20")
    prime_time = ("prime_time", "20-23")
    late_night = ("late_night", "23-02")
    overnight = ("overnight", "02-06")

    @property
    def hours(self) -> tuple[int, ...]:
        """Local hours (0-23) this day-part covers, wrapping past midnight."""
        start, end = (int(part) for part in str(self.code).split("-"))
        return tuple(h % 24 for h in range(start, end if end > start else end + 24))


class MediaRating(_Coded):
    """AdCOM media rating of the content."""

    all_audiences = ("all_audiences", 1)
    over_12 = ("over_12", 2)
    mature = ("mature", 3)


class Industry(StrEnum):
    """Advertiser verticals; providers draw names and domains per industry."""

    automotive = "automotive"
    cpg_food = "cpg_food"
    finance = "finance"
    retail = "retail"
    technology = "technology"
    travel = "travel"
    entertainment = "entertainment"
    telecom = "telecom"
    pharma = "pharma"
    restaurants = "restaurants"
