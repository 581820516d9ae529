"""One plan across several platforms (issue 12): every line item buys on one platform, each
platform's world settles its own line items, the fact rows carry `platform`, and the output
stays the same bytes whatever the engine or block size."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pytest

from adsgen.build.numbering import NumberedPlan, number_plan
from adsgen.build.plans import build_example, build_run_all
from adsgen.build.platform_set import PlatformSet, platform_set
from adsgen.exceptions import AdsgenError
from adsgen.runs.blocks import export
from adsgen.simulate import simulate
from adsgen.simulate.columns import PLATFORM_TABLES
from adsgen.templates import catalog
from cliutil import invoke, invoke_json, sqlite_url, user_error

THREE = ("netflix_like", "hulu_like", "roku_like")
SEED = 11


def _platforms() -> PlatformSet:
    return PlatformSet(tuple(catalog.get_platform(name) for name in THREE))


@pytest.fixture(scope="module")
def plan() -> NumberedPlan:
    """The bundled three-platform example and two profiles bought on all three platforms."""
    example = catalog.get_example("wanderlust_cross_platform")
    profiles = [catalog.get_profile("cross_screen"), catalog.get_profile("mobile_consideration")]
    advertisers = build_run_all(seed=SEED, platform=_platforms(), examples=[example],
                                profiles=profiles)
    return number_plan(advertisers)


def test_profiles_buy_a_line_item_per_platform(plan: NumberedPlan) -> None:
    by_campaign: dict[int, list[str]] = {}
    for item in plan.items:
        by_campaign.setdefault(item.campaign_id, []).append(item.platform)
    assert len(by_campaign) == 3
    for platforms in by_campaign.values():
        assert set(platforms) == set(THREE)
        assert len(platforms) % 3 == 0  # each drawn line item once per platform
    names = plan.arrow_tables()["line_items"]["platform"].to_pylist()
    assert names == [item.platform for item in plan.items]


def test_rows_carry_their_line_items_platform(plan: NumberedPlan) -> None:
    result = simulate(plan.items, platform=_platforms(), seed=SEED)
    wanted = {item.line_item_id: item.platform for item in plan.items}
    for name in PLATFORM_TABLES:
        table = result[name]
        assert table.num_rows > 0, name
        got = dict(zip(table["line_item_id"].to_pylist(), table["platform"].to_pylist(),
                       strict=True))
        assert got == {i: wanted[i] for i in got}, name
    perf = result.performance
    for platform in THREE:
        rows = perf.filter(pc.equal(perf["platform"], platform))
        assert pc.sum(rows["impressions"]).as_py() > 0, platform


def test_each_platform_is_its_own_world(plan: NumberedPlan) -> None:
    """A platform's line items compete only with each other: simulated alone on their
    platform they give exactly their rows of the three-platform plan."""
    whole = simulate(plan.items, platform=_platforms(), seed=SEED).performance
    for platform in THREE:
        alone = [item for item in plan.items if item.platform == platform]
        own = simulate(alone, platform=catalog.get_platform(platform), seed=SEED).performance
        assert own.equals(whole.filter(pc.equal(whole["platform"], platform)))


def test_a_line_item_on_a_platform_the_run_lacks_is_an_error(plan: NumberedPlan) -> None:
    with pytest.raises(AdsgenError, match="buys on platform hulu_like, which this run"):
        simulate(plan.items, platform=catalog.get_platform("netflix_like"), seed=SEED)


def _hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != "manifest.json"}


def _table(root: Path, name: str) -> pa.Table:
    table = ds.dataset(root / name, format="parquet", partitioning="hive").to_table()
    keys = [k for k in ("line_item_id", "creative_id", "hour", "device", "period", "day")
            if k in table.column_names]
    return table.select(sorted(table.column_names)).sort_by([(k, "ascending") for k in keys])


def test_same_bytes_on_every_engine_and_block_size(plan: NumberedPlan, tmp_path: Path) -> None:
    runs = {
        (engine, size): export(plan.items, entities=plan.arrow_tables(),
                               platform=_platforms(), seed=SEED, out=tmp_path / f"{engine}{size}",
                               engine=engine, workers=2, block_size=size)
        for engine, size in (("local", 2), ("processes", 2), ("local", 100))
    }
    assert _hashes(tmp_path / "local2") == _hashes(tmp_path / "processes2")
    for manifest in runs.values():
        assert manifest.ok, manifest.checks
        assert manifest.platform == ",".join(THREE)
    whole = simulate(plan.items, platform=_platforms(), seed=SEED)
    for name in ("performance", "reach", "ground_truth"):
        small, large = _table(tmp_path / "local2", name), _table(tmp_path / "local100", name)
        assert small.equals(large), name
        assert set(small["platform"].to_pylist()) == set(THREE)
    perf = _table(tmp_path / "local2", "performance")
    assert perf.num_rows == whole.performance.num_rows
    assert pc.sum(perf["impressions"]).as_py() == pc.sum(whole.performance["impressions"]).as_py()


def test_the_bundled_example_runs_on_three_platforms(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "ads.db")
    done = invoke_json("create-example", "--example", "wanderlust_cross_platform",
                       "--db", url, "--seed", "3")
    assert done["created"]["line_items"] == 3
    with sqlite3.connect(tmp_path / "ads.db") as conn:
        rows = conn.execute(
            "SELECT p.platform, l.platform, SUM(p.impressions), SUM(p.spend_micros) * 1000 /"
            " SUM(p.impressions - p.invalid), l.cpm_micros FROM performance p JOIN line_items l"
            " ON l.id = p.line_item_id GROUP BY p.platform, l.platform, l.cpm_micros"
            " ORDER BY p.platform").fetchall()
    assert [r[0] for r in rows] == sorted(THREE)
    for platform, listed, impressions, cpm, price in rows:
        assert platform == listed and impressions > 0
        assert abs(cpm - price) <= 1000  # spend is valid impressions × CPM, to the micro


def test_bad_platform_lists_exit_2_writing_nothing(tmp_path: Path) -> None:
    db = tmp_path / "ads.db"
    for platforms, fragment in (("netflix_like,roku_lik", "did you mean 'roku_like'"),
                                ("netflix_like,netflix_like", "--platform names netflix_like"
                                 " twice")):
        message = user_error(invoke("run-all", "--platform", platforms, "--db", sqlite_url(db)))
        assert fragment in message
        assert not db.exists()


def test_a_creative_one_of_the_platforms_does_not_take_exits_2(tmp_path: Path) -> None:
    own = tmp_path / "mine.yml"
    own.write_text("""type: examples
