"""The file pipeline: simulate line items block by block into files, estimate a run, load
a generated directory into a database.

`export` splits the line items (sorted by id) into fixed blocks of `block_size`; each block
is one task — simulate it, check its invariants, write its own part files — run by an
engine from `adsgen.runs.engines` (local, a process pool, Dask). A task returns only small
statistics, so memory is bounded by the block size, not the run. Block boundaries and file
names depend only on the items and `block_size`, so every engine and worker count writes
the same files, byte for byte. The directory layout (hive style, read as is by DuckDB,
Polars, pandas, Spark):

    <out>/advertisers.parquet, campaigns.parquet, …          entity tables, one file each
    <out>/performance/date=YYYY-MM-DD/part-000000.parquet    per block, by UTC date
    <out>/ground_truth/part-000000.parquet                   per block
    …                                                        every table of FACT_TABLES
    <out>/manifest.json                                      written last (see manifest.py)

`estimate` simulates a small sample to predict rows, bytes and time (`adsgen plan`,
`--dry-run`); `load_dir` streams such a directory into a database in one transaction.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adsgen import __version__
from adsgen.build.platform_set import PlatformSet, platform_set
from adsgen.exceptions import AdsgenError
from adsgen.runs.capacity import release_unused_memory
from adsgen.runs.engines import resolve_workers, run_tasks
from adsgen.runs.manifest import (
    MANIFEST_NAME,
    CheckCounts,
    FileEntry,
    Manifest,
    TableStats,
    add_slot_use,
    check_block,
    compare_folder,
    first_names,
    merge_checks,
    now_utc,
    recorded_files,
    shared_slot_check,
    slot_use,
    spec_hash,
)
from adsgen.runs.pods import industry_use, separation_check
from adsgen.runs.sizing import (  # block sizes: see there
    DEFAULT_BLOCK_ROWS,
    MIN_BLOCKS,
    ROWS_PER_DATE_FILE,
)
from adsgen.simulate import simulate_batches
from adsgen.simulate.columns import FACT_TABLES
from adsgen.simulate.engine import combine_summed
from adsgen.storage.sinks import SINKS, FileSink, get_sink
from adsgen.world.allocation import Allocation
from adsgen.world.platforms import allocate_each, allocations_for

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlalchemy import Engine

    from adsgen.build.items import SimLineItem
    from adsgen.templates.spec import Platform

__all__ = [
    "DEFAULT_BLOCK_ROWS",
    "MIN_BLOCKS",
    "BlockResult",
    "BlockTask",
    "Estimate",
    "auto_block_size",
    "estimate",
    "export",
    "load_dir",
    "run_block",
    "table_dataset",
    "tables_of",
    "verify_dir",
]

_LOAD_BATCH_ROWS = 200_000


# --- one block ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BlockTask:
    """One unit of work: simulate these line items and write part `index` of each table."""

    index: int
    items: tuple[SimLineItem, ...]
    platform: Platform | PlatformSet
    seed: int
    out: str
    fmt: str
    check: bool = True
    allocation: Allocation | Mapping[str, Allocation] | None = None
    """The whole plan's (one per platform by name), cut to this block's items."""
    shared: frozenset[int] = frozenset()
    """Advertisers of this block whose line items other blocks hold too: their rows of a
    summed table (FactTable.summed) go back to `export` to be added, not into a file."""


@dataclass(frozen=True, slots=True)
class BlockResult:
    """What a block wrote (small: this is all a task sends back)."""

    index: int
    line_items: int
    rows: dict[str, int]
    bytes: dict[str, int]
    files: dict[str, int]
    checks: dict[str, CheckCounts] = field(default_factory=dict)
    seconds: float = 0.0
    written: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Each file written: POSIX path relative to the output folder → (rows, bytes)."""
    partials: dict[str, Any] = field(default_factory=dict)
    """Summed tables' rows of the task's `shared` advertisers (pa.Table per table name)."""
    slot_use: list[tuple[Any, Any]] = field(default_factory=list)
    """Slots used per device × hour by the block (`manifest.slot_use` summed over its batches
    with `add_slot_use`): the shared-slot law. `export` adds it to the run's sum as the block
    finishes and empties it, so the parent holds one sum, not one per block."""
    industry_use: list[tuple[Any, Any]] = field(default_factory=list)
    """Impressions per industry × device × hour (`runs.pods.industry_use`), summed like
    `slot_use`: competitive separation."""

    @property
    def performance_rows(self) -> int:
        """Performance rows of this block (what progress bars count)."""
        return self.rows.get("performance", 0)


