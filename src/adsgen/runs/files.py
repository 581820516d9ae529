"""Scale runs to files: plan → number → export, estimate, and load a directory into a database.

The file-side sibling of `adsgen.runs.database` (same rules: each public function is one
command's whole job; the CLI and Python callers only render what it returns):

- `generate_files` (`adsgen generate`): `build_scaled` (a numbered plan, in columns) →
  `export.export`
  into a hidden folder next to `out`, renamed to `out` only once every file and the
  manifest are written, so `out` never holds half a run; then, with `db`, `load_files`.
- `estimate_files` (`adsgen plan`, `generate --dry-run`): the same plan, `export.estimate`.
- `load_files` (`adsgen load`): a generated directory into a database, one transaction.

What may be written and replaced, and how (a lock, a hidden folder renamed into place, an
ownership check against the previous manifest), is `adsgen.runs.target`'s.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adsgen.build.at_scale import DEFAULT_SCALE_DAYS, DEFAULT_SCALE_START
from adsgen.exceptions import AdsgenError, Interrupted
from adsgen.runs.jobs import Progress, no_progress, open_database

if TYPE_CHECKING:
    from adsgen.build.at_scale import ScaledPlan
    from adsgen.build.platform_set import PlatformSet
    from adsgen.runs.manifest import Manifest

__all__ = [
    "ROWS_STAGE",
    "LoadResult",
    "ScaleEstimate",
    "ScaleResult",
    "estimate_files",
    "generate_files",
    "load_files",
    "scale_plan",
]

ROWS_STAGE = "generating"
"""The progress stage counted in performance rows (the others count line items)."""
LOADING_STAGE = "loading into the database"


@dataclass
class LoadResult:
    """What `load_files` loaded: rows per table, where, how fast."""

    directory: Path
    database: str
    tables: dict[str, int]
    seconds: float
    matches_manifest: bool

    @property
    def rows(self) -> int:
        """Rows loaded over every table."""
        return sum(self.tables.values())


@dataclass
class ScaleResult:
    """What `generate_files` wrote (the manifest says it all) and, with a database, loaded."""

    out: Path
    manifest_path: Path
    manifest: Manifest
    seconds: float
    planning_seconds: float
    loaded: LoadResult | None = None


@dataclass
class ScaleEstimate:
    """A scale run predicted without writing it: entities, rows, disk and time."""

    seed: int
    entities: dict[str, int]
    line_items: int
    blocks: int
    block_size: int
    engine: str
    workers: int
    rows: dict[str, int]
    bytes: int
    rows_per_second: float
    seconds: float
    planning_seconds: float
    sample_line_items: int


# --- the plan --------------------------------------------------------------------------------


def scale_plan(
    *,
    seed: int,
    advertisers: int | None,
    line_items: int | None,
    days: int,
    start: datetime,
    platform: str,
    templates_dir: Path | None,
    progress: Progress = no_progress,
) -> tuple[ScaledPlan, PlatformSet, dict[str, Any]]:
    """The numbered plan of `generate` (and the live stream: one plan for both), the run's
    platforms and the request as JSON-able data (for the manifest).

    `platform`: one name or several ('a,b,c'): each line item buys on one of them (see
    `adsgen.build.at_scale`). The profiles are those naming one of the run's platforms or
    none (`catalog.for_platform`). Raises AdsgenError for bad options, an unknown platform
    (UnknownNameError), a name given twice, or no profile to draw from.
    """
    from adsgen.build.at_scale import build_scaled, scaled_flight
    from adsgen.registry import registry
    from adsgen.runs.jobs import resolve_platforms
    from adsgen.templates import catalog

    flight = scaled_flight(start, days)  # the option errors before any slow work
    stage = "planning advertisers" if advertisers is not None else "planning line items"
    dirs = () if templates_dir is None else (templates_dir,)
    plats = resolve_platforms(platform, templates_dir)  # plugins' platforms too
    names = list(plats.names)
    profiles = catalog.for_platform(catalog.profiles(dirs), names,
                                    known=registry.names("platform", extra_dirs=dirs))
    if not profiles:
        listed = ", ".join(names)
        raise AdsgenError(f"no profile runs on platform {listed}; add one with "
                          f"`platforms: [{names[0]}]` or none")
    plan = build_scaled(
        seed=seed, platform=plats, advertisers=advertisers, line_items=line_items, days=days,
        start=flight.start, profiles=profiles,
        progress=lambda done, total: progress(stage, done, total),
    )
    spec = {
        "command": "generate", "advertisers": advertisers, "line_items": line_items,
        "days": days, "start": flight.start.isoformat(), "platform": ",".join(names),
        "profiles": sorted(p.name for p in profiles),
    }
    return plan, plats, spec


def _check_engine(
    fmt: str, engine: str, workers: int | None, scheduler: str | None, block_size: int | None
) -> None:
    """Unknown format or engine, bad worker count or block size: before any slow work."""
    from adsgen.runs.engines import check_scheduler, resolve_workers
    from adsgen.storage.sinks import get_sink

    get_sink(fmt)
    resolve_workers(engine, workers)
    if block_size is not None and block_size < 1:
        raise AdsgenError(f"--block-size must be at least 1 (got {block_size})")
    check_scheduler(engine, scheduler)


def _check_memory(
    line_items: int | None, advertisers: int | None, engine: str, workers: int | None
) -> None:
    """Refuse a plan that cannot fit in memory (see `adsgen.runs.capacity`): before it."""
    from adsgen.runs import capacity
    from adsgen.runs.engines import resolve_workers

    size = (f"--line-items {line_items:,}" if line_items is not None
            else f"--advertisers {advertisers or 0:,}")
    n_workers = resolve_workers(engine, workers)
    capacity.check_memory(
        capacity.run_memory(line_items=line_items, advertisers=advertisers, workers=n_workers),
        f"{size} with {n_workers} worker{'s' if n_workers > 1 else ''}",
    )


# --- commands --------------------------------------------------------------------------------


def generate_files(
    *,
    out: Path,
    seed: int = 42,
    advertisers: int | None = None,
    line_items: int | None = None,
    days: int = DEFAULT_SCALE_DAYS,
    start: datetime = DEFAULT_SCALE_START,
    fmt: str = "parquet",
    platform: str = "netflix_like",
    engine: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    block_size: int | None = None,
    overwrite: bool = False,
    db: str | None = None,
    templates_dir: Path | None = None,
    progress: Progress = no_progress,
) -> ScaleResult:
    """Plan `advertisers` (or `line_items`) on a `days`-long flight from `start`, simulate
    them into `fmt` files under `out` (see `adsgen.runs.blocks`) and, with `db`, load them.

    Progress: "planning line items" (or advertisers), then ROWS_STAGE in performance
    rows, then LOADING_STAGE with `db`. Raises AdsgenError for bad options, an `out` that may
    not be written (see the module docstring), or an unreachable database (checked before
    generating); DatabaseError when the load fails (the files are complete then).
    """
    from adsgen.runs import capacity, target
    from adsgen.runs.blocks import export
    from adsgen.runs.engines import interrupt_on_sigterm
    from adsgen.runs.manifest import MANIFEST_NAME
    from adsgen.simulate.grid import row_count

    began = time.perf_counter()
    out = Path(out).resolve()
    _check_engine(fmt, engine, workers, scheduler, block_size)
    with interrupt_on_sigterm(), target.claimed(out):
        target.clean_stale(out)
        before = target.check_out(out, overwrite=overwrite)
        _check_memory(line_items, advertisers, engine, workers)
        database = open_database(db) if db is not None else None
        plan, plats, spec = scale_plan(
            seed=seed, advertisers=advertisers, line_items=line_items, days=days, start=start,
            platform=platform, templates_dir=templates_dir, progress=progress,
        )
        planned = time.perf_counter() - began
        total = sum(row_count(item, plats.of(item)) for item in plan.items)
        capacity.check_disk(total * capacity.BYTES_PER_ROW.get(fmt, max(
            capacity.BYTES_PER_ROW.values())), out.parent, f"{total:,} rows of {fmt}")
        done = 0
        progress(ROWS_STAGE, 0, total)

        def advance(block: Any) -> None:
            nonlocal done
            done += block.performance_rows
            progress(ROWS_STAGE, done, total)

        target.ensure_unchanged(out, before)  # again: planning took a while
        entities, plan.tables = plan.arrow_tables(), {}  # export frees each once written
        with target.staged(out, before) as stage:
            manifest = export(
                plan.items, entities=entities, platform=plats, seed=seed,
                out=stage, fmt=fmt, engine=engine, workers=workers, scheduler=scheduler,
                block_size=block_size, on_progress=advance, spec=spec,
            )
        result = ScaleResult(out=out, manifest_path=out / MANIFEST_NAME, manifest=manifest,
                             seconds=0.0, planning_seconds=round(planned, 3))
        if database is not None:
            try:
                result.loaded = _load(database, out, manifest, progress)
            except KeyboardInterrupt:  # the files stay: say so (the CLI prints this line)
                raise Interrupted(f"interrupted; the files in {out} are complete, "
                                  "nothing was loaded") from None
    result.seconds = round(time.perf_counter() - began, 3)
    return result


def estimate_files(
    *,
    seed: int = 42,
    advertisers: int | None = None,
    line_items: int | None = None,
    days: int = DEFAULT_SCALE_DAYS,
    start: datetime = DEFAULT_SCALE_START,
    fmt: str = "parquet",
    platform: str = "netflix_like",
    engine: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    block_size: int | None = None,
    templates_dir: Path | None = None,
    out: Path | None = None,
    overwrite: bool = False,
    progress: Progress = no_progress,
) -> ScaleEstimate:
    """What `generate_files` with these options would write, without writing it: exact
    entity and performance row counts, disk and time measured on a small sample (see
    `export.estimate`). With `out`, also refuse it as `generate_files` would."""
    from adsgen.runs import target
    from adsgen.runs.blocks import estimate

    began = time.perf_counter()
    _check_engine(fmt, engine, workers, scheduler, block_size)
    if out is not None:
        target.check_out(Path(out).resolve(), overwrite=overwrite)
    _check_memory(line_items, advertisers, engine, workers)
    plan, plats, _ = scale_plan(
        seed=seed, advertisers=advertisers, line_items=line_items, days=days, start=start,
        platform=platform, templates_dir=templates_dir, progress=progress,
    )
    planned = time.perf_counter() - began
    guess = estimate(plan.items, platform=plats, seed=seed, fmt=fmt, engine=engine,
                     workers=workers, block_size=block_size)
    return ScaleEstimate(
        seed=seed, entities=plan.counts(), line_items=guess.line_items, blocks=guess.blocks,
        block_size=guess.block_size, engine=engine, workers=guess.workers, rows=guess.rows,
        bytes=guess.bytes, rows_per_second=round(guess.rows_per_second, 1),
        seconds=round(guess.seconds + planned, 3), planning_seconds=round(planned, 3),
        sample_line_items=guess.sample_line_items,
    )


def load_files(
    directory: Path, *, db: str | None = None, progress: Progress = no_progress
) -> LoadResult:
    """Load a directory written by `generate_files` into the database at `db` (None: the
    settings' database), in one transaction; progress LOADING_STAGE in rows.

    The directory is checked against its manifest first (`blocks.verify_dir`: every file
    listed, of its size; Parquet footers and rows) and only the files it lists are read;
    it is held (a shared lock) so no run replaces it meanwhile. Raises AdsgenError for a
    directory that is not a complete generated run or holds a file that does not read,
    DatabaseError when the database is unreachable or refuses the rows.
    """
    from adsgen.runs import target
    from adsgen.runs.blocks import verify_dir
    from adsgen.runs.engines import interrupt_on_sigterm

    directory = Path(directory)
    with interrupt_on_sigterm(), target.claimed(directory.resolve(), shared=True):
        manifest = verify_dir(directory)
        return _load(open_database(db), directory, manifest, progress)


def _load(engine: Any, directory: Path, manifest: Manifest, progress: Progress) -> LoadResult:
    from adsgen.runs.blocks import load_dir
    from adsgen.storage.database import masked_url

    began = time.perf_counter()
    total = sum(stats.rows for stats in manifest.tables.values())
    done = 0
    progress(LOADING_STAGE, 0, total)

    def advance(rows: int) -> None:
        nonlocal done
        done += rows
        progress(LOADING_STAGE, done, total)

    try:
        tables = load_dir(engine, directory, on_rows=advance)
    finally:
        engine.dispose()
    expected = {name: stats.rows for name, stats in manifest.tables.items()}
    return LoadResult(
        directory=directory.resolve(), database=masked_url(engine.url), tables=tables,
        seconds=round(time.perf_counter() - began, 3),
        matches_manifest=all(tables.get(name, 0) == rows for name, rows in expected.items()),
    )
