"""Database runs over the whole dataset: `run-all` (the default dataset, replaced in one
transaction), `simulate` (facts regenerated for what the database holds), `status`, and the
Python entry point `adsgen.generate`. The CLI and the Python API call these and only render
what they return.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adsgen.exceptions import AdsgenError
from adsgen.runs.jobs import (
    FactTotals,
    Progress,
    RunSummary,
    job,
    no_progress,
    open_database,
    platform_names,
    resolve_platforms,
    simulate_into,
    template_dirs,
    transaction,
)

if TYPE_CHECKING:
    from adsgen.domain.schemas import AdvertiserCreate

__all__ = ["generate", "plan_timestamp", "run_all", "simulate_database", "status"]


def run_all(
    *,
    db: str | None = None,
    seed: int = 42,
    scale: int = 0,
    platform: str = "netflix_like",
    templates_dir: Path | None = None,
    progress: Progress = no_progress,
    deterministic_timestamps: bool = False,
) -> RunSummary:
    """The default dataset: every example, every profile, then `scale` drawn advertisers.

    Replaces whatever dataset the database held, so the same seed gives the same content on
    every engine: ids are numbered by plan position from 1 (MariaDB's counters keep
    counting otherwise), and with `deterministic_timestamps` every created_at/updated_at is
    `plan_timestamp(plan)` instead of the database's clock.
    """
    from adsgen.build.plans import build_run_all
    from adsgen.runs import capacity
    from adsgen.storage.persist import clear_dataset
    from adsgen.templates import catalog

    if scale < 0:
        raise AdsgenError(f"--scale must be 0 or more, got {scale}")
    capacity.check_memory(
        capacity.BASE_BYTES + scale * capacity.RUN_ALL_BYTES_PER_ADVERTISER,
        f"run-all --scale {scale:,}",
    )
    dirs = template_dirs(templates_dir)
    with job(
        db=db, seed=seed, platform=platform, templates_dir=templates_dir, progress=progress
    ) as run:
        known = platform_names(templates_dir)
        examples = catalog.for_platform(
            [catalog.get_example(name, extra_dirs=dirs)
             for name in catalog.names("examples", dirs)], platform, known=known)
        profiles = catalog.for_platform(catalog.profiles(dirs), platform, known=known)
        if not profiles:
            raise AdsgenError(f"no profile runs on platform {platform}; add one with "
                              f"`platforms: [{platform}]` or none")
        progress("planning", 0, 1)
        advertisers = build_run_all(
            seed=seed,
            platform=run.include([*examples, *profiles]),
            scale=scale,
            examples=examples,
            profiles=profiles,
        )
        progress("planning", 1, 1)
        clear_dataset(run.session.connection())
        stamp = plan_timestamp(advertisers) if deterministic_timestamps else None
        run.persist(advertisers, simulate=True, numbered=True, timestamp=stamp)
    return run.summary


PLAN_TIMESTAMP_LEAD = timedelta(days=30)


def plan_timestamp(advertisers: Sequence[AdvertiserCreate]) -> datetime:
    """The created_at/updated_at of a run with deterministic timestamps: midnight UTC,
    PLAN_TIMESTAMP_LEAD before the plan's first flight (naive UTC, as the tables hold)."""
    from adsgen.build.at_scale import DEFAULT_SCALE_START

    starts = [c.flight.start for a in advertisers for c in a.campaigns]
    first = min(starts, default=DEFAULT_SCALE_START).astimezone(UTC).replace(tzinfo=None)
    return datetime.combine(first.date(), time()) - PLAN_TIMESTAMP_LEAD


def simulate_database(
    *,
    db: str | None = None,
    seed: int = 42,
    line_item_ids: Sequence[int] | None = None,
    platform: str = "netflix_like",
    templates_dir: Path | None = None,
    progress: Progress = no_progress,
) -> FactTotals:
    """(Re)generate performance and ground truth for line items in the database (None: all)."""
    from adsgen.storage import orm
    from adsgen.storage.persist import require

    plats = resolve_platforms(platform, templates_dir)
    engine = open_database(db)
    with transaction(engine) as session:
        for line_item_id in sorted(set(line_item_ids or ())):
            require(session, orm.LineItem, line_item_id, option="--line-item-id")
        return simulate_into(session, line_item_ids, seed=seed, platform=plats,
                             progress=progress, templates_dir=templates_dir)


def status(*, db: str | None = None) -> dict[str, Any]:
    """Rows per table, database size, delivery date range and totals; reads only (a missing
    SQLite file is an error, not created)."""
    from adsgen.storage.database import database_size, fact_totals, masked_url, table_counts

    engine = open_database(db, write=False)
    with engine.connect() as conn:
        counts = table_counts(conn)
        totals = fact_totals(conn)
    return {
        "database": masked_url(engine.url),
        "size_bytes": database_size(engine),
        "tables": counts,
        **totals,
    }


def generate(
    *,
    db: str | None = None,
    seed: int = 42,
    scale: int = 0,
    platform: str = "netflix_like",
    templates_dir: Path | None = None,
    progress: Progress = no_progress,
    deterministic_timestamps: bool = False,
) -> RunSummary:
    """Python entry point: build the default dataset (as `adsgen run-all`) and summarise it."""
    return run_all(
        db=db,
        seed=seed,
        scale=scale,
        platform=platform,
        templates_dir=templates_dir,
        progress=progress,
        deterministic_timestamps=deterministic_timestamps,
    )

