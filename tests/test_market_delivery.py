"""market_delivery (issue 12 item 5): a DMA- or state-targeted line item's UTC days split
over its markets in proportion to their TV households, adding up to the performance rows
exactly; written by every output path, checked by the manifest."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from adsgen.build.items import SimLineItem
from adsgen.domain.markets import dma, dma_table
from adsgen.runs.blocks import export
from adsgen.runs.markets import market_violations
from adsgen.simulate import simulate
from adsgen.simulate.columns import MARKET_DELIVERY_SCHEMA
from simfactory import platform, random_line_item

PLATFORM = platform()
SUMS = ("impressions", "valid_impressions", "completes", "clicks", "conversions",
        "spend_micros")
TARGETS: list[dict[str, tuple[str, ...]]] = [
    {"dmas": ("501", "803"), "geos": ("US",)},
    {"states": ("TX",), "geos": ("US",)},
    {"dmas": ("602",), "geos": ("US", "CA")},  # a DMA and a whole country
    {"dmas": ("501", "524", "803"), "states": ("NY", "CA"), "geos": ("US",)},  # both: 501, 803
]


def targeted(seed: int, count: int, *, days: int = 6, delivering: bool = False
             ) -> list[SimLineItem]:
    """`count` random line items, every other one given one of TARGETS (`delivering`: all
    active with servable creatives)."""
    rng = random.Random(seed)
    items = [random_line_item(rng, i + 1, max_days=days) for i in range(count)]
    if delivering:
        items = [dataclasses.replace(i, active=True, creatives=tuple(
            dataclasses.replace(c, servable=True) for c in i.creatives)) for i in items]
    return [dataclasses.replace(item, **TARGETS[k // 2 % len(TARGETS)]) if k % 2 == 0
            else item for k, item in enumerate(items)]


def performance_by_day(performance: pa.Table) -> dict[tuple[int, int], np.ndarray]:
    """Per (line item, UTC day number): the SUMS of its performance rows."""
    day = pc.cast(performance["hour"], pa.int64()).to_numpy() // 86_400_000_000
    col = {n: performance[n].to_numpy() for n in performance.column_names if n != "device"}
    values = np.stack([col["impressions"], col["impressions"] - col["invalid"],
                       col["completes"], col["clicks"],
                       col["click_conversions"] + col["view_conversions"],
                       col["spend_micros"]], axis=1)
    out: dict[tuple[int, int], np.ndarray] = {}
    for li, d, row in zip(col["line_item_id"].tolist(), day.tolist(), values, strict=True):
        out[(li, d)] = out.get((li, d), 0) + row
    return out


def markets_by_day(markets: pa.Table) -> dict[tuple[int, int], np.ndarray]:
    day = pc.cast(markets["day"], pa.int32()).to_numpy()
    values = np.stack([markets[n].to_numpy() for n in SUMS], axis=1)
    out: dict[tuple[int, int], np.ndarray] = {}
    for li, d, row in zip(markets["line_item_id"].to_pylist(), day.tolist(), values,
                          strict=True):
        out[(li, d)] = out.get((li, d), 0) + row
    return out


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 10_000), count=st.integers(1, 8))
def test_markets_add_up_to_the_performance_rows_exactly(seed: int, count: int) -> None:
    items = targeted(seed, count)
    result = simulate(items, platform=PLATFORM, seed=seed)
    markets = result["market_delivery"]
    assert markets.schema.equals(MARKET_DELIVERY_SCHEMA)
    with_markets = {i.line_item_id for i in items if i.dmas or i.states}
    perf = performance_by_day(result.performance)
    expected = {k: v for k, v in perf.items() if k[0] in with_markets and v.any()}
    got = markets_by_day(markets)
    assert set(got) == set(expected)
    assert all(np.array_equal(got[k], expected[k]) for k in got)
    imps = markets["impressions"].to_numpy()
    for name in ("valid_impressions", "completes", "clicks"):
        assert (markets[name].to_numpy() <= imps).all(), name
    checked, bad = market_violations(result, items)
    assert bad == 0 and checked >= len(expected)


def test_each_line_item_runs_in_its_markets_by_their_tv_homes() -> None:
    """The markets are the targeted DMAs (states: the DMAs whose principal state it is; both:
    those in both), a country outside the US whole; their shares follow the TV homes."""
    items = targeted(5, 8, days=20, delivering=True)
    markets = simulate(items, platform=PLATFORM, seed=5)["market_delivery"]
    by_li: dict[int, dict[str, int]] = {}
    for row in markets.select(["line_item_id", "market", "impressions"]).to_pylist():
        seen = by_li.setdefault(row["line_item_id"], {})
        seen[row["market"]] = seen.get(row["market"], 0) + row["impressions"]
    texas = {code for code, state in zip(dma_table().codes, dma_table().state, strict=True)
             if state == "TX"}
    expected = [{"501", "803"}, texas, {"602", "CA"}, {"501", "803"}]
    for k, item in enumerate(items):
        if k % 2:
            assert item.line_item_id not in by_li
            continue
        assert set(by_li[item.line_item_id]) == expected[k // 2], item.line_item_id
    both = by_li[items[0].line_item_id]
    share = both["501"] / (both["501"] + both["803"])
    tv = dma("501").tv_households / (dma("501").tv_households + dma("803").tv_households)
    assert share == pytest.approx(tv, abs=0.002)
    labels = markets.filter(pc.equal(markets["market"], "501")).slice(0, 1).to_pylist()[0]
    assert (labels["geo"], labels["dma"], labels["dma_name"], labels["state"]) == (
        "US", "501", "New York", "NY")
    abroad = markets.filter(pc.equal(markets["market"], "CA")).slice(0, 1).to_pylist()[0]
    assert (abroad["geo"], abroad["dma"], abroad["state"]) == ("CA", None, None)


def test_a_line_item_has_the_same_market_rows_alone_and_in_any_batch() -> None:
    items = targeted(9, 8)
    whole = simulate(items, platform=PLATFORM, seed=2)["market_delivery"]
    small = simulate(items, platform=PLATFORM, seed=2, batch_rows=50)["market_delivery"]
    assert small.equals(whole) and whole.num_rows > 0
    alone = simulate(items[:1], platform=PLATFORM, seed=2)["market_delivery"]
    assert alone.equals(whole.filter(pc.equal(whole["line_item_id"],
                                              items[0].line_item_id)))


def test_the_manifest_check_catches_a_market_that_does_not_add_up() -> None:
    items = targeted(3, 4)
    result = dict(simulate(items, platform=PLATFORM, seed=3).items())
    markets = result["market_delivery"]
    assert market_violations(result, items)[1] == 0
    clicks = markets["clicks"].to_numpy().copy()
    clicks[0] += 1
    result["market_delivery"] = markets.set_column(
        markets.schema.get_field_index("clicks"), "clicks", pa.array(clicks))
    assert market_violations(result, items)[1] == 1
    untargeted = [dataclasses.replace(i, dmas=(), states=()) for i in items]
    assert market_violations(result, untargeted)[1] >= markets.num_rows


def test_export_writes_the_same_markets_on_every_engine(tmp_path: Path) -> None:
    items = targeted(12, 10, days=8)
    tables = {}
    for name, options in {"one": {"block_size": 1},
                          "pool": {"block_size": 3, "engine": "processes", "workers": 2}}.items():
        out = tmp_path / name
        manifest = export(items, entities={}, platform=PLATFORM, seed=6, out=out,
                          **options)  # type: ignore[arg-type]
        check = manifest.checks["markets_reconcile"]
        assert check.passed and check.checked > 0
        assert manifest.tables["market_delivery"].rows > 0
        tables[name] = ds.dataset(out / "market_delivery", format="parquet",
                                  partitioning="hive").to_table(
            columns=MARKET_DELIVERY_SCHEMA.names).sort_by(
            [("line_item_id", "ascending"), ("day", "ascending"), ("market", "ascending")])
    expected = simulate(items, platform=PLATFORM, seed=6)["market_delivery"].sort_by(
        [("line_item_id", "ascending"), ("day", "ascending"), ("market", "ascending")])
    assert tables["one"].equals(tables["pool"])
    assert tables["one"].num_rows == expected.num_rows > 0
    for name in SUMS:
        assert np.array_equal(tables["one"][name].to_numpy(), expected[name].to_numpy())


def test_a_database_run_holds_the_markets_of_its_targeted_line_items(
    engine: Engine, tmp_path: Path
) -> None:
    """run-all on roku_like (it sells DMAs and states) with a DMA and a state profile: the
    market rows add up to each targeted line item's performance rows, on every database."""
    from adsgen.runs.database import run_all

    profiles = tmp_path / "templates" / "profiles"
    profiles.mkdir(parents=True)
    kinds = {"in_dmas": "{dma: ['501', '803']}", "in_texas": "{state: [TX]}"}
    for name, targeting in kinds.items():
        (profiles / f"{name}.yml").write_text(
            f"type: profile\nweight: 1\nline_item_count: 1\ntargeting: {targeting}\n")
    run_all(db=engine.url.render_as_string(hide_password=False), platform="roku_like",
            templates_dir=tmp_path / "templates", seed=4)

    def rows(query: str) -> list[tuple[object, ...]]:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(query)]

    sums = "SUM(impressions), SUM(spend_micros)"
    markets = rows(f"SELECT line_item_id, {sums} FROM market_delivery GROUP BY line_item_id"
                   " ORDER BY line_item_id")
    performance = rows(
        f"SELECT line_item_id, {sums} FROM performance WHERE line_item_id IN (SELECT"
        " t.line_item_id FROM targeting t WHERE t.key IN ('dma', 'state')) GROUP BY line_item_id"
        " HAVING SUM(impressions) > 0 ORDER BY line_item_id")
    assert [tuple(int(v) for v in r) for r in markets] == [
        tuple(int(v) for v in r) for r in performance] and len(markets) >= 2
    states = {r[0] for r in rows("SELECT DISTINCT state FROM market_delivery")}
    assert {"NY", "CA", "TX"} <= states
