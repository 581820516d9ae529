"""The one module that joins the pure core to I/O: build → persist → simulate → summarise.

Every public function here is one command's whole job, run in one database transaction:
a failure anywhere leaves the database as it was. The CLI and the Python API call these
and only render what they return.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adsgen.exceptions import AdsgenError, DatabaseError, SpecError

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine
    from sqlalchemy.orm import Session

    from adsgen.schemas import AdvertiserCreate, CampaignCreate
    from adsgen.spec import Platform, Profile

__all__ = [
    "FactTotals",
    "Job",
    "Progress",
    "RunSummary",
    "create_advertiser",
    "create_campaign",
    "create_example",
    "create_profile",
    "generate",
    "job",
    "open_database",
    "run_all",
    "simulate_database",
    "status",
]

Progress = Callable[[str, int, int], None]
"""Progress callback: (stage description, units done, units in total)."""

SIMULATION_BLOCK = 200  # line items simulated and written at a time: bounds memory


def _no_progress(stage: str, done: int, total: int) -> None:
    """The default progress callback: report nothing."""


@dataclass
class FactTotals:
    """What a simulation wrote: rows, impressions and spend."""

    line_items: int = 0
    performance_rows: int = 0
    ground_truth_rows: int = 0
    impressions: int = 0
    spend_micros: int = 0

    def add(self, other: FactTotals) -> None:
        """Accumulate another block's totals into these."""
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)


@dataclass
class RunSummary:
    """The result of a command that creates entities and (optionally) their performance."""

    seed: int
    created: dict[str, int] = field(default_factory=dict)
    ids: dict[str, list[int]] = field(default_factory=dict)
    facts: FactTotals = field(default_factory=FactTotals)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """Plain data for `--json` output."""
        return asdict(self)


# --- database access -------------------------------------------------------------------


def open_database(url: str | None = None, *, create: bool = True) -> Engine:
    """An engine whose database answers and (with `create`) accepts writes and has every
    table; without `create` it is only read (status works on a read-only database).

    Raises DatabaseError (an AdsgenError) with one line when it cannot be reached or written.
    """
    from adsgen.store import check_connection, init_db, make_engine

    engine = make_engine(url)
    check_connection(engine, write=create)
    if create:
        init_db(engine)
    return engine


@contextmanager
def _transaction(engine: Engine) -> Iterator[Session]:
    """One session in one transaction; database rule violations become AdsgenError."""
    from sqlalchemy.exc import IntegrityError

    from adsgen.store import session_scope

    try:
        with session_scope(engine) as session:
            yield session
    except IntegrityError as exc:
        reason = str(exc.orig).splitlines()[0] if exc.orig else str(exc).splitlines()[0]
        raise AdsgenError(f"the database refused the data ({reason}); nothing was written") from exc


def _platform(name: str, templates_dir: Path | None) -> Platform:
    from adsgen.registry import registry  # names resolve through plugins too

    return registry.platform(name, extra_dirs=_dirs(templates_dir))


def _dirs(templates_dir: Path | None) -> tuple[Path, ...]:
    return () if templates_dir is None else (templates_dir,)


def _template_file(template: Path | str | None) -> Path | None:
    """A template path as given, or the bundled examples file of that name."""
    if template is None or Path(template).exists():
        return None if template is None else Path(template)
    from importlib.resources import files

    bundled = files("adsgen") / "data" / "examples"
    if (bundled / str(template)).is_file():
        return Path(str(bundled / str(template)))
    known = ", ".join(sorted(f.name for f in bundled.iterdir() if f.name.endswith(".yml")))
    raise SpecError(f"no such file, nor a bundled examples file ({known})", where=str(template))


# --- simulation into the database ------------------------------------------------------


def _simulate_into(
    session: Session,
    line_item_ids: Sequence[int] | None,
    *,
    seed: int,
    platform: Platform,
    progress: Progress,
) -> FactTotals:
    """Replace the facts of these line items (None: all) inside the session's transaction."""
    import pyarrow.compute as pc

    from adsgen.persist import load_sim_items
    from adsgen.simulate import simulate
    from adsgen.store import bulk_insert, delete_facts

    items = load_sim_items(session, line_item_ids)
    conn: Connection = session.connection()
    delete_facts(conn, [item.line_item_id for item in items])
    totals = FactTotals(line_items=len(items))
    progress("simulating performance", 0, len(items))
    for start in range(0, len(items), SIMULATION_BLOCK):
        block = items[start : start + SIMULATION_BLOCK]
        result = simulate(block, platform=platform, seed=seed)
        perf = result.performance
        totals.performance_rows += bulk_insert(conn, "performance", perf)
        totals.ground_truth_rows += bulk_insert(conn, "ground_truth", result.ground_truth)
        if perf.num_rows:
            totals.impressions += int(pc.sum(perf["impressions"]).as_py())
            totals.spend_micros += int(pc.sum(perf["spend_micros"]).as_py())
        progress("simulating performance", start + len(block), len(items))
    return totals


