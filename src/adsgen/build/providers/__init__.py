"""Seeded Faker providers, one per topic, and the name -> class table the registry reads.

Providers are `faker.providers.BaseProvider` subclasses that hold their data as class
constants and their weights as mappings. `Fakes.seeded(seed, stream, entity_id)` gives one
set of them sharing a private, seeded Faker generator (never the global `random`).
"""

from __future__ import annotations

from dataclasses import dataclass

from faker import Generator

from adsgen.build.providers.advertiser import AdvertiserProvider
from adsgen.build.providers.base import WeightedProvider
from adsgen.build.providers.budget import BudgetProvider
from adsgen.build.providers.creative import CreativeProvider
from adsgen.build.providers.targeting import TargetingProvider
from adsgen.seeding import child_seed

__all__ = [
    "PROVIDERS",
    "AdvertiserProvider",
    "BudgetProvider",
    "CreativeProvider",
    "Fakes",
    "TargetingProvider",
    "seeded_generator",
]

PROVIDERS: dict[str, type[WeightedProvider]] = {
    "advertiser": AdvertiserProvider,
    "budget": BudgetProvider,
    "targeting": TargetingProvider,
    "creative": CreativeProvider,
}


def seeded_generator(seed: int, stream: str, entity_id: int = 0) -> Generator:
    """A Faker generator with every adsgen provider, seeded from (seed, stream, entity).

    Its methods (`fake.fake_targeting()`, …) are untyped Faker dispatch; typed code uses
    `Fakes` instead.
    """
    generator = Generator()
    for provider in PROVIDERS.values():
        generator.add_provider(provider)
    generator.seed_instance(child_seed(seed, stream, entity_id))
    return generator


@dataclass(frozen=True, slots=True)
class Fakes:
    """The four providers over one seeded generator, with typed methods."""

    advertiser: AdvertiserProvider
    budget: BudgetProvider
    targeting: TargetingProvider
    creative: CreativeProvider

    @classmethod
    def seeded(cls, seed: int, stream: str, entity_id: int = 0) -> Fakes:
        """Providers drawing from the generator keyed by (seed, stream, entity)."""
        generator = seeded_generator(seed, stream, entity_id)
        return cls(
            advertiser=AdvertiserProvider(generator),
            budget=BudgetProvider(generator),
            targeting=TargetingProvider(generator),
            creative=CreativeProvider(generator),
        )
