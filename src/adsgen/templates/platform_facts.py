"""A platform's key facts in a few plain values: what `adsgen list platforms` shows.

`key_facts` reads a validated `Platform` (templates/spec.py) and returns JSON-able values
(numbers and short lists) for the table and for `--json`; `fact_line` turns the same facts
into one short text per column for the Rich table. No I/O, no formatting of money beyond
dollars.
"""

from __future__ import annotations

from typing import Any

from adsgen.domain.enums import AdFormat, AdPosition, DeviceType, TargetingKey
from adsgen.domain.markets import SegmentKind
from adsgen.templates.platform_rules import ALWAYS_SOLD
from adsgen.templates.spec import Platform

__all__ = ["key_facts", "table_row"]


def key_facts(platform: Platform) -> dict[str, Any]:
    """Households, device mix, ad load, pods, spot lengths, CPM range, what it sells and its
    claims: the facts that tell platforms apart, as plain JSON-able values."""
    rules, sells, pods = platform.creative_rules, platform.sells, platform.pods
    return {
        "households": platform.households,
        "geos": sorted(platform.geo_timezones),
        "device_mix": {d.value: share for d, share in platform.device_mix.items()},
        "ad_minutes_per_hour": round(platform.ad_seconds_per_hour / 60, 2),
        "pods": None if pods is None else {
            "breaks_per_hour": pods.breaks_per_hour,
            "ads_per_break": list(pods.ads_per_break),
            "max_break_seconds": pods.max_break_seconds,
            "position_share": {p.value: s for p, s in pods.position_share.items()},
        },
        "spot_lengths": list(rules.spot_lengths),
        "duration_windows": [list(w) for w in rules.duration_windows],
        "mezzanine_required": rules.mezzanine_required,
        "interactive": rules.interactive,
        "stitched_ads": rules.stitched_ads,
        "cpm_range": list(platform.cpm_range),
        "targeting_keys": [k.value for k in sells.targeting_keys],
        "segment_kinds": [k.value for k in sells.segment_kinds]
        if "segment" in sells.targeting_keys else [],
        "formats": [f.value for f in sells.formats],
        "features": list(sells.features),
        "measurement": platform.measurement.model_dump(exclude_defaults=True),
        "subscriber_overlap": dict(platform.subscriber_overlap),
    }


def table_row(description: str, source: str, facts: dict[str, Any]) -> dict[str, str]:
    """A platform's `adsgen list platforms` table: each fact as a short text."""
    pods = facts["pods"]
    pod = "-" if pods is None else (
        f"{pods['breaks_per_hour']:g} breaks/h of {pods['ads_per_break'][0]}-"
        f"{pods['ads_per_break'][1]} ads, "
        f"{pods['position_share'].get(AdPosition.mid_roll.value, 0):.0%} mid-roll"
    )
    windows = facts["duration_windows"]
    spots = ", ".join(f"{lo}" if lo == hi else f"{lo}-{hi}" for lo, hi in windows) + " s" \
        if windows else "any"
    basic = {k.value for k in (*ALWAYS_SOLD, TargetingKey.daypart, TargetingKey.media_rating)}
    extra = [k for k in facts["targeting_keys"] if k not in basic]
    kinds = facts["segment_kinds"]
    every_kind = len(kinds) == len(SegmentKind)
    sold = ", ".join(
        (f"segment: {'all' if every_kind else '/'.join(kinds)}") if k == "segment" else k
        for k in extra
    )
    formats = facts["formats"]
    shown_formats = "all" if len(formats) == len(AdFormat) else ", ".join(formats)
    claims = facts["measurement"]
    claimed = ", ".join(f"{key} {claims[key]:.0%}" for key in ("viewability", "completion")
                        if key in claims)
    low, high = facts["cpm_range"]
    return {
        "what": description,
        "households": f"{facts['households'] / 1e6:g} M",
        "on TV screens": f"{facts['device_mix'].get(DeviceType.ctv.value, 0):.0%}",
        "ads an hour": f"{facts['ad_minutes_per_hour']:g} min",
        "pods": pod,
        "spot lengths": spots + (", mezzanine file" if facts["mezzanine_required"] else ""),
        "CPM": f"${low:g}-{high:g}",
        "sells": sold or "-",
        "formats": shown_formats,
        "claims": claimed or "-",
        "source": source,
    }
