"""The worlds of a run's platforms, and how their subscribers overlap.

Design (issue 12): a line item buys on exactly one platform (`SimLineItem.platform`, the
`platform` column of line_items; the run's platforms: `adsgen.build.platform_set`), as a DSP
buys one line item per supply source; a campaign buys several platforms through several
line items. Each platform is its own world: its
households, its inventory and its allocation (`world.allocate`) are computed for its line
items only, so a line item competes for the slots of its platform with the plan's other
line items there, never with those of another platform. The simulation then runs each
batch on one platform (`simulate.engine`), and the line-item fact tables carry the
platform's name in their `platform` column.

**The overlap model** (`Overlap`, `dedup_reach`): households subscribe to several
platforms. The universe is UNIVERSE_HOUSEHOLDS TV households (at least the largest
platform's). Platforms p and q share O_pq households: the mean of what their files state
(`subscriber_overlap`: share of p's households also on q, × H_p, and the reverse), at most
min(H_p, H_q); a pair neither file names shares H_p × H_q / N (independence). Subscription
is log-linear with pairwise terms only: a household is on every platform of a set T with
probability Π_{p∈T} π_p × Π_{pairs of T} λ_pq, π_p = H_p / N and λ_pq = O_pq N / (H_p H_q).
A campaign reaches R_p of p's households, independently of its other platforms given the
subscriptions (each platform's ad server knows nothing of the others), within the
households it targets: targeting selects a trait a household has on every platform (a
genre's fans, a device, a market), a share τ of the universe (its targetable households
over its platforms' households), among which the platforms overlap as they do overall. So
the households it reaches on every platform of T number N' × Π (R_p / N') × Π λ_pq with
N' = τN — for a pair, R_p R_q O_pq / (τ H_p H_q): the shared subscribers times both reach
shares of the targeted audiences. Inclusion–exclusion over the subsets of the campaign's
platforms (at most 2^7 − 1 terms, each one array operation over all campaigns × days) gives
the de-duplicated reach, kept within
[max R_p, Σ R_p]. Within one platform, a campaign's line items duplicate at random over
its households: R_p = H_p (1 − Π_i (1 − R_i / H_p)), summed as hazards −ln(1 − R_i / H_p)
so that any grouping of line items into blocks gives the same integers
(`simulate.campaign_reach`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from adsgen.build.items import SimLineItem
from adsgen.build.platform_set import PlatformSet, platform_set
from adsgen.templates.spec import Platform
from adsgen.world.allocation import Allocation, allocate

__all__ = [
    "UNIVERSE_HOUSEHOLDS", "Overlap", "allocate_each", "allocations", "allocations_for",
    "dedup_reach", "from_hazard", "hazard",
]

F64 = NDArray[np.float64]

UNIVERSE_HOUSEHOLDS = 125_000_000
"""TV households the platforms draw their subscribers from (Nielsen's US TV-household
universe for 2024-25 is about 125 M): a modelling choice, raised to the largest platform's
households when one has more."""


def allocate_each(
    items: Sequence[SimLineItem], platforms: Platform | PlatformSet, seed: int
) -> dict[str, Allocation]:
    """Each platform's allocation (`world.allocate`), settled among its own line items only
    (a platform's slots are competed for by the line items buying on it), by name."""
    plats = platform_set(platforms)
    return {name: allocate(group, plats.by_name(name), seed)
            for name, group in plats.groups(items).items()}


def allocations(
    allocation: Allocation | Mapping[str, Allocation] | None, platforms: PlatformSet
) -> dict[str, Allocation] | None:
    """Allocations by platform name from what a caller passed: None, one platform's (the
    primary's) or several by name."""
    if allocation is None:
        return None
    if isinstance(allocation, Allocation):
        return {platforms.primary.name: allocation}
    return dict(allocation)


def allocations_for(
    world: Mapping[str, Allocation], items: Sequence[SimLineItem], platforms: PlatformSet
) -> dict[str, Allocation]:
    """The allocations of a block's `items` only (what a block task carries)."""
    return {name: world[name].for_items(group)
            for name, group in platforms.groups(items).items() if name in world}


@dataclass(frozen=True)
class Overlap:
    """The subscriber overlap of some platforms (the module's model), in their order.

    `households` (k,) H_p; `shared` (k, k) O_pq (the diagonal is H_p); `universe` N.
    """

    names: tuple[str, ...]
    households: F64
    shared: F64
    universe: float

    @classmethod
    def of(cls, platforms: Sequence[Platform]) -> Overlap:
        """The overlap of `platforms` from their files' `subscriber_overlap`."""
        names = tuple(p.name for p in platforms)
        size = np.array([float(p.households) for p in platforms])
        universe = float(max(UNIVERSE_HOUSEHOLDS, *size.tolist())) if names else 1.0
        k = len(platforms)
        shared = np.diag(size).astype(np.float64)
        for i in range(k):
            for j in range(i + 1, k):
                stated = [share * size[a] for a, b in ((i, j), (j, i))
                          if (share := platforms[a].subscriber_overlap.get(names[b]))
                          is not None]
                both = (sum(stated) / len(stated) if stated
                        else size[i] * size[j] / universe)
                shared[i, j] = shared[j, i] = min(both, size[i], size[j])
        return cls(names=names, households=size, shared=shared, universe=universe)

    def lift(self) -> F64:
        """(k, k) λ_pq = O_pq N / (H_p H_q) (1 on the diagonal, unused)."""
        lam = self.shared * self.universe / np.outer(self.households, self.households)
        np.fill_diagonal(lam, 1.0)
        return np.asarray(lam, dtype=np.float64)

    def together(self, reach: F64, members: Sequence[int], share: F64 | None = None) -> F64:
        """Households reached on every platform of `members` (indexes), per row of `reach`
        ((rows, k) households reached per platform): N' × Π (R_p / N') × Π λ_pq, where
        N' = `share` × N is the universe of the households the campaign targets (`share`
        per row, 1 when None)."""
        lam = self.lift()
        universe = self.universe * (np.ones(reach.shape[0]) if share is None else share)
        term = universe.copy()
        for a in members:
            term = term * (reach[:, a] / universe)
        for x, a in enumerate(members):
            for b in members[x + 1:]:
                term = term * lam[a, b]
        return term


def dedup_reach(overlap: Overlap, reach: F64, share: F64 | None = None) -> tuple[F64, F64]:
    """(de-duplicated households reached, households reached on each platform also reached
    on another) per row of `reach` ((rows, k): each platform's reach, 0 where the campaign
    does not run) under the module's overlap model: inclusion–exclusion over every subset
    of the k platforms, vectorized over the rows. `share` (per row, default 1) is the share
    of households the campaign targets: targeting selects a household trait (a genre's
    fans, a device, a market) that a household has on every platform, so the campaign's
    reach on each platform falls in one targeted universe of share × N households, where
    the platforms overlap as they do overall. The de-duplicated reach is kept within
    [max_p R_p, Σ_p R_p], each platform's overlap within [0, R_p]."""
    rows, k = reach.shape
    union = np.zeros(rows)
    shared = np.zeros((rows, k))
    for mask in range(1, 1 << k):
        members = [p for p in range(k) if mask >> p & 1]
        term = overlap.together(reach, members, share)
        sign = 1.0 if len(members) % 2 else -1.0
        union += sign * term
        if len(members) > 1:  # p's households also reached on the others of the subset
            for p in members:
                # Σ over subsets S ∋ p, |S| ≥ 2, of (−1)^|S| |∩S| = |A_p ∩ ∪others|
                shared[:, p] += -sign * term
    total = reach.sum(axis=1)
    union = np.clip(union, reach.max(axis=1, initial=0.0), total)
    shared = np.clip(shared, 0.0, reach)
    return union, shared


def hazard(reach: F64, households: F64) -> F64:
    """−ln(1 − R / H): the additive form of random duplication within a platform (capped
    at 30: a line item reaching every household)."""
    share = np.clip(reach / np.maximum(households, 1.0), 0.0, 1.0)
    with np.errstate(divide="ignore"):
        return np.minimum(-np.log1p(-share), 30.0)


def from_hazard(total: F64, households: F64) -> F64:
    """Households reached on a platform from the summed hazards of its line items."""
    return np.asarray(households * -np.expm1(-total), dtype=np.float64)

