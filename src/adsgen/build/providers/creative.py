"""Creative provider: format, MIME type, duration, size, QR and asset URL that agree.

CTV takes 15 s and 30 s spots (realism.md C.9); phones and PCs also run 6 s bumpers and
10 s cuts. `video/mp4` dominates, HLS and mezzanine QuickTime show up on CTV (VAST 4.3).
QR codes (AdCOM creative attribute 19) are a CTV habit; interactive formats nearly always
carry one. Asset URLs are https under the advertiser's `.example` host.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import ClassVar

from adsgen.build import pools
from adsgen.build.providers.base import WeightedProvider
from adsgen.domain.enums import AdFormat, AdPosition, CreativeMimeType, DeviceType
from adsgen.domain.schemas import CreativeCreate
from adsgen.templates.platform_rules import CreativeRules, fit_mime_mix, fit_mix

_ANY = CreativeRules()
"""Rules that accept every creative (no platform given)."""

__all__ = ["CreativeProvider"]


class CreativeProvider(WeightedProvider):
    """Creative and placement draws; every argument the caller gives is kept as is."""

    POSITION_MIX: ClassVar[Mapping[AdPosition, float]] = pools.POSITION_MIX
    DURATION_MIX: ClassVar[Mapping[DeviceType, Mapping[int, float]]] = pools.DURATION_MIX
    VIDEO_MIME_MIX: ClassVar[Mapping[DeviceType, Mapping[CreativeMimeType, float]]] = (
        pools.VIDEO_MIME_MIX
    )
    IMAGE_MIME_MIX: ClassVar[Mapping[CreativeMimeType, float]] = pools.IMAGE_MIME_MIX
    SIZES: ClassVar[Mapping[DeviceType, Mapping[tuple[int, int], float]]] = pools.SIZES
    EXTENSIONS: ClassVar[Mapping[CreativeMimeType, str]] = pools.EXTENSIONS
    QR_RATE: ClassVar[Mapping[DeviceType, float]] = pools.QR_RATE
    INTERACTIVE_QR_RATE: ClassVar[float] = pools.INTERACTIVE_QR_RATE
    CREATIVE_COUNT: ClassVar[Mapping[int, float]] = pools.CREATIVE_COUNT
    CONCEPTS: ClassVar[tuple[str, ...]] = pools.CONCEPTS

    def ad_position(self) -> AdPosition:
        """Where in the break a line item buys: mostly mid-roll."""
        return self.weighted(self.POSITION_MIX)

    def creative_count(self) -> int:
        """How many creatives rotate in a line item."""
        return self.weighted(self.CREATIVE_COUNT)

    def duration(
        self, devices: Sequence[DeviceType] = (), choices: Sequence[int] = (),
        rules: CreativeRules = _ANY,
    ) -> int:
        """A spot length: from `choices` if given, else by lead device (CTV if open); only
        lengths the platform's `rules` take (the caller checked that `choices` has one)."""
        if choices:
            fitting = [d for d in choices if rules.takes(d)] or list(choices)
            return int(self.random_element(fitting))
        return self.weighted(fit_mix(self.DURATION_MIX[_lead_device(devices)], rules))

    def mime_type(
        self, ad_format: AdFormat, devices: Sequence[DeviceType] = (),
        rules: CreativeRules = _ANY,
    ) -> CreativeMimeType:
        """A MIME type the format accepts, video by device (a mezzanine file where the
        platform's `rules` need one), images for static formats."""
        if ad_format.is_video:
            return self.weighted(fit_mime_mix(self.VIDEO_MIME_MIX[_lead_device(devices)], rules))
        return self.weighted(self.IMAGE_MIME_MIX)

    def make_profile_creative(
        self,
        *,
        name: str | None = None,
        host: str = "cdn.adsgen.example",
        devices: Sequence[DeviceType] = (),
        ad_format: AdFormat | None = None,
        durations: Sequence[int] = (),
        mime_type: CreativeMimeType | None = None,
        has_qr: bool | None = None,
        interactive: bool | None = None,
        rules: CreativeRules = _ANY,
    ) -> CreativeCreate:
        """A creative consistent with itself, the line item's devices and the platform's
        creative `rules` (spot lengths, mezzanine) for what it draws.

        `interactive=True` implies the interactive_video format; a static format (pause ad,
        overlay) gets an image and no duration; CTV-capable line items get 15/30 s spots.
        """
        if ad_format is None:
            ad_format = AdFormat.interactive_video if interactive else AdFormat.video
        if interactive is None:
            interactive = ad_format is AdFormat.interactive_video
        device = _lead_device(devices)
        if has_qr is None:
            rate = self.INTERACTIVE_QR_RATE if interactive else self.QR_RATE[device]
            has_qr = self.generator.random.random() < rate
        duration = self.duration(devices, durations, rules) if ad_format.is_video else None
        mime_type = mime_type or self.mime_type(ad_format, devices, rules)
        width, height = self.weighted(self.SIZES[device])
        concept = self.random_element(self.CONCEPTS)
        if name is None:
            name = f"{concept} {duration}s" if duration else f"{concept} {ad_format.value}"
        token = self.lexify("????????", letters="abcdefghijklmnopqrstuvwxyz0123456789")
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "creative"
        url = f"https://{host}/creatives/{slug}-{token}.{self.EXTENSIONS[mime_type]}"
        return CreativeCreate(
            name=name,
            ad_format=ad_format,
            mime_type=mime_type,
            duration_s=duration,
            asset_url=url,
            width=width,
            height=height,
            has_qr=has_qr,
            interactive=interactive,
        )


def _lead_device(devices: Sequence[DeviceType]) -> DeviceType:
    """The device whose creative rules apply: CTV when the line item may serve there."""
    if not devices or DeviceType.ctv in devices:
        return DeviceType.ctv
    return devices[0]
