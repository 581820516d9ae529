"""The world a stream is a view of: the same plan and simulation `adsgen generate` makes.

`plan_source` draws the plan exactly as `adsgen generate` does for the same options and
seed (`adsgen.runs.files.scale_plan`, on one platform or several) and simulates it once
with the batch engine (`adsgen.simulate.simulate`, the shared world settled over the whole
plan): the stream never runs a second model. `StreamSource.hours` then yields the
performance rows hour by hour, in time order, for `adsgen.stream.events` to expand.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from adsgen.build.platform_set import PlatformSet, platform_set
from adsgen.stream.changes import ChangeBook, change_events
from adsgen.stream.events import DEVICE_NAMES, EventWorld, HourRows

if TYPE_CHECKING:
    from adsgen.build.at_scale import ScaledPlan
    from adsgen.build.items import SimLineItem
    from adsgen.templates.spec import Platform

__all__ = ["COUNT_COLUMNS", "StreamSource", "plan_source", "source_of"]

COUNT_COLUMNS: tuple[str, ...] = (
    "impressions", "starts", "first_quartile", "midpoint", "third_quartile", "completes",
    "measurable", "viewable", "invalid", "clicks", "qr_scans", "click_conversions",
    "view_conversions", "cumulative_reach", "spend_micros",
)
"""The performance columns an hour's rows carry into the expansion."""


@dataclass
class StreamSource:
    """A simulated plan, ready to be streamed: its performance rows sorted by hour."""

    items: Sequence[SimLineItem]
    platform: PlatformSet
    """The run's platforms (one or several: each line item on its own)."""
    seed: int
    performance: pa.Table
    """The batch `performance` table of the plan, exactly as the batch writes it."""
    reach: pa.Table
    """The batch `reach` table: the households the stream's ids must add up to."""
    shapes: dict[int, float]
    """Each line item's NBD exposure shape (ground_truth.exposure_shape)."""
    plan: ScaledPlan | None = None
    """The entity tables (when the source was drawn as `generate` draws it)."""

    def __post_init__(self) -> None:
        perf = self.performance
        hour = perf["hour"].cast(pa.int64()).to_numpy() // 1_000_000
        self._order = np.argsort(hour, kind="stable")
        self._hour = hour[self._order]
        dev_names = np.array(DEVICE_NAMES)
        device = perf["device"].to_numpy(zero_copy_only=False)
        self._cols: dict[str, np.ndarray] = {
            "line_item_id": perf["line_item_id"].to_numpy()[self._order],
            "creative_id": perf["creative_id"].to_numpy()[self._order],
            "device": np.searchsorted(dev_names, device[self._order]).astype(np.int64),
        }
        for name in COUNT_COLUMNS:
            self._cols[name] = perf[name].to_numpy()[self._order]

    @property
    def first_hour(self) -> int | None:
        """Epoch seconds of the first hour with rows (None: no rows)."""
        return int(self._hour[0]) if len(self._hour) else None

    @property
    def end_hour(self) -> int | None:
        """Epoch seconds just after the last hour with rows."""
        return int(self._hour[-1]) + 3600 if len(self._hour) else None

    def world(self) -> EventWorld:
        """A fresh event expansion state for this plan (reach starts at 0), carrying the
        plan's entity tables (for sinks that write them, the database sync)."""
        world = EventWorld(self.items, self.platform, self.seed, self.reach, self.shapes)
        world.entities = self.plan.arrow_tables() if self.plan is not None else {}
        world.changes = change_events(world.entities, self.performance, self.seed,
                                      self.first_hour, self.end_hour)
        world.book = ChangeBook.of(world.entities)
        return world

    def hours(self, start: int | None = None, stop: int | None = None) -> Iterator[HourRows]:
        """The rows of each hour from `start` (epoch s, included) to `stop` (excluded), in
        time order; every hour of the range, an empty HourRows where no row falls."""
        first, end = self.first_hour, self.end_hour
        if first is None or end is None:
            return
        begin = first if start is None else max(first, start - start % 3600)
        stop = end if stop is None else min(end, stop)
        lo = int(np.searchsorted(self._hour, begin, side="left"))
        for hour in range(begin, stop, 3600):
            hi = int(np.searchsorted(self._hour, hour, side="right"))
            yield HourRows(hour=hour, columns={k: v[lo:hi] for k, v in self._cols.items()})
            lo = hi


def source_of(items: Sequence[SimLineItem], platform: Platform | PlatformSet,
              seed: int) -> StreamSource:
    """A source from line items already numbered (the Python API, tests): simulated once,
    each line item on its platform of `platform` (one, or the run's)."""
    from adsgen.simulate import simulate

    plats = platform_set(platform)
    result = simulate(items, platform=plats, seed=seed)
    return StreamSource(items=items, platform=plats, seed=seed,
                        performance=result.performance, reach=result["reach"],
                        shapes=_shapes(result["ground_truth"]))


def plan_source(
    *,
    seed: int,
    line_items: int | None,
    advertisers: int | None,
    days: int,
    start: datetime,
    platform: str,
    templates_dir: Path | None = None,
) -> StreamSource:
    """The plan `adsgen generate` draws for these options and seed (`runs.files.scale_plan`:
    one platform or several, 'a,b,c'), simulated once.

    Raises AdsgenError for bad options (counts, days, start, platforms), as `generate` does.
    """
    from adsgen.runs.files import scale_plan
    from adsgen.simulate import simulate

    plan, plats, _ = scale_plan(seed=seed, advertisers=advertisers, line_items=line_items,
                                days=days, start=start, platform=platform,
                                templates_dir=templates_dir)
    result = simulate(plan.items, platform=plats, seed=seed)
    return StreamSource(items=plan.items, platform=plats, seed=seed,
                        performance=result.performance, reach=result["reach"],
                        shapes=_shapes(result["ground_truth"]), plan=plan)


def _shapes(truth: pa.Table) -> dict[int, float]:
    """line item id → its exposure shape (the same on each of its device rows)."""
    return dict(zip(truth["line_item_id"].to_pylist(), truth["exposure_shape"].to_pylist(),
                    strict=True))