@dataclass
class Job:
    """One command's transaction: its session, platform, seed and the summary it fills."""

    session: Session
    platform: Platform
    seed: int
    progress: Progress
    summary: RunSummary

    def record(self, table: str, ids: Sequence[int]) -> None:
        """Count rows this command created, and keep their ids for the summary."""
        self.summary.created[table] = self.summary.created.get(table, 0) + len(ids)
        self.summary.ids.setdefault(table, []).extend(ids)

    def simulate(self, line_item_ids: Sequence[int]) -> None:
        """Replace these line items' facts, inside this transaction."""
        if line_item_ids:
            self.summary.facts.add(
                _simulate_into(
                    self.session,
                    line_item_ids,
                    seed=self.seed,
                    platform=self.platform,
                    progress=self.progress,
                )
            )

    def persist(self, advertisers: Sequence[AdvertiserCreate], *, simulate: bool) -> None:
        """Write plan trees through the ORM, then (with `simulate`) their performance."""
        from adsgen.persist import save_plan

        self.progress("writing entities", 0, len(advertisers))
        saved = save_plan(self.session, advertisers)
        self.progress("writing entities", len(advertisers), len(advertisers))
        campaigns = [c for a in saved for c in a.campaigns]
        items = [i for c in campaigns for i in c.line_items]
        self.record("advertisers", [a.id for a in saved])
        self.record("campaigns", [c.id for c in campaigns])
        self.record("line_items", [i.id for i in items])
        self.record("creatives", [c.id for i in items for c in i.creatives])
        if simulate:
            self.simulate([i.id for i in items])


@contextmanager
def job(
    *,
    db: str | None,
    seed: int,
    platform: str,
    templates_dir: Path | None,
    progress: Progress,
) -> Iterator[Job]:
    """Open the database and one transaction for a command; time it into the summary."""
    began = time.perf_counter()
    plat = _platform(platform, templates_dir)
    engine = open_database(db)
    summary = RunSummary(seed=seed)
    with _transaction(engine) as session:
        yield Job(session=session, platform=plat, seed=seed, progress=progress, summary=summary)
    summary.seconds = time.perf_counter() - began


def _taken_names(session: Session) -> set[str]:
    """Advertiser names in the database: drawn names avoid them (names are unique)."""
    from sqlalchemy import select

    from adsgen.orm import Advertiser

    return set(session.execute(select(Advertiser.name)).scalars())


# --- commands ----------------------------------------------------------------------------


def run_all(
    *,
    db: str | None = None,
    seed: int = 42,
    scale: int = 0,
    platform: str = "netflix_like",
    templates_dir: Path | None = None,
    progress: Progress = _no_progress,
) -> RunSummary:
    """The default dataset: every example, every profile, then `scale` drawn advertisers.

    Replaces whatever dataset the database held, so the same seed gives the same content.
    """
    from adsgen import catalog
    from adsgen.entities import build_run_all
    from adsgen.persist import clear_dataset

    if scale < 0:
        raise AdsgenError(f"--scale must be 0 or more, got {scale}")
    dirs = _dirs(templates_dir)
    with job(
        db=db, seed=seed, platform=platform, templates_dir=templates_dir, progress=progress
    ) as run:
        examples = [
            catalog.get_example(name, extra_dirs=dirs) for name in catalog.names("examples", dirs)
        ]
        progress("planning", 0, 1)
        advertisers = build_run_all(
            seed=seed,
            platform=run.platform,
            scale=scale,
            examples=examples,
            profiles=catalog.profiles(dirs),
        )
        progress("planning", 1, 1)
        clear_dataset(run.session.connection())
        run.persist(advertisers, simulate=True)
    return run.summary


def create_example(
    name: str,
    *,
    db: str | None = None,
    seed: int = 42,
    template: Path | str | None = None,
    templates_dir: Path | None = None,
    platform: str = "netflix_like",
    simulate: bool = True,
    progress: Progress = _no_progress,
) -> RunSummary:
    """Create one example and its performance: from `template` (a path, or the name of a
    bundled examples file such as netflix-ads-examples.yml), else from the bundled ones."""
    from adsgen.catalog import get_example
    from adsgen.entities import build_example
    from adsgen.registry import registry

    file = _template_file(template)
    example = (
        registry.example(name, extra_dirs=_dirs(templates_dir))
        if file is None
        else get_example(name, template=file, extra_dirs=_dirs(templates_dir))
    )
    advertiser = build_example(example, seed=seed)
    with job(
        db=db, seed=seed, platform=platform, templates_dir=templates_dir, progress=progress
    ) as run:
        run.persist([advertiser], simulate=simulate)
    return run.summary


