"""What a platform sells and accepts, as users write it: pods, creative rules, targeting, formats.

Part of the YAML contract of a `Platform` (templates/spec.py), kept here so that spec stays
small. Every field has a default that restricts nothing, so a platform file that leaves them
out (and every run on it) behaves as before they existed.

- `Pods`: the break structure (breaks per hour, ads per break, pre/mid/post-roll shares, the
  longest break). Descriptive for now: the simulation's ad slots still come from the
  platform's `ad_seconds_per_hour`; pod positions are a later round.
- `CreativeRules`: spot-length windows (Roku-like: 13-17 s or 28-31 s), whether the platform
  needs a VAST mezzanine file (a file the ad server can transcode: MP4 or QuickTime, not an
  HLS stream or WebM), whether it runs interactive (VPAID/SIMID-style) creatives. Stitched
  ads and skippability are stated but not checked: a creative carries no such attribute.
- `Measurement`: the claims a platform makes (viewability, completion) and its partners.
- `PlatformSales`: which targeting keys, audience-segment kinds and ad formats it sells.

`check_line_item` (an example's written line items, in `adsgen.build.plans`) and
`Platform.check_profile` (what a profile or option fixes) raise SpecError naming the platform,
the rule and the allowed values. `fit_durations`, `fit_mix` and `fit_mime_mix` narrow what
the providers draw (`adsgen.build.providers.creative`, `adsgen.build.at_scale`) for line
items that leave those choices open, so drawn plans always obey the platform; each returns
its input unchanged when the platform sets no rule, so such draws stay as they were.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

from pydantic import Field, field_validator, model_validator

from adsgen.domain.enums import AdFormat, AdPosition, CreativeMimeType, TargetingKey
from adsgen.domain.markets import AudienceSegment, SegmentKind
from adsgen.domain.schemas import CreativeBase, LineItemBase, Targeting
from adsgen.exceptions import SpecError
from adsgen.templates.base import StrictModel

__all__ = [
    "ALWAYS_SOLD",
    "MEZZANINE_MIME_TYPES",
    "SPOT_LENGTHS",
    "CreativeRules",
    "Feature",
    "Measurement",
    "PlatformSales",
    "Pods",
    "Window",
    "check_creative",
    "check_targeting",
    "sold_targeting_keys",
]

SPOT_LENGTHS: tuple[int, ...] = tuple(sorted(AdFormat.video.allowed_durations))
"""The spot lengths (s) adsgen's video creatives take; a platform's windows select from these."""
MEZZANINE_MIME_TYPES: frozenset[CreativeMimeType] = frozenset(
    {CreativeMimeType.mp4, CreativeMimeType.quicktime}
)
"""Video files that can serve as a VAST 4 mezzanine file (a source file the ad server
transcodes): MP4 or QuickTime, not an HLS stream or WebM."""

ALWAYS_SOLD: tuple[TargetingKey, ...] = (
    TargetingKey.device, TargetingKey.genre, TargetingKey.geo,
)
"""Keys every platform sells: the world model matches every line item on device, genre and
country, and the providers draw them for line items that leave them open."""

Window = tuple[int, int]
"""An inclusive spot-length window in seconds, e.g. (13, 17)."""
Feature = Literal[
    "pause_ads", "interactive", "shoppable", "ad_selector", "overlays", "qr_codes", "live_ads",
]
"""Formats and features a platform advertises (shown by `adsgen list platforms`)."""


class Pods(StrictModel):
    """The break structure of a viewing hour: how many breaks, how many ads in each, where."""

    breaks_per_hour: float = Field(gt=0, le=30, description="ad breaks per viewing hour")
    ads_per_break: tuple[int, int] = Field(description="fewest and most ads in one break")
    max_break_seconds: int | None = Field(
        default=None, gt=0, le=900, description="the longest break, in seconds"
    )
    position_share: dict[AdPosition, float] = Field(
        description="share of ads by break position (pre_roll, mid_roll, post_roll), sum 1"
    )

    @field_validator("ads_per_break")
    @classmethod
    def _ordered(cls, value: tuple[int, int]) -> tuple[int, int]:
        if not 1 <= value[0] <= value[1] <= 20:
            raise ValueError("ads_per_break must be [fewest, most] with 1 <= fewest <= most <= 20")
        return value

    @field_validator("position_share")
    @classmethod
    def _shares(cls, value: dict[AdPosition, float]) -> dict[AdPosition, float]:
        total = sum(value.values())
        if any(v < 0 for v in value.values()) or abs(total - 1.0) > 1e-6:
            raise ValueError(f"shares must be >= 0 and sum to 1 (they sum to {total:.6f})")
        return value


class CreativeRules(StrictModel):
    """What a platform accepts of a creative; the defaults accept anything adsgen makes."""

    duration_windows: tuple[Window, ...] = Field(
        default=(),
        description="inclusive spot-length windows in seconds ([[13, 17], [28, 31]]); "
        "empty: every length the ad format allows",
    )
    mezzanine_required: bool = Field(
        default=False,
        description="video creatives must be a mezzanine file (video/mp4 or video/quicktime)",
    )
    interactive: bool = Field(
        default=True, description="whether interactive (VPAID/SIMID-style) creatives run"
    )
    stitched_ads: bool = Field(
        default=True,
        description="whether several ads joined in one file are accepted (stated, not checked)",
    )
    skippable: bool | None = Field(default=None, description="stated, not checked")
    clickable: bool | None = Field(default=None, description="stated, not checked")

    @field_validator("duration_windows")
    @classmethod
    def _windows(cls, value: tuple[Window, ...]) -> tuple[Window, ...]:
        for low, high in value:
            if not 1 <= low <= high <= 600:
                raise ValueError(
                    f"window [{low}, {high}] must be [shortest, longest] seconds, 1-600"
                )
        if value and not any(low <= s <= high for s in SPOT_LENGTHS for low, high in value):
            raise ValueError(
                f"no spot length adsgen makes ({', '.join(map(str, SPOT_LENGTHS))} s) fits "
                "these windows, so no video creative could run"
            )
        return value

    @property
    def spot_lengths(self) -> tuple[int, ...]:
        """The spot lengths (of SPOT_LENGTHS) the windows accept; all of them when unset."""
        if not self.duration_windows:
            return SPOT_LENGTHS
        return tuple(s for s in SPOT_LENGTHS if self.takes(s))

    def takes(self, seconds: int) -> bool:
        """Whether a video of `seconds` fits a window (any length when there are none)."""
        return not self.duration_windows or any(
            low <= seconds <= high for low, high in self.duration_windows
        )

    def windows_text(self) -> str:
        """'13-17 s or 28-31 s' (a one-length window as '15 s'); 'any length' when unset."""
        if not self.duration_windows:
            return "any length"
        return " or ".join(f"{lo} s" if lo == hi else f"{lo}-{hi} s"
                           for lo, hi in self.duration_windows)


class Measurement(StrictModel):
    """What a platform claims for its inventory and who measures it (stated, not simulated)."""

    viewability: float | None = Field(default=None, ge=0, le=1, description="claimed share")
    completion: float | None = Field(default=None, ge=0, le=1, description="claimed VCR")
    partners: tuple[str, ...] = Field(default=(), description="verification / measurement")
    reports: tuple[str, ...] = Field(default=(), description="what it reports to buyers")


class PlatformSales(StrictModel):
    """What a buyer can buy on a platform: targeting keys, segment kinds, formats, features."""

    targeting_keys: tuple[TargetingKey, ...] = Field(
        default=tuple(TargetingKey),
        description="targeting keys the platform sells; a line item using another is an error",
    )
    segment_kinds: tuple[SegmentKind, ...] = Field(
        default=tuple(SegmentKind),
        description="audience-segment kinds sold (with targeting key segment)",
    )
    formats: tuple[AdFormat, ...] = Field(
        default=tuple(AdFormat), description="ad formats sold"
    )
    features: tuple[Feature, ...] = Field(default=(), description="advertised features")

    @model_validator(mode="after")
    def _sells_basics(self) -> PlatformSales:
        if not self.formats:
            raise ValueError("formats needs at least one ad format")
        missing = [k.value for k in ALWAYS_SOLD if k not in self.targeting_keys]
        if missing:
            raise ValueError(
                f"targeting_keys must include {', '.join(k.value for k in ALWAYS_SOLD)}: every "
                f"line item is matched on them (missing: {', '.join(missing)})"
            )
        return self


# --- checks where creatives and targeting meet a platform -------------------------------------


def sold_targeting_keys(sales: PlatformSales) -> frozenset[TargetingKey]:
    """The keys a platform sells, as a set."""
    return frozenset(sales.targeting_keys)


def check_targeting(
    targeting: Targeting | Mapping[str, Sequence[object]], sales: PlatformSales, *,
    platform: str, where: str, option: bool = False,
) -> None:
    """SpecError when `targeting` uses a key (with values) or a segment kind the platform does
    not sell, naming the platform, the key and what it sells. The error is at `where`.<key>,
    or at the command-line option `--<key>` when the targeting came from options."""
    values: Mapping[str, Sequence[object]] = (
        {key.value: getattr(targeting, key.value) for key in TargetingKey}
        if isinstance(targeting, Targeting) else targeting
    )
    sold = sold_targeting_keys(sales)
    for name, listed in values.items():
        if listed and TargetingKey(name) not in sold:
            raise SpecError(
                f"platform {platform} does not sell targeting key {name}; it sells "
                f"{', '.join(k.value for k in sales.targeting_keys)}",
                where=f"--{name}" if option else f"{where}.{name}",
            )
    segments = [AudienceSegment(str(s)) for s in values.get("segment", ())]
    unsold = [s for s in segments if s.kind not in sales.segment_kinds]
    if unsold:
        raise SpecError(
            f"platform {platform} does not sell {unsold[0].kind.value} segments "
            f"({unsold[0].value}); it sells {', '.join(k.value for k in sales.segment_kinds)} "
            "segments",
            where="--segment" if option else f"{where}.segment",
        )


def check_format(ad_format: AdFormat, sales: PlatformSales, *, platform: str, where: str) -> None:
    """SpecError when the platform does not sell `ad_format`."""
    if ad_format not in sales.formats:
        raise SpecError(
            f"platform {platform} does not sell ad_format {ad_format.value}; it sells "
            f"{', '.join(f.value for f in sales.formats)}",
            where=where,
        )


def check_creative(
    creative: CreativeBase, rules: CreativeRules, *, platform: str, where: str
) -> None:
    """SpecError when a creative breaks one of the platform's rules (spot length, mezzanine,
    interactive), naming the platform, the rule and the creative."""
    fmt = creative.ad_format
    if fmt.is_video and creative.duration_s is not None and not rules.takes(creative.duration_s):
        raise SpecError(
            f"platform {platform} takes spots of {rules.windows_text()}; creative "
            f"{creative.name!r} is {creative.duration_s} s (allowed: "
            f"{', '.join(map(str, rules.spot_lengths))} s)",
            where=f"{where}.duration_s",
        )
    if fmt.is_video and rules.mezzanine_required and creative.mime_type not in MEZZANINE_MIME_TYPES:
        raise SpecError(
            f"platform {platform} needs a VAST mezzanine file; creative {creative.name!r} is "
            f"{creative.mime_type.value} (allowed: "
            f"{', '.join(sorted(m.value for m in MEZZANINE_MIME_TYPES))})",
            where=f"{where}.mime_type",
        )
    if creative.interactive and not rules.interactive:
        raise SpecError(
            f"platform {platform} runs no interactive (VPAID-style) creatives; creative "
            f"{creative.name!r} is interactive",
            where=f"{where}.interactive",
        )


def check_line_item(
    item: LineItemBase, creatives: Iterable[CreativeBase], *, sales: PlatformSales,
    rules: CreativeRules, platform: str, where: str,
) -> None:
    """Every platform rule for one written line item: format, targeting, each creative."""
    check_format(item.ad_format, sales, platform=platform, where=f"{where}.ad_format")
    check_targeting(item.targeting, sales, platform=platform, where=f"{where}.targeting")
    for index, creative in enumerate(creatives):
        check_creative(creative, rules, platform=platform, where=f"{where}.creatives.{index}")


def fit_durations(choices: Sequence[int], rules: CreativeRules, *, platform: str,
                  where: str) -> tuple[int, ...]:
    """The spot lengths of `choices` the platform takes (a profile's `durations` list is a
    set to draw from); SpecError when none fits. Empty `choices` stay empty (drawn)."""
    if not choices:
        return ()
    fitting = tuple(d for d in choices if rules.takes(d))
    if not fitting:
        raise SpecError(
            f"platform {platform} takes spots of {rules.windows_text()}; none of durations "
            f"{list(choices)} fits (allowed: {', '.join(map(str, rules.spot_lengths))} s)",
            where=where,
        )
    return fitting


def fit_mix(mix: Mapping[int, float], rules: CreativeRules) -> Mapping[int, float]:
    """A spot-length mix narrowed to what the platform takes: the mix itself when the
    platform sets no window (so draws stay as they were); its allowed lengths equally when
    none of the mix fits."""
    if not rules.duration_windows:
        return mix
    kept = {d: w for d, w in mix.items() if rules.takes(d)}
    return kept or dict.fromkeys(rules.spot_lengths, 1.0)


def fit_mime_mix(
    mix: Mapping[CreativeMimeType, float], rules: CreativeRules
) -> Mapping[CreativeMimeType, float]:
    """A video MIME mix narrowed to mezzanine files when the platform needs them (the mix
    itself otherwise, so draws stay as they were)."""
    if not rules.mezzanine_required:
        return mix
    kept = {m: w for m, w in mix.items() if m in MEZZANINE_MIME_TYPES}
    return kept or {CreativeMimeType.mp4: 1.0}
