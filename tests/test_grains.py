"""Every grain from one world: hourly → daily → MMM sums agree exactly, truth included, on
random plans, whatever the batches, blocks, engines or the line items a database run
re-simulates; the marginal truth behaves as a derivative; `adsgen score --metric roi`."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from sqlalchemy import Engine

from adsgen.build.items import SimLineItem
from adsgen.runs.blocks import export
from adsgen.runs.score import score
from adsgen.simulate import SimResult, simulate
from adsgen.simulate.columns import MMM_CHANNEL_COLUMNS, MMM_CHANNELS
from adsgen.simulate.grains import DAILY_SUMS, value_per_conversion
from simfactory import platform, random_line_item, sim_items

PLATFORM = platform()
PARTS = ("spend", "impressions", "attributed", "incremental", "incremental_value",
         "marginal_value")
DAILY_OF_PART = {"spend": "spend_micros", "impressions": "impressions",
                 "incremental": "incremental_conversions",
                 "incremental_value": "incremental_value_micros",
                 "marginal_value": "marginal_value_micros"}


def spread(items: list[SimLineItem]) -> list[SimLineItem]:
    """The plan with its line items spread over three advertisers."""
    return [dataclasses.replace(item, advertiser_id=1 + item.line_item_id % 3)
            for item in items]


Sums = dict[tuple[object, ...], tuple[int, ...]]


def sums(table: pa.Table, keys: list[str], columns: list[str]) -> Sums:
    grouped = table.group_by(keys).aggregate([(c, "sum") for c in columns])
    rows = grouped.to_pylist()
    return {tuple(r[k] for k in keys): tuple(r[f"{c}_sum"] for c in columns) for r in rows}


def assert_grains_reconcile(result: SimResult, items: list[SimLineItem], seed: int) -> None:
    perf, daily, truth, mmm = (result[n] for n in ("performance", "daily", "conversion_truth",
                                                   "mmm"))
    day = pc.cast(pc.cast(perf["hour"], pa.timestamp("us")), pa.date32())
    hourly = perf.append_column("day", day)
    keys = ["line_item_id", "device", "day"]
    assert sums(hourly, keys, list(DAILY_SUMS)) == sums(daily, keys, list(DAILY_SUMS))
    li_day = ["line_item_id", "day"]
    assert (sums(daily, li_day, ["incremental_conversions"])
            == sums(truth, li_day, ["incremental_conversions"]))
    # daily → MMM, per advertiser × channel
    owner = {item.line_item_id: item.advertiser_id for item in items}
    daily = daily.append_column("advertiser_id", pa.array(
        [owner[i] for i in daily["line_item_id"].to_pylist()], type=pa.int64()))
    attributed = pc.add(daily["click_conversions"], daily["view_conversions"])
    daily = daily.append_column("attributed", attributed)
    for channel in MMM_CHANNELS:
        on = daily.filter(pc.equal(daily["device"], channel))
        names = MMM_CHANNEL_COLUMNS[channel]
        for part in PARTS:
            column = DAILY_OF_PART.get(part, "attributed")
            want = sums(on, ["advertiser_id"], [column])
            got = {k: v for k, v in sums(mmm, ["advertiser_id"], [names[part]]).items()
                   if v != (0,) or k in want}
            assert got == {k: v for k, v in want.items()}, (channel, part)
    incremental = sum(mmm[MMM_CHANNEL_COLUMNS[c]["incremental"]].to_numpy() for c in MMM_CHANNELS)
    assert np.array_equal(mmm["conversions"].to_numpy(),
                          mmm["baseline_conversions"].to_numpy() + incremental)
    value = value_per_conversion(seed, mmm["advertiser_id"].to_numpy())
    assert np.array_equal(mmm["value_per_conversion_micros"].to_numpy(), value)
    assert np.array_equal(mmm["conversion_value_micros"].to_numpy(),
                          mmm["conversions"].to_numpy() * value)
    keys_mmm = mmm.select(["advertiser_id", "week", "geo"]).to_pylist()
    assert len({tuple(k.values()) for k in keys_mmm}) == mmm.num_rows  # one row per key


@settings(max_examples=25, deadline=None)
@given(items=sim_items(max_items=5, max_days=16))
def test_grains_reconcile_on_random_plans(items: list[SimLineItem]) -> None:
    items = spread(items)
    result = simulate(items, platform=PLATFORM, seed=7)
    assert_grains_reconcile(result, items, 7)
    # one line item per batch: the same tables (MMM rows added over batches)
    alone = simulate(items, platform=PLATFORM, seed=7, batch_rows=1)
    for name in ("daily", "mmm", "conversion_truth"):
        assert alone[name].equals(result[name]), name


def test_marginal_value_is_a_non_negative_step_below_the_average_when_saturating() -> None:
    import random

    rng = random.Random(5)
    items = spread([random_line_item(rng, i + 1, max_days=20) for i in range(40)])
    result = simulate(items, platform=PLATFORM, seed=3)
    daily, truth = result["daily"], result["conversion_truth"]
    assert pc.min(daily["marginal_value_micros"]).as_py() >= 0
    assert pc.sum(daily["marginal_value_micros"]).as_py() > 0
    # where H(f)/f falls (f beyond its peak K·(s−1)^(1/s)), the next 1 % adds at most 1 %
    marginal = sums(daily, ["line_item_id", "day"], ["marginal_value_micros"])
    value = dict(zip(daily["line_item_id"].to_pylist(),
                     daily["value_per_conversion_micros"].to_pylist(), strict=True))
    checked = 0
    for row in truth.to_pylist():
        k, s, f = row["hill_half_saturation"], row["hill_slope"], row["average_frequency"]
        if f <= k * (s - 1) ** (1 / s) or row["incremental_expected"] <= 0:
            continue
        step = marginal[(row["line_item_id"], row["day"])][0]
        assert step <= row["incremental_expected"] * value[row["line_item_id"]] + 3
        checked += 1
    assert checked > 50


def test_files_agree_whatever_the_blocks_and_engine(tmp_path: Path) -> None:
    import random

    rng = random.Random(11)
    items = spread([random_line_item(rng, i + 1, max_days=10) for i in range(12)])
    tables = {}
    for name, options in {"one": {"block_size": 1}, "five": {"block_size": 5},
                          "pool": {"block_size": 2, "engine": "processes", "workers": 2}}.items():
        out = tmp_path / name
        manifest = export(items, entities={}, platform=PLATFORM, seed=5, out=out,
                          **options)  # type: ignore[arg-type]
        assert manifest.checks["grains_reconcile"].passed
        tables[name] = ds.dataset(out / "mmm", format="parquet").to_table().sort_by(
            [("advertiser_id", "ascending"), ("week", "ascending"), ("geo", "ascending")])
    assert tables["one"].num_rows > 0
    assert tables["one"].equals(tables["five"]) and tables["one"].equals(tables["pool"])
    assert tables["one"].equals(simulate(items, platform=PLATFORM, seed=5)["mmm"])


def test_database_run_replaces_an_advertisers_rows_whole(engine: Engine) -> None:
    """Adding a campaign to an advertiser re-adds its MMM rows over all its line items: the
    rows a full `simulate` then gives again, on every database."""
    from adsgen.runs.database import run_all, simulate_database
    from adsgen.runs.grow import create_campaign

    db = engine.url.render_as_string(hide_password=False)
    run_all(db=db)
    create_campaign(1, db=db)

    def rows(query: str) -> list[tuple[object, ...]]:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(query)]

    query = "SELECT * FROM mmm ORDER BY advertiser_id, week, geo"
    added = rows(query)
    simulate_database(db=db)
    assert rows(query) == added and len(added) > 0
    spend = "SELECT SUM(ctv_spend_micros + desktop_spend_micros + mobile_spend_micros) FROM mmm"
    assert rows(spend) == rows("SELECT SUM(spend_micros) FROM performance")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import random

    rng = random.Random(2)
    items = spread([random_line_item(rng, i + 1, max_days=15) for i in range(10)])
    out = tmp_path_factory.mktemp("roi") / "run"
    export(items, entities={}, platform=PLATFORM, seed=9, out=out)
    return out


def test_score_roi_against_the_mmm_truth(run_dir: Path, tmp_path: Path) -> None:
    mmm = ds.dataset(run_dir / "mmm", format="parquet").to_table()
    expected = []
    for advertiser in sorted(set(mmm["advertiser_id"].to_pylist())):
        own = mmm.filter(pc.equal(mmm["advertiser_id"], advertiser))
        for channel, names in MMM_CHANNEL_COLUMNS.items():
            spend = pc.sum(own[names["spend"]]).as_py()
            if spend:
                value = pc.sum(own[names["incremental_value"]]).as_py()
                expected.append((advertiser, channel, value / spend))
    estimates = tmp_path / "roi.csv"
    pq.write_table(pa.table({"advertiser_id": [e[0] for e in expected],
                             "channel": [e[1] for e in expected],
                             "estimate": [e[2] + 0.5 for e in expected]}),
                   tmp_path / "roi.parquet")
    found = score(tmp_path / "roi.parquet", metric_name="roi", run=run_dir)
    assert found.matched == len(expected) > 0 and found.missing == 0
    assert found.figures.bias == pytest.approx(0.5)
    estimates.write_text("advertiser_id,channel,estimate\n1,radio,1.0\n")
    with pytest.raises(Exception, match="radio"):
        score(estimates, metric_name="roi", run=run_dir)
    marginal = score(tmp_path / "roi.parquet", metric_name="marginal_roi", run=run_dir)
    assert marginal.matched == len(expected)