def create_profile(
    name: str,
    *,
    db: str | None = None,
    seed: int = 42,
    count: int = 1,
    templates_dir: Path | None = None,
    platform: str = "netflix_like",
    simulate: bool = True,
    progress: Progress = _no_progress,
) -> RunSummary:
    """Create `count` advertisers from a profile, with their performance."""
    from adsgen.entities import build_profile
    from adsgen.registry import registry

    if count < 1:
        raise AdsgenError(f"--count must be at least 1, got {count}")
    profile = registry.profile(name, extra_dirs=_dirs(templates_dir))
    with job(
        db=db, seed=seed, platform=platform, templates_dir=templates_dir, progress=progress
    ) as run:
        taken = _taken_names(run.session)
        advertisers: list[AdvertiserCreate] = []
        for i in range(count):
            made = build_profile(
                profile, seed=seed, index=len(taken) + i, platform=run.platform, avoid=taken
            )
            advertisers.append(made)
            taken.add(made.name)
        run.persist(advertisers, simulate=simulate)
    return run.summary


def create_advertiser(
    advertiser: AdvertiserCreate | None = None,
    *,
    db: str | None = None,
    seed: int = 42,
    campaigns: int = 0,
    platform: str = "netflix_like",
    templates_dir: Path | None = None,
    simulate: bool = True,
    progress: Progress = _no_progress,
) -> RunSummary:
    """Create an advertiser as given, or (None) one drawn by the providers, with its plan
    and `campaigns` more drawn campaigns (a drawn advertiser has none otherwise)."""
    from adsgen.create import with_drawn_campaigns
    from adsgen.entities import build_random

    if campaigns < 0:
        raise AdsgenError(f"--campaigns must be 0 or more, got {campaigns}")
    with job(
        db=db, seed=seed, platform=platform, templates_dir=templates_dir, progress=progress
    ) as run:
        if advertiser is None:
            taken = _taken_names(run.session)
            advertiser = build_random(
                seed=seed, index=len(taken), platform=run.platform, avoid=taken
            ).model_copy(update={"campaigns": []})
        if campaigns:
            advertiser = with_drawn_campaigns(
                run.session, advertiser, campaigns, seed=seed, platform=run.platform
            )
        run.persist([advertiser], simulate=simulate)
    return run.summary


def create_campaign(
    advertiser_id: int,
    campaign: CampaignCreate | None = None,
    *,
    profile: Profile | None = None,
    name: str | None = None,
    line_items: bool = True,
    db: str | None = None,
    seed: int = 42,
    platform: str = "netflix_like",
    templates_dir: Path | None = None,
    simulate: bool = True,
    progress: Progress = _no_progress,
) -> RunSummary:
    """Add a campaign to an existing advertiser: as given, else built from `profile` (None:
    a random bundled profile), renamed to `name`, without line items unless `line_items`."""
    from adsgen.create import campaign_for
    from adsgen.persist import add_campaign

    with job(
        db=db, seed=seed, platform=platform, templates_dir=templates_dir, progress=progress
    ) as run:
        campaign = campaign_for(
            run.session,
            advertiser_id,
            campaign,
            profile=profile,
            name=name,
            line_items=line_items,
            seed=seed,
            platform=run.platform,
        )
        saved = add_campaign(run.session, advertiser_id, campaign)
        run.record("campaigns", [saved.id])
        run.record("line_items", [item.id for item in saved.line_items])
        run.record("creatives", [c.id for item in saved.line_items for c in item.creatives])
        if simulate:
            run.simulate([item.id for item in saved.line_items])
    return run.summary


def simulate_database(
    *,
    db: str | None = None,
    seed: int = 42,
    line_item_ids: Sequence[int] | None = None,
    platform: str = "netflix_like",
    templates_dir: Path | None = None,
    progress: Progress = _no_progress,
) -> FactTotals:
    """(Re)generate performance and ground truth for line items in the database (None: all)."""
    from adsgen import orm
    from adsgen.persist import require

    plat = _platform(platform, templates_dir)
    engine = open_database(db)
    with _transaction(engine) as session:
        for line_item_id in sorted(set(line_item_ids or ())):
            require(session, orm.LineItem, line_item_id, option="--line-item-id")
        return _simulate_into(session, line_item_ids, seed=seed, platform=plat, progress=progress)


def status(*, db: str | None = None) -> dict[str, Any]:
    """Rows per table, database size, delivery date range and totals; reads only (a missing
    SQLite file is an error, not created)."""
    from adsgen.store import database_size, fact_totals, make_engine, masked_url, table_counts

    url = make_engine(db).url
    name = url.database or ""
    if (
        url.get_backend_name() == "sqlite"
        and name not in ("", ":memory:")
        and not (name.startswith("file:") or Path(name).exists())
    ):
        raise DatabaseError(f"no database at {name}; create it with `adsgen run-all`")
    engine = open_database(db, create=False)
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
    progress: Progress = _no_progress,
) -> RunSummary:
    """Python entry point: build the default dataset (as `adsgen run-all`) and summarise it."""
    return run_all(
        db=db,
        seed=seed,
        scale=scale,
        platform=platform,
        templates_dir=templates_dir,
        progress=progress,
    )
