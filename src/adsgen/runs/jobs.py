"""What every database command shares: the database opened and checked, one transaction,
the platform resolved, performance simulated into it, and the summary a command returns.

A command (runs.database, runs.grow) opens `job(...)` and calls `persist`/`simulate` on it;
a failure anywhere inside rolls the whole transaction back.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from adsgen.exceptions import AdsgenError, DatabaseError, SpecError

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlalchemy import Connection, Engine
    from sqlalchemy.orm import Session

    from adsgen.build.items import SimLineItem
    from adsgen.build.platform_set import PlatformSet
    from adsgen.domain.schemas import AdvertiserCreate
    from adsgen.templates.spec import Example, Platform, Profile

__all__ = ["FactTotals", "Job", "Progress", "RunSummary", "job", "no_progress", "open_database"]

class Named(Protocol):
    """A saved row with an id and a name (advertiser, campaign, line item, creative)."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...


Progress = Callable[[str, int, int], None]
"""Progress callback: (stage description, units done, units in total)."""

SIMULATION_BLOCK = 200  # line items simulated and written at a time: bounds memory


def no_progress(stage: str, done: int, total: int) -> None:
    """The default progress callback: report nothing."""


@dataclass
class FactTotals:
    """What a simulation wrote: rows per fact table, impressions and spend."""

    line_items: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    """Rows written per fact table (every table of FACT_TABLES once anything ran)."""
    impressions: int = 0
    spend_micros: dict[str, int] = field(default_factory=dict)
    """Spend per ISO 4217 currency code: money of different currencies is never added."""

    @property
    def performance_rows(self) -> int:
        """Rows of the performance table."""
        return self.rows.get("performance", 0)

    @property
    def ground_truth_rows(self) -> int:
        """Rows of the ground_truth table."""
        return self.rows.get("ground_truth", 0)

    def add(self, other: FactTotals) -> None:
        """Accumulate another block's totals into these."""
        self.line_items += other.line_items
        self.impressions += other.impressions
        self.add_rows(other.rows)
        self.add_spend(other.spend_micros)

    def add_rows(self, rows: dict[str, int]) -> None:
        """Add rows per table."""
        for name, count in rows.items():
            self.rows[name] = self.rows.get(name, 0) + count

    def as_dict(self) -> dict[str, Any]:
        """Plain data: `<table>_rows` for each fact table (`performance_rows`, …), not a
        nested `rows`, so the JSON of run summaries keeps its keys as tables are added."""
        from adsgen.simulate.columns import FACT_TABLES

        return {
            "line_items": self.line_items,
            **{f"{name}_rows": self.rows.get(name, 0) for name in FACT_TABLES},
            "impressions": self.impressions,
            "spend_micros": dict(self.spend_micros),
        }

    def add_spend(self, spend: dict[str, int]) -> None:
        """Add spend per currency code."""
        for code, micros in spend.items():
            self.spend_micros[code] = self.spend_micros.get(code, 0) + micros


@dataclass
class RunSummary:
    """The result of a command that creates entities and (optionally) their performance."""

    seed: int
    created: dict[str, int] = field(default_factory=dict)
    ids: dict[str, list[int]] = field(default_factory=dict)
    names: dict[str, list[str]] = field(default_factory=dict)
    """Per table, the names of the rows created, in the order of `ids`."""
    facts: FactTotals = field(default_factory=FactTotals)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """Plain data for `--json` output."""
        return {**asdict(self), "facts": self.facts.as_dict()}


# --- database access -------------------------------------------------------------------