examples:
  two_platforms:
    platforms: [netflix_like, roku_like]
    advertiser: {name: Two Platforms, industry: retail, domain: two.example}
    campaign:
      name: Both
      objective: awareness
      budget: {amount: 5000}
      flight: {start: 2026-09-01, end: 2026-09-03}
      line_items:
        - name: CTV
          cpm: 20
          budget: {amount: 2000}
          flight: {start: 2026-09-01, end: 2026-09-03}
          targeting: {device: [ctv]}
          creatives:
            - {name: Spot, duration_s: 20, asset_url: "https://cdn.two.example/spot.mp4"}
""", encoding="utf-8")
    url = sqlite_url(tmp_path / "ads.db")
    assert invoke("-q", "init-db", "--db", url).exit_code == 0
    message = user_error(invoke("create-example", "--template", str(own), "--example",
                                "two_platforms", "--db", url))
    assert "roku_like" in message and "28-31 s" in message
    assert invoke_json("list", "advertisers", "--db", url) == []


def test_an_example_line_item_for_several_platforms_splits_its_budget() -> None:
    example = catalog.get_example("crunchy_snacks_consideration").model_copy(
        update={"platforms": ("netflix_like", "hulu_like")})
    built = build_example(example, seed=1, platform=platform_set(
        [catalog.get_platform("netflix_like"), catalog.get_platform("hulu_like")]))
    items = built.campaigns[0].line_items
    assert [(i.name, i.platform) for i in items] == [
        ("Mobile Comedy - netflix_like", "netflix_like"), ("Mobile Comedy - hulu_like",
                                                            "hulu_like")]
    assert sum(i.budget.amount for i in items) == 60000


def test_campaign_reach_dedups_across_platforms(plan: NumberedPlan) -> None:
    table = simulate(plan.items, platform=_platforms(), seed=SEED)["campaign_reach"]
    flight = table.filter(pc.equal(table["period"], "flight")).to_pylist()
    everywhere = [r for r in flight if r["platform"] == "all"]
    assert len(everywhere) == 3  # one per campaign
    for row in everywhere:
        mine = [r for r in flight if r["campaign_id"] == row["campaign_id"]
                and r["platform"] != "all"]
        assert {r["platform"] for r in mine} <= set(THREE)
        assert row["reach_sum"] == sum(r["reach"] for r in mine)
        assert max(r["reach"] for r in mine) <= row["reach"] <= row["reach_sum"]
        assert row["overlap"] == row["reach_sum"] - row["reach"]
        assert row["impressions"] == sum(r["impressions"] for r in mine)
        if sum(r["reach"] > 0 for r in mine) > 1:  # several platforms: households overlap
            assert row["reach"] < row["reach_sum"] and row["overlap"] > 0
            assert all(0 < r["overlap"] <= r["reach"] for r in mine if r["reach"])
    # a platform's reach is its line items' reach de-duplicated at random (one line item:
    # exactly its reach row)
    reach = simulate(plan.items, platform=_platforms(), seed=SEED)["reach"]
    solo = {r["line_item_id"]: r["reach"] for r in reach.to_pylist()
            if r["device"] == "all" and r["period"] == "flight"}
    example = next(r for r in everywhere if r["line_items"] == 3)
    items = [i for i in plan.items if i.campaign_id == example["campaign_id"]]
    for item in items:
        row = next(r for r in flight if r["campaign_id"] == item.campaign_id
                   and r["platform"] == item.platform)
        assert abs(row["reach"] - solo[item.line_item_id]) <= 1


def test_overlap_model_counts_shared_subscribers_once() -> None:
    import numpy as np

    from adsgen.world.platforms import Overlap, dedup_reach

    platforms = [catalog.get_platform(name) for name in THREE]
    model = Overlap.of(platforms)
    everyone = model.households[None, :].astype(float)
    union, shared = dedup_reach(model, everyone)
    # reaching every subscriber: the union of the subscriber bases, less than their sum by
    # the pairwise overlaps (plus the triple term added back)
    pairs = model.shared[0, 1] + model.shared[0, 2] + model.shared[1, 2]
    assert everyone.sum() - pairs < union[0] < everyone.sum()
    assert (shared[0] > 0).all() and (shared[0] <= everyone[0]).all()
    one = np.array([[1e6, 0.0, 0.0]])
    assert dedup_reach(model, one)[0][0] == 1e6  # one platform: nothing to de-duplicate
    # the pair's shared subscribers: the mean of what both files state (roku_like: 45 % of
    # its 80 M watch netflix_like; netflix_like: 35 % of its 40 M watch roku_like)
    assert model.shared[0, 2] == pytest.approx(
        (platforms[2].subscriber_overlap["netflix_like"] * 80e6
         + platforms[0].subscriber_overlap["roku_like"] * 40e6) / 2, rel=1e-9)


@pytest.mark.parametrize("rows_per_item", [1, 3, 200])
def test_rows_go_back_in_line_item_order_by_runs_or_by_gather(rows_per_item: int) -> None:
    """Each platform's rows, sorted by line item, come back as one single-chunk table in line
    item order with each line item's rows in their order, whether runs are long (sliced)
    or short (gathered), and with line items of one platform next to each other merged."""
    import numpy as np

    from adsgen.simulate.engine import _in_line_item_order

    rng = np.random.default_rng(7)
    ids = np.arange(1, 61)
    owner = rng.integers(0, 3, ids.size)
    owner[10:20] = 1  # a stretch on one platform: its runs merge
    pieces = []
    for platform in range(3):
        mine = np.repeat(ids[owner == platform], rows_per_item)
        pieces.append(pa.table({"line_item_id": mine, "seq": np.arange(mine.size) + 1000 * platform,
                                "device": pa.array(["ctv"] * mine.size)}))
    joined = pa.concat_tables(pieces)
    order = np.argsort(joined["line_item_id"].to_numpy(), kind="stable")
    result = _in_line_item_order(pieces)
    assert result.equals(joined.take(pa.array(order)))
    assert all(column.num_chunks == 1 for column in result.columns)
