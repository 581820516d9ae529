"""`adsgen generate --platform a,b,c` (issue 12): one plan whose line items split over the
platforms, each drawn and simulated on its own platform, one numbering of ids, the same
bytes on every engine and worker count, and cross-platform reach de-duplicated as run-all's
`campaign_reach` does."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from adsgen.build.at_scale import build_scaled
from adsgen.build.platform_set import PlatformSet
from adsgen.templates import catalog
from cliutil import invoke, invoke_json, user_error

THREE = ("netflix_like", "hulu_like", "roku_like")
RUN = ("--line-items", "45", "--days", "3", "--seed", "5", "--block-size", "7",
       "--platform", ",".join(THREE))


def _hashes(root: Path) -> dict[str, str]:
    """sha256 of every data file (the manifest records time and engine)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != "manifest.json"}


def _read(out: Path, name: str) -> pa.Table:
    path = out / name
    if path.is_dir():
        return ds.dataset(path, format="parquet", partitioning="hive").to_table()
    return pq.read_table(out / f"{name}.parquet")


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("platforms") / "local"
    return out, invoke_json("generate", *RUN, "--out", str(out))


def test_same_bytes_on_every_engine_and_worker_count(
    local: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    reference = _hashes(local[0])
    for engine, workers in (("processes", "2"), ("processes", "1"), ("dask", "2")):
        out = tmp_path / f"{engine}{workers}"
        invoke_json("generate", *RUN, "--out", str(out), "--engine", engine,
                    "--workers", workers)
        assert _hashes(out) == reference, (engine, workers)


def test_line_items_split_over_the_platforms_with_one_numbering(
    local: tuple[Path, dict[str, Any]]
) -> None:
    out, summary = local
    assert summary["manifest"]["platform"] == ",".join(THREE)
    assert summary["manifest"]["checks_failed"] == 0
    items = _read(out, "line_items")
    assert items["id"].to_pylist() == list(range(1, 46))
    by_platform = {p: items.filter(pc.equal(items["platform"], p)).num_rows for p in THREE}
    assert set(by_platform) == set(THREE) and min(by_platform.values()) >= 9, by_platform
    # a campaign of several line items buys on several platforms (its line items in turn)
    spread = {c: set() for c in items["campaign_id"].to_pylist()}
    for campaign, platform in zip(items["campaign_id"].to_pylist(),
                                  items["platform"].to_pylist(), strict=True):
        spread[campaign].add(platform)
    sizes = pc.value_counts(items["campaign_id"]).to_pylist()
    for entry in sizes:
        assert len(spread[entry["values"]]) == min(entry["counts"], 3)
    # every entity table is consistent: campaigns, creatives and rows point at what exists
    campaigns, creatives = _read(out, "campaigns"), _read(out, "creatives")
    assert set(items["campaign_id"].to_pylist()) == set(campaigns["id"].to_pylist())
    assert set(creatives["line_item_id"].to_pylist()) <= set(items["id"].to_pylist())
    perf = _read(out, "performance")
    platform_of = dict(zip(items["id"].to_pylist(), items["platform"].to_pylist(), strict=True))
    rows = zip(perf["line_item_id"].to_pylist(), perf["platform"].to_pylist(), strict=True)
    assert all(platform_of[li] == platform for li, platform in rows)
    impressions = perf.group_by("platform").aggregate([("impressions", "sum")])
    assert sorted(impressions["platform"].to_pylist()) == sorted(THREE)
    assert min(impressions["impressions_sum"].to_pylist()) > 0


def test_reach_is_de_duplicated_across_platforms(local: tuple[Path, dict[str, Any]]) -> None:
    """campaign_reach: per platform and `all`, the de-duplicated reach at most the sum,
    smaller where a campaign's households overlap, the overlap its truth."""
    reach = _read(local[0], "campaign_reach")
    flight = reach.filter(pc.equal(reach["period"], "flight"))
    every = flight.filter(pc.equal(flight["platform"], "all")).to_pylist()
    assert every
    for row in every:
        assert row["reach"] <= row["reach_sum"]
        assert row["overlap"] == row["reach_sum"] - row["reach"]
    assert any(row["reach"] < row["reach_sum"] for row in every)
    per_platform = flight.filter(pc.not_equal(flight["platform"], "all"))
    assert set(per_platform["platform"].to_pylist()) == set(THREE)
    for row in every:  # the sum is the campaign's platforms' reach added
        mine = per_platform.filter(pc.equal(per_platform["campaign_id"], row["campaign_id"]))
        assert pc.sum(mine["reach"]).as_py() == row["reach_sum"]


def test_each_line_item_is_drawn_on_its_own_platforms_rules() -> None:
    platforms = PlatformSet(tuple(catalog.get_platform(name) for name in THREE))
    profiles = catalog.for_platform(catalog.profiles(()), list(THREE),
                                    known=catalog.names("platforms"))
    plan = build_scaled(seed=9, platform=platforms, line_items=600, days=7, profiles=profiles)
    on = {name: [i for i in plan.items if i.platform == name] for name in THREE}
    for name, items in on.items():
        platform = platforms.by_name(name)
        assert len(items) > 150, name
        low, high = platform.cpm_range
        cpms = np.array([i.cpm_micros for i in items]) / 1e6
        assert np.median(cpms) >= low - 1 and np.median(cpms) <= high * 1.5, name
        for item in items:
            assert set(item.geos) <= set(platform.geo_timezones), name
            for creative in item.creatives:
                if creative.duration_s is not None:
                    assert platform.creative_rules.takes(creative.duration_s), name
    roku = platforms.by_name("roku_like").creative_rules
    netflix_lengths = {c.duration_s for i in on["netflix_like"] for c in i.creatives}
    assert any(not roku.takes(d) for d in netflix_lengths if d), "netflix draws its own spots"


def test_a_set_of_one_platform_draws_what_the_platform_draws() -> None:
    """A one-platform run draws exactly what the PlatformSet of that platform draws, and
    each line item of a one-platform run names it."""
    netflix = catalog.get_platform("netflix_like")
    alone = build_scaled(seed=4, platform=netflix, line_items=40, days=2)
    boxed = build_scaled(seed=4, platform=PlatformSet((netflix,)), line_items=40, days=2)
    assert alone.items == boxed.items
    for name, table in alone.tables.items():
        assert table.equals(boxed.tables[name]), name
    assert {i.platform for i in alone.items} == {"netflix_like"}


@pytest.mark.parametrize(("platforms", "fragment"), [
    ("netflix_like,roku_lik", "did you mean 'roku_like'"),
    ("hulu_like,hulu_like", "--platform names hulu_like twice"),
])
def test_a_bad_platform_list_exits_2_writing_nothing(
    tmp_path: Path, platforms: str, fragment: str
) -> None:
    out = tmp_path / "out"
    message = user_error(invoke("generate", "--line-items", "5", "--days", "1",
                                "--platform", platforms, "--out", str(out)))
    assert fragment in message
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_plan_estimates_a_several_platform_run() -> None:
    estimate = invoke_json("plan", "--line-items", "30", "--days", "2",
                           "--platform", ",".join(THREE))
    assert estimate["line_items"] == 30 and estimate["rows"]["performance"] > 0


def test_alternating_platforms_simulate_in_batches_of_every_platform() -> None:
    """Line items whose platforms alternate (a campaign's in turn) are simulated a batch of
    several platforms at a time, not one batch per change of platform, with the rows in
    line item order and the same values whatever the batch size."""
    from adsgen.simulate import simulate, simulate_batches
    from adsgen.simulate.grid import row_count

    platforms = PlatformSet(tuple(catalog.get_platform(name) for name in THREE))
    plan = build_scaled(seed=2, platform=platforms, line_items=60, days=2)
    items = plan.items
    changes = sum(a.platform != b.platform for a, b in itertools.pairwise(items))
    total = sum(row_count(i, platforms.of(i)) for i in items)
    size = total // 12
    batches = list(simulate_batches(items, platform=platforms, seed=2, batch_rows=size))
    assert changes > 30 and len(batches) <= 6, (changes, len(batches))
    assert any(len(set(b.performance["platform"].to_pylist())) == 3 for b in batches)
    whole = simulate(items, platform=platforms, seed=2, batch_rows=10**9)
    parts = pa.concat_tables([b.performance for b in batches])
    assert parts.equals(whole.performance)
    ids = parts["line_item_id"].to_numpy()
    assert (np.diff(ids) >= 0).all()
    for name in ("ground_truth", "reach", "daily"):
        assert pa.concat_tables([b[name] for b in batches]).equals(whole[name]), name
