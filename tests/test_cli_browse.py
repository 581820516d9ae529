"""`adsgen list` (every kind the registry knows, plugins included; the database's entities)
and `adsgen show` (one entity with what is under it), and names next to ids in summaries.

Expected values are read back from the database or the registry, never written down.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select
from tests.cliutil import invoke, invoke_json, sqlite_url, user_error

from adsgen.cli import browse
from adsgen.registry import KINDS, Registry, registry
from adsgen.runs.inspect import ENTITY_KINDS
from adsgen.storage import orm


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The default dataset plus one campaign of three line items added to advertiser 2."""
    url = sqlite_url(tmp_path_factory.mktemp("browse") / "ads.db")
    assert invoke("--db", url, "run-all", "-q").exit_code == 0
    added = invoke("--db", url, "create-campaign", "--advertiser-id", "2", "--auto", "-q")
    assert added.exit_code == 0, added.stderr
    return url


def _scalar(url: str, query: Any) -> Any:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(query).scalar_one()
    finally:
        engine.dispose()


def _rows(url: str, query: Any) -> list[Any]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(query))
    finally:
        engine.dispose()


# --- named things --------------------------------------------------------------------------


def test_list_kinds_are_the_registrys_and_the_databases() -> None:
    assert tuple(f"{kind}s" for kind in KINDS) == browse.NAMED_KINDS
    assert browse.ENTITY_KINDS == ENTITY_KINDS


@pytest.mark.parametrize("kind", [f"{kind}s" for kind in KINDS])
def test_list_every_kind_the_registry_knows(kind: str) -> None:
    rows = invoke_json("list", kind)
    assert [row["name"] for row in rows] == registry.names(kind)
    assert all(row["description"] and row["source"] == "bundled" for row in rows)
    human = invoke("list", kind)
    assert human.exit_code == 0 and all(row["name"] in human.stdout for row in rows)


