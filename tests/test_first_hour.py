"""What a new user hit in their first hour (issue 8, section 3): a line item made of what a
campaign had left (0.02 USD), a geo the platform does not serve, an advertiser's currency
ignored and `status` summing spend across currencies. Each refused or fixed, end to end."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adsgen.build.plans import build_example, build_profile
from adsgen.domain.enums import Currency
from adsgen.domain.money import convert
from adsgen.exceptions import SpecError
from adsgen.templates.catalog import get_example, get_profile
from adsgen.templates.spec import Example, Profile
from cliutil import dump, invoke, invoke_json, sqlite_url, user_error


@pytest.fixture
def db(tmp_path: Path) -> Iterator[str]:
    url = sqlite_url(tmp_path / "ads.db")
    assert invoke("-q", "init-db", "--db", url).exit_code == 0
    yield url


def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
        return conn.execute(sql).fetchall()


# --- 1. what a campaign has left ---------------------------------------------------------------


def test_a_line_item_from_cents_left_is_refused_naming_the_minimum(db: str) -> None:
    invoke_json("create-advertiser", "--auto", "--db", db)
    invoke_json("create-campaign", "--advertiser-id", "1", "--budget", "10000", "--start",
                "2026-10-01", "--days", "14", "--line-items", "0", "--db", db)
    invoke_json("create-line-item", "--campaign-id", "1", "--budget", "9999.98", "--cpm", "30",
                "--db", db)
    before = dump(db, timestamps=True)
    message = user_error(invoke("create-line-item", "--campaign-id", "1", "--cpm", "30",
                                "--db", db))
    assert message == (
        "error: campaign 1 has 0.02 USD of budget left; the smallest line item needs "
        "420.00 USD (1,000 impressions a day for 14 days at a 30.00 USD CPM)"
    )
    auto = user_error(invoke("create-line-item", "--campaign-id", "1", "--auto", "--db", db))
    assert auto.startswith("error: campaign 1 has 0.02 USD of budget left; the smallest")
    small = user_error(invoke("create-line-item", "--campaign-id", "1", "--budget", "0.01",
                              "--cpm", "30", "--db", db))
    assert "--budget 0.01 USD is below the smallest line item, 420.00 USD" in small
    assert dump(db, timestamps=True) == before


def test_exactly_the_minimum_is_a_line_item(db: str) -> None:
    invoke_json("create-advertiser", "--auto", "--db", db)
    invoke_json("create-campaign", "--advertiser-id", "1", "--budget", "420", "--start",
                "2026-10-01", "--days", "14", "--line-items", "0", "--db", db)
    made = invoke_json("create-line-item", "--campaign-id", "1", "--cpm", "30", "--db", db)
    assert made["created"]["line_items"] == 1 and made["facts"]["impressions"] > 0


# --- 2. geos the platform serves ----------------------------------------------------------------


SERVED = "AU, BR, CA, DE, ES, FR, GB, IT, JP, KR, MX, US"


def test_an_unserved_geo_option_exits_2_naming_the_served_ones(db: str) -> None:
    invoke_json("create-advertiser", "--auto", "--db", db)
    before = dump(db, timestamps=True)
    for args in (["create-campaign", "--advertiser-id", "1", "--geo", "IN"],
                 ["create-campaign", "--advertiser-id", "1", "--geo", "US", "--geo", "IN"]):
        message = user_error(invoke(*args, "--db", db))
        assert message == (
            f"error: --geo: IN is not served by platform netflix_like; served geos: {SERVED}"
        )
    assert dump(db, timestamps=True) == before


def test_templates_targeting_an_unserved_geo_are_refused(tmp_path: Path) -> None:
    from adsgen.registry import registry

    bundled = registry.platform("netflix_like")
    platform = bundled.model_copy(update={"name": "us_only",
                                          "geo_timezones": {"US": "America/New_York"}})
    profile = Profile(name="p", targeting={"geo": ["US", "CA"]})
    with pytest.raises(SpecError, match=r"profile p: targeting.geo: CA is not served by "
                                        r"platform us_only; served geos: US"):
        build_profile(profile, seed=1, platform=platform)
    # the bundled example buys on netflix_like: here on the run's platform, us_only
    example = Example.model_validate({**get_example("nexbank_conversion").model_dump(),
                                      "platforms": []})
    assert build_example(example, seed=1, platform=platform).campaigns  # US only: fine
    moved = _with_geo(example, ["FR"])
    where = r"campaign\.line_items\.0\.targeting\.geo"
    with pytest.raises(SpecError, match=where + ": FR is not served"):
        build_example(moved, seed=1, platform=platform)


def test_a_profile_file_targeting_an_unserved_geo_exits_2(db: str, tmp_path: Path) -> None:
    (tmp_path / "india.yml").write_text(
        "type: profile\nobjective: awareness\ntargeting: {geo: [IN]}\n", encoding="utf-8"
    )
    message = user_error(invoke("create-profile", "--name", "india", "--templates-dir",
                                str(tmp_path), "--db", db))
    assert message == (
        "error: profile india: targeting.geo: IN is not served by platform netflix_like; "
        f"served geos: {SERVED}"
    )


def _with_geo(example: Example, geos: list[str]) -> Example:
    data = example.model_dump()
    data["campaign"]["line_items"][0]["targeting"]["geo"] = geos
    return Example.model_validate(data)


# --- 3. currencies ----------------------------------------------------------------------------


def test_a_jpy_advertiser_gets_yen_budgets_and_cpms(db: str) -> None:
    invoke_json("create-advertiser", "--name", "Tokyo Foods", "--industry", "cpg_food",
                "--currency", "JPY", "--campaigns", "2", "--db", db)
    invoke_json("create-campaign", "--advertiser-id", "1", "--auto", "--db", db)
    budgets = _rows(db, "SELECT currency, amount_micros, daily_cap_micros FROM budgets")
    assert budgets and {currency for currency, _, _ in budgets} == {"JPY"}
    for _, amount, cap in budgets:
        assert amount % 1_000_000 == 0 and (cap is None or cap % 1_000_000 == 0)  # whole yen
        assert amount >= 1_000_000 * 150 * 1_000  # at least 1,000 USD of yen
    cpms = [cpm for (cpm,) in _rows(db, "SELECT cpm_micros FROM line_items")]
    assert all(cpm % 1_000_000 == 0 and 75 * 10**6 <= cpm <= 75_000 * 10**6 for cpm in cpms)
    assert max(cpms) > 500 * 10**6  # not USD figures labelled JPY


def test_the_same_draw_in_yen_is_the_usd_draw_converted() -> None:
    from adsgen.registry import registry

    platform = registry.platform("netflix_like")
    profile = get_profile("mobile_consideration")
    usd = build_profile(profile, seed=3, platform=platform)
    jpy = build_profile(profile, seed=3, platform=platform, currency=Currency.JPY)
    assert jpy.currency is Currency.JPY
    (usd_campaign,), (jpy_campaign,) = usd.campaigns, jpy.campaigns
    assert jpy_campaign.budget.amount == convert(usd_campaign.budget.amount, Currency.JPY)
    for a, b in zip(usd_campaign.line_items, jpy_campaign.line_items, strict=True):
        assert b.cpm == convert(a.cpm, Currency.JPY) and b.budget.currency is Currency.JPY
        assert b.targeting == a.targeting


def test_an_example_in_another_currency_than_its_advertiser_exits_2(
    db: str, tmp_path: Path
) -> None:
    text = (
        "type: examples\nexamples:\n  yen:\n"
        "    advertiser: {name: Yen Co, industry: retail, domain: yen.example, currency: JPY}\n"
        "    campaign:\n      name: C\n      objective: awareness\n"
        "      budget: {amount: 3000000, currency: EUR}\n"
        "      flight: {start: 2026-10-01, end: 2026-10-08}\n"
    )
    (tmp_path / "yen.yml").write_text(text, encoding="utf-8")
    message = user_error(invoke("create-example", "--template", str(tmp_path / "yen.yml"),
                                "--example", "yen", "--db", db))
    assert "budget currency EUR differs from the advertiser's currency JPY" in message
    # Left out, the budget's currency is the advertiser's: the amounts are taken in yen.
    (tmp_path / "yen.yml").write_text(text.replace(", currency: EUR", ""), encoding="utf-8")
    invoke_json("create-example", "--template", str(tmp_path / "yen.yml"), "--example", "yen",
                "--no-simulate", "--db", db)
    assert _rows(db, "SELECT currency, amount_micros FROM budgets") == [("JPY", 3 * 10**12)]


def test_status_totals_spend_per_currency(db: str) -> None:
    invoke_json("create-profile", "--name", "mobile_consideration", "--db", db)
    invoke_json("create-advertiser", "--name", "Tokyo Foods", "--industry", "cpg_food",
                "--currency", "JPY", "--campaigns", "1", "--db", db)
    report = invoke_json("status", "--db", db)
    spent = _rows(db, "SELECT b.currency, SUM(p.spend_micros) FROM performance p JOIN budgets b "
                      "ON b.line_item_id = p.line_item_id GROUP BY b.currency ORDER BY 1")
    assert sorted(report["spend_micros"].items()) == spent and len(spent) == 2
    assert Decimal(str(report["spend"]["JPY"])) * 10**6 == report["spend_micros"]["JPY"]
    table = invoke("status", "--db", db)
    assert table.exit_code == 0
    line = next(line for line in table.stdout.splitlines() if "│ spend " in line)
    assert " JPY; " in line and line.rstrip(" │").endswith(" USD")


def test_simulate_summary_keeps_currencies_apart(db: str) -> None:
    """What a command reports it simulated is per currency too, equal to the rows' sums."""
    invoke_json("create-profile", "--name", "mobile_consideration", "--db", db)
    created = invoke_json("create-advertiser", "--name", "Tokyo Foods", "--industry",
                          "cpg_food", "--currency", "JPY", "--campaigns", "1", "--db", db)
    spent = dict(_rows(db, "SELECT b.currency, SUM(p.spend_micros) FROM performance p JOIN "
                           "budgets b ON b.line_item_id = p.line_item_id GROUP BY b.currency"))
    facts = invoke_json("simulate", "--db", db)
    assert facts["spend_micros"] == spent and set(spent) == {"JPY", "USD"}
    assert Decimal(str(facts["spend"]["JPY"])) * 10**6 == spent["JPY"]
    assert created["facts"]["spend_micros"] == {"JPY": spent["JPY"]}
    table = invoke("simulate", "--db", db)
    line = next(line for line in table.stdout.splitlines() if "│ spend " in line)
    assert " JPY; " in line and line.rstrip(" │").endswith(" USD")


