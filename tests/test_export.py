"""The file pipeline: same files on every engine, a truthful manifest, estimates, loading."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest
from sqlalchemy import Engine

from adsgen import __version__
from adsgen.build.numbering import NumberedPlan, number_plan
from adsgen.exceptions import AdsgenError, DatabaseError
from adsgen.runs.blocks import BlockResult, auto_block_size, estimate, export, load_dir
from adsgen.runs.manifest import Manifest, spec_hash
from adsgen.simulate import simulate
from adsgen.simulate.columns import (
    CREATIVE_TRUTH_SCHEMA,
    FACT_TABLES,
    GROUND_TRUTH_SCHEMA,
    PERFORMANCE_SCHEMA,
)
from adsgen.storage.database import table_counts
from adsgen.templates.catalog import get_platform
from planfactory import sample_advertiser
from simfactory import random_line_item

PLATFORM = get_platform("netflix_like")
SEED = 11
BLOCK = 3
PERF_KEYS = [(k, "ascending") for k in ("line_item_id", "creative_id", "hour", "device")]


@pytest.fixture(scope="module")
def plan() -> NumberedPlan:
    """5 advertisers: 10 line items (one paused campaign), 4 blocks of 3; the first line
    item runs a PSA lift experiment and the second advertiser's first targets two DMAs
    (so every fact table has rows; the simulation takes the targeting it is given, what a
    platform sells is checked where plans are drawn from templates)."""
    from adsgen.domain.enums import CampaignStatus
    from adsgen.domain.schemas import AdvertiserCreate

    advertisers = [sample_advertiser(f"Adv {i}") for i in range(4)]
    tree = advertisers[0].model_dump()
    tree["campaigns"][0]["line_items"][0]["experiment"] = {"type": "psa", "control_share": 0.5}
    advertisers[0] = AdvertiserCreate.model_validate(tree)
    tree = advertisers[1].model_dump()
    tree["campaigns"][0]["line_items"][0]["targeting"]["dma"] = ["501", "803"]
    advertisers[1] = AdvertiserCreate.model_validate(tree)
    advertisers.append(sample_advertiser("Paused", campaign_status=CampaignStatus.paused))
    return number_plan(advertisers)


@pytest.fixture(scope="module")
def dask_scheduler() -> Iterator[str]:
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster:
        yield cluster.scheduler_address


def run(plan: NumberedPlan, out: Path, **options: object) -> Manifest:
    settings: dict[str, object] = {"engine": "local", "block_size": BLOCK, **options}
    return export(plan.items, entities=plan.arrow_tables(), platform=PLATFORM, seed=SEED,
                  out=out, **settings)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def reference(plan: NumberedPlan, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reference") / "out"
    run(plan, out)
    return out


def file_hashes(root: Path) -> dict[str, str]:
    """sha256 of every data file (not the manifest, which records time and engine)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file() and p.name != "manifest.json"
    }


def read_table(root: Path, name: str, schema: pa.Schema,
               keys: list[tuple[str, str]] | None = None) -> pa.Table:
    table = ds.dataset(root / name, format="parquet", partitioning="hive").to_table()
    keys = keys or (PERF_KEYS if name == "performance" else [("line_item_id", "ascending"),
                                                             ("device", "ascending")])
    return table.select(schema.names).cast(schema).sort_by(keys)


def test_layout_and_manifest(plan: NumberedPlan, reference: Path) -> None:
    manifest = Manifest.read(reference)
    entity_tables = plan.arrow_tables()
    assert {p.name for p in reference.iterdir()} == {
        *(f"{name}.parquet" for name in entity_tables), *FACT_TABLES, "manifest.json"}
    # Block 3 holds only the paused campaign's line items: no rows, so no part file.
    for name in ("ground_truth", "creative_truth"):
        assert sorted(p.name for p in (reference / name).iterdir()) == [
            f"part-{i:06d}.parquet" for i in range(3)]
    assert all(p.name.startswith("date=") for p in (reference / "performance").iterdir())

    assert manifest.adsgen_version == __version__ and manifest.seed == SEED
    assert manifest.spec_hash == spec_hash(plan.items, platform=PLATFORM, seed=SEED)
    assert (manifest.platform, manifest.format, manifest.engine) == ("netflix_like", "parquet",
                                                                     "local")
    assert (manifest.blocks, manifest.block_size, manifest.line_items) == (4, BLOCK, 10)
    for name, table in entity_tables.items():
        assert manifest.tables[name].rows == table.num_rows
    for name in FACT_TABLES:
        files = [p for p in (reference / name).rglob("*.parquet")]
        stats = manifest.tables[name]
        assert stats.files == len(files) and stats.bytes == sum(p.stat().st_size for p in files)
        assert stats.rows == ds.dataset(reference / name, partitioning="hive").count_rows() > 0
    assert manifest.ok and manifest.checks_failed == 0 and manifest.checks_passed > 10
    assert manifest.checks["funnel_order"].checked == manifest.tables["performance"].rows