@pytest.fixture
def plugged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An installed plugin (entry point) adding a profile and a sink, seen by a fresh
    registry standing in for the shared one."""
    module = "fake_adsgen_list_plugin"
    (tmp_path / f"{module}.py").write_text(textwrap.dedent("""
        from adsgen.templates.spec import Profile

        class ShoutSink:
            \"\"\"Writes tables in capitals.\"\"\"

        def plugin(registry):
            registry.register("profile", "plugged_reach",
                              Profile(name="plugged_reach", description="From a plugin"))
            registry.register("sink", "shout", ShoutSink)
    """))
    info = tmp_path / f"{module}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[adsgen.plugins]\nlisted = {module}:plugin\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys.modules["adsgen.registry"], "registry", Registry())
    yield
    sys.modules.pop(module, None)


@pytest.mark.usefixtures("plugged")
def test_list_shows_plugin_profiles_and_sinks() -> None:
    profiles = {row["name"]: row for row in invoke_json("list", "profiles")}
    assert profiles["plugged_reach"] == {"name": "plugged_reach", "source": "plugin",
                                         "description": "From a plugin"}
    assert profiles["mobile_consideration"]["source"] == "bundled"
    sinks = {row["name"]: row for row in invoke_json("list", "sinks")}
    assert sinks["shout"] == {"name": "shout", "source": "plugin",
                              "description": "Writes tables in capitals."}


def test_list_marks_your_templates(tmp_path: Path) -> None:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "mine.yml").write_text(
        "type: profile\ndescription: Mine\nobjective: awareness\n")
    rows = invoke_json("list", "profiles", "--templates-dir", str(tmp_path))
    sources = {row["name"]: row["source"] for row in rows}
    assert sources["mine"] == "templates-dir" and sources["mobile_consideration"] == "bundled"


@pytest.mark.parametrize(("args", "expected"), [
    (["list", "widgets"], "unknown kind 'widgets'"),
    (["list", "profiles", "--advertiser-id", "1"], "--advertiser-id and --campaign-id filter"),
    (["show", "profile", "1"], "unknown kind 'profile'"),
])
def test_list_and_show_refuse_what_they_do_not_know(args: list[str], expected: str) -> None:
    assert expected in user_error(invoke(*args))


# --- the database's entities ----------------------------------------------------------------


def test_list_advertisers_campaigns_and_line_items(url: str) -> None:
    advertisers = invoke_json("--db", url, "list", "advertisers")
    expected = _rows(url, select(orm.Advertiser.id, orm.Advertiser.name).order_by("id"))
    assert [(row["id"], row["name"]) for row in advertisers] == [tuple(r) for r in expected]
    campaigns = invoke_json("--db", url, "list", "campaigns")
    assert sum(row["line_items"] for row in campaigns) == _scalar(
        url, select(func.count()).select_from(orm.LineItem))
    assert sum(a["campaigns"] for a in advertisers) == len(campaigns)
    items = invoke_json("--db", url, "list", "line_items")  # either spelling
    assert sum(row["creatives"] for row in items) == _scalar(
        url, select(func.count()).select_from(orm.Creative))
    first = campaigns[0]
    assert first["advertiser"]["name"] == advertisers[0]["name"]
    assert first["budget"]["currency"] == advertisers[0]["currency"]


def test_list_filters_by_advertiser_and_campaign(url: str) -> None:
    campaigns = invoke_json("--db", url, "list", "campaigns", "--advertiser-id", "2")
    owned = _rows(url, select(orm.Campaign.id).where(orm.Campaign.advertiser_id == 2))
    assert [row["id"] for row in campaigns] == sorted(r[0] for r in owned) and len(owned) == 2
    last = campaigns[-1]["id"]
    items = invoke_json("--db", url, "list", "line-items", "--campaign-id", str(last))
    assert {row["campaign"]["id"] for row in items} == {last}
    assert len(items) == campaigns[-1]["line_items"]
    message = user_error(invoke("--db", url, "list", "campaigns", "--advertiser-id", "99"))
    assert message == "error: --advertiser-id 99: no such advertiser; known ids: 1-9"


def test_show_line_item_has_everything_under_it(url: str) -> None:
    item = invoke_json("--db", url, "show", "line-item", "1")
    row = _rows(url, select(orm.LineItem.name, orm.Campaign.name, orm.Budget.currency)
                .select_from(orm.LineItem)
                .join(orm.Campaign, orm.Campaign.id == orm.LineItem.campaign_id)
                .join(orm.Budget, orm.Budget.line_item_id == orm.LineItem.id)
                .where(orm.LineItem.id == 1))[0]
    assert (item["name"], item["campaign"]["name"], item["budget"]["currency"]) == tuple(
        str(v) for v in row)
    rules = _rows(url, select(orm.TargetingRule.key, orm.TargetingRule.value)
                  .where(orm.TargetingRule.line_item_id == 1))
    assert sorted((k, v) for k, vs in item["targeting"].items() for v in vs) == sorted(
        (str(k), v) for k, v in rules)
    creatives = _rows(url, select(orm.Creative.id).where(orm.Creative.line_item_id == 1))
    assert [c["id"] for c in item["creatives"]] == sorted(r[0] for r in creatives)
    perf = orm.Performance
    spend, impressions = _rows(url, select(func.sum(perf.spend_micros), func.sum(
        perf.impressions)).where(perf.line_item_id == 1))[0]
    assert item["delivery"]["impressions"] == impressions > 0
    assert item["delivery"]["spend"] == {"amount": spend / 1e6, "currency": row[2]}
    assert item["flight"]["days"] > 0 and item["flight"]["start"] < item["flight"]["end"]


def test_show_campaign_and_advertiser_sum_their_children(url: str) -> None:
    advertiser = invoke_json("--db", url, "show", "advertiser", "2")
    assert len(advertiser["campaigns"]) == 2
    campaigns = [invoke_json("--db", url, "show", "campaign", str(c["id"]))
                 for c in advertiser["campaigns"]]
    assert [c["advertiser"] for c in campaigns] == [{"id": 2, "name": advertiser["name"]}] * 2
    assert sum(c["delivery"]["impressions"] for c in campaigns) == (
        advertiser["delivery"]["impressions"])
    items = [invoke_json("--db", url, "show", "line-item", str(i["id"]))
             for i in campaigns[-1]["line_items"]]
    assert sum(i["delivery"]["impressions"] for i in items) == (
        campaigns[-1]["delivery"]["impressions"])
    assert campaigns[-1]["budget"]["amount"] > 0 and campaigns[-1]["budget"]["currency"]


def test_show_renders_names_money_and_the_flight(url: str) -> None:
    item = invoke_json("--db", url, "show", "line-item", "1")
    human = invoke("--db", url, "show", "line-item", "1")
    assert human.exit_code == 0
    text = " ".join(human.stdout.split())
    assert f"Line item #1 {item['name']}" in text
    assert f"#{item['campaign']['id']} {item['campaign']['name']}" in text
    assert f"{item['budget']['amount']:,.2f} {item['budget']['currency']}" in text
    assert f"({item['flight']['days']} days)" in text


@pytest.mark.parametrize("kind", ["advertiser", "campaign", "line-item"])
def test_show_a_missing_id_names_it_and_the_known_range(url: str, kind: str) -> None:
    table = {"advertiser": orm.Advertiser, "campaign": orm.Campaign, "line-item": orm.LineItem}
    last = _scalar(url, select(func.max(table[kind].id)))
    message = user_error(invoke("--db", url, "show", kind, "999", "--json"))
    entity = kind.replace("-", " ")
    assert message == f"error: {kind} 999: no such {entity}; known ids: 1-{last}"


def test_list_and_show_read_only_an_existing_database(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    empty = tmp_path / "empty.db"
    empty.touch()
    for args in (["list", "advertisers"], ["show", "campaign", "1"]):
        assert "no database at" in user_error(invoke("--db", sqlite_url(missing), *args))
        assert "no adsgen tables in" in user_error(invoke("--db", sqlite_url(empty), *args))
    assert not missing.exists() and empty.stat().st_size == 0


# --- names next to ids ------------------------------------------------------------------------


def test_create_summaries_show_names_next_to_ids(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "ads.db")
    made = invoke("--db", url, "create-advertiser", "--name", "Velora Motors", "--industry",
                  "automotive", "--campaigns", "1")
    assert made.exit_code == 0, made.stderr
    text = " ".join(made.stdout.split())
    assert "1 (#1 Velora Motors)" in text
    campaign = invoke_json("--db", url, "show", "campaign", "1")
    assert f"#1 {campaign['name']}" in text
    empty = invoke_json("--db", url, "create-campaign", "--advertiser-id", "1", "--name",
                        "Autumn", "--budget", "5000", "--start", "2026-10-01", "--days", "10",
                        "--line-items", "0")
    assert empty["ids"]["campaigns"] == [2] and empty["names"]["campaigns"] == ["Autumn"]
    summary = invoke_json("--db", url, "create-line-item", "--campaign-id", "2", "--name",
                          "CTV Late", "--budget", "1000", "--no-simulate")
    created = summary["ids"]["line_items"]
    assert len(created) == 1 and summary["names"]["line_items"] == ["CTV Late"]
    assert invoke_json("--db", url, "show", "line-item", str(created[0]))["name"] == "CTV Late"


def test_known_ids_are_listed_as_ranges() -> None:
    from adsgen.storage.persist import id_ranges

    assert id_ranges([1, 2, 3, 5, 7, 8]) == ["1-3", "5", "7-8"]
    assert id_ranges([]) == []
