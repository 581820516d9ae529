"""Advertiser provider: fictional brand names and domains per industry, and campaign names.

Names are a coined stem ("Velora", "Ostwyn") plus an industry word ("Motors", "Foods"), so
they read like brands without being one; domains end in the reserved `.example` TLD
(RFC 2606), so nothing generated ever points at a real site. Industry words are disjoint
between industries, which lets `indexed_name` give every advertiser index of a run its own
name (see that method).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import ClassVar

from adsgen.domain.enums import Industry, Objective
from adsgen.build.providers.base import WeightedProvider
from adsgen.domain.schemas import AdvertiserCreate
from adsgen.seeding import rng

__all__ = ["AdvertiserProvider", "slugify"]


def slugify(text: str) -> str:
    """Lower-case ASCII letters and digits only: 'Luxury Auto Co' -> 'luxuryautoco'."""
    return re.sub(r"[^a-z0-9]", "", text.lower()) or "brand"


class AdvertiserProvider(WeightedProvider):
    """Fictional advertisers: industry mix, brand names, `.example` domains, campaign names."""

    # Share of advertisers by vertical on premium streaming (rough, CTV spend rankings).
    INDUSTRY_MIX: ClassVar[Mapping[Industry, float]] = {
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
    STEM_HEADS: ClassVar[tuple[str, ...]] = (
        "Al", "Bel", "Brev", "Cor", "Dar", "El", "Fen", "Gal", "Har", "Ist", "Jor", "Kel",
        "Lum", "Mar", "Nor", "Ost", "Pel", "Quin", "Ros", "Sol", "Tam", "Ul", "Ver", "Wex",
        "Yar", "Zel", "Cal", "Dov", "Fal", "Gren",
    )
    STEM_TAILS: ClassVar[tuple[str, ...]] = (
        "aro", "eth", "ion", "ora", "umi", "ova", "wyn", "ara", "esta", "ulo",
        "ano", "ier", "osk", "ette", "avi", "enby", "ith", "oma", "uvia", "ando",
    )
    # Stems that happen to spell a well-known brand are never used.
    TAKEN_STEMS: ClassVar[frozenset[str]] = frozenset({"Marion", "Solara", "Corona", "Elora"})
    # Industry words; disjoint between industries so names never collide across them.
    INDUSTRY_WORDS: ClassVar[Mapping[Industry, tuple[str, ...]]] = {
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
    OBJECTIVE_WORDS: ClassVar[Mapping[Objective, tuple[str, ...]]] = {
        Objective.awareness: ("Awareness", "Brand Launch", "Reach", "Brand Lift"),
        Objective.consideration: ("Consideration", "Discovery", "Engagement", "Product Story"),
        Objective.conversion: ("Conversion", "Acquisition", "Sign-ups", "Sales Push"),
    }
    SEASONS: ClassVar[tuple[str, ...]] = (
        "Q1", "Q2", "Q3", "Q4", "Spring", "Summer", "Fall", "Holiday", "Back to School", "New Year",
    )

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
        return _STEMS


_STEMS: tuple[str, ...] = tuple(
    head + tail
    for head in AdvertiserProvider.STEM_HEADS
    for tail in AdvertiserProvider.STEM_TAILS
    if head + tail not in AdvertiserProvider.TAKEN_STEMS
)