def open_database(url: str | None = None, *, write: bool = True) -> Engine:
    """An engine whose database answers and (with `write`) accepts writes; without `write`
    it is only read (status, list and show work on a read-only database) and a missing
    SQLite file is an error rather than created.

    Nothing is created here: the command's transaction (`transaction`, or
    `adsgen.storage.database.write_transaction`) creates missing tables, so a command that
    fails leaves no table and no new SQLite file behind. Raises DatabaseError (an
    AdsgenError) with one line when the database cannot be reached or written.
    """
    from adsgen.storage.database import check_connection, make_engine

    engine = make_engine(url)
    name = engine.url.database or ""
    if (
        not write
        and engine.url.get_backend_name() == "sqlite"
        and name not in ("", ":memory:")
        and not (name.startswith("file:") or Path(name).exists())
    ):
        raise DatabaseError(f"no database at {name}; create it with `adsgen run-all`")
    check_connection(engine, write=write)
    return engine


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One session in one transaction; database rule violations become AdsgenError."""
    from sqlalchemy.exc import IntegrityError

    from adsgen.storage.database import session_scope

    try:
        with session_scope(engine) as session:
            yield session
    except IntegrityError as exc:
        reason = str(exc.orig).splitlines()[0] if exc.orig else str(exc).splitlines()[0]
        raise AdsgenError(f"the database refused the data ({reason}); nothing was written") from exc


def resolve_platform(name: str, templates_dir: Path | None) -> Platform:
    from adsgen.registry import registry  # names resolve through plugins too

    return registry.platform(name, extra_dirs=template_dirs(templates_dir))


def resolve_platforms(
    names: str | Sequence[str], templates_dir: Path | None
) -> PlatformSet:
    """The run's platforms from `--platform` (one name or several, comma-separated; the
    first is the platform of line items naming none). UnknownNameError for a name no
    template defines, AdsgenError for a name given twice."""
    from adsgen.build.platform_set import PlatformSet

    listed = split_platforms(names)
    twice = sorted({n for n in listed if listed.count(n) > 1})
    if twice:
        raise AdsgenError(f"--platform names {', '.join(twice)} twice; give each platform once")
    return PlatformSet(tuple(resolve_platform(name, templates_dir) for name in listed))


def split_platforms(names: str | Sequence[str]) -> list[str]:
    """Platform names from 'a,b,c' (or a sequence), blanks dropped; AdsgenError if none."""
    parts = names.split(",") if isinstance(names, str) else list(names)
    listed = [name.strip() for name in parts if name.strip()]
    if not listed:
        raise AdsgenError("--platform names no platform (`adsgen list platforms`)")
    return listed


def with_named_platforms(
    platforms: PlatformSet, items: Sequence[SimLineItem], templates_dir: Path | None
) -> PlatformSet:
    """`platforms` and, after them, any platform a stored line item names that they lack
    (a dataset made with `--platform a,b` simulated again with the default platform)."""
    from adsgen.build.platform_set import PlatformSet

    missing = sorted({i.platform for i in items if i.platform} - set(platforms.names))
    if not missing:
        return platforms
    return PlatformSet((*platforms.platforms,
                        *(resolve_platform(name, templates_dir) for name in missing)))


def platform_names(templates_dir: Path | None) -> list[str]:
    """Every known platform name: bundled, the user's templates and plugins'."""
    from adsgen.registry import registry

    return registry.names("platform", extra_dirs=template_dirs(templates_dir))


def template_dirs(templates_dir: Path | None) -> tuple[Path, ...]:
    return () if templates_dir is None else (templates_dir,)


def template_file(template: Path | str | None) -> Path | None:
    """A template path as given, or the bundled examples file of that name."""
    if template is None or Path(template).exists():
        return None if template is None else Path(template)
    from importlib.resources import files

    bundled = files("adsgen.templates") / "data" / "examples"
    if (bundled / str(template)).is_file():
        return Path(str(bundled / str(template)))
    known = ", ".join(sorted(f.name for f in bundled.iterdir() if f.name.endswith(".yml")))
    raise SpecError(f"no such file, nor a bundled examples file ({known})", where=str(template))


# --- simulation into the database ------------------------------------------------------


def simulate_into(
    session: Session,
    line_item_ids: Sequence[int] | None,
    *,
    seed: int,
    platform: Platform | PlatformSet,
    progress: Progress,
    templates_dir: Path | None = None,
) -> FactTotals:
    """Replace the facts of these line items (None: all) inside the session's transaction.

    Each line item is simulated on the platform it names (`world.platforms`); a platform a
    stored line item names that `platform` lacks is loaded by name."""
    import pyarrow.compute as pc

    from adsgen.build.platform_set import platform_set
    from adsgen.simulate import simulate
    from adsgen.simulate.columns import FACT_TABLES
    from adsgen.simulate.engine import combine_summed
    from adsgen.storage.database import bulk_insert, delete_advertiser_facts, delete_facts
    from adsgen.storage.persist import load_sim_items
    from adsgen.world.platforms import allocate_each

    items = load_sim_items(session, line_item_ids)
    # the shared world is settled over every line item of the database, not only these
    # (reading them must not flush this command's pending rows: a write error belongs to
    # the write, not to this query)
    if line_item_ids is None:
        plan = items
    else:
        with session.no_autoflush:
            plan = load_sim_items(session, None)
    plats = with_named_platforms(platform_set(platform), plan, templates_dir)
    allocation = allocate_each(plan, plats, seed)
    conn: Connection = session.connection()
    delete_facts(conn, [item.line_item_id for item in items])
    advertisers = {item.advertiser_id for item in items}
    delete_advertiser_facts(conn, advertisers)
    totals = FactTotals(line_items=len(items), rows=dict.fromkeys(FACT_TABLES, 0))
    summed: dict[str, list[pa.Table]] = {
        name: [] for name, table in FACT_TABLES.items() if table.summed}
    progress("simulating performance", 0, len(items))
    for start in range(0, len(items), SIMULATION_BLOCK):
        block = items[start : start + SIMULATION_BLOCK]
        result = simulate(block, platform=plats, seed=seed, allocation=allocation)
        totals.add_rows({name: bulk_insert(conn, name, table) for name, table in result.items()
                         if name not in summed})
        for name, parts in summed.items():
            parts.append(result[name])
        perf = result.performance
        if perf.num_rows:
            totals.impressions += int(pc.sum(perf["impressions"]).as_py())
            totals.add_spend(_spend_by_currency(block, perf))
        progress("simulating performance", start + len(block), len(items))
    # A summed table's rows (per advertiser) add every line item of the advertiser: those
    # not simulated here are simulated again (same draws) for their part of those rows.
    chosen = {item.line_item_id for item in items}
    others = [item for item in plan
              if item.advertiser_id in advertisers and item.line_item_id not in chosen]
    for start in range(0, len(others), SIMULATION_BLOCK):
        result = simulate(others[start : start + SIMULATION_BLOCK], platform=plats,
                          seed=seed, allocation=allocation)
        for name, parts in summed.items():
            parts.append(result[name])
    for name, parts in summed.items():
        totals.add_rows({name: bulk_insert(conn, name, combine_summed(name, parts,
                                                                       platforms=plats))})
    return totals


def _spend_by_currency(items: Sequence[SimLineItem], perf: pa.Table) -> dict[str, int]:
    """Spend of the performance rows per currency of their line items (vectorized)."""
    import numpy as np

    ids = np.array([item.line_item_id for item in items], dtype=np.int64)
    codes = np.array([item.currency.value for item in items])
    order = np.argsort(ids)
    row_ids = perf["line_item_id"].to_numpy()
    row_codes = codes[order][np.searchsorted(ids[order], row_ids)]
    spend = perf["spend_micros"].to_numpy()
    return {str(code): int(spend[row_codes == code].sum()) for code in np.unique(row_codes)}


@dataclass
class Job:
    """One command's transaction: its session, platforms, seed and the summary it fills.

    `platform` is the run's first platform (of line items naming none), `platforms` all of
    them (`--platform a,b,c`)."""

    session: Session
    platform: Platform
    seed: int
    progress: Progress
    summary: RunSummary
    changes: bool = False
    """Log each created row as a change event (the API's creates)."""
    platforms: PlatformSet | None = None
    templates_dir: Path | None = None

    @property
    def all_platforms(self) -> PlatformSet:
        """The run's platforms (the one `platform` when no set was given)."""
        from adsgen.build.platform_set import platform_set

        return self.platforms if self.platforms is not None else platform_set(self.platform)

    def include(self, templates: Sequence[Example | Profile]) -> PlatformSet:
        """The run's platforms and, after them, those the templates name (a template buys on
        the platforms it names: `templates.catalog.buying_platforms`); kept as the job's."""
        from adsgen.build.platform_set import PlatformSet

        have = self.all_platforms
        named = [n for t in templates for n in t.platforms]
        missing = [n for i, n in enumerate(named)
                   if n not in have.names and n not in named[:i]]
        self.platforms = PlatformSet(
            (*have.platforms, *(resolve_platform(n, self.templates_dir) for n in missing)),
            buying=have.default_names)
        return self.platforms

    def record(self, table: str, rows: Sequence[Named]) -> None:
        """Count rows this command created, and keep their ids and names for the summary;
        with `changes`, also log a created event for each (`changelog.record_created`)."""
        if self.changes:
            from adsgen.runs.changelog import record_created

            record_created(self.session, table, rows)
        self.summary.created[table] = self.summary.created.get(table, 0) + len(rows)
        self.summary.ids.setdefault(table, []).extend(row.id for row in rows)
        self.summary.names.setdefault(table, []).extend(row.name for row in rows)

    def simulate(self, line_item_ids: Sequence[int]) -> None:
        """Replace these line items' facts, inside this transaction."""
        if line_item_ids:
            self.summary.facts.add(
                simulate_into(
                    self.session,
                    line_item_ids,
                    seed=self.seed,
                    platform=self.all_platforms,
                    progress=self.progress,
                    templates_dir=self.templates_dir,
                )
            )

    def persist(
        self,
        advertisers: Sequence[AdvertiserCreate],
        *,
        simulate: bool,
        numbered: bool = False,
        timestamp: datetime | None = None,
    ) -> None:
        """Write plan trees through the ORM, then (with `simulate`) their performance;
        `numbered` and `timestamp` as for `adsgen.storage.persist.save_plan`."""
        from adsgen.storage.persist import save_plan

        self.progress("writing entities", 0, len(advertisers))
        saved = save_plan(self.session, advertisers, numbered=numbered, timestamp=timestamp)
        self.progress("writing entities", len(advertisers), len(advertisers))
        campaigns = [c for a in saved for c in a.campaigns]
        items = [i for c in campaigns for i in c.line_items]
        self.record("advertisers", saved)
        self.record("campaigns", campaigns)
        self.record("line_items", items)
        self.record("creatives", [c for i in items for c in i.creatives])
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
    changes: bool = False,
) -> Iterator[Job]:
    """Open the database and one transaction for a command; time it into the summary.
    `changes`: the rows the command creates are logged as change events too."""
    began = time.perf_counter()
    plats = resolve_platforms(platform, templates_dir)
    engine = open_database(db)
    summary = RunSummary(seed=seed)
    with transaction(engine) as session:
        yield Job(session=session, platform=plats.primary, seed=seed, progress=progress,
                  summary=summary, changes=changes, platforms=plats,
                  templates_dir=templates_dir)
    summary.seconds = time.perf_counter() - began


def taken_names(session: Session) -> set[str]:
    """Advertiser names in the database: drawn names avoid them (names are unique)."""
    from sqlalchemy import select

    from adsgen.storage.orm import Advertiser

    return set(session.execute(select(Advertiser.name)).scalars())
