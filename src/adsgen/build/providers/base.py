"""Shared base of the adsgen Faker providers: weighted draws from mappings.

Providers hold their data as class constants and their weights as mappings (value ->
weight); these two helpers turn such a mapping into one draw or a draw of several distinct
values, always through the provider's own seeded `random.Random`, never global state.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from faker.providers import BaseProvider

__all__ = ["WeightedProvider"]

T = TypeVar("T")


class WeightedProvider(BaseProvider):
    """A Faker provider with weighted choice helpers over `{value: weight}` mappings."""

    def weighted(self, weights: Mapping[T, float]) -> T:
        """One value drawn with probability proportional to its weight."""
        keys = list(weights)
        chosen: T = self.generator.random.choices(keys, weights=[weights[k] for k in keys])[0]
        return chosen

    def weighted_sample(self, weights: Mapping[T, float], k: int) -> list[T]:
        """`k` distinct values drawn one after another by weight (fewer if not enough)."""
        pool = {key: weight for key, weight in weights.items() if weight > 0}
        chosen: list[T] = []
        while pool and len(chosen) < k:
            value = self.weighted(pool)
            chosen.append(value)
            del pool[value]
        return chosen
