"""The create-* commands end to end: advertiser → campaign → line items → creatives →
performance, with consistent counts and foreign keys; examples and profiles by name."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from adsgen.domain.schemas import AdvertiserCreate
from adsgen.runs import grow
from adsgen.storage.database import make_engine, session_scope
from adsgen.storage.orm import Advertiser
from cliutil import (
    console_script,
    counts,
    dump,
    invoke,
    invoke_json,
    sqlite_url,
    user_error,
)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[str]:
    """An empty database with every table, as a URL."""
    url = sqlite_url(tmp_path / "ads.db")
    assert invoke("-q", "init-db", "--db", url).exit_code == 0
    yield url


def _query(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
        return conn.execute(sql, params).fetchall()


def _consistent(url: str) -> None:
    """Every foreign key resolves, every line item has a flight and a budget, and facts
    belong to a creative of their own line item."""
    with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        orphans = conn.execute(
            "SELECT COUNT(*) FROM performance p LEFT JOIN creatives c ON c.id = p.creative_id "
            "AND c.line_item_id = p.line_item_id WHERE c.id IS NULL").fetchone()
        assert orphans == (0,)
        unowned = conn.execute(
            "SELECT COUNT(*) FROM line_items l WHERE NOT EXISTS (SELECT 1 FROM flights f "
            "WHERE f.line_item_id = l.id) OR NOT EXISTS (SELECT 1 FROM budgets b "
            "WHERE b.line_item_id = l.id)").fetchone()
        assert unowned == (0,)


# --- the whole chain ----------------------------------------------------------------------


def test_advertiser_campaign_line_items_creatives_performance(db: str) -> None:
    advertiser = invoke_json("create-advertiser", "--name", "Velora Motors", "--industry",
                             "automotive", "--db", db)
    assert advertiser["created"] == {"advertisers": 1, "campaigns": 0, "line_items": 0,
                                     "creatives": 0}
    (advertiser_id,) = advertiser["ids"]["advertisers"]
    assert _query(db, "SELECT name, domain FROM advertisers") == [
        ("Velora Motors", "veloramotors.example")]

    campaign = invoke_json(
        "create-campaign", "--advertiser-id", str(advertiser_id), "--name", "Autumn Launch",
        "--objective", "awareness", "--budget", "90000", "--start", "2026-10-01", "--days", "10",
        "--line-items", "0", "--db", db)
    (campaign_id,) = campaign["ids"]["campaigns"]
    assert campaign["created"] == {"campaigns": 1, "line_items": 0, "creatives": 0}

    first = invoke_json("create-line-item", "--campaign-id", str(campaign_id), "--name", "CTV",
                        "--budget", "50000", "--cpm", "30", "--device", "ctv", "--genre",
                        "drama", "--creatives", "2", "--duration", "30", "--db", db)
    second = invoke_json("create-line-item", "--campaign-id", str(campaign_id), "--device",
                         "mobile", "--db", db)  # takes what is left: 40,000
    assert first["created"] == {"line_items": 1, "creatives": 2}
    assert _query(db, "SELECT l.id, l.cpm_micros, b.amount_micros FROM line_items l "
                      "JOIN budgets b ON b.line_item_id = l.id ORDER BY l.id")[0] == (
        1, 30_000_000, 50_000 * 10**6)
    assert _query(db, "SELECT l.name, b.amount_micros FROM line_items l JOIN budgets b ON "
                      "b.line_item_id = l.id WHERE l.id = 2")[0][1] == 40_000 * 10**6
    assert _query(db, "SELECT DISTINCT duration_s FROM creatives WHERE line_item_id = 1") == [
        (30,)]
    assert _query(db, "SELECT key, value FROM targeting WHERE line_item_id = 1 AND "
                      "key IN ('device', 'genre') ORDER BY key") == [("device", "ctv"),
                                                                      ("genre", "drama")]
    hours = 10 * 24
    assert first["facts"]["performance_rows"] == 2 * hours  # 2 creatives, CTV only
    assert _query(db, "SELECT DISTINCT device FROM performance WHERE line_item_id = 2") == [
        ("mobile",)]

    creative = invoke_json("create-creative", "--line-item-id", "1", "--name", "Test Drive QR",
                           "--qr", "--duration", "15", "--db", db)
    assert creative["created"] == {"creatives": 1}
    assert creative["facts"]["performance_rows"] == 3 * hours  # the line item re-simulated
    assert _query(db, "SELECT name, has_qr, duration_s, asset_url LIKE "
                      "'https://cdn.veloramotors.example/%' FROM creatives WHERE id = ?",
                  creative["ids"]["creatives"][0]) == [("Test Drive QR", 1, 15, 1)]

    rows = counts(db)
    assert rows["advertisers"] == 1 and rows["campaigns"] == 1
    assert rows["line_items"] == 2 and rows["creatives"] == 2 + len(second["ids"]["creatives"]) + 1
    assert rows["performance"] == 3 * hours + second["facts"]["performance_rows"]
    assert rows["ground_truth"] == 2
    assert _query(db, "SELECT MIN(hour), MAX(hour) FROM performance") == [
        ("2026-10-01 00:00:00", "2026-10-10 23:00:00")]
    _consistent(db)


def test_create_advertiser_auto_and_with_drawn_campaigns(db: str) -> None:
    alone = invoke_json("create-advertiser", "--auto", "--db", db)
    assert alone["created"]["campaigns"] == 0
    more = invoke_json("create-advertiser", "--auto", "--campaigns", "2", "--db", db)
    assert more["created"]["campaigns"] == 2 and more["created"]["line_items"] >= 2
    assert more["facts"]["performance_rows"] > 0
    names = [row[0] for row in _query(db, "SELECT name FROM advertisers")]
    assert len(set(names)) == 2
    (domain,) = _query(db, "SELECT domain FROM advertisers WHERE id = 2")[0]
    urls = _query(db, "SELECT asset_url FROM creatives")
    assert urls and all(url.startswith(f"https://cdn.{domain}/") for (url,) in urls)
    _consistent(db)


def test_create_campaign_auto_and_from_a_profile(db: str) -> None:
    invoke_json("create-advertiser", "--auto", "--db", db)
    auto = invoke_json("create-campaign", "--advertiser-id", "1", "--auto", "--db", db)
    assert auto["created"]["line_items"] >= 1 and auto["facts"]["performance_rows"] > 0
    profiled = invoke_json("create-campaign", "--advertiser-id", "1", "--profile",
                           "mobile_consideration", "--budget", "30000", "--line-items", "2",
                           "--no-simulate", "--db", db)
    campaign_id = profiled["ids"]["campaigns"][0]
    assert profiled["facts"]["performance_rows"] == 0
    assert _query(db, "SELECT c.objective, b.amount_micros, f.end_at > f.start_at FROM campaigns c"
                      " JOIN budgets b ON b.campaign_id = c.id JOIN flights f ON "
                      "f.campaign_id = c.id WHERE c.id = ?", campaign_id) == [
        ("consideration", 30_000 * 10**6, 1)]
    devices = _query(db, "SELECT DISTINCT t.value FROM targeting t JOIN line_items l ON "
                         "l.id = t.line_item_id WHERE l.campaign_id = ? AND t.key = 'device'",
                     campaign_id)
    assert devices == [("mobile",)]
    assert len(profiled["ids"]["line_items"]) == 2
    _consistent(db)


def test_create_example_and_profile_by_name(db: str, tmp_path: Path) -> None:
    example = invoke_json("create-example", "--example", "luxury_auto_awareness", "--db", db)
    assert example["created"] == {"advertisers": 1, "campaigns": 1, "line_items": 1,
                                  "creatives": 2}
    assert example["facts"]["performance_rows"] == 2 * 480
    bundled = invoke_json("create-example", "--template", "netflix-ads-examples.yml",
                          "--example", "nexbank_conversion", "--no-simulate", "--db", db)
    assert bundled["created"]["advertisers"] == 1
    profiles = invoke_json("create-profile", "--name", "mobile_consideration", "--count", "3",
                           "--db", db)
    assert profiles["created"]["advertisers"] == 3
    names = [row[0] for row in _query(db, "SELECT name FROM advertisers")]
    assert names[:2] == ["Luxury Auto Co", "NexBank"] and len(set(names)) == 5
    _consistent(db)


def test_create_example_from_a_file_of_your_own(db: str, tmp_path: Path) -> None:
    own = tmp_path / "mine.yml"
    own.write_text(_example_yaml(budget="5000.00"), encoding="utf-8")
    done = invoke_json("create-example", "--template", str(own), "--example", "my_brand",
                       "--db", db)
    assert done["created"] == {"advertisers": 1, "campaigns": 1, "line_items": 1,
                               "creatives": 1}
    assert done["facts"]["performance_rows"] == 3 * 24
    assert _query(db, "SELECT name FROM advertisers") == [("My Brand",)]


def test_create_profile_from_a_templates_dir(db: str, tmp_path: Path) -> None:
    (tmp_path / "tpl" / "profiles").mkdir(parents=True)
    (tmp_path / "tpl" / "profiles" / "tiny_ctv.yml").write_text(
        "type: profile\nobjective: awareness\nflight_days: 2\nbudget: 5000\n"
        "targeting: {device: [ctv]}\n", encoding="utf-8")
    listed = invoke_json("list", "profiles", "--templates-dir", str(tmp_path / "tpl"))
    assert "tiny_ctv" in [row["name"] for row in listed]
    done = invoke_json("create-profile", "--name", "tiny_ctv", "--templates-dir",
                       str(tmp_path / "tpl"), "--db", db)
    assert done["created"]["advertisers"] == 1
    assert _query(db, "SELECT DISTINCT device FROM performance") == [("ctv",)]


def test_no_simulate_writes_entities_only(db: str) -> None:
    done = invoke_json("create-example", "--example", "crunchy_snacks_consideration",
                       "--no-simulate", "--db", db)
    assert done["facts"]["performance_rows"] == 0
    assert counts(db)["performance"] == 0 and counts(db)["line_items"] == 1
    later = invoke_json("simulate", "--db", db)
    assert later["performance_rows"] == 2 * 504 == counts(db)["performance"]


def test_human_output_of_a_create_command(db: str) -> None:
    result = invoke("create-advertiser", "--name", "Acme", "--industry", "retail", "--db", db)
    assert result.exit_code == 0, result.stderr
    assert "Advertiser created" in result.stdout and "advertisers" in result.stdout
    assert "1 (#1 Acme)" in result.stdout


# --- bad input: exit 2, one line naming the problem, the database as it was --------------


def _example_yaml(*, budget: str = "5000.00", key: str = "budget") -> str:
    return f"""type: examples
