"""Advertiser provider: fictional brand names and domains per industry, and campaign names.

Names are a coined stem ("Velora", "Ostwyn") plus an industry word ("Motors", "Foods"), so
they read like brands without being one; domains end in the reserved `.example` TLD
(RFC 2606), so nothing generated ever points at a real site. Industry words are disjoint
between industries, which lets `indexed_name` give every advertiser index of a run its own
name (see that method).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar

from adsgen.build import pools
from adsgen.build.pools import slugify
from adsgen.build.providers.base import WeightedProvider
from adsgen.domain.enums import Industry, Objective
from adsgen.domain.schemas import AdvertiserCreate
from adsgen.seeding import rng

__all__ = ["AdvertiserProvider", "slugify"]


class AdvertiserProvider(WeightedProvider):
    """Fictional advertisers: industry mix, brand names, `.example` domains, campaign names."""

    INDUSTRY_MIX: ClassVar[Mapping[Industry, float]] = pools.INDUSTRY_MIX
    STEM_HEADS: ClassVar[tuple[str, ...]] = pools.STEM_HEADS
    STEM_TAILS: ClassVar[tuple[str, ...]] = pools.STEM_TAILS
    TAKEN_STEMS: ClassVar[frozenset[str]] = pools.TAKEN_STEMS
    INDUSTRY_WORDS: ClassVar[Mapping[Industry, tuple[str, ...]]] = pools.INDUSTRY_WORDS
    OBJECTIVE_WORDS: ClassVar[Mapping[Objective, tuple[str, ...]]] = pools.OBJECTIVE_WORDS
    SEASONS: ClassVar[tuple[str, ...]] = pools.SEASONS

    def industry(self) -> Industry:
        """An industry drawn by its share of streaming advertisers."""
        return self.weighted(self.INDUSTRY_MIX)

    def advertiser_name(self, industry: Industry) -> str:
        """A random fictional brand name for the industry, e.g. 'Velora Motors'."""
        word = self.random_element(self.INDUSTRY_WORDS[industry])
        return f"{self.random_element(self._stems())} {word}"

    def indexed_name(self, industry: Industry, *, seed: int, index: int) -> str:
        """The `index`-th name of a seeded shuffle of the industry's names.

        Distinct indices give distinct names within a run (same seed), whatever their
        industries: a seeded affine permutation walks every stem x word pair once, then
        repeats with a number appended.
        """
        stems, words = self._stems(), self.INDUSTRY_WORDS[industry]
        size = len(stems) * len(words)
        step_rng = rng(seed, "advertiser-names")
        step = int(step_rng.integers(1, size))
        while math.gcd(step, size) != 1:
            step += 1
        offset = int(step_rng.integers(size))
        cycle, position = divmod(index, size)
        slot = (step * position + offset) % size
        name = f"{stems[slot // len(words)]} {words[slot % len(words)]}"
        return f"{name} {cycle + 1}" if cycle else name

    def advertiser_domain(self, name: str) -> str:
        """A host under the reserved `.example` TLD: 'Velora Motors' -> 'veloramotors.example'."""
        return f"{slugify(name)}.example"

    def campaign_name(self, objective: Objective) -> str:
        """A planner-style campaign name, e.g. 'Holiday Brand Launch'."""
        season = self.random_element(self.SEASONS)
        return f"{season} {self.random_element(self.OBJECTIVE_WORDS[objective])}"

    def fake_advertiser(
        self, industry: Industry | None = None, *, name: str | None = None
    ) -> AdvertiserCreate:
        """An advertiser with no campaigns; unnamed fields are drawn."""
        industry = industry or self.industry()
        name = name or self.advertiser_name(industry)
        return AdvertiserCreate(
            name=name, industry=industry, domain=self.advertiser_domain(name)
        )

    def _stems(self) -> tuple[str, ...]:
        return pools.STEMS

