"""Targeting benchmark (issue 12): what DMA, state and segment targeting do to one buy.

One line item on `roku_like` (US, all week, $200,000 at a $23 CPM, no frequency cap, seed 5)
is simulated alone untargeted and with each targeting below; each row prints its targetable
households (ground_truth), impressions, peak reach, frequency (impressions ÷ reach), planned
frequency (ground truth) and the pacing shortfall reasons. Then the data premium: the mean CPM
of a scale plan of `youtube_tv_like` drawn with and without an in-market segment (same seed),
and the conversion lift of that segment (conversion_truth.incremental_rate_max ratio).

    .venv/bin/python benchmarks/targeting.py
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np

from adsgen.build.at_scale import build_scaled
from adsgen.build.items import SimCreative, SimLineItem
from adsgen.domain.enums import (
    AdFormat,
    AdPosition,
    Objective,
    PacingPeriod,
    PacingType,
)
from adsgen.domain.markets import AudienceSegment
from adsgen.domain.schemas import Targeting
from adsgen.simulate import simulate
from adsgen.templates import catalog

SEED = 5
START = datetime(2026, 3, 2)


def _item(**changes: object) -> SimLineItem:
    """The benchmark's line item, with `changes`."""
    base = SimLineItem(
        line_item_id=1, campaign_id=1, advertiser_id=1, start=START,
        end=START + timedelta(days=7), active=True, objective=Objective.awareness,
        ad_format=AdFormat.video, position=AdPosition.mid_roll, cpm_micros=23_000_000,
        budget_micros=200_000 * 1_000_000, daily_cap_micros=None,
        pacing_type=PacingType.even, pacing_period=PacingPeriod.flight, frequency_cap=None,
        creatives=(SimCreative(1, AdFormat.video, 30, False, False, True),), geos=("US",))
    return replace(base, **changes)


def delivery() -> None:
    """One row per targeting of the roku_like buy."""
    platform = catalog.get_platform("roku_like")
    cases = [
        ("untargeted", _item()),
        ("dma 501 (New York)", _item(dmas=("501",))),
        ("dma 501, 803 (+ Los Angeles)", _item(dmas=("501", "803"))),
        ("state TX", _item(states=("TX",))),
        ("segment viewers_live_sports", _item(segments=(AudienceSegment.viewers_live_sports,))),
        ("dma 798 (Glendive)", _item(dmas=("798",))),
    ]
    print(f"{'targeting':<30} {'targetable':>12} {'impressions':>12} {'reach':>10} "
          f"{'freq':>5} {'planned':>7}  shortfall reasons")
    for name, item in cases:
        result = simulate([item], platform=platform, seed=SEED)
        truth = result["ground_truth"].to_pylist()[0]
        impressions = int(np.sum(result["performance"]["impressions"].to_numpy()))
        reach = int(np.max(result["reach"]["reach"].to_numpy()))
        reasons = sorted(set(result["pacing"]["shortfall_reason"].to_pylist()))
        print(f"{name:<30} {truth['targetable_households']:>12,} {impressions:>12,} "
              f"{reach:>10,} {impressions / max(reach, 1):>5.1f} "
              f"{truth['planned_frequency']:>7.2f}  {', '.join(reasons)}")


def rates() -> None:
    """The CPM premium and conversion lift of an in-market segment on youtube_tv_like."""
    platform = catalog.get_platform("youtube_tv_like")
    profile = catalog.get_profile("cross_screen")
    segment = profile.model_copy(update={"targeting": Targeting(segment=["in_market_auto"])})
    plain = build_scaled(seed=SEED, platform=platform, line_items=300, profiles=[profile])
    shopping = build_scaled(seed=SEED, platform=platform, line_items=300, profiles=[segment])
    before = np.mean([i.cpm_micros for i in plain.items]) / 1e6
    after = np.mean([i.cpm_micros for i in shopping.items]) / 1e6
    print(f"\nyoutube_tv_like, 300 line items of cross_screen: mean CPM ${before:.2f} untargeted,"
          f" ${after:.2f} with in_market_auto (× {after / before:.3f}; premium 1.25)")
    base = _item(segments=())
    lift = [simulate([replace(base, segments=s)], platform=platform, seed=SEED)[
        "conversion_truth"]["incremental_rate_max"].to_numpy()[0]
        for s in ((), (AudienceSegment.in_market_auto,))]
    print(f"incremental_rate_max {lift[0]:.3e} untargeted, {lift[1]:.3e} in-market"
          f" (× {lift[1] / lift[0]:.2f})")


def main() -> None:
    """Print both parts."""
    delivery()
    rates()


if __name__ == "__main__":
    main()
