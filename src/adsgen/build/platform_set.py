"""The platforms of one run, and which one each line item buys on (issue 12).

A line item buys on exactly one platform (`SimLineItem.platform`, the `platform` column of
line_items), as a DSP buys one line item per supply source; a campaign buys several
platforms through several line items. `PlatformSet` is what a run passes down instead of
one `Platform`: the run's platforms in order, the first being the platform of a line item
that names none (as before multi-platform plans). Every function that took a Platform for
the whole run takes a `Platform | PlatformSet` (`platform_set` turns either into a set), so
a one-platform run reads and computes exactly as it did. Each platform's world (households,
slots, allocation) and the overlap of their subscribers: `adsgen.world.platforms`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from adsgen.build.items import SimLineItem
from adsgen.exceptions import AdsgenError
from adsgen.templates.spec import Platform

__all__ = ["PlatformSet", "platform_set"]


@dataclass(frozen=True)
class PlatformSet:
    """The run's platforms, the first being the platform of a line item that names none.

    Picklable (it travels with block tasks to process pools and Dask workers). Raises
    ValueError when empty or when two platforms share a name.
    """

    platforms: tuple[Platform, ...]
    buying: tuple[str, ...] = ()
    """The platforms a template naming none buys on (the run's `--platform` list); empty:
    all of `platforms`. The others are loaded because a template names them."""

    def __post_init__(self) -> None:
        if not self.platforms:
            raise ValueError("a run has at least one platform")
        names = [p.name for p in self.platforms]
        if len(set(names)) != len(names):
            raise ValueError(f"platforms given twice: {names}")

    @property
    def primary(self) -> Platform:
        """The platform of line items naming none (the first `--platform`)."""
        return self.platforms[0]

    @property
    def names(self) -> tuple[str, ...]:
        """The platforms' names, in the run's order."""
        return tuple(p.name for p in self.platforms)

    @property
    def default_names(self) -> tuple[str, ...]:
        """The platforms a template or line item naming none buys on."""
        return self.buying or self.names

    def by_name(self, name: str) -> Platform:
        """The platform called `name` ("": the primary); AdsgenError naming the run's
        platforms when the run has none of that name."""
        if not name:
            return self.primary
        for platform in self.platforms:
            if platform.name == name:
                return platform
        raise AdsgenError(
            f"a line item buys on platform {name}, which this run does not load; the run's "
            f"platforms: {', '.join(self.names)} (add it with --platform)")

    def name_of(self, item: SimLineItem) -> str:
        """The name of the platform `item` buys on."""
        return item.platform or self.primary.name

    def of(self, item: SimLineItem) -> Platform:
        """The platform `item` buys on."""
        return self.by_name(item.platform)

    def groups(self, items: Iterable[SimLineItem]) -> dict[str, list[SimLineItem]]:
        """`items` by the name of their platform (names in the run's order, items in theirs);
        platforms without line items are left out."""
        found: dict[str, list[SimLineItem]] = {}
        for item in items:
            found.setdefault(self.name_of(item), []).append(item)
        for name in found:
            self.by_name(name)  # an unknown name is an error, not a silent default
        return {name: found[name] for name in self.names if name in found}

    def used(self, items: Iterable[SimLineItem]) -> PlatformSet:
        """The platforms `items` buy on, in the run's order (the primary when none)."""
        names = set(self.groups(items))
        kept = tuple(p for p in self.platforms if p.name in names)
        return PlatformSet(kept or (self.primary,))


def platform_set(platform: Platform | PlatformSet | Sequence[Platform]) -> PlatformSet:
    """A PlatformSet from one platform, a sequence of them (first: the primary) or a set."""
    if isinstance(platform, PlatformSet):
        return platform
    if isinstance(platform, Platform):
        return PlatformSet((platform,))
    return PlatformSet(tuple(platform))
