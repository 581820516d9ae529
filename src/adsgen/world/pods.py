"""Ad pods of the shared world: how a platform's slots group into breaks, and what that
implies for slot positions and competitive separation.

A viewing household-hour carries `breaks_per_hour` breaks (pods) and `ad_seconds_per_hour`
of ads in slots of `SLOT_SECONDS` (`world.inventory`), so every geo × device × hour holds

    pods = slots × SLOT_SECONDS × breaks_per_hour ÷ ad_seconds_per_hour

breaks (`pods_per_slot`). Competitive separation — two ads of one industry never in one
pod — makes this a law of the data: in every geo × device × hour one industry's impressions
are at most its pods (`world.allocation` keeps each industry's asks under it).

Within a pod of n ads (n uniform over the platform's `ads_per_break`, fewest to most) one ad
is first, one is last and n − 2 are in the middle; a pod of one ad has only a first ad.
`slot_shares` is each position's share of all ads. A platform without `pods:` uses
DEFAULT_PODS (netflix_like's: 4 breaks an hour of 2–4 ads).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from adsgen.domain.enums import AdPosition
from adsgen.templates.platform_rules import Pods
from adsgen.templates.spec import Platform
from adsgen.world.inventory import SLOT_SECONDS

__all__ = ["DEFAULT_PODS", "SLOT_POSITIONS", "platform_pods", "pods_per_slot", "slot_shares"]

F64 = NDArray[np.float64]

SLOT_POSITIONS: tuple[str, ...] = ("first", "middle", "last")
"""An ad's place in its pod, in pod order (codes 0, 1, 2)."""

DEFAULT_PODS = Pods(
    breaks_per_hour=4,
    ads_per_break=(2, 4),
    position_share={AdPosition.pre_roll: 0.25, AdPosition.mid_roll: 0.70,
                    AdPosition.post_roll: 0.05},
)
"""The pods of a platform that states none (netflix_like's, realism.md F)."""


def platform_pods(platform: Platform) -> Pods:
    """The platform's pods, DEFAULT_PODS when its file states none."""
    return platform.pods if platform.pods is not None else DEFAULT_PODS


def pods_per_slot(platform: Platform) -> float:
    """Pods (breaks) per slot of the inventory: SLOT_SECONDS × breaks_per_hour ÷ ad load.

    Netflix-like: 15 × 4 ÷ 240 = 0.25, so an industry may fill at most a quarter of a
    cell's slots (in impressions)."""
    return SLOT_SECONDS * platform_pods(platform).breaks_per_hour / platform.ad_seconds_per_hour


def slot_shares(pods: Pods) -> F64:
    """(3,) share of all ads in the first, middle and last slot of their pod, for pods of
    n ads with n uniform over `ads_per_break` (a lone ad is first)."""
    fewest, most = pods.ads_per_break
    n = np.arange(fewest, most + 1, dtype=np.float64)
    counts = np.array([n.size, np.maximum(n - 2.0, 0.0).sum(), float(np.count_nonzero(n >= 2))])
    shares: F64 = counts / n.sum()
    return shares