def run_block(task: BlockTask) -> BlockResult:
    """Simulate one block, check it, write its part files; return only the statistics.

    Pure apart from writing its own files (named by `task.index`), so it can run in any
    process, on any machine that sees `task.out`, and be retried. One sink per table of
    FACT_TABLES, partitioned as the table says.
    """

    started = time.perf_counter()
    checks: list[dict[str, CheckCounts]] = []
    use = add_slot_use([])  # summed batch by batch: a year-long batch has ~26,000 cells
    by_industry = add_slot_use([])
    sink_class = get_sink(task.fmt)
    out = Path(task.out)
    with ExitStack() as stack:  # a failure aborts every sink: nothing is published
        sinks = {
            name: stack.enter_context(
                sink_class(out, name, part=task.index, partition_by=table.partition))
            for name, table in FACT_TABLES.items()
        }
        summed: dict[str, list[pa.Table]] = {
            name: [] for name, table in FACT_TABLES.items() if table.summed}
        # simulate_batches never splits a line item, so checking batch by batch equals
        # checking the block. The sinks hold what they are given and write it in large
        # pieces (a date file: one row group per block), so memory is one batch plus what
        # the sinks hold (compressed), whatever the block size.
        for batch in simulate_batches(task.items, platform=task.platform, seed=task.seed,
                                      allocation=task.allocation):
            if task.check:
                checks.append(check_block(batch, task.items))
                use = add_slot_use([use, slot_use(batch.performance, task.items,
                                                  platforms=platform_set(task.platform).names)])
                by_industry = add_slot_use(
                    [by_industry, industry_use(batch.performance, task.items)])
            for name, table in FACT_TABLES.items():
                if table.summed:  # added over batches (a few rows per advertiser × week)
                    summed[name].append(batch[name])
                else:
                    sinks[name].write(batch[name])
            del batch
        # The simulation's temporaries are freed but glibc keeps them, fragmented, in the
        # heap; the sinks now write what they hold, which takes memory of its own. Trimming
        # once here, not per batch, costs nothing measurable and cuts a year-long block's
        # peak from ~445 to ~380 MiB (benchmarks/bench_block.py --line-items 2056 --days 365).
        release_unused_memory()
        partials = {}
        for name, parts in summed.items():
            whole, partials[name] = _split_shared(
                combine_summed(name, parts, platforms=task.platform), task.shared)
            if whole.num_rows:
                sinks[name].write(whole)
    release_unused_memory()  # give back what the block held before the next one
    return BlockResult(
        index=task.index, line_items=len(task.items),
        rows={name: sink.rows for name, sink in sinks.items()},
        bytes={name: sink.bytes for name, sink in sinks.items()},
        files={name: len(sink.files) for name, sink in sinks.items()},
        checks=_sum_checks(checks), seconds=time.perf_counter() - started,
        written=_written(out, *sinks.values()), slot_use=[use], partials=partials,
        industry_use=[by_industry],
    )