def test_scale_runs_check_profiles_against_the_platform() -> None:
    from adsgen.build.at_scale import build_scaled
    from adsgen.registry import registry

    platform = registry.platform("netflix_like")
    india = Profile(name="india", targeting={"geo": ["IN"]})
    with pytest.raises(SpecError, match=r"profile india: targeting\.geo: IN is not served"):
        build_scaled(seed=1, platform=platform, advertisers=2, profiles=[india])
    euro = Profile(name="euro", currency=Currency.EUR)
    with pytest.raises(SpecError, match="profile euro: currency: EUR: scale runs plan in USD"):
        build_scaled(seed=1, platform=platform, advertisers=2, profiles=[euro])


def test_drawn_campaigns_avoid_the_advertisers_campaign_names(tmp_path: Path) -> None:
    """A drawn campaign named like one the advertiser has gets a number (UNIQUE before)."""
    from adsgen.runs import grow
    from planfactory import sample_advertiser

    bare = sample_advertiser("A").model_copy(update={"campaigns": []})
    first = sqlite_url(tmp_path / "first.db")
    grow.create_advertiser(bare, campaigns=1, db=first, simulate=False)
    ((drawn,),) = _rows(first, "SELECT name FROM campaigns")
    owned = sample_advertiser("A")
    owned = owned.model_copy(update={"campaigns": [
        owned.campaigns[0].model_copy(update={"name": drawn})]})
    second = sqlite_url(tmp_path / "second.db")
    grow.create_advertiser(owned, campaigns=1, db=second, simulate=False)
    assert sorted(_rows(second, "SELECT name FROM campaigns")) == [(drawn,), (f"{drawn} #2",)]