def test_rows_are_the_simulation_of_all_items(plan: NumberedPlan, reference: Path) -> None:
    whole = simulate(plan.items, platform=PLATFORM, seed=SEED)
    assert read_table(reference, "performance", PERFORMANCE_SCHEMA).equals(
        whole.performance.sort_by(PERF_KEYS))
    assert read_table(reference, "ground_truth", GROUND_TRUTH_SCHEMA).equals(
        whole.ground_truth.sort_by([("line_item_id", "ascending"), ("device", "ascending")]))
    truth_keys = [(k, "ascending") for k in FACT_TABLES["creative_truth"].key]
    assert read_table(reference, "creative_truth", CREATIVE_TRUTH_SCHEMA, truth_keys).equals(
        whole["creative_truth"].sort_by(truth_keys))


@pytest.mark.parametrize(("engine", "workers"), [("processes", 2), ("processes", 1),
                                                 ("dask", 2)])
def test_every_engine_writes_identical_files(
    plan: NumberedPlan, reference: Path, tmp_path: Path, engine: str, workers: int,
    request: pytest.FixtureRequest,
) -> None:
    scheduler = request.getfixturevalue("dask_scheduler") if engine == "dask" else None
    seen: list[BlockResult] = []
    manifest = run(plan, tmp_path / "out", engine=engine, workers=workers, scheduler=scheduler,
                   on_progress=seen.append)
    assert file_hashes(tmp_path / "out") == file_hashes(reference)
    assert read_table(tmp_path / "out", "performance", PERFORMANCE_SCHEMA).equals(
        read_table(reference, "performance", PERFORMANCE_SCHEMA))
    assert sorted(r.index for r in seen) == list(range(4))
    assert sum(r.performance_rows for r in seen) == manifest.tables["performance"].rows
    assert (manifest.engine, manifest.workers) == (engine, workers)
    assert manifest.tables == Manifest.read(reference).tables


def test_random_plans_write_identical_files_on_local_and_processes(tmp_path: Path) -> None:
    rng = random.Random(2024)
    items = [random_line_item(rng, i, max_days=10) for i in range(1, 25)]
    manifests = [
        export(items, entities={}, platform=PLATFORM, seed=3, out=tmp_path / engine,
               engine=engine, workers=2, block_size=5, fmt="jsonl")
        for engine in ("local", "processes")
    ]
    assert file_hashes(tmp_path / "local") == file_hashes(tmp_path / "processes")
    assert manifests[0].tables == manifests[1].tables and manifests[0].ok
    assert manifests[0].tables["performance"].rows > 0


def test_block_size_changes_file_names_not_rows(
    plan: NumberedPlan, reference: Path, tmp_path: Path
) -> None:
    manifest = run(plan, tmp_path / "out", block_size=1)
    assert manifest.blocks == 10
    assert len(list((tmp_path / "out" / "ground_truth").iterdir())) == 8  # 2 are paused
    for name, schema in (("performance", PERFORMANCE_SCHEMA),
                         ("ground_truth", GROUND_TRUTH_SCHEMA)):
        assert read_table(tmp_path / "out", name, schema).equals(
            read_table(reference, name, schema))


def test_duckdb_reads_the_directory(reference: Path) -> None:
    manifest = Manifest.read(reference)
    con = duckdb.connect()
    glob = reference / "performance" / "*" / "*.parquet"
    rows, days = con.execute(
        f"SELECT count(*), count(DISTINCT date) FROM read_parquet('{glob}', "
        "hive_partitioning=true)").fetchone()
    assert rows == manifest.tables["performance"].rows and days >= 10
    joined = con.execute(
        f"SELECT count(*) FROM read_parquet('{glob}', hive_partitioning=true) p "
        f"JOIN read_parquet('{reference / 'line_items.parquet'}') l ON p.line_item_id = l.id"
    ).fetchone()
    assert joined == (rows,)


