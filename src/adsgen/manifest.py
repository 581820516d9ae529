"""The run manifest (`manifest.json`) and the per-block invariant checks it reports.

`check_block` runs cheap, vectorized checks of realism.md section C on one block's
simulated tables (every row, no sampling) and returns counts that add up across blocks;
`Manifest` records what a run produced — adsgen version, seed, spec hash, platform,
engine, row counts and bytes per table, time taken, and those check results — so a
directory of files says how it was made and whether its rows hold the invariants.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, date, datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    import pyarrow as pa

    from adsgen.simulate.inputs import SimLineItem
    from adsgen.spec import Platform

__all__ = [
    "MANIFEST_NAME",
    "CheckCounts",
    "CheckResult",
    "Manifest",
    "TableStats",
    "canonical_json",
    "check_block",
    "merge_checks",
    "spec_hash",
]

MANIFEST_NAME = "manifest.json"

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
    items: Sequence[SimLineItem], *, platform: Platform, seed: int, spec: Any = None
) -> str:
    """sha256 (hex) of the canonical JSON of everything the output depends on.

    That is the line items, the platform, the seed and, when given, the user's spec
    (a template, CLI options …). Equal hashes mean equal generated rows.
    """
    payload = {
        "seed": seed,
        "platform": platform.model_dump(mode="json"),
        "line_items": [asdict(item) for item in items],
        "spec": spec,
    }
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


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
    "within_impressions": "clicks, invalid and qr_scans <= impressions",
    "known_creative": "the creative belongs to the row's line item",
    "qr_needs_qr_creative": "qr_scans = 0 unless the creative has a QR code",
    "spend_is_impressions_x_cpm": "spend_micros = impressions x cpm_micros / 1000,"
                                  " rounded once",
    "within_flight": "no delivery outside the flight [start, end)",
    "active_and_servable": "no delivery for an inactive line item or unservable creative",
    "lifetime_budget": "line item spend <= lifetime budget",
    "daily_cap": "line item spend per UTC day <= daily cap",
    "reach_le_impressions": "cumulative reach <= impressions so far (line item x device)",
    "reach_le_audience": "cumulative reach <= ground-truth audience (line item x device)",
    "reach_non_decreasing": "cumulative reach never decreases (line item x device)",
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


def _group_sum(
    table: pa.Table, keys: list[str], column: str, how: str = "sum"
) -> pa.Table:
    return table.group_by(keys, use_threads=False).aggregate([(column, how)])


def check_block(
    performance: pa.Table, ground_truth: pa.Table, items: Sequence[SimLineItem]
) -> dict[str, CheckCounts]:
    """Every check of `CHECKS` on one block: name → (rows or groups checked, violations).

    `items` are the line items the block simulated; every row is checked, vectorized.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    n = performance.num_rows
    nulls = sum(performance.column(c).null_count for c in performance.column_names)
    if nulls:  # the remaining checks need complete columns
        return {"no_nulls": (n, n)}
    col = {name: performance.column(name).to_numpy() for name in _COUNTS}
    line = performance.column("line_item_id").to_numpy()
    creative = performance.column("creative_id").to_numpy()
    hour = performance.column("hour").cast(pa.timestamp("s")).cast(pa.int64()).to_numpy()
    imp = col["impressions"]
    out: dict[str, CheckCounts] = {"no_nulls": (n, 0)}

    def rows(name: str, bad: np.ndarray) -> None:
        out[name] = (n, int(np.count_nonzero(bad)))

    rows("non_negative", np.logical_or.reduce([col[c] < 0 for c in _COUNTS]))
    rows("hour_aligned", hour % 3600 != 0)
    funnel = [imp, col["starts"], col["first_quartile"], col["midpoint"],
              col["third_quartile"], col["completes"]]
    rows("funnel_order", np.logical_or.reduce(
        [funnel[i + 1] > funnel[i] for i in range(len(funnel) - 1)]))
    rows("viewability", (col["viewable"] > col["measurable"]) | (col["measurable"] > imp))
    rows("within_impressions",
         (col["clicks"] > imp) | (col["invalid"] > imp) | (col["qr_scans"] > imp))

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
    rows("spend_is_impressions_x_cpm",
         ~li_found | (np.abs(col["spend_micros"] * 1000 - imp * cpm[li]) >= 1000))
    delivered = imp > 0
    rows("within_flight", delivered & (~li_found | (hour < starts[li]) | (hour >= ends[li])))
    rows("active_and_servable", delivered & ~(known & active[li] & cr_servable[ci]))

    # Group checks: per line item, per line item x UTC day, per line item x device.
    spent = _group_sum(performance, ["line_item_id"], "spend_micros")
    g_li, g_found = _lookup(spent.column("line_item_id").to_numpy(), ids)
    g_sum = spent.column("spend_micros_sum").to_numpy()
    out["lifetime_budget"] = (spent.num_rows, int(np.count_nonzero(
        ~g_found | (g_sum > budget[g_li]))))
    day = pa.table({"line_item_id": performance.column("line_item_id"),
                    "day": pa.array(hour // 86400),
                    "spend_micros": performance.column("spend_micros")})
    daily_sums = _group_sum(day, ["line_item_id", "day"], "spend_micros")
    d_li, d_found = _lookup(daily_sums.column("line_item_id").to_numpy(), ids)
    capped = d_found & (daily[d_li] >= 0)
    d_sum = daily_sums.column("spend_micros_sum").to_numpy()
    out["daily_cap"] = (int(np.count_nonzero(capped)), int(np.count_nonzero(
        capped & (d_sum > daily[d_li]))))

    reach = performance.group_by(["line_item_id", "device"], use_threads=False).aggregate(
        [("cumulative_reach", "max"), ("impressions", "sum")])
    out["reach_le_impressions"] = (reach.num_rows, int(pc.sum(pc.greater(
        reach.column("cumulative_reach_max"), reach.column("impressions_sum"))).as_py() or 0))
    audience = reach.join(ground_truth.select(["line_item_id", "device", "audience"]),
                          ["line_item_id", "device"], join_type="left outer", use_threads=False)
    too_big = pc.fill_null(pc.greater(audience.column("cumulative_reach_max"),
                                      audience.column("audience")), True)
    out["reach_le_audience"] = (audience.num_rows, int(pc.sum(too_big).as_py() or 0))
    out["reach_non_decreasing"] = (reach.num_rows, _reach_decreases(performance, line, hour))
    return out


def _reach_decreases(performance: pa.Table, line: np.ndarray, hour: np.ndarray) -> int:
    """Line item x device series whose cumulative reach goes down from an hour to the next.

    Rows are ordered by one integer key (series, hour) — a stable sort that is cheap when
    the rows already come in order — and each hour's lowest reach is compared with the
    previous hour's highest, so several creatives in one hour never count as a decrease.
    """
    import pyarrow.compute as pc

    if performance.num_rows == 0:
        return 0
    device = pc.dictionary_encode(performance.column("device")).combine_chunks()
    codes = device.indices.to_numpy().astype(np.int64)
    series = np.unique(line, return_inverse=True)[1].astype(np.int64) * len(device.dictionary)
    series += codes
    slot = (hour - hour.min()) // 3600
    key = series * (int(slot.max()) + 1) + slot
    order = np.argsort(key, kind="stable")
    key = key[order]
    reach = performance.column("cumulative_reach").to_numpy()[order]
    starts = np.flatnonzero(np.diff(key, prepend=key[0] - 1))
    low, high = np.minimum.reduceat(reach, starts), np.maximum.reduceat(reach, starts)
    group = series[order][starts]
    bad = (group[1:] == group[:-1]) & (low[1:] < high[:-1])
    return int(np.unique(group[1:][bad]).size)


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
    elapsed_seconds: float
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