def _split_shared(table: pa.Table, shared: frozenset[int]) -> tuple[pa.Table, pa.Table]:
    """(rows of advertisers only this block holds, rows of the `shared` advertisers).

    The second goes back to the parent pickled, and PyArrow pickles a slice with its
    table's whole buffers: with none shared it is a new empty table, not `slice(0, 0)`
    (which sent every block's summed rows back, kept to the end of the run: ~13 MB a
    block of `generate --line-items 20000 --days 365`)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not shared:
        return table, table.schema.empty_table()
    mask = pc.is_in(table.column("advertiser_id"), value_set=pa.array(sorted(shared),
                                                                        type=pa.int64()))
    return table.filter(pc.invert(mask)), table.filter(mask)


def _shared_advertisers(blocks: Sequence[tuple[SimLineItem, ...]]) -> list[frozenset[int]]:
    """Per block: its advertisers whose line items other blocks hold too."""
    owners: dict[int, set[int]] = {}
    for index, block in enumerate(blocks):
        for item in block:
            owners.setdefault(item.advertiser_id, set()).add(index)
    spread = {advertiser for advertiser, held in owners.items() if len(held) > 1}
    return [frozenset({item.advertiser_id for item in block} & spread) for block in blocks]


def _written(out: Path, *sinks: FileSink) -> dict[str, tuple[int, int]]:
    """Each file the sinks wrote, relative to `out` → (rows, bytes)."""
    return {
        path.relative_to(out).as_posix(): (sink.file_rows.get(path, 0), size)
        for sink in sinks for path, size in sink.files.items()
    }


def _sum_checks(batches: list[dict[str, CheckCounts]]) -> dict[str, CheckCounts]:
    total: dict[str, CheckCounts] = {}
    for batch in batches:
        for name, (checked, bad) in batch.items():
            prior = total.get(name, (0, 0))
            total[name] = (prior[0] + checked, prior[1] + bad)
    return total


# --- sizing ------------------------------------------------------------------------------


def auto_block_size(
    items: Sequence[SimLineItem], *, platform: Platform | PlatformSet,
    target_rows: int = DEFAULT_BLOCK_ROWS,
    rows_per_date_file: int = ROWS_PER_DATE_FILE,
) -> int:
    """Line items per block: about `target_rows` rows, or more when that many line items are
    needed to give each date file `rows_per_date_file` rows (long flights), and a run has at
    least MIN_BLOCKS blocks (when it has that many line items) so that small
    runs still use every core. Depends only on the items, never on the workers, so the
    output stays the same whatever the engine.
    """
    from adsgen.simulate.grid import row_count

    if not items:
        return 1
    plats = platform_set(platform)
    mean = sum(row_count(item, plats.of(item)) for item in items) / len(items)
    days = sum((item.end - item.start).total_seconds() for item in items) / 86_400 / len(items)
    by_rows = max(1, int(target_rows // max(mean, 1.0)))
    by_files = int(-(-rows_per_date_file * max(days, 1.0) // max(mean, 1.0)))
    return min(max(by_rows, by_files), -(-len(items) // MIN_BLOCKS))  # still ≥ MIN_BLOCKS


def _blocks(
    items: Sequence[SimLineItem], block_size: int
) -> list[tuple[SimLineItem, ...]]:
    ordered = sorted(items, key=lambda item: item.line_item_id)
    ids = [item.line_item_id for item in ordered]
    if len(set(ids)) != len(ids):
        raise AdsgenError("line item ids must be unique to export them")
    return [tuple(ordered[i : i + block_size]) for i in range(0, len(ordered), block_size)]


# --- export ------------------------------------------------------------------------------


def _prepare(out: Path, entities: Sequence[str], overwrite: bool) -> None:
    """Create `out`; refuse one holding files unless `overwrite`, and then remove only the
    files the previous run's manifest lists (as they were written). Other files stay beside
    them; one where this run writes (a table's file or folder), a recorded file changed
    since, or a manifest that cannot be read is refused: nothing is deleted on a guess."""
    if out.exists() and not out.is_dir():
        raise AdsgenError(f"--out {str(out)!r} is a file; give a directory")
    existing = list(out.iterdir()) if out.exists() else []
    if existing and not overwrite:
        raise AdsgenError(
            f"output directory {str(out)!r} is not empty; choose another --out or pass "
            "--overwrite to replace the adsgen files in it"
        )
    if existing:
        recorded = recorded_files(out)
        diff = compare_folder(out, recorded)
        extensions = {cls.extension for cls in SINKS.values()}
        ours = {*entities, *FACT_TABLES}
        tops = {name: name.split("/")[0] for name in diff.unrecorded}
        clash = [name for name, top in tops.items() if top in ours or (
            top.rpartition(".")[0] in ours and top.rpartition(".")[2] in extensions)]
        if clash:
            raise AdsgenError(f"{str(out)!r} holds files adsgen did not write where it writes "
                              f"({first_names(clash)}); nothing was replaced")
        if diff.changed:
            raise AdsgenError(f"{str(out)!r} holds files changed since adsgen wrote them "
                              f"({first_names(diff.changed)}); nothing was replaced")
        for name in recorded:
            if name not in diff.missing:
                (out / name).unlink()
        (out / MANIFEST_NAME).unlink(missing_ok=True)
        for folder in sorted({(out / name).parent for name in recorded}, reverse=True):
            while folder != out and folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
                folder = folder.parent
    out.mkdir(parents=True, exist_ok=True)


def export(
    items: Sequence[SimLineItem],
    *,
    entities: dict[str, pa.Table],
    platform: Platform | PlatformSet,
    seed: int,
    out: Path,
    fmt: str = "parquet",
    engine: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    block_size: int | None = None,
    on_progress: Callable[[BlockResult], None] | None = None,
    overwrite: bool = False,
    check: bool = True,
    spec: Any = None,
) -> Manifest:
    """Simulate `items` into files under `out` and write its manifest; the Manifest.

    Entity tables (`entities`, table name → Arrow) are written once, here, each taken out of
    `entities` as it is written (a caller that keeps no other reference frees it); the fact tables
    (FACT_TABLES) by one task per block of `block_size` line items (default:
    `auto_block_size`) on `engine` with `workers` (default: every core) — `scheduler` is a
    Dask scheduler address. `on_progress` gets each block's result as it finishes.
    `spec` (anything JSON-able) joins the spec hash. Raises AdsgenError for an unknown
    format or engine, bad numbers, or a non-empty `out` without `overwrite`.
    """
    started = time.perf_counter()
    sink_class = get_sink(fmt)
    n_workers = resolve_workers(engine, workers)
    if block_size is not None and block_size < 1:
        raise AdsgenError(f"--block-size must be at least 1 (got {block_size})")
    if scheduler is not None and engine != "dask":
        raise AdsgenError(f"--scheduler needs --engine dask (the engine is {engine!r})")
    size = block_size or auto_block_size(items, platform=platform)
    blocks = _blocks(items, size)
    out = Path(out).resolve()
    _prepare(out, list(entities), overwrite)

    tables: dict[str, TableStats] = {}
    written: dict[str, tuple[int, int]] = {}
    for name in list(entities):
        with sink_class(out, name) as sink:
            sink.write(entities.pop(name))  # written: its memory goes before the blocks run
        tables[name] = TableStats(rows=sink.rows, bytes=sink.bytes, files=len(sink.files))
        written.update(_written(out, sink))

    settling = time.perf_counter()
    plats = platform_set(platform)
    world = allocate_each(items, plats, seed)  # the shared worlds, settled once for all blocks
    settled = time.perf_counter() - settling
    shared = _shared_advertisers(blocks)
    tasks = [BlockTask(index=i, items=block, platform=plats, seed=seed, out=str(out),
                       fmt=fmt, check=check, allocation=allocations_for(world, block, plats),
                       shared=shared[i])
             for i, block in enumerate(blocks)]
    del world
    release_unused_memory()  # the allocation's temporaries, before the workers start

    use = add_slot_use([])  # the blocks' slot use, summed as they finish (~0.4 MB a block)

    by_industry = add_slot_use([])

    def done(index: int, result: BlockResult) -> None:
        nonlocal use, by_industry
        use = add_slot_use([use, *result.slot_use])
        result.slot_use.clear()
        by_industry = add_slot_use([by_industry, *result.industry_use])
        result.industry_use.clear()
        # The pool's thread unpickles each result in a glibc heap of its own, where the
        # freed uses (~10 MB a year-long block) and the kept file lists interleave: without
        # a trim per block, this process grew from ~235 to 380 MiB and more over a
        # year-long run of 78 blocks.
        release_unused_memory(collect=False)
        if on_progress is not None:
            on_progress(result)

    results = run_tasks(run_block, tasks, engine=engine, workers=workers,
                        scheduler=scheduler, on_done=done)
    for name in FACT_TABLES:
        tables[name] = TableStats(
            rows=sum(r.rows.get(name, 0) for r in results),
            bytes=sum(r.bytes.get(name, 0) for r in results),
            files=sum(r.files.get(name, 0) for r in results),
        )
    for result in results:
        written.update(result.written)
    for name, fact in FACT_TABLES.items():  # the shared advertisers' rows, added: one part
        if not fact.summed:
            continue
        parts = [r.partials[name] for r in sorted(results, key=lambda r: r.index)
                 if name in r.partials]
        rows = combine_summed(name, parts, platforms=plats)
        if rows.num_rows:
            with sink_class(out, name, part=len(blocks)) as sink:
                sink.write(rows)
            prior = tables[name]
            tables[name] = TableStats(rows=prior.rows + sink.rows,
                                      bytes=prior.bytes + sink.bytes,
                                      files=prior.files + len(sink.files))
            written.update(_written(out, sink))
    checks = merge_checks(r.checks for r in results)
    if check:
        checks["shared_slots"] = shared_slot_check([use], plats, seed)
        checks["competitive_separation"] = separation_check([by_industry], plats, seed)
    elapsed = time.perf_counter() - started
    manifest = Manifest(
        adsgen_version=__version__,
        created_at=now_utc(),
        seed=seed,
        spec_hash=spec_hash(items, platform=plats, seed=seed, spec=spec),
        platform=",".join(plats.names),
        format=fmt,
        engine=engine,
        workers=n_workers,
        block_size=size,
        blocks=len(blocks),
        line_items=len(items),
        tables=tables,
        files={name: FileEntry(rows=rows, bytes=size)
               for name, (rows, size) in sorted(written.items())},
        elapsed_seconds=round(elapsed, 3),
        allocation_seconds=round(settled, 3),
        rows_per_second=round(tables["performance"].rows / elapsed, 1) if elapsed else 0.0,
        checks=checks,
        checks_passed=sum(c.passed for c in checks.values()),
        checks_failed=sum(not c.passed for c in checks.values()),
    )
    manifest.write(out)
    return manifest


# --- estimate ----------------------------------------------------------------------------

# Start-up of the engines before the first block runs (seconds, measured on 2 cores).
_STARTUP_SECONDS = {"local": 0.0, "processes": 1.0, "dask": 5.0}
_PARALLEL_EFFICIENCY = 0.85  # processes/local measured 1.7-1.9x on 2 cores


@dataclass(frozen=True, slots=True)
class Estimate:
    """A run predicted from a measured sample: rows, disk and time."""

    line_items: int
    blocks: int
    block_size: int
    workers: int
    rows: dict[str, int]
    bytes: int
    rows_per_second: float  # whole run, every worker
    seconds: float
    sample_line_items: int


def estimate(
    items: Sequence[SimLineItem],
    *,
    platform: Platform | PlatformSet,
    seed: int,
    fmt: str = "parquet",
    engine: str = "local",
    workers: int | None = None,
    block_size: int | None = None,
    sample_rows: int = DEFAULT_BLOCK_ROWS,
) -> Estimate:
    """Predict a run of `export`: exact row counts; bytes and time measured by simulating
    and writing (format `fmt`, in a temporary folder) the line items of one real block —
    the middle one, cut to about `sample_rows` rows — so that file sizes and per-file
    costs are those of the run.
    """
    from adsgen.simulate.grid import row_count

    get_sink(fmt)
    n_workers = resolve_workers(engine, workers)
    size = block_size or auto_block_size(items, platform=platform)
    blocks = _blocks(items, size)
    plats = platform_set(platform)
    counts = {item.line_item_id: row_count(item, plats.of(item))
              for block in blocks for item in block}
    total = sum(counts.values())
    live = sum(1 for count in counts.values() if count > 0)
    delivering = [[item for item in block if counts[item.line_item_id]] for block in blocks]
    delivering = [block for block in delivering if block]
    middle = delivering[len(delivering) // 2] if delivering else []
    picked: list[SimLineItem] = []
    for item in middle:
        if picked and sum(counts[i.line_item_id] for i in picked) >= sample_rows:
            break
        picked.append(item)
    if not picked:
        return Estimate(len(items), len(blocks), size, n_workers, dict.fromkeys(FACT_TABLES, 0),
                        0, 0.0, 0.0, 0)
    with tempfile.TemporaryDirectory(prefix="adsgen-estimate-") as tmp:
        run_block(BlockTask(1, tuple(picked[:1]), platform, seed, tmp, fmt))  # warm up
        measured = run_block(BlockTask(0, tuple(picked), platform, seed, tmp, fmt))
    sample = measured.performance_rows
    # Performance rows are known exactly; the other tables' are the sample's per line item.
    rows = {name: round(measured.rows.get(name, 0) / len(picked) * live)
            for name in FACT_TABLES}
    # a summed table has rows per advertiser: scale by advertisers, not line items
    brands = len({item.advertiser_id for block in delivering for item in block})
    sampled = len({item.advertiser_id for item in picked})
    for name, fact in FACT_TABLES.items():
        if fact.summed:
            rows[name] = round(measured.rows.get(name, 0) / sampled * brands)
    rows["performance"] = total
    # Experiments are opt-in per line item: their rows are known exactly, not per line item.
    tested = sum(1 for block in blocks for item in block
                 if item.experiment is not None and counts[item.line_item_id])
    rows["experiment_outcomes"], rows["experiment_truth"] = 2 * tested, tested
    # Markets too: days × markets of each DMA- or state-targeted line item that delivers.
    from adsgen.simulate.market_delivery import market_rows

    by_platform: dict[str, list[SimLineItem]] = {}
    for block in delivering:
        for item in block:
            by_platform.setdefault(plats.name_of(item), []).append(item)
    rows["market_delivery"] = sum(market_rows(chosen, plats.by_name(name))
                                  for name, chosen in by_platform.items())
    per_row = sum(measured.bytes.values()) / max(sample, 1)
    speed = sample / max(measured.seconds, 1e-6)
    parallel = 1.0 if engine == "local" else min(n_workers, len(blocks)) * _PARALLEL_EFFICIENCY
    run_speed = speed * max(parallel, 1.0)
    return Estimate(
        line_items=len(items), blocks=len(blocks), block_size=size, workers=n_workers,
        rows=rows, bytes=round(per_row * total), rows_per_second=run_speed,
        seconds=_STARTUP_SECONDS[engine] + total / max(run_speed, 1e-6),
        sample_line_items=len(picked),
    )


# --- load a directory into a database ------------------------------------------------------


def verify_dir(directory: Path) -> Manifest:
    """The manifest of a generated directory, once the directory is checked against it:
    every file it lists is there with its size, in the manifest's format, of a table adsgen
    knows, and (Parquet) its footer reads and holds the rows listed. Raises AdsgenError
    naming the first problems; files it does not list are left alone (never loaded)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise AdsgenError(f"{str(directory)!r} is not a directory of generated tables (no "
                          f"{MANIFEST_NAME} there); make one with `adsgen generate --out DIR`")
    if not (directory / MANIFEST_NAME).is_file():
        raise AdsgenError(
            f"{str(directory)!r} is not a generated directory (no {MANIFEST_NAME}); "
            "make one with `adsgen generate --out DIR`"
        )
    try:
        files = recorded_files(directory)
    except AdsgenError as exc:
        raise AdsgenError(f"{exc}; nothing was loaded") from exc
    manifest = Manifest.read(directory)
    extension = get_sink(manifest.format).extension
    diff = compare_folder(directory, files)
    where = f"{str(directory)!r} does not match its manifest"
    if diff.missing:
        raise AdsgenError(f"{where}: {len(diff.missing)} file(s) missing "
                          f"({first_names(diff.missing)}); nothing was loaded")
    if diff.changed:
        raise AdsgenError(f"{where}: file(s) of another size ({first_names(diff.changed)}); "
                          "nothing was loaded")
    other = [name for name in files if not name.endswith(f".{extension}")]
    if other:
        raise AdsgenError(f"{where}: its format is {manifest.format} but it lists "
                          f"{first_names(other)}; nothing was loaded")
    tables = tables_of(files)
    unknown = sorted(set(tables) - set(_orm_tables()))
    if unknown:
        raise AdsgenError(f"{where}: it lists tables adsgen does not know "
                          f"({first_names(unknown)}); nothing was loaded")
    for name, stats in manifest.tables.items():
        listed = sum(files[f].rows for f in tables.get(name, []))
        if listed != stats.rows:
            raise AdsgenError(f"{where}: its files of {name!r} hold {listed:,} rows, its "
                              f"tables {stats.rows:,}; nothing was loaded")
    if manifest.format == "parquet":
        for name, entry in files.items():
            rows = _parquet_rows(directory / name)
            if rows != entry.rows:
                raise AdsgenError(f"{where}: {name} holds {rows:,} rows, the manifest "
                                  f"says {entry.rows:,}; nothing was loaded")
    return manifest


def tables_of(files: Mapping[str, FileEntry]) -> dict[str, list[str]]:
    """Table name → its files (in the manifest's order): `t.ext` or `t/...`."""
    tables: dict[str, list[str]] = {}
    for name in files:
        table = name.split("/")[0] if "/" in name else name.rpartition(".")[0]
        tables.setdefault(table, []).append(name)
    return tables


def _orm_tables() -> dict[str, Any]:
    from adsgen.storage.orm import Base

    return {table.name: table for table in Base.metadata.sorted_tables}


def _parquet_rows(path: Path) -> int:
    """Rows in a Parquet file's footer; AdsgenError when it cannot be read."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return int(pq.read_metadata(path).num_rows)
    except (pa.ArrowException, OSError) as exc:
        raise AdsgenError(f"{str(path)!r} is not a readable Parquet file "
                          f"({_first_line(exc)}); nothing was loaded") from exc


def _first_line(exc: BaseException, limit: int = 160) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def table_dataset(paths: Sequence[Path], fmt: str, table: Any) -> tuple[Any, list[str]]:
    """A pyarrow dataset over a table's files (in this order) and the columns to load."""
    import pyarrow.csv as pacsv
    import pyarrow.dataset as ds
    import pyarrow.json as pajson

    from adsgen.storage.dictionary import arrow_schema
    from adsgen.storage.sinks import PARTITION_KEY

    sources = [str(path) for path in paths]
    probe = ds.dataset(sources[0], format="json" if fmt == "jsonl" else fmt)
    columns = [c for c in probe.schema.names if c in table.c and c != PARTITION_KEY]
    unknown = [c for c in probe.schema.names if c not in table.c and c != PARTITION_KEY]
    if unknown:
        raise AdsgenError(f"{sources[0]}: table {table.name!r} has no column(s) "
                          f"{', '.join(unknown)}")
    if fmt == "parquet":
        return ds.dataset(sources, format="parquet"), columns
    schema = arrow_schema(table.name, columns)  # the data dictionary's file types
    if fmt == "csv":
        file_format: Any = ds.CsvFileFormat(convert_options=pacsv.ConvertOptions(
            column_types=schema, strings_can_be_null=True))
    else:
        file_format = ds.JsonFileFormat(parse_options=pajson.ParseOptions(
            explicit_schema=schema))
    return ds.dataset(sources, format=file_format), columns


def load_dir(
    engine: Engine,
    directory: Path,
    *,
    batch_rows: int = _LOAD_BATCH_ROWS,
    on_rows: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Load a generated directory into the database at `engine`; rows loaded per table.

    First checks the directory against its manifest (`verify_dir`), then, in one
    transaction that also creates missing tables, inserts exactly the files the manifest
    lists, table by table in foreign-key order, with `bulk_insert` (COPY on PostgreSQL …),
    streaming `batch_rows` at a time so memory stays bounded; `on_rows(n)` after each batch.
    A file that cannot be read, a value that does not convert, or a file holding other
    rows than listed rolls everything back. On PostgreSQL the loaded tables are ANALYZEd
    once committed (`storage.database.analyze`). Raises AdsgenError for those and for a folder
    that does not match its manifest, DatabaseError when the database refuses the rows
    (for instance, they were loaded already).
    """
    import pyarrow as pa
    from sqlalchemy.exc import IntegrityError, SQLAlchemyError

    from adsgen.exceptions import DatabaseError
    from adsgen.storage.database import (
        analyze,
        bulk_insert,
        masked_url,
        scrub,
        write_transaction,
    )

    directory = Path(directory)
    manifest = verify_dir(directory)
    assert manifest.files is not None  # verify_dir refuses a manifest without its files
    files = manifest.files
    by_table = tables_of(files)
    sources = [(table, by_table[table.name]) for table in _orm_tables().values()
               if table.name in by_table]
    counts: dict[str, int] = {}
    current = ""
    try:
        with write_transaction(engine, "cannot load into") as conn:
            for table, names in sources:
                current = names[0]
                dataset, columns = table_dataset([directory / n for n in names],
                                                 manifest.format, table)
                loaded = 0
                # File by file: a dataset-wide scan reads ahead of a slow database without
                # limit, while one file is at most one block's rows of one date.
                for name, fragment in zip(names, dataset.get_fragments(), strict=True):
                    current, rows = name, 0
                    for batch in fragment.to_batches(columns=columns, batch_size=batch_rows):
                        if batch.num_rows:
                            data = pa.Table.from_batches([batch])
                            rows += bulk_insert(conn, table.name, data)
                            if on_rows is not None:
                                on_rows(batch.num_rows)
                    if rows != files[name].rows:
                        raise AdsgenError(
                            f"{str(directory / name)!r} holds {rows:,} rows, its manifest "
                            f"says {files[name].rows:,}; nothing was loaded")
                    loaded += rows
                counts[table.name] = loaded
    except (pa.ArrowException, OSError) as exc:
        raise AdsgenError(f"{str(directory / current)!r} is not a readable "
                          f"{manifest.format} file of adsgen's ({_first_line(exc)}); "
                          "nothing was loaded") from exc
    except SQLAlchemyError as exc:
        reason = scrub(" ".join(str(getattr(exc, "orig", None) or exc).split())[:300], engine.url)
        hint = "; were these rows loaded already?" if isinstance(exc, IntegrityError) else ""
        raise DatabaseError(
            f"cannot load {str(directory)!r} into {masked_url(engine.url)}: {reason}"
            f" (nothing was loaded{hint})"
        ) from exc
    analyze(engine, counts)
    return counts