def test_output_directory_must_be_empty_unless_overwrite(
    plan: NumberedPlan, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run(plan, out)
    (out / "notes.txt").write_text("mine")
    with pytest.raises(AdsgenError, match="--overwrite"):
        run(plan, out)
    run(plan, out, block_size=5, overwrite=True)
    assert len(list((out / "ground_truth").iterdir())) == 2  # the old parts are gone
    assert (out / "notes.txt").read_text() == "mine"


def test_overwrite_in_place_never_deletes_a_file_it_did_not_write(
    plan: NumberedPlan, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run(plan, out)
    report = out / "performance" / "Q3_report.xlsx"
    report.write_text("Q3")
    with pytest.raises(AdsgenError, match=r"did not write where it writes .*Q3_report"):
        run(plan, out, overwrite=True)
    report.unlink()
    part = next((out / "ground_truth").iterdir())
    part.write_bytes(b"edited")
    with pytest.raises(AdsgenError, match="changed since adsgen wrote them"):
        run(plan, out, overwrite=True)
    assert report.parent.is_dir() and part.read_bytes() == b"edited"


def test_bad_options_are_user_errors(plan: NumberedPlan, tmp_path: Path) -> None:
    for options in ({"fmt": "xml"}, {"engine": "threads"}, {"block_size": 0},
                    {"workers": 0, "engine": "processes"}, {"scheduler": "tcp://x:1"}):
        with pytest.raises(AdsgenError):
            run(plan, tmp_path / "out", **options)
    assert not (tmp_path / "out").exists()


def test_auto_block_size_depends_on_items_only(plan: NumberedPlan) -> None:
    items = plan.items  # 10 line items, 8 of them delivering 240 rows
    size = auto_block_size(items, platform=PLATFORM, target_rows=300, rows_per_date_file=0)
    assert size == auto_block_size(list(reversed(items)), platform=PLATFORM,
                                   target_rows=300, rows_per_date_file=0) == 1
    # Plenty of room per block: still at least MIN_BLOCKS blocks (ceil(10 / 8) items each).
    assert auto_block_size(items, platform=PLATFORM, target_rows=10**9) == 2
    assert auto_block_size([], platform=PLATFORM) == 1


def test_long_flights_get_blocks_that_fill_their_date_files(plan: NumberedPlan) -> None:
    """Few rows per line item and day: more line items per block, so date files are not tiny."""
    items = plan.items
    assert auto_block_size(items, platform=PLATFORM, target_rows=300, rows_per_date_file=0) == 1
    # 8 of 10 items deliver 240 rows over their days: ~20 rows a day each, so 40 rows per
    # date file take 2 line items per block, whatever target_rows says.
    days = sum((i.end - i.start).total_seconds() for i in items) / 86_400 / len(items)
    per_day = 0.8 * 240 / days
    wanted = 2 * per_day
    assert auto_block_size(items, platform=PLATFORM, target_rows=300,
                           rows_per_date_file=round(wanted)) == 2


def test_estimate_predicts_rows_and_bytes(plan: NumberedPlan, reference: Path) -> None:
    manifest = Manifest.read(reference)
    guess = estimate(plan.items, platform=PLATFORM, seed=SEED, block_size=BLOCK,
                     sample_rows=500)
    assert guess.blocks == 4 and 1 <= guess.sample_line_items <= BLOCK
    assert guess.rows == {name: manifest.tables[name].rows for name in FACT_TABLES}
    data_bytes = sum(manifest.tables[name].bytes for name in FACT_TABLES)
    assert 0.3 * data_bytes <= guess.bytes <= 3 * data_bytes
    assert guess.seconds > 0 and guess.rows_per_second > 0


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_load_dir_into_sqlite(
    plan: NumberedPlan, tmp_path: Path, sqlite_engine: Engine, fmt: str
) -> None:
    manifest = run(plan, tmp_path / fmt, fmt=fmt)
    loaded = load_dir(sqlite_engine, tmp_path / fmt, batch_rows=500)
    assert loaded == {name: stats.rows for name, stats in manifest.tables.items()}
    counts = table_counts(sqlite_engine)
    assert all(counts[name] == rows for name, rows in loaded.items())
    with sqlite_engine.connect() as conn:
        total = conn.exec_driver_sql("SELECT sum(impressions) FROM performance").scalar()
    perf = ds.dataset(tmp_path / fmt / "performance", format="parquet", partitioning="hive") \
        if fmt == "parquet" else None
    if perf is not None:
        assert total == pc.sum(perf.to_table(columns=["impressions"])["impressions"]).as_py()
    with pytest.raises(DatabaseError, match="nothing was loaded"):
        load_dir(sqlite_engine, tmp_path / fmt)  # same primary keys again
    assert table_counts(sqlite_engine) == counts


def test_load_dir_on_every_dialect(plan: NumberedPlan, reference: Path, engine: Engine) -> None:
    manifest = Manifest.read(reference)
    loaded = load_dir(engine, reference)
    assert loaded == {name: stats.rows for name, stats in manifest.tables.items()}
    counts = table_counts(engine)
    assert all(counts[name] == rows for name, rows in loaded.items())
    if engine.dialect.name == "postgresql":  # analyzed: the planner has statistics
        with engine.connect() as conn:
            analyzed = set(conn.exec_driver_sql(
                "SELECT DISTINCT tablename FROM pg_stats WHERE schemaname = current_schema()"
            ).scalars())
        assert {name for name, rows in loaded.items() if rows} <= analyzed


def test_load_dir_needs_generated_tables(tmp_path: Path, sqlite_engine: Engine) -> None:
    with pytest.raises(AdsgenError, match="not a directory"):
        load_dir(sqlite_engine, tmp_path / "missing")
    with pytest.raises(AdsgenError, match="no manifest"):
        load_dir(sqlite_engine, tmp_path)


def test_load_dir_streams_in_bounded_batches(
    reference: Path, sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import adsgen.storage.database

    sizes: list[int] = []
    real = adsgen.storage.database.bulk_insert

    def spy(conn: object, table: str, data: pa.Table, **kw: object) -> int:
        sizes.append(data.num_rows)
        return real(conn, table, data)  # type: ignore[arg-type]

    monkeypatch.setattr(adsgen.storage.database, "bulk_insert", spy)
    loaded = load_dir(sqlite_engine, reference, batch_rows=100)
    assert max(sizes) <= 100 and sum(sizes) == sum(loaded.values())


def test_a_block_gives_back_the_simulations_memory_before_it_writes(
    plan: NumberedPlan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The simulation leaves glibc's heap fragmented; the sinks then write what they hold,
    which takes memory of its own. A block trims in between (a year-long block: 445 -> 380
    MiB, benchmarks/bench_block.py), so at the first trim no fact file is written yet."""
    from adsgen.runs import blocks

    written_at_trim: list[list[Path]] = []

    def trim(*, collect: bool = True) -> None:
        written_at_trim.append(sorted(p for p in out.rglob("*.parquet")
                                      if not p.name.startswith(".")))

    monkeypatch.setattr(blocks, "release_unused_memory", trim)
    out = tmp_path / "out"
    run(plan, out, check=False)
    per_block = len(blocks._blocks(plan.items, BLOCK))
    # after the world; in the block, before and after writing; in this process as it ends
    assert len(written_at_trim) == 1 + 3 * per_block
    first_of_block = written_at_trim[1]
    entity_files = {out / f"{name}.parquet" for name in plan.arrow_tables()}
    assert set(first_of_block) == entity_files  # only the entities: no fact file of the block


def test_a_block_sends_back_no_summed_rows_it_wrote(plan: NumberedPlan, tmp_path: Path) -> None:
    """A block whose advertisers no other block holds returns empty partials; an empty
    slice of a table would pickle the table's whole buffers (PyArrow does), so each such
    block's result carried its mmm and campaign_reach rows back to the parent, which kept
    them to the end (`generate --line-items 20000 --days 365`: ~13 MB a block)."""
    import pickle

    from adsgen.runs.blocks import BlockTask, _blocks, run_block

    block = _blocks(plan.items, BLOCK)[0]
    task = BlockTask(index=0, items=block, platform=PLATFORM, seed=SEED,
                     out=str(tmp_path / "out"), fmt="parquet")
    result = run_block(task)
    assert result.rows["mmm"] > 0 and result.rows["campaign_reach"] > 0
    for name, table in result.partials.items():
        assert table.num_rows == 0
        assert len(pickle.dumps(table)) == len(pickle.dumps(table.schema.empty_table())), name
