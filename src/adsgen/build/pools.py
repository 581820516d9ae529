"""The pools and mixes plans draw from: names, words, weights, as plain data.

One home for the data of the Faker providers (`adsgen.build.providers`, which hold these
as class constants) and of the columnar planner (`adsgen.build.at_scale`), which draws
from them with vectorized keyed draws. Kept free of Faker and Pydantic so a scale plan
imports neither: mappings are value -> weight, tuples are pools drawn uniformly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from adsgen.domain.enums import (
    AdPosition,
    CreativeMimeType,
    Daypart,
    DeviceType,
    DspPartner,
    FrequencyPeriod,
    Industry,
    MediaRating,
    Objective,
    PacingPeriod,
    PacingType,
)

if TYPE_CHECKING:
    from adsgen.templates.spec import ProfileLineItem

DEFAULT_START: Final = datetime(2026, 9, 1)
"""Flight start of profile plans when neither the caller nor the profile gives one."""

CapKey = tuple[int, FrequencyPeriod, int] | None
"""(max impressions, time unit, unit count) of a frequency cap; None = uncapped."""

# --- advertiser -----------------------------------------------------------------------

# Share of advertisers by vertical on premium streaming (rough, CTV spend rankings).
INDUSTRY_MIX: Final[Mapping[Industry, float]] = {
    Industry.retail: 0.16,
    Industry.cpg_food: 0.15,
    Industry.automotive: 0.12,
    Industry.entertainment: 0.11,
    Industry.finance: 0.10,
    Industry.technology: 0.09,
    Industry.pharma: 0.08,
    Industry.telecom: 0.07,
    Industry.travel: 0.06,
    Industry.restaurants: 0.06,
}

STEM_HEADS: Final[tuple[str, ...]] = (
    "Al", "Bel", "Brev", "Cor", "Dar", "El", "Fen", "Gal", "Har", "Ist", "Jor", "Kel",
    "Lum", "Mar", "Nor", "Ost", "Pel", "Quin", "Ros", "Sol", "Tam", "Ul", "Ver", "Wex",
    "Yar", "Zel", "Cal", "Dov", "Fal", "Gren",
)

STEM_TAILS: Final[tuple[str, ...]] = (
    "aro", "eth", "ion", "ora", "umi", "ova", "wyn", "ara", "esta", "ulo",
    "ano", "ier", "osk", "ette", "avi", "enby", "ith", "oma", "uvia", "ando",
)

# Stems that happen to spell a well-known brand are never used.
TAKEN_STEMS: Final[frozenset[str]] = frozenset({"Marion", "Solara", "Corona", "Elora"})

# Industry words; disjoint between industries so names never collide across them.
INDUSTRY_WORDS: Final[Mapping[Industry, tuple[str, ...]]] = {
    Industry.automotive: ("Motors", "Auto", "Automotive", "Motor Works", "Cars", "EV"),
    Industry.cpg_food: ("Foods", "Snacks", "Kitchen", "Pantry", "Provisions", "Farms"),
    Industry.finance: ("Bank", "Financial", "Capital", "Credit Union", "Pay", "Wealth"),
    Industry.retail: ("Outfitters", "Market", "Supply", "Goods", "Store", "Home"),
    Industry.technology: ("Labs", "Systems", "Devices", "Software", "Cloud", "Tech"),
    Industry.travel: ("Travel", "Airways", "Resorts", "Cruises", "Getaways", "Hotels"),
    Industry.entertainment: ("Studios", "Pictures", "Games", "Live", "Music", "Arcade"),
    Industry.telecom: ("Mobile", "Wireless", "Telecom", "Fiber", "Connect", "Networks"),
    Industry.pharma: ("Health", "Pharma", "Therapeutics", "Wellness", "Care", "Biosciences"),
    Industry.restaurants: ("Grill", "Burgers", "Pizza", "Tacos", "Diner", "Coffee"),
}

OBJECTIVE_WORDS: Final[Mapping[Objective, tuple[str, ...]]] = {
    Objective.awareness: ("Awareness", "Brand Launch", "Reach", "Brand Lift"),
    Objective.consideration: ("Consideration", "Discovery", "Engagement", "Product Story"),
    Objective.conversion: ("Conversion", "Acquisition", "Sign-ups", "Sales Push"),
}

SEASONS: Final[tuple[str, ...]] = (
    "Q1", "Q2", "Q3", "Q4", "Spring", "Summer", "Fall", "Holiday", "Back to School", "New Year",
)


# --- budget ---------------------------------------------------------------------------

OBJECTIVE_MIX: Final[Mapping[Objective, float]] = {
    Objective.awareness: 0.45,
    Objective.consideration: 0.35,
    Objective.conversion: 0.20,
}

# Where in the platform's cpm_range (0 = low end, 1 = high end) each objective buys.
CPM_BAND: Final[Mapping[Objective, tuple[float, float]]] = {
    Objective.awareness: (0.10, 0.55),
    Objective.consideration: (0.02, 0.35),
    Objective.conversion: (0.0, 0.25),
}

CPM_STEP: Final[Decimal] = Decimal("0.50")

# Average spend per flight day in USD, (low, high).
DAILY_SPEND: Final[Mapping[Objective, tuple[int, int]]] = {
    Objective.awareness: (4_000, 9_000),
    Objective.consideration: (2_000, 4_500),
    Objective.conversion: (1_200, 3_000),
}

BUDGET_STEP: Final[Decimal] = Decimal(1_000)

# DV360 pacing: ASAP only with a daily pacing period (DV360 rule).
PACING_MIX: Final[Mapping[tuple[PacingType, PacingPeriod], float]] = {
    (PacingType.even, PacingPeriod.flight): 0.70,
    (PacingType.ahead, PacingPeriod.flight): 0.18,
    (PacingType.even, PacingPeriod.daily): 0.08,
    (PacingType.asap, PacingPeriod.daily): 0.04,
}

# A daily cap is drawn between these multiples of the average daily spend (budget / flight
# days), so that it binds on strong days: every line item pacing per day has one, and this
# share of the others too (about a quarter of all line items in all).
DAILY_CAP_FACTOR: Final[tuple[Decimal, Decimal]] = (Decimal("1.0"), Decimal("1.4"))
DAILY_CAP_RATE: Final[float] = 0.15

FLIGHT_DAYS: Final[Mapping[int, float]] = {
    14: 0.15, 21: 0.15, 28: 0.20, 30: 0.20, 45: 0.15, 60: 0.10, 90: 0.05,
}

LINE_ITEM_COUNT: Final[Mapping[int, float]] = {1: 0.45, 2: 0.35, 3: 0.20}

DSP_MIX: Final[Mapping[DspPartner, float]] = {
    DspPartner.the_trade_desk: 0.34,
    DspPartner.dv360: 0.26,
    DspPartner.direct: 0.20,
    DspPartner.yahoo_dsp: 0.10,
    DspPartner.microsoft_invest: 0.10,
}


# --- targeting ------------------------------------------------------------------------

# Device sets a line item targets when nothing fixes its devices: most buy two or three
# screens, some CTV only. The simulation splits a set's impressions by the platform's
# device_mix, so all three screens give CTV 53 / mobile 35 / desktop 12 % (Innovid 2023);
# the other sets are weighted to land near CTV 50 / mobile 36 / desktop 14 % together,
# leaving room for the bundled profiles that buy CTV or mobile alone.
DEVICE_SETS: Final[Mapping[tuple[DeviceType, ...], float]] = {
    (DeviceType.ctv, DeviceType.mobile, DeviceType.desktop): 0.60,
    (DeviceType.ctv, DeviceType.mobile): 0.12,
    (DeviceType.ctv,): 0.05,
    (DeviceType.mobile, DeviceType.desktop): 0.13,
    (DeviceType.ctv, DeviceType.desktop): 0.05,
    (DeviceType.mobile,): 0.02,
    (DeviceType.desktop,): 0.03,
}
DEVICE_SETS_MIX: Final[Mapping[DeviceType, float]] = {
    DeviceType.ctv: 0.53, DeviceType.mobile: 0.35, DeviceType.desktop: 0.12}
"""The viewing mix DEVICE_SETS is weighted for (Innovid 2023; netflix_like's device_mix)."""


def device_sets(mix: Mapping[DeviceType, float]) -> dict[tuple[DeviceType, ...], float]:
    """DEVICE_SETS for a platform whose viewing splits by `mix` (its `device_mix`).

    Buyers follow the platform's screens: each set's weight is scaled by its devices' share
    of the platform's viewing over their share of `DEVICE_SETS_MIX`, so a platform that is
    mostly TV (youtube_tv_like, 72 %) draws TV sets more often, a TV-only one (roku_like)
    never draws a set it cannot serve, and a platform with the reference mix draws exactly
    DEVICE_SETS. A modelling choice: no source gives device targeting by platform.
    """
    weights = {devices: weight * screen_tilt(mix, devices)
               for devices, weight in DEVICE_SETS.items()}
    return {devices: w for devices, w in weights.items() if w > 0}


def screen_tilt(mix: Mapping[DeviceType, float], devices: Sequence[DeviceType]) -> float:
    """How much more often buyers on a platform whose viewing splits by `mix` buy the
    screens `devices` than on the reference mix (`DEVICE_SETS_MIX`): the screens' share of
    the platform's viewing over their share of the reference's. One rule for drawn device
    sets (`device_sets`) and for profiles that fix their devices (`profile_tilt`)."""
    return sum(mix.get(d, 0.0) for d in devices) / sum(DEVICE_SETS_MIX[d] for d in devices)


def profile_tilt(mix: Mapping[DeviceType, float],
                 fixed: Sequence[Sequence[DeviceType] | None]) -> float:
    """The factor on a profile's weight on a platform whose viewing splits by `mix`, given
    the devices each of its line items fixes (None: drawn, by `device_sets`): the mean
    `screen_tilt` of its line items, so a mobile-only buy is drawn 0.6 times as often on
    youtube_tv_like (mobile 21 % of viewing, 35 % on the reference) and a CTV-only one 1.36
    times. Without it the bundled mobile- and desktop-only profiles kept their reference
    share on a TV-first platform and held its CTV impression share 1.4 points further
    below its `device_mix` (0.665 against 0.679 with it, 0.72 in the file;
    benchmarks/platforms.py). A modelling choice, as `device_sets` is."""
    tilts = [1.0 if not devices else screen_tilt(mix, devices) for devices in fixed]
    return sum(tilts) / len(tilts) if tilts else 1.0

GENRE_COUNT: Final[Mapping[int, float]] = {0: 0.15, 1: 0.45, 2: 0.28, 3: 0.12}

# Market sets a line item buys; only those inside the platform's geos are drawn.
GEO_MIX: Final[Mapping[tuple[str, ...], float]] = {
    ("US",): 0.72,
    ("US", "CA"): 0.10,
    ("CA",): 0.05,
    ("GB",): 0.05,
    ("GB", "FR", "DE"): 0.03,
    ("MX",): 0.02,
    ("JP",): 0.02,
    ("AU",): 0.01,
}

DAYPART_MIX: Final[Mapping[tuple[Daypart, ...], float]] = {
    (): 0.74,
    (Daypart.prime_time,): 0.10,
    (Daypart.prime_access, Daypart.prime_time): 0.07,
    (Daypart.daytime, Daypart.early_fringe): 0.05,
    (Daypart.late_night,): 0.04,
}

MEDIA_RATING_MIX: Final[Mapping[tuple[MediaRating, ...], float]] = {
    (): 0.70,
    (MediaRating.all_audiences, MediaRating.over_12): 0.20,
    (MediaRating.all_audiences,): 0.06,
    (MediaRating.mature,): 0.04,
}

# (max impressions, unit, unit count) per objective; None = no cap.
FREQUENCY_CAP_MIX: Final[Mapping[Objective, Mapping[CapKey, float]]] = {
    Objective.awareness: {
        (3, FrequencyPeriod.days, 1): 0.35,
        (2, FrequencyPeriod.days, 1): 0.15,
        (10, FrequencyPeriod.weeks, 1): 0.25,
        (1, FrequencyPeriod.hours, 2): 0.10,
        None: 0.15,
    },
    Objective.consideration: {
        (4, FrequencyPeriod.days, 1): 0.30,
        (12, FrequencyPeriod.weeks, 1): 0.30,
        (2, FrequencyPeriod.hours, 6): 0.15,
        None: 0.25,
    },
    Objective.conversion: {
        (6, FrequencyPeriod.days, 1): 0.30,
        (20, FrequencyPeriod.weeks, 1): 0.25,
        (30, FrequencyPeriod.months, 1): 0.10,
        None: 0.35,
    },
}


# --- creative -------------------------------------------------------------------------

POSITION_MIX: Final[Mapping[AdPosition, float]] = {
    AdPosition.mid_roll: 0.70,
    AdPosition.pre_roll: 0.25,
    AdPosition.post_roll: 0.05,
}

# Line items that can serve on CTV (or anywhere) use CTV spot lengths.
DURATION_MIX: Final[Mapping[DeviceType, Mapping[int, float]]] = {
    DeviceType.ctv: {30: 0.55, 15: 0.45},
    DeviceType.mobile: {15: 0.55, 6: 0.20, 10: 0.10, 30: 0.15},
    DeviceType.desktop: {15: 0.45, 30: 0.35, 6: 0.10, 20: 0.10},
}

VIDEO_MIME_MIX: Final[Mapping[DeviceType, Mapping[CreativeMimeType, float]]] = {
    DeviceType.ctv: {
        CreativeMimeType.mp4: 0.75,
        CreativeMimeType.hls: 0.18,
        CreativeMimeType.quicktime: 0.07,
    },
    DeviceType.mobile: {CreativeMimeType.mp4: 0.85, CreativeMimeType.hls: 0.15},
    DeviceType.desktop: {CreativeMimeType.mp4: 0.80, CreativeMimeType.webm: 0.20},
}

IMAGE_MIME_MIX: Final[Mapping[CreativeMimeType, float]] = {
    CreativeMimeType.jpeg: 0.6,
    CreativeMimeType.png: 0.4,
}

SIZES: Final[Mapping[DeviceType, Mapping[tuple[int, int], float]]] = {
    DeviceType.ctv: {(1920, 1080): 0.8, (3840, 2160): 0.2},
    DeviceType.mobile: {(1280, 720): 0.6, (1920, 1080): 0.4},
    DeviceType.desktop: {(1920, 1080): 0.7, (1280, 720): 0.3},
}

EXTENSIONS: Final[Mapping[CreativeMimeType, str]] = {
    CreativeMimeType.mp4: "mp4",
    CreativeMimeType.webm: "webm",
    CreativeMimeType.quicktime: "mov",
    CreativeMimeType.hls: "m3u8",
    CreativeMimeType.jpeg: "jpg",
    CreativeMimeType.png: "png",
}

# P(creative has a QR code) by the line item's lead device; interactive: nearly always.
QR_RATE: Final[Mapping[DeviceType, float]] = {
    DeviceType.ctv: 0.15,
    DeviceType.mobile: 0.0,
    DeviceType.desktop: 0.0,
}

INTERACTIVE_QR_RATE: Final[float] = 0.9

CREATIVE_COUNT: Final[Mapping[int, float]] = {1: 0.40, 2: 0.40, 3: 0.20}

CONCEPTS: Final[tuple[str, ...]] = (
    "Hero", "Launch", "Story", "Teaser", "Promo", "Spotlight", "Feature", "Offer",
    "Anthem", "Reveal",
)


# --- derived pools -----------------------------------------------------------------------

STEMS: Final[tuple[str, ...]] = tuple(
    head + tail for head in STEM_HEADS for tail in STEM_TAILS if head + tail not in TAKEN_STEMS
)
"""Coined brand stems ("Velora", "Ostwyn"), those spelling a known brand left out."""


def slugify(text: str) -> str:
    """Lower-case ASCII letters and digits only: 'Luxury Auto Co' -> 'luxuryautoco'."""
    return re.sub(r"[^a-z0-9]", "", text.lower()) or "brand"


def budget_shares(settings: Sequence[ProfileLineItem]) -> list[float]:
    """Budget shares per line item: the fixed ones, the rest split equally."""
    fixed = [item.budget_share for item in settings]
    unset = fixed.count(None)
    rest = (1.0 - sum(share or 0.0 for share in fixed)) / unset if unset else 0.0
    return [share if share is not None else rest for share in fixed]