examples:
  my_brand:
    advertiser: {{name: My Brand, industry: retail, domain: mybrand.example}}
    campaign:
      name: Tiny Test
      objective: awareness
      {key}: {{amount: {budget}}}
      flight: {{start: 2026-09-01, end: 2026-09-04}}
      line_items:
        - name: CTV
          cpm: 20
          budget: {{amount: 1000}}
          flight: {{start: 2026-09-01, end: 2026-09-04}}
          targeting: {{device: [ctv]}}
          creatives:
            - name: Spot 30s
              duration_s: 30
              asset_url: https://cdn.mybrand.example/spot-30.mp4
"""


@pytest.fixture
def filled(db: str) -> str:
    """A database holding one example advertiser (id 1), campaign (id 1), line item (id 1)."""
    invoke_json("create-example", "--example", "luxury_auto_awareness", "--db", db)
    return db


BAD_FILES = {
    "malformed.yml": "type: examples\nexamples:\n  a: [unclosed\n",
    "typo.yml": _example_yaml(key="budjet"),
    "negative.yml": _example_yaml(budget="-5"),
}

BAD_INPUT = [
    pytest.param(["create-example", "--template", "{tmp}/malformed.yml", "--example", "a"],
                 ["malformed.yml", "malformed YAML at line 4"], id="malformed-yaml"),
    pytest.param(["validate", "{tmp}/malformed.yml"], ["malformed.yml", "malformed YAML"],
                 id="validate-malformed"),
    pytest.param(["create-example", "--template", "{tmp}/typo.yml", "--example", "my_brand"],
                 ["typo.yml", "examples.my_brand.campaign.budjet", "unknown key 'budjet'",
                  "did you mean 'budget'"], id="unknown-key"),
    pytest.param(["create-example", "--template", "{tmp}/negative.yml", "--example", "my_brand"],
                 ["negative.yml", "campaign.budget.amount", "greater than 0"],
                 id="negative-budget-in-yaml"),
    pytest.param(["create-example", "--example", "nexbank_convertion"],
                 ["unknown example 'nexbank_convertion'", "did you mean 'nexbank_conversion'"],
                 id="unknown-example"),
    pytest.param(["create-profile", "--name", "mobile_considerashun"],
                 ["unknown profile", "did you mean 'mobile_consideration'",
                  "high_cpm_tv_awareness"], id="unknown-profile"),
    pytest.param(["create-example", "--template", "nowhere.yml", "--example", "x"],
                 ["nowhere.yml", "no such file", "netflix-ads-examples.yml"], id="no-file"),
    pytest.param(["create-campaign", "--advertiser-id", "1", "--budget", "-5"],
                 ["--budget", "greater than 0", "-5"], id="negative-budget"),
    pytest.param(["create-campaign", "--advertiser-id", "1", "--budget", "lots"],
                 ["--budget", "must be a number", "'lots'"], id="non-numeric-budget"),
    pytest.param(["create-line-item", "--campaign-id", "1", "--budget", "12.345"],
                 ["--budget", "2 decimal places"], id="budget-cents"),
    pytest.param(["create-campaign", "--advertiser-id", "1", "--start", "2026-10-10",
                  "--end", "2026-10-01"],
                 ["--start/--end", "end 2026-10-01T00:00:00 must be after start"],
                 id="end-before-start"),
    pytest.param(["create-campaign", "--advertiser-id", "42", "--auto"],
                 ["--advertiser-id 42: no such advertiser; known ids: 1"], id="no-advertiser"),
    pytest.param(["create-line-item", "--campaign-id", "9", "--auto"],
                 ["--campaign-id 9: no such campaign; known ids: 1"], id="no-campaign"),
    pytest.param(["create-creative", "--line-item-id", "9", "--auto"],
                 ["--line-item-id 9: no such line item"], id="no-line-item"),
    pytest.param(["create-line-item", "--campaign-id", "1", "--auto"],
                 ["--campaign-id 1", "whole campaign budget", "120,000.00"], id="no-budget-left"),
    pytest.param(["create-campaign", "--advertiser-id", "1", "--objective", "awarness"],
                 ["--objective", "did you mean 'awareness'", "conversion"], id="bad-enum"),
    pytest.param(["create-campaign", "--advertiser-id", "1", "--device", "tv"],
                 ["--device", "'tv' is not allowed", "ctv, mobile, desktop"], id="bad-device"),
    pytest.param(["create-campaign", "--advertiser-id", "1", "--geo", "USA"],
                 ["--geo"], id="bad-geo"),
    pytest.param(["create-campaign", "--advertiser-id", "1", "--start", "2026-10-01T10:30:00",
                  "--days", "3"], ["--start", "hour"], id="start-not-on-the-hour"),
    pytest.param(["create-advertiser", "--name", "Luxury Auto Co", "--industry", "automotive"],
                 ["the database refused", "UNIQUE", "nothing was written"], id="duplicate-name"),
    pytest.param(["create-advertiser"], ["give --auto"], id="nothing-given"),
    pytest.param(["create-advertiser", "--auto", "--name", "X"], ["--auto", "--name"],
                 id="auto-and-values"),
    pytest.param(["create-creative", "--line-item-id", "1", "--duration", "7"],
                 ["--duration", "not allowed", "30"], id="bad-duration"),
    pytest.param(["create-creative", "--line-item-id", "1", "--name", "EV Launch Hero 30s"],
                 ["--name", "already has a creative"], id="duplicate-creative"),
    pytest.param(["list", "profils"], ["unknown kind 'profils'", "did you mean 'profiles'"],
                 id="list-kind"),
    pytest.param(["run-all", "--platform", "netflx_like"],
                 ["unknown platform 'netflx_like'", "did you mean 'netflix_like'"],
                 id="unknown-platform"),
]


@pytest.mark.parametrize(("args", "expected"), BAD_INPUT)
def test_bad_input_exits_2_with_one_line_and_changes_nothing(
    filled: str, tmp_path: Path, args: list[str], expected: list[str]
) -> None:
    for name, text in BAD_FILES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    before = dump(filled, timestamps=True)
    message = user_error(invoke(*(a.format(tmp=tmp_path) for a in args), "--db", filled))
    for text in expected:
        assert text in message, message
    assert dump(filled, timestamps=True) == before


def test_a_line_item_outside_the_campaign_flight_is_refused(db: str) -> None:
    invoke_json("create-advertiser", "--auto", "--db", db)
    invoke_json("create-campaign", "--advertiser-id", "1", "--budget", "10000", "--start",
                "2026-10-01", "--days", "5", "--line-items", "0", "--db", db)
    before = dump(db, timestamps=True)
    message = user_error(invoke("create-line-item", "--campaign-id", "1", "--start",
                                "2026-10-03", "--days", "5", "--db", db))
    assert "outside the campaign flight" in message and "--campaign-id 1" in message
    over = user_error(invoke("create-line-item", "--campaign-id", "1", "--budget", "10000.01",
                             "--db", db))
    assert "more than the campaign budget 10,000.00 USD" in over
    assert dump(db, timestamps=True) == before


def test_the_same_commands_on_the_same_database_give_the_same_data(tmp_path: Path) -> None:
    """Draws are keyed by the seed and the rows already there, never by the clock."""
    steps = [["create-advertiser", "--auto", "--campaigns", "1"],
             ["create-campaign", "--advertiser-id", "1", "--line-items", "0", "--budget", "9000"],
             ["create-line-item", "--campaign-id", "2", "--auto"],
             ["create-creative", "--line-item-id", "1", "--auto"],
             ["create-profile", "--name", "multi_device_advanced"]]
    dumps = []
    for run in ("a", "b"):
        url = sqlite_url(tmp_path / f"{run}.db")
        for step in steps:
            assert invoke("-q", "--seed", "5", *step, "--db", url).exit_code == 0, step
        dumps.append(dump(url))
    assert dumps[0] == dumps[1]
    assert len(dumps[0]["performance"]) > 0


# --- drawn names never collide with their siblings' -------------------------------------------
# Names are unique per parent (campaigns per advertiser, line items per campaign, creatives per
# line item); the drawn name pools are small, so many draws for one parent repeat names.


def _names(url: str, sql: str) -> list[str]:
    return [name for (name,) in _query(url, sql)]


def test_many_drawn_campaigns_for_one_advertiser_get_distinct_names(tmp_path: Path) -> None:
    done = console_script("create-advertiser", "--auto", "--campaigns", "80", "--no-simulate",
                          cwd=tmp_path)  # a fresh folder: the default ./ads.db
    assert done.returncode == 0, done.stderr
    cli = _names(sqlite_url(tmp_path / "ads.db"), "SELECT name FROM campaigns ORDER BY id")
    url = sqlite_url(tmp_path / "api.db")
    summary = grow.create_advertiser(db=url, campaigns=80, simulate=False)
    assert summary.created["campaigns"] == 80
    api = _names(url, "SELECT name FROM campaigns ORDER BY id")
    assert len(set(cli)) == len(cli) == 80 and api == cli  # same seed, same names
    assert any(name.endswith(" #2") for name in cli)  # the pool repeats: renamed, not redrawn


def test_an_advertiser_with_campaigns_keeps_them_and_gets_distinct_drawn_ones(
    tmp_path: Path,
) -> None:
    url = sqlite_url(tmp_path / "ads.db")
    plan = grow.create_advertiser(db=url, campaigns=40, simulate=False)
    assert plan.created["campaigns"] == 40
    names = _names(url, "SELECT name FROM campaigns ORDER BY id")
    with session_scope(make_engine(url)) as session:
        row = session.get(Advertiser, 1)
        assert row is not None
        given = AdvertiserCreate.model_validate(row, from_attributes=True).model_copy(
            update={"name": "Given Co"})
    grow.create_advertiser(given, db=url, campaigns=40, simulate=False)
    again = _names(url, "SELECT name FROM campaigns WHERE advertiser_id = 2 ORDER BY id")
    assert again[:40] == names and len(set(again)) == 80


def test_create_campaign_auto_many_times_on_one_advertiser(db: str) -> None:
    invoke_json("create-advertiser", "--auto", "--db", db)
    for _ in range(30):  # seed 42 repeats a name at the 24th
        result = invoke("-q", "create-campaign", "--advertiser-id", "1", "--auto",
                        "--no-simulate", "--db", db)
        assert result.exit_code == 0, result.stderr
    names = _names(db, "SELECT name FROM campaigns")
    assert len(set(names)) == len(names) == 30
    taken = user_error(invoke("create-campaign", "--advertiser-id", "1", "--name", names[0],
                              "--db", db))
    assert f"advertiser 1 already has a campaign {names[0]!r}" in taken


def test_create_line_item_and_creative_many_times_on_one_parent(db: str) -> None:
    invoke_json("create-advertiser", "--auto", "--db", db)
    invoke_json("create-campaign", "--advertiser-id", "1", "--name", "Big", "--objective",
                "awareness", "--budget", "900000", "--start", "2026-10-01", "--days", "30",
                "--line-items", "0", "--no-simulate", "--db", db)
    for _ in range(15):  # seed 42 repeats a line-item and a creative name at the 8th
        result = invoke("-q", "create-line-item", "--campaign-id", "1", "--budget", "20000",
                        "--no-simulate", "--db", db)
        assert result.exit_code == 0, result.stderr
        result = invoke("-q", "create-creative", "--line-item-id", "1", "--auto",
                        "--no-simulate", "--db", db)
        assert result.exit_code == 0, result.stderr
    items = _names(db, "SELECT name FROM line_items")
    creatives = _names(db, "SELECT name FROM creatives WHERE line_item_id = 1")
    assert len(set(items)) == len(items) == 15
    assert len(set(creatives)) == len(creatives) > 15
    chosen = user_error(invoke("create-creative", "--line-item-id", "1", "--name", creatives[0],
                               "--db", db))
    assert "already has a creative" in chosen


def test_drawn_names_are_the_same_for_the_same_commands(tmp_path: Path) -> None:
    runs = []
    for run in ("a", "b"):
        url = sqlite_url(tmp_path / f"{run}.db")
        for step in (["create-advertiser", "--auto", "--campaigns", "30"],
                     *[["create-campaign", "--advertiser-id", "1", "--auto"]] * 10,
                     ["create-profile", "--name", "multi_device_advanced", "--count", "20"]):
            assert invoke("-q", "--seed", "7", *step, "--no-simulate", "--db", url).exit_code == 0
        runs.append(dump(url))
    assert runs[0] == runs[1] and len(runs[0]["campaigns"]) == 60
