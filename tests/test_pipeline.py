"""The pipeline and adsgen.runs.grow from Python: what each command function returns, writes and
refuses, each in one transaction; `adsgen.generate` as the public entry point."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

import adsgen
from adsgen.domain.schemas import FlightSchema
from adsgen.exceptions import AdsgenError, DatabaseError, SpecError, UnknownNameError
from adsgen.runs import database as pipeline
from adsgen.runs import grow, jobs
from adsgen.templates.spec import ProfileCreatives, ProfileLineItem
from cliutil import counts, dump, sqlite_url
from planfactory import sample_advertiser


@pytest.fixture
def url(tmp_path: Path) -> str:
    return sqlite_url(tmp_path / "ads.db")


def test_generate_is_the_public_entry_point(url: str) -> None:
    assert adsgen.generate is pipeline.generate
    summary = adsgen.generate(db=url, seed=3)
    assert isinstance(summary, jobs.RunSummary) and summary.seed == 3
    rows = counts(url)
    assert summary.created == {t: rows[t] for t in ("advertisers", "campaigns", "line_items",
                                                    "creatives")}
    assert summary.facts.performance_rows == rows["performance"] >= 4_000
    assert summary.facts.line_items == rows["line_items"]
    with create_engine(url).connect() as conn:  # ground truth: line item × device delivered
        pairs = conn.execute(text(
            "SELECT COUNT(*) FROM (SELECT DISTINCT line_item_id, device FROM performance) p"
        )).scalar_one()
    assert rows["ground_truth"] == pairs > rows["line_items"]  # multi-device line items
    plain = summary.as_dict()
    assert plain["facts"]["spend_micros"] == summary.facts.spend_micros
    assert summary.facts.spend_micros["USD"] > 0


def test_progress_is_reported_per_stage(url: str) -> None:
    seen: list[tuple[str, int, int]] = []
    pipeline.run_all(db=url, progress=lambda stage, done, total: seen.append((stage, done, total)))
    stages = [stage for stage, _, _ in seen]
    assert stages[0] == "planning" and "simulating performance" in stages
    last = [entry for entry in seen if entry[0] == "simulating performance"][-1]
    assert last[1] == last[2] > 0


def test_run_all_refuses_a_negative_scale_before_touching_the_database(url: str) -> None:
    with pytest.raises(AdsgenError, match="--scale must be 0 or more"):
        pipeline.run_all(db=url, scale=-1)
    assert not Path(url.removeprefix("sqlite:///")).exists()


def test_status_of_an_empty_and_a_generated_database(url: str) -> None:
    grow.create_advertiser(sample_advertiser("A").model_copy(update={"campaigns": []}),
                               db=url)
    empty = pipeline.status(db=url)
    assert empty["tables"]["advertisers"] == 1 and empty["first_hour"] is None
    assert empty["spend_micros"] == {} and empty["size_bytes"] > 0
    pipeline.run_all(db=url)
    report = pipeline.status(db=url)
    assert report["impressions"] > 0 and report["first_hour"] < report["last_hour"]


def test_create_advertiser_as_given_with_drawn_campaigns(url: str) -> None:
    given = sample_advertiser("Given Co")
    summary = grow.create_advertiser(given, db=url, campaigns=2)
    assert summary.created["campaigns"] == len(given.campaigns) + 2
    assert summary.facts.line_items == summary.created["line_items"]
    with pytest.raises(AdsgenError, match="--campaigns must be 0 or more"):
        grow.create_advertiser(db=url, campaigns=-1)


def test_create_campaign_as_given_renamed_or_empty(url: str) -> None:
    advertiser = sample_advertiser("A")
    grow.create_advertiser(advertiser.model_copy(update={"campaigns": []}), db=url)
    summary = grow.create_campaign(1, advertiser.campaigns[0], name="Renamed", db=url)
    assert summary.created["line_items"] == len(advertiser.campaigns[0].line_items)
    empty = grow.create_campaign(1, advertiser.campaigns[0], line_items=False, db=url)
    assert empty.created == {"campaigns": 1, "line_items": 0, "creatives": 0}
    with pytest.raises(SpecError, match="name"):
        grow.create_campaign(1, advertiser.campaigns[0], name="   ", db=url)


def test_create_line_item_fits_its_campaign(url: str) -> None:
    advertiser = sample_advertiser("A")
    grow.create_advertiser(advertiser.model_copy(update={"campaigns": []}), db=url)
    campaign = advertiser.campaigns[0]
    grow.create_campaign(1, campaign, line_items=False, db=url)
    flight = FlightSchema(start=campaign.flight.start,
                          end=campaign.flight.start + (campaign.flight.end - campaign.flight.start)
                          / 2)
    settings = ProfileLineItem(name="Half", creatives=ProfileCreatives(count=2))
    half = grow.create_line_item(1, settings=settings, budget=Decimal("1000.00"), flight=flight,
                                   db=url)
    assert half.created == {"line_items": 1, "creatives": 2}
    assert half.facts.performance_rows > 0
    rest = grow.create_line_item(1, db=url, simulate=False)  # the rest of the budget
    assert rest.facts.performance_rows == 0
    with pytest.raises(AdsgenError, match="whole campaign budget"):
        grow.create_line_item(1, db=url)
    with pytest.raises(SpecError, match="duplicate name"):
        grow.create_line_item(1, settings=settings, budget=Decimal("0.01"), db=url)


def test_create_creative_re_simulates_its_line_item(url: str) -> None:
    grow.create_example("luxury_auto_awareness", db=url)
    before = counts(url)["performance"]
    summary = grow.create_creative(1, spec=ProfileCreatives(durations=[15], qr=True), db=url)
    assert summary.created == {"creatives": 1} and summary.facts.line_items == 1
    assert counts(url)["performance"] == summary.facts.performance_rows == before * 3 // 2
    with pytest.raises(AdsgenError, match="--line-item-id 5: no such line item; known ids: 1"):
        grow.create_creative(5, db=url)


def test_create_example_from_a_bundled_file_name_or_a_path(url: str, tmp_path: Path) -> None:
    named = grow.create_example("nexbank_conversion", template="netflix-ads-examples.yml",
                                    db=url, simulate=False)
    assert named.created["advertisers"] == 1
    with pytest.raises(SpecError, match="no such file, nor a bundled examples file"):
        grow.create_example("x", template=tmp_path / "missing.yml", db=url)
    with pytest.raises(UnknownNameError, match="did you mean 'nexbank_conversion'"):
        grow.create_example("nexbank_conversio", template="netflix-ads-examples.yml", db=url)


def test_create_profile_counts_and_names(url: str) -> None:
    summary = grow.create_profile("conversion_interactive", count=2, db=url, simulate=False)
    assert summary.created["advertisers"] == 2
    again = grow.create_profile("conversion_interactive", count=1, db=url, simulate=False)
    assert again.created["advertisers"] == 1
    names = [row[1] for row in dump(url)["advertisers"]]
    assert len(set(names)) == 3
    with pytest.raises(AdsgenError, match="--count must be at least 1"):
        grow.create_profile("conversion_interactive", count=0, db=url)


def test_simulate_database_replaces_facts_and_checks_ids(url: str) -> None:
    grow.create_example("crunchy_snacks_consideration", db=url, simulate=False)
    totals = pipeline.simulate_database(db=url)
    assert totals.line_items == 1 and totals.performance_rows == 2 * 504
    again = pipeline.simulate_database(db=url, line_item_ids=[1])
    assert again == totals and counts(url)["performance"] == 2 * 504
    with pytest.raises(AdsgenError, match="--line-item-id 2: no such line item"):
        pipeline.simulate_database(db=url, line_item_ids=[1, 2])


def test_status_reads_a_read_only_database_that_writers_refuse(url: str) -> None:
    grow.create_example("nexbank_conversion", db=url)
    path = url.removeprefix("sqlite:///")
    read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
    assert pipeline.status(db=read_only)["tables"]["advertisers"] == 1
    before = dump(url, timestamps=True)
    for command in (lambda: pipeline.run_all(db=read_only),
                    lambda: grow.create_profile("mobile_consideration", db=read_only),
                    lambda: pipeline.simulate_database(db=read_only)):
        with pytest.raises(DatabaseError, match="readonly"):
            command()
    assert dump(url, timestamps=True) == before


def test_rehosted_moves_creatives_to_the_advertisers_cdn() -> None:
    item = sample_advertiser("A").campaigns[0].line_items[0]
    moved = grow.rehosted(item, "cdn.brand.example")
    assert all(str(c.asset_url).startswith("https://cdn.brand.example/") for c in moved.creatives)
    assert [str(c.asset_url).split("/", 3)[3] for c in moved.creatives] == [
        str(c.asset_url).split("/", 3)[3] for c in item.creatives]


def test_run_all_on_every_dialect(engine: Engine) -> None:
    """The same dataset on SQLite, PostgreSQL and MariaDB (when configured)."""
    url = engine.url.render_as_string(hide_password=False)
    summary = pipeline.run_all(db=url)
    rows = counts(url)
    assert summary.facts.performance_rows == rows["performance"] >= 4_000
    assert summary.created["advertisers"] == rows["advertisers"] >= 7


def test_commands_resolve_names_through_plugins(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A profile or platform a plugin registers is usable by name, like a bundled one."""
    from adsgen.registry import registry

    fresh = {kind: dict(entries) for kind, entries in registry._registered.items()}
    monkeypatch.setattr(registry, "_registered", fresh)
    with pytest.raises(UnknownNameError):
        grow.create_profile("plugin_mobile", db=url, platform="plugin_tv")
    profile = registry.profile("mobile_consideration").model_copy(update={"name": "plugin_mobile"})
    platform = registry.platform("netflix_like").model_copy(update={"name": "plugin_tv"})
    registry.register("profile", "plugin_mobile", profile)
    registry.register("platform", "plugin_tv", platform)
    summary = grow.create_profile("plugin_mobile", db=url, platform="plugin_tv")
    assert summary.created["advertisers"] == 1 and summary.facts.performance_rows > 0
