"""The manifest's ad-pod checks: pod positions reconcile with the performance rows (per
block), and competitive separation holds (across blocks).

- `pod_violations`: every pod_delivery row keeps the funnel order, and per line item ×
  creative × device × UTC day the slot positions add up to the performance rows exactly —
  every video creative's day with impressions has its positions, nothing else has any.
- `industry_use` / `separation_check`: two ads of one industry never share a pod, so in
  every device × UTC hour an industry's impressions (every line item of every block) are at
  most the pods of that hour — the inventory's slots × `world.pods.pods_per_slot`, summed
  over the served geos like the shared-slot law (performance rows carry no geo; the
  allocation keeps it per geo, `world.allocation`). Line items without an industry are not
  separated and not counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from adsgen.build.items import SimLineItem
from adsgen.domain.enums import Industry
from adsgen.runs.manifest import CheckResult, add_slot_use
from adsgen.templates.spec import Platform

if TYPE_CHECKING:
    from collections.abc import Mapping

    import pyarrow as pa

    from adsgen.build.platform_set import PlatformSet

__all__ = ["industry_use", "pod_violations", "separation_check"]

_FUNNEL = ("impressions", "starts", "first_quartile", "midpoint", "third_quartile",
           "completes")
_N_INDUSTRIES = len(Industry)


def _day_parts(table: pa.Table, creative_ids: np.ndarray, column: str) -> tuple[
        np.ndarray, np.ndarray, np.ndarray]:
    """Per row: (index of its creative in `creative_ids`, UTC day number, device code)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from adsgen.world.households import DEVICE_ORDER

    creative = np.searchsorted(creative_ids, table.column("creative_id").to_numpy())
    if column == "hour":
        day = table.column("hour").cast(pa.int64()).to_numpy() // 86_400_000_000
    else:
        day = table.column("day").cast(pa.int32()).to_numpy().astype(np.int64)
    device = pc.fill_null(pc.index_in(table.column("device"), value_set=pa.array(
        [d.value for d in DEVICE_ORDER])), len(DEVICE_ORDER)).to_numpy()
    return creative, day, np.asarray(device, dtype=np.int64)


def pod_violations(tables: Mapping[str, pa.Table], items: Sequence[SimLineItem]) -> tuple[
        int, int]:
    """(line item × creative × device × days checked, those whose pod rows break the funnel
    order or do not add up to the performance rows) for one batch or block."""
    performance, pods = tables["performance"], tables["pod_delivery"]
    creatives = sorted((c.creative_id, c.ad_format.is_video and bool(c.duration_s))
                       for item in items for c in item.creatives)
    ids = np.array([c[0] for c in creatives], dtype=np.int64)
    video = np.array([*(c[1] for c in creatives), False], dtype=np.bool_)  # unknown: no pods
    perf_cre, perf_day, perf_dev = _day_parts(performance, ids, "hour")
    in_pod = video[perf_cre]
    pod_cre, pod_day, pod_dev = _day_parts(pods, ids, "day")
    creative = np.concatenate([perf_cre[in_pod], pod_cre])
    if creative.size == 0:
        return 0, 0
    day = np.concatenate([perf_day[in_pod], pod_day])
    first, days = int(day.min()), int(day.max() - day.min()) + 1
    keys = (creative * days + day - first) * 4 + np.concatenate([perf_dev[in_pod], pod_dev])
    span = int(keys.max()) + 1
    if span <= 4 * keys.size + (1 << 16):  # dense: no sort (as manifest._sum_by_key)
        at, size = keys, span
    else:
        _, at = np.unique(keys, return_inverse=True)
        at, size = at.ravel(), int(at.max()) + 1
    side = np.r_[np.ones(int(in_pod.sum())), -np.ones(pod_cre.size)]
    bad = np.zeros(size, dtype=np.bool_)
    previous = None
    for name in _FUNNEL:
        perf_values = performance.column(name).to_numpy()[in_pod]
        pod_values = pods.column(name).to_numpy()
        gap = np.bincount(at, weights=side * np.r_[perf_values, pod_values], minlength=size)
        bad |= gap != 0
        if previous is not None:
            over = np.bincount(at[perf_values.size:], weights=pod_values > previous,
                               minlength=size)
            bad |= over > 0
        previous = pod_values
    checked = int(np.count_nonzero(np.bincount(at, minlength=size)))
    return checked, int(np.count_nonzero(bad))


def industry_use(performance: pa.Table, items: Sequence[SimLineItem]) -> tuple[
        np.ndarray, np.ndarray]:
    """(industry × device × UTC hour keys, impressions) of a block, summed by key: keys are
    (hour × 3 + device code) × len(Industry) + industry code; the blocks' uses add up with
    `manifest.add_slot_use`."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from adsgen.world.households import DEVICE_ORDER

    industries = list(Industry)
    by_id = sorted((i.line_item_id, industries.index(i.industry) if i.industry else -1)
                   for i in items)
    ids = np.array([b[0] for b in by_id], dtype=np.int64)
    code = np.array([b[1] for b in by_id], dtype=np.int64)
    line = performance.column("line_item_id").to_numpy()
    industry = code[np.minimum(np.searchsorted(ids, line), max(ids.size - 1, 0))] \
        if ids.size else np.full(line.size, -1)
    hours = performance.column("hour").cast(pa.int64()).to_numpy() // 3_600_000_000
    codes = pc.index_in(performance.column("device"),
                        value_set=pa.array([d.value for d in DEVICE_ORDER]))
    if codes.null_count:
        raise ValueError("performance rows of a device outside DEVICE_ORDER")
    device = np.asarray(codes.to_numpy(), dtype=np.int64)
    known = industry >= 0
    keys = (hours[known] * 3 + device[known]) * _N_INDUSTRIES + industry[known]
    return add_slot_use([(keys, performance.column("impressions").to_numpy()[known])])


def separation_check(
    uses: Iterable[tuple[np.ndarray, np.ndarray]], platform: Platform | PlatformSet, seed: int
) -> CheckResult:
    """Competitive separation over every block's `industry_use`: industry × device × hours
    checked, and those whose impressions pass the hour's pods (several platforms: the pods
    of all of them, as the uses do not tell platforms apart)."""
    from adsgen.build.platform_set import platform_set
    from adsgen.world.inventory import hourly_slots
    from adsgen.world.pods import pods_per_slot

    cells, total = add_slot_use(uses)
    if not cells.size:
        return CheckResult()
    hour_device = cells // _N_INDUSTRIES
    hours = hour_device // 3
    pods = np.zeros(cells.size)
    for on in platform_set(platform).platforms:
        inventory = hourly_slots(on, seed, np.unique(hours // 24))
        slots = inventory.slots.sum(axis=0)[hour_device % 3, inventory.hour_index(hours * 3600)]
        pods += slots * pods_per_slot(on)
    bad = int(np.count_nonzero(total > pods))
    return CheckResult(checked=int(cells.size), violations=bad, failed_blocks=int(bad > 0))
