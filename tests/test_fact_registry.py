"""The registry of fact tables (`adsgen.simulate.columns.FACT_TABLES`) drives every consumer:
a table registered here — and produced by the simulation — reaches the SimResult, the files
(partitioned as registered), the manifest, the estimate, `adsgen load`, database runs (with
its rows replaced on re-simulation), the data dictionary and the DDL, with no other edit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest
from sqlalchemy import Engine

from adsgen.build.numbering import NumberedPlan, number_plan
from adsgen.runs import database as pipeline
from adsgen.runs import grow
from adsgen.runs.blocks import estimate, export, load_dir
from adsgen.runs.manifest import Manifest
from adsgen.simulate import SimResult, engine, simulate
from adsgen.simulate.columns import FACT_TABLES, TIMESTAMP, FactTable
from adsgen.storage import orm
from adsgen.storage.database import table_counts
from adsgen.storage.dictionary import data_dictionary, ddl, find_table
from adsgen.templates.catalog import get_platform
from cliutil import counts, sqlite_url
from planfactory import sample_advertiser

PLATFORM = get_platform("netflix_like")
SEED = 5
NAME = "line_item_hours"


def _field(name: str, kind: pa.DataType, description: str, unit: str = "") -> pa.Field:
    return pa.field(name, kind, metadata={"description": description, "unit": unit})


SPEC = FactTable(
    name=NAME,
    schema=pa.schema([
        _field("line_item_id", pa.int64(), "Line item (line_items.id)."),
        _field("hour", TIMESTAMP, "Start of the UTC hour.", "UTC"),
        _field("device", pa.string(), "Device class."),
        _field("impressions", pa.int64(), "Impressions over the creatives.", "impressions"),
        _field("share", pa.float64(), "Share of the line item's impressions.", "probability 0-1"),
    ]),
    key=("line_item_id", "hour", "device"),
    partition="hour",
    description="A test table: performance summed over creatives.",
    grain="one row per line item × hour × device",
)


def line_item_hours(performance: pa.Table) -> pa.Table:
    """The test table, derived from performance rows (vectorized)."""
    keys = ["line_item_id", "hour", "device"]
    summed = performance.group_by(keys, use_threads=False).aggregate(
        [("impressions", "sum")]).rename_columns([*keys, "impressions"])
    summed = summed.sort_by([(k, "ascending") for k in keys])
    per_item = summed.group_by("line_item_id", use_threads=False).aggregate(
        [("impressions", "sum")])
    totals = dict(zip(per_item["line_item_id"].to_pylist(),
                      per_item["impressions_sum"].to_pylist(), strict=True))
    total = pa.array([max(totals[i], 1) for i in summed["line_item_id"].to_pylist()])
    share = pc.divide(summed["impressions"].cast(pa.float64()), total.cast(pa.float64()))
    return pa.Table.from_arrays([*summed.columns, share], schema=SPEC.schema)


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> Iterator[FactTable]:
    """SPEC in the registry and in the ORM metadata, produced by the simulation (local
    engine: a process pool would not see the patch); everything undone afterwards."""
    original = engine._simulate_batch

    def batch(*args: object, **kwargs: object) -> dict[str, pa.Table]:
        tables = original(*args, **kwargs)  # type: ignore[arg-type]
        return {**tables, NAME: line_item_hours(tables["performance"])}

    monkeypatch.setitem(FACT_TABLES, NAME, SPEC)
    monkeypatch.setattr(engine, "_simulate_batch", batch)
    declared = orm.declare_fact_tables()
    assert [t.name for t in declared] == [NAME]
    yield SPEC
    orm.Base.metadata.remove(declared[0])


@pytest.fixture
def plan() -> NumberedPlan:
    return number_plan([sample_advertiser(f"Adv {i}") for i in range(3)])


def test_the_simulation_result_holds_the_registered_table(
    registered: FactTable, plan: NumberedPlan
) -> None:
    result = simulate(plan.items, platform=PLATFORM, seed=SEED)
    assert list(result) == list(FACT_TABLES) and result[NAME].num_rows > 0
    assert result[NAME].equals(line_item_hours(result.performance))
    assert SimResult.empty()[NAME].schema.equals(SPEC.schema)
    with pytest.raises(ValueError, match="holds the tables"):
        SimResult({"performance": result.performance})


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_files_manifest_estimate_and_load_follow_the_registry(
    registered: FactTable, plan: NumberedPlan, tmp_path: Path, sqlite_engine: Engine, fmt: str
) -> None:
    out = tmp_path / "out"
    manifest = export(plan.items, entities=plan.arrow_tables(), platform=PLATFORM, seed=SEED,
                      out=out, fmt=fmt, engine="local", block_size=2)
    expected = simulate(plan.items, platform=PLATFORM, seed=SEED)[NAME]
    assert manifest.tables[NAME].rows == expected.num_rows > 0
    dates = sorted(p.name for p in (out / NAME).iterdir())
    assert dates and all(d.startswith("date=") for d in dates)  # partitioned as registered
    assert all(name.startswith(f"{NAME}/date=") for name in manifest.files or {}
               if name.startswith(f"{NAME}/"))
    if fmt == "parquet":
        back = ds.dataset(out / NAME, format="parquet", partitioning="hive").to_table()
        keys = [(k, "ascending") for k in SPEC.key]
        assert back.select(SPEC.schema.names).sort_by(keys).equals(
            expected.cast(pa.schema([f.remove_metadata() for f in SPEC.schema])).sort_by(keys))
    assert Manifest.read(out).tables[NAME].files == len(list((out / NAME).rglob("part-*")))

    guess = estimate(plan.items, platform=PLATFORM, seed=SEED, block_size=2)
    assert guess.rows[NAME] > 0

    loaded = load_dir(sqlite_engine, out)  # the table was created with the others
    assert loaded[NAME] == expected.num_rows == table_counts(sqlite_engine)[NAME]
    with sqlite_engine.connect() as conn:
        total = conn.exec_driver_sql(f"SELECT sum(impressions) FROM {NAME}").scalar()
    assert total == pc.sum(expected["impressions"]).as_py()


def test_database_runs_write_and_replace_the_registered_table(
    registered: FactTable, tmp_path: Path
) -> None:
    url = sqlite_url(tmp_path / "ads.db")
    summary = grow.create_example("crunchy_snacks_consideration", db=url)
    rows = counts(url)[NAME]
    assert rows > 0 and summary.facts.rows[NAME] == rows
    assert summary.as_dict()["facts"][f"{NAME}_rows"] == rows
    again = pipeline.simulate_database(db=url)  # deletes the line item's rows first
    assert again.rows[NAME] == rows == counts(url)[NAME]


def test_the_dictionary_and_ddl_document_the_registered_table(registered: FactTable) -> None:
    doc = find_table(NAME)
    assert doc.kind == "fact" and doc.primary_key == SPEC.key
    assert doc.files == f"{NAME}/date=YYYY-MM-DD/part-NNNNNN.parquet"
    assert [c.name for c in doc.columns] == SPEC.schema.names
    assert doc.columns[3].unit == "impressions" and "over the creatives" in doc.columns[3].meaning
    assert [d.name for d in data_dictionary()].index(NAME) > [
        d.name for d in data_dictionary()].index("ground_truth")
    text = ddl("postgresql", NAME)
    assert "REFERENCES line_items (id) ON DELETE CASCADE" in text
    assert "share >= 0 AND share <= 1" in text and "hour TIMESTAMP WITH TIME ZONE NOT NULL" in text


def test_every_registered_table_has_its_database_table() -> None:
    """Hand-written ORM tables (performance, ground_truth) mirror their entry too."""
    for name, spec in FACT_TABLES.items():
        table = orm.Base.metadata.tables[name]
        assert [c.name for c in table.columns] == spec.schema.names, name
        assert {c.name for c in table.primary_key.columns} == set(spec.key), name
        assert table.comment == spec.description and table.info["grain"] == spec.grain
        assert table.info["files"] == spec.files
