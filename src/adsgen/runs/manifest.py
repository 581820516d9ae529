"""The run manifest (`manifest.json`) and the per-block invariant checks it reports.

`check_block` runs cheap, vectorized checks of realism.md section C on one block's
simulated tables (every row, no sampling) and returns counts that add up across blocks;
`Manifest` records what a run produced — adsgen version, seed, spec hash, platform,
engine, row counts and bytes per table, every file written (rows and bytes), time taken,
and those check results — so a directory of files says how it was made and whether its
rows hold the invariants. `compare_folder` holds a folder against that file list: what
`--overwrite` may delete and what `load` may read is decided from it, never from names.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, is_dataclass
from datetime import UTC, date, datetime
from enum import Enum
from functools import cache
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from adsgen.domain.enums import DeviceType
from adsgen.domain.fields import utc_timestamps
from adsgen.runs.reconcile import grain_violations

if TYPE_CHECKING:
    import pyarrow as pa

    from adsgen.build.items import SimLineItem
    from adsgen.build.platform_set import PlatformSet
    from adsgen.templates.spec import Platform

__all__ = [
    "MANIFEST_NAME",
    "CheckCounts",
    "CheckResult",
    "FileEntry",
    "FolderDiff",
    "Manifest",
    "TableStats",
    "add_slot_use",
    "canonical_json",
    "check_block",
    "compare_folder",
    "first_names",
    "merge_checks",
    "recorded_files",
    "spec_hash",
    "walk",
]

MANIFEST_NAME = "manifest.json"
_MANIFEST_MAX_BYTES = 256 << 20  # a run of 10^6 files lists ~80 MB

CheckCounts = tuple[int, int]
"""(rows or groups checked, violations) of one check on one block."""


# --- spec hash ---------------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, frozenset | set):
        return sorted(value)
    return str(value)


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys: equal inputs give equal text on every machine."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_default,
                      ensure_ascii=True, allow_nan=False)


def spec_hash(
    items: Sequence[SimLineItem], *, platform: Platform | PlatformSet, seed: int,
    spec: Any = None,
) -> str:
    """sha256 (hex) of the canonical JSON of everything the output depends on.

    That is the line items, the platform, the seed and, when given, the user's spec
    (a template, CLI options …). Equal hashes mean equal generated rows.
    """
    from adsgen.build.platform_set import platform_set

    plats = platform_set(platform)
    payload = {
        "seed": seed,
        "platform": plats.primary.model_dump(mode="json") if len(plats.platforms) == 1
        else [p.model_dump(mode="json") for p in plats.platforms],
        "line_items": [_values(item) for item in items],
        "spec": spec,
    }
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


_GETTERS: dict[type, Callable[[Any], tuple[Any, ...]] | None] = {}


def _values(value: Any) -> Any:
    """A dataclass as the list of its field values, recursively (tuples as lists, datetimes
    as text): what `asdict` says without the field names, much faster on 20,000 line items
    (one look-up per value's type)."""
    kind = type(value)
    if kind not in _GETTERS:
        _GETTERS[kind] = (attrgetter(*(f.name for f in fields(value)))
                          if is_dataclass(value) and not isinstance(value, type) else None)
    getter = _GETTERS[kind]
    if getter is not None:
        return [_values(v) for v in getter(value)]
    if kind is tuple or kind is list:
        return [_values(v) for v in value]
    if kind is datetime:
        return _iso(value)
    return value


@cache
def _iso(value: datetime) -> str:
    """A datetime as canonical JSON writes it (cached: a plan holds few distinct ones)."""
    text: str = _json_default(value)
    return text


# --- invariant checks --------------------------------------------------------------------

_COUNTS = (
    "impressions", "starts", "first_quartile", "midpoint", "third_quartile", "completes",
    "measurable", "viewable", "invalid", "clicks", "qr_scans", "click_conversions",
    "view_conversions", "cumulative_reach", "spend_micros",
)

CHECKS: dict[str, str] = {
    "no_nulls": "no column of performance is null",
    "non_negative": "every count and the spend are >= 0",
    "hour_aligned": "hours are whole UTC hours",
    "funnel_order": "completes <= third_quartile <= midpoint <= first_quartile <= starts"
                    " <= impressions",
    "viewability": "viewable <= measurable <= impressions",
    "within_impressions": "invalid <= impressions; clicks and qr_scans <= impressions - invalid"
                          " (invalid traffic never clicks or scans)",
    "known_creative": "the creative belongs to the row's line item",
    "qr_needs_qr_creative": "qr_scans = 0 unless the creative has a QR code",
    "spend_is_valid_impressions_x_cpm": "spend_micros = (impressions - invalid) x cpm_micros"
                                        " / 1000, rounded down once (IVT is not billed)",
    "within_flight": "no delivery outside the flight [start_at, end_at)",
    "active_and_servable": "no delivery for an inactive line item or unservable creative",
    "lifetime_budget": "line item spend <= lifetime budget",
    "daily_cap": "line item spend per day of its campaign's time zone <= daily cap",
    "reach_le_impressions": "cumulative reach <= impressions so far (line item x device)",
    "reach_le_audience": "cumulative reach <= ground-truth audience (line item x device)",
    "reach_non_decreasing": "cumulative reach never decreases (line item x device)",
    "grains_reconcile": "per line item, daily sums = hourly sums (every count, spend) and daily"
                        " incremental conversions = conversion_truth's; the MMM rows hold"
                        " exactly the daily spend, impressions, attributed and incremental"
                        " conversions and marginal value, and KPI = baseline + incremental",
    "experiment_arms_reconcile": "per line item with an experiment: the treatment arm holds"
                                 " its performance impressions and spend and every"
                                 " incremental conversion of conversion_truth; both arms'"
                                 " baseline conversions are shares of conversion_truth's",
    "shared_slots": "impressions x slots per impression of all line items <= the ad slots of"
                    " each device x UTC hour (every geo): the shared-slot law",
    "pods_reconcile": "pod_delivery rows keep the funnel order and, per line item x creative x"
                      " device x UTC day, add up to the performance rows of video creatives",
    "markets_reconcile": "market_delivery rows add up, per line item x UTC day, to the"
                         " performance rows of line items that target DMAs or states (no"
                         " other has any), valid impressions, completes and clicks <="
                         " impressions on each",
    "competitive_separation": "one industry's impressions <= the pods (ad breaks) of each"
                              " device x UTC hour (every geo): two ads of one industry are"
                              " never in one pod",
}
"""Check name → what it asserts (realism.md section C)."""


_SENTINEL = np.iinfo(np.int64).max


def _column(values: list[Any], sentinel: Any) -> np.ndarray:
    """A lookup column with one sentinel entry appended (so indexes are always valid)."""
    return np.array([*values, sentinel])


def _lookup(keys: np.ndarray, sorted_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index into sorted_ids, found?) for each key; sorted_ids ends with _SENTINEL."""
    index = np.minimum(np.searchsorted(sorted_ids, keys), sorted_ids.size - 1)
    return index, (sorted_ids[index] == keys) & (keys != _SENTINEL)


def check_block(
    tables: Mapping[str, pa.Table], items: Sequence[SimLineItem]
) -> dict[str, CheckCounts]:
    """Every check of `CHECKS` on one block: name → (rows or groups checked, violations).

    `tables` are the block's simulated tables by name (a SimResult); `items` the line items
    it simulated. Every row is checked, vectorized.
    """
    import pyarrow as pa

    performance, ground_truth = tables["performance"], tables["ground_truth"]
    n = performance.num_rows
    nulls = sum(performance.column(c).null_count for c in performance.column_names)
    if nulls:  # the remaining checks need complete columns
        return {"no_nulls": (n, n)}
    col = {name: performance.column(name).to_numpy() for name in _COUNTS}
    line = performance.column("line_item_id").to_numpy()
    creative = performance.column("creative_id").to_numpy()
    micros = utc_timestamps(performance.select(["hour"])).column(0).cast(pa.int64()).to_numpy()
    hour = micros // 1_000_000  # epoch seconds
    imp = col["impressions"]
    out: dict[str, CheckCounts] = {"no_nulls": (n, 0)}

    def rows(name: str, bad: np.ndarray) -> None:
        out[name] = (n, int(np.count_nonzero(bad)))

    rows("non_negative", np.logical_or.reduce([col[c] < 0 for c in _COUNTS]))
    rows("hour_aligned", micros % 3_600_000_000 != 0)
    funnel = [imp, col["starts"], col["first_quartile"], col["midpoint"],
              col["third_quartile"], col["completes"]]
    rows("funnel_order", np.logical_or.reduce(
        [funnel[i + 1] > funnel[i] for i in range(len(funnel) - 1)]))
    rows("viewability", (col["viewable"] > col["measurable"]) | (col["measurable"] > imp))
    valid = imp - col["invalid"]
    rows("within_impressions",
         (col["invalid"] > imp) | (col["clicks"] > valid) | (col["qr_scans"] > valid))

    # Per line item and per creative facts, looked up by sorted id. A sentinel last entry
    # (never matched) keeps every lookup index valid, even for an empty block.
    by_id = sorted(items, key=lambda it: it.line_item_id)
    epoch = datetime(1970, 1, 1)
    ids = _column([it.line_item_id for it in by_id], _SENTINEL)
    starts = _column([int((it.start - epoch).total_seconds()) for it in by_id], 0)
    ends = _column([int((it.end - epoch).total_seconds()) for it in by_id], 0)
    active = _column([it.active for it in by_id], False)
    cpm = _column([it.cpm_micros for it in by_id], 0)
    budget = _column([it.budget_micros for it in by_id], -1)
    daily = _column([it.daily_cap_micros or -1 for it in by_id], -1)
    cr = sorted((c.creative_id, it.line_item_id, c.servable, c.has_qr)
                for it in by_id for c in it.creatives)
    cr_ids = _column([c[0] for c in cr], _SENTINEL)
    cr_owner = _column([c[1] for c in cr], _SENTINEL)
    cr_servable = _column([c[2] for c in cr], False)
    cr_qr = _column([c[3] for c in cr], False)

    li, li_found = _lookup(line, ids)
    ci, ci_found = _lookup(creative, cr_ids)
    known = li_found & ci_found & (cr_owner[ci] == line)
    rows("known_creative", ~known)
    rows("qr_needs_qr_creative", (col["qr_scans"] > 0) & ~(known & cr_qr[ci]))
    rows("spend_is_valid_impressions_x_cpm",
         ~li_found | (col["spend_micros"] != valid * cpm[li] // 1000))
    delivered = imp > 0
    rows("within_flight", delivered & (~li_found | (hour < starts[li]) | (hour >= ends[li])))
    rows("active_and_servable", delivered & ~(known & active[li] & cr_servable[ci]))

    # Group checks (line item, line item x UTC day, line item x device) on dense integer
    # keys with bincount: exact for sums below 2**53 micros, far beyond any budget.
    spend = col["spend_micros"]
    present = np.bincount(li, minlength=ids.size) > 0
    spent = np.bincount(li, weights=spend, minlength=ids.size)
    out["lifetime_budget"] = (int(np.count_nonzero(present)),
                              int(np.count_nonzero(present & (spent > budget))))
    local = _local_day(by_id, li, hour)
    first = int(local.min()) if local.size else 0
    days = int(local.max()) - first + 1 if local.size else 1
    day_cells, day_spent = _sum_by_key(li * days + (local - first), spend)
    day_li = day_cells // days
    capped = daily[day_li] >= 0
    out["daily_cap"] = (int(np.count_nonzero(capped)),
                        int(np.count_nonzero(capped & (day_spent > daily[day_li]))))
    _series_checks(performance, ground_truth, ids, li, hour, imp, out)
    out["grains_reconcile"] = grain_violations(tables)
    from adsgen.runs.pods import pod_violations

    out["pods_reconcile"] = pod_violations(tables, items)
    from adsgen.runs.markets import market_violations

    out["markets_reconcile"] = market_violations(tables, items)
    from adsgen.simulate.experiments import reconcile

    out["experiment_arms_reconcile"] = reconcile(tables)
    return out


# Multiplier that keeps (series, hour) keys apart: > hours in 1000 years.
_SPAN = 1 << 24


_DEVICE_SLOTS = len(DeviceType) + 1  # one code per device, one for any unknown device


def _device_codes(table: pa.Table) -> np.ndarray:
    """Each row's device as a code (unknown devices share the last code)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    known = pa.array([d.value for d in DeviceType])
    codes = pc.fill_null(pc.index_in(table.column("device"), value_set=known), len(known))
    return np.asarray(codes.to_numpy(), dtype=np.int64)


def _series_checks(
    performance: pa.Table,
    ground_truth: pa.Table,
    ids: np.ndarray,
    li: np.ndarray,
    hour: np.ndarray,
    impressions: np.ndarray,
    out: dict[str, CheckCounts],
) -> None:
    """Reach checks per line item x device series.

    Rows are ordered by (series, hour) — a stable sort, cheap when rows already come in
    order — and each hour's lowest reach is compared with the previous hour's highest, so
    several creatives in one hour never count as a decrease.
    """
    series = li * _DEVICE_SLOTS + _device_codes(performance)
    if series.size == 0:
        out.update(reach_le_impressions=(0, 0), reach_le_audience=(0, 0),
                   reach_non_decreasing=(0, 0))
        return
    key = series * _SPAN + (hour - hour.min()) // 3600
    order = np.argsort(key, kind="stable")
    key = key[order]
    reach = performance.column("cumulative_reach").to_numpy()[order]
    hours = np.flatnonzero(np.diff(key, prepend=key[0] - 1))  # first row of each series-hour
    low, high = np.minimum.reduceat(reach, hours), np.maximum.reduceat(reach, hours)
    group = key[hours] // _SPAN
    decreasing = np.flatnonzero((group[1:] == group[:-1]) & (low[1:] < high[:-1]))
    firsts = np.flatnonzero(np.diff(group, prepend=group[0] - 1))  # first hour of each series
    top = np.maximum.reduceat(high, firsts)
    names = group[firsts]
    total = np.bincount(np.searchsorted(names, series), weights=impressions,
                        minlength=names.size)
    out["reach_le_impressions"] = (names.size, int(np.count_nonzero(top > total)))
    truth_li, truth_found = _lookup(ground_truth.column("line_item_id").to_numpy(), ids)
    truth = truth_li[truth_found] * _DEVICE_SLOTS + _device_codes(ground_truth)[truth_found]
    audience = ground_truth.column("audience").to_numpy()[truth_found]
    by_truth = np.argsort(truth)
    where = np.minimum(np.searchsorted(truth[by_truth], names), max(truth.size - 1, 0))
    matched = truth[by_truth][where] == names if truth.size else np.zeros(names.size, bool)
    limit = audience[by_truth][where] if truth.size else np.zeros(names.size, np.int64)
    out["reach_le_audience"] = (names.size, int(np.count_nonzero(~matched | (top > limit))))
    out["reach_non_decreasing"] = (names.size, int(np.unique(group[1:][decreasing]).size))


def merge_checks(
    blocks: Iterable[Mapping[str, CheckCounts]],
) -> dict[str, CheckResult]:
    """Sum the per-block counts into one result per check (blocks failing counted)."""
    merged: dict[str, CheckResult] = {}
    for block in blocks:
        for name, (checked, violations) in block.items():
            prior = merged.get(name, CheckResult())
            merged[name] = CheckResult(
                checked=prior.checked + checked,
                violations=prior.violations + violations,
                failed_blocks=prior.failed_blocks + (violations > 0),
            )
    return {name: merged[name] for name in sorted(merged)}


def _local_day(items: Sequence[SimLineItem], li: np.ndarray, hour: np.ndarray) -> np.ndarray:
    """Each row's day in its line item's time zone (rows of unknown line items: UTC)."""
    from adsgen.simulate.pacing import local_days

    known = li < len(items)
    days = hour // 86400
    if known.any():
        days[known] = local_days(items, li[known], hour[known])
    return days


# --- the shared-slot law: across blocks --------------------------------------------------


PLATFORM_STRIDE = 1 << 40
"""Slot-use keys: platform code × PLATFORM_STRIDE + hour × 3 + device (hours < 2^38)."""


def slot_use(
    performance: pa.Table, items: Sequence[SimLineItem], *, platforms: Sequence[str] = (),
) -> tuple[np.ndarray, np.ndarray]:
    """(platform × device × UTC hour keys, slots used) of a block: Σ impressions × slots per
    impression.

    Keys are the platform's index in `platforms` (the run's, in order; 0 when not given)
    × PLATFORM_STRIDE + hour (hours since the epoch) × 3 + device code (DEVICE_ORDER); the
    blocks' uses add up in `shared_slot_check`, each platform against its own slots.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from adsgen.world.households import DEVICE_ORDER
    from adsgen.world.inventory import slot_units

    creatives = sorted((c for i in items for c in i.creatives), key=lambda c: c.creative_id)
    ids = np.array([c.creative_id for c in creatives], dtype=np.int64)
    units = slot_units(np.array([c.duration_s or 0 for c in creatives], dtype=np.int64),
                       np.array([c.ad_format.is_video and bool(c.duration_s)
                                 for c in creatives], dtype=np.bool_))
    rows = performance.column("creative_id").to_numpy()
    used = performance.column("impressions").to_numpy() * units[np.searchsorted(ids, rows)]
    hours = performance.column("hour").cast(pa.int64()).to_numpy() // 3_600_000_000
    device = pc.index_in(performance.column("device"),
                         value_set=pa.array([d.value for d in DEVICE_ORDER]))
    if device.null_count:
        raise ValueError("performance rows of a device outside DEVICE_ORDER")
    keys = hours * 3 + np.asarray(device.to_numpy(), dtype=np.int64)
    if len(platforms) > 1:
        code = pc.index_in(performance.column("platform"), value_set=pa.array(list(platforms)))
        if code.null_count:
            raise ValueError("performance rows of a platform outside the run's")
        keys += np.asarray(code.to_numpy(), dtype=np.int64) * PLATFORM_STRIDE
    return _sum_by_key(keys, used)


def _sum_by_key(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct keys, ascending; the sum of `values` per key) as int64.

    Keys of a block span a few thousand values (hours × devices, line item × days), so a
    dense bincount over their range is linear; a sort (np.unique) only when they are sparse.
    """
    if keys.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    low = int(keys.min())
    span = int(keys.max()) - low + 1
    if span > 4 * keys.size + (1 << 16):
        cells, index = np.unique(keys, return_inverse=True)
        return cells, np.bincount(index.ravel(), weights=values).astype(np.int64)
    offset = keys - low
    present = np.flatnonzero(np.bincount(offset, minlength=span))
    sums = np.bincount(offset, weights=values, minlength=span)[present]
    return present + low, sums.astype(np.int64)


def add_slot_use(uses: Iterable[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """The sum of several `slot_use` results (batches of a block, blocks of a run), by key.

    A block sends one sum back, not one per batch: a year-long block has thousands of batches,
    and the run's parent would otherwise hold them all until the end.
    """
    parts = [u for u in uses if u[0].size]
    if not parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return _sum_by_key(np.concatenate([k for k, _ in parts]),
                       np.concatenate([u for _, u in parts]))


def shared_slot_check(
    uses: Iterable[tuple[np.ndarray, np.ndarray]], platform: Platform | PlatformSet, seed: int
) -> CheckResult:
    """The shared-slot law over every block's `slot_use`: platform × device × hours
    checked, violated (each platform's use against its own slots)."""
    from adsgen.build.platform_set import platform_set
    from adsgen.world.inventory import hourly_slots

    plats = platform_set(platform)
    keys, used = add_slot_use(uses)
    if not keys.size:
        return CheckResult()
    bad = 0
    code = keys // PLATFORM_STRIDE
    for index, on in enumerate(plats.platforms):
        mine = code == index
        if not mine.any():
            continue
        cells, total = keys[mine] % PLATFORM_STRIDE, used[mine]
        hours = cells // 3
        inventory = hourly_slots(on, seed, np.unique(hours // 24))
        slots = inventory.slots.sum(axis=0)[cells % 3, inventory.hour_index(hours * 3600)]
        bad += int(np.count_nonzero(total > slots))
    return CheckResult(checked=int(keys.size), violations=bad, failed_blocks=int(bad > 0))


# --- the manifest ------------------------------------------------------------------------


class CheckResult(BaseModel):
    """One invariant over the whole run: rows (or groups) checked and those violating it."""

    model_config = ConfigDict(extra="forbid")

    checked: int = 0
    violations: int = 0
    failed_blocks: int = 0

    @property
    def passed(self) -> bool:
        """True when no row or group violated the check."""
        return self.violations == 0


class TableStats(BaseModel):
    """What was written for one table."""

    model_config = ConfigDict(extra="forbid")

    rows: int
    bytes: int
    files: int


class FileEntry(BaseModel):
    """One file a run wrote, by its path relative to the run's folder."""

    model_config = ConfigDict(extra="forbid")

    rows: int
    bytes: int


class Manifest(BaseModel):
    """Everything about one generation run, saved as `manifest.json` next to its files."""

    model_config = ConfigDict(extra="forbid")

    adsgen_version: str
    created_at: datetime
    seed: int
    spec_hash: str
    platform: str
    format: str
    engine: str
    workers: int
    block_size: int
    blocks: int
    line_items: int
    tables: dict[str, TableStats]
    files: dict[str, FileEntry] | None = None
    """Every file written but the manifest (POSIX path relative to the folder, sorted);
    None in manifests written before adsgen recorded them."""
    elapsed_seconds: float
    allocation_seconds: float = 0.0
    """Of `elapsed_seconds`, the time spent settling the shared world (`world.allocate`)."""
    rows_per_second: float
    checks: dict[str, CheckResult]
    checks_passed: int
    checks_failed: int

    @property
    def ok(self) -> bool:
        """True when every invariant check passed."""
        return self.checks_failed == 0

    def write(self, directory: Path) -> Path:
        """Write `<directory>/manifest.json` (indented, keys in a stable order); its path."""
        path = Path(directory) / MANIFEST_NAME
        path.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def read(cls, path: Path) -> Manifest:
        """Read a manifest file (or the `manifest.json` inside a directory)."""
        path = Path(path)
        if path.is_dir():
            path = path / MANIFEST_NAME
        return cls.model_validate_json(path.read_text(encoding="utf-8"))


def now_utc() -> datetime:
    """The current time as naive UTC, to the second (how adsgen stores times)."""
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


# --- a folder against its manifest ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FolderDiff:
    """How a folder differs from a manifest's file list (POSIX paths, sorted).

    `unrecorded`: entries the list does not hold (files, symlinks, folders holding none of
    the listed files — a folder ends with "/"); `changed`: listed files of another size or
    no longer regular files; `missing`: listed files that are gone.
    """

    unrecorded: list[str]
    changed: list[str]
    missing: list[str]


def walk(
    directory: Path, *, descend: Callable[[str], bool] = lambda name: True
) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """Every entry under `directory` as (POSIX path relative to it, entry), symlinks never
    followed; a folder is yielded, then entered when `descend(its path)` says so."""
    pending = [(directory, "")]
    while pending:
        folder, prefix = pending.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                name = prefix + entry.name
                yield name, entry
                if entry.is_dir(follow_symlinks=False) and descend(name):
                    pending.append((Path(entry.path), name + "/"))


def compare_folder(directory: Path, files: Mapping[str, FileEntry]) -> FolderDiff:
    """`directory` against `files` (a manifest's list); its own manifest.json counts as
    listed when it is a regular file. Symlinks are never followed."""
    listed = {**files}
    folders = {name.rsplit("/", i)[0] for name in listed for i in range(1, name.count("/") + 1)}
    unrecorded: list[str] = []
    changed: list[str] = []
    seen: set[str] = set()
    for name, entry in walk(Path(directory), descend=lambda name: name in folders):
        if entry.is_dir(follow_symlinks=False):
            if name not in folders:
                unrecorded.append(name + "/")
        elif name == MANIFEST_NAME and entry.is_file(follow_symlinks=False):
            continue
        elif name not in listed:
            unrecorded.append(name)
        else:
            seen.add(name)
            regular = entry.is_file(follow_symlinks=False)
            if not regular or entry.stat(follow_symlinks=False).st_size != listed[name].bytes:
                changed.append(name)
    return FolderDiff(sorted(unrecorded), sorted(changed), sorted(set(listed) - seen))


def recorded_files(directory: Path) -> dict[str, FileEntry]:
    """The files a previous run in `directory` wrote, as its manifest.json lists them; empty
    without a manifest. Raises AdsgenError for a manifest adsgen cannot read or one that
    lists no files (written before adsgen recorded them): then nothing is adsgen's for sure.
    """
    from adsgen.exceptions import AdsgenError

    path = Path(directory) / MANIFEST_NAME
    if not os.path.lexists(path):
        return {}
    try:
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > _MANIFEST_MAX_BYTES:
            raise ValueError("not a regular file of at most 256 MiB")
        manifest = Manifest.read(path)
    except (OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise AdsgenError(f"{str(path)!r} is not an adsgen manifest ({reason})") from exc
    if manifest.files is None:
        raise AdsgenError(f"{str(path)!r} lists no files (an older adsgen wrote it)")
    return manifest.files


def first_names(names: Sequence[str], most: int = 3) -> str:
    """`a, b, c …`: the first `most` names of a list, for one error line."""
    return ", ".join(names[:most]) + (" …" if len(names) > most else "")
