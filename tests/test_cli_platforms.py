"""`adsgen list platforms`, and platform rules met on the command line: exit 2, one line
naming the platform and the rule, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cliutil import invoke, invoke_json, sqlite_url, tiny_example, user_error

BUNDLED = ("fast_like", "hulu_like", "netflix_like", "peacock_like", "prime_like",
           "roku_like", "youtube_tv_like")


def test_list_platforms_shows_the_key_facts() -> None:
    rows = invoke_json("list", "platforms")
    assert [row["name"] for row in rows] == list(BUNDLED)
    roku = next(row for row in rows if row["name"] == "roku_like")
    assert roku["duration_windows"] == [[13, 17], [28, 31]]
    assert roku["spot_lengths"] == [15, 30]
    assert roku["cpm_range"] == [19.0, 27.0]
    assert roku["source"] == "bundled"
    assert {"dma", "state", "segment"} <= set(roku["targeting_keys"])
    assert roku["pods"]["ads_per_break"] == [2, 4]
    assert roku["measurement"]["completion"] == 0.95
    table = invoke("list", "platforms", env={"COLUMNS": "220"})
    assert table.exit_code == 0
    for name in BUNDLED:
        assert name in table.stdout
    assert "13-17, 28-31 s" in table.stdout and "$15-21" in table.stdout


def test_an_example_for_another_platform_is_refused(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "ads.db")
    message = user_error(invoke("create-example", "--example", "luxury_auto_awareness",
                                "--platform", "roku_like", "--db", url))
    assert "buys on netflix_like, not on roku_like" in message
    assert not (tmp_path / "ads.db").exists()


@pytest.mark.parametrize(
    ("yaml", "platform", "fragment"),
    [
        (tiny_example(targeting="{dma: [501]}"), "netflix_like",
         "platform netflix_like does not sell targeting key dma"),
        (tiny_example(targeting="{dma: [999]}"), "roku_like", "210 codes 500-881"),
        (tiny_example(duration=20), "roku_like", "platform roku_like takes spots of 13-17 s or "
                                             "28-31 s; creative 'Spot' is 20 s"),
        (tiny_example(targeting="{segment: [retail_beauty_buyers]}"), "youtube_tv_like",
         "platform youtube_tv_like does not sell retailer segments"),
        (tiny_example(platforms="platforms: [roku_lik]"), "roku_like", "did you mean 'roku_like'"),
        (tiny_example(platforms="platforms: [roku_like, hulu_like]", targeting="{dma: [501]}"),
         "roku_like", "platform hulu_like does not sell targeting key dma"),
    ],
)
def test_a_plan_breaking_a_platform_rule_writes_nothing(
    tmp_path: Path, yaml: str, platform: str, fragment: str
) -> None:
    own = tmp_path / "mine.yml"
    own.write_text(yaml, encoding="utf-8")
    url = sqlite_url(tmp_path / "ads.db")
    assert invoke("-q", "init-db", "--db", url).exit_code == 0
    message = user_error(invoke("create-example", "--template", str(own), "--example",
                                "my_brand", "--platform", platform, "--db", url))
    assert fragment in message
    assert invoke_json("list", "advertisers", "--db", url) == []


def test_a_dma_campaign_runs_where_dmas_are_sold(tmp_path: Path) -> None:
    own = tmp_path / "mine.yml"
    own.write_text(tiny_example(platforms="platforms: [roku_like]",
                            targeting="{device: [ctv], dma: [501, 803], state: [ny]}"),
                   encoding="utf-8")
    url = sqlite_url(tmp_path / "ads.db")
    done = invoke_json("create-example", "--template", str(own), "--example", "my_brand",
                       "--platform", "roku_like", "--db", url)
    assert done["created"]["line_items"] == 1
    shown = invoke_json("show", "line-item", "1", "--db", url)
    assert json.dumps(shown["targeting"]).count("501") == 1
    assert "NY" in json.dumps(shown["targeting"])


def test_run_all_leaves_out_templates_of_other_platforms(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "ads.db")
    done = invoke_json("run-all", "--scale", "0", "--platform", "fast_like", "--db", url)
    assert done["created"]["advertisers"] == 5  # the five bundled profiles, no example
    again = invoke_json("run-all", "--scale", "0", "--db", url)
    assert again["created"]["advertisers"] == 9  # netflix_like: four examples too


def test_dma_state_and_segment_options_where_the_platform_sells_them(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "ads.db")
    assert invoke("-q", "create-advertiser", "--auto", "--db", url).exit_code == 0
    base = ("create-campaign", "--advertiser-id", "1", "--budget", "10000", "--no-simulate",
            "--db", url)
    done = invoke_json(*base, "--device", "ctv", "--dma", "501", "--state", "ny",
                       "--segment", "viewers_live_sports", "--platform", "roku_like")
    assert done["created"]["campaigns"] == 1
    rows = invoke_json("show", "line-item", "1", "--db", url)["targeting"]
    assert (rows["dma"], rows["state"], rows["segment"]) == (
        ["501"], ["NY"], ["viewers_live_sports"])
    for args, fragment in [
        (("--dma", "501"), "--dma: platform netflix_like does not sell targeting key dma"),
        (("--segment", "age_18_34", "--platform", "roku_like"),
         "--segment: platform roku_like does not sell demographic segments (age_18_34)"),
        (("--dma", "999", "--platform", "roku_like"), "--dma: '999' is not a Nielsen DMA code"),
        (("--state", "XX", "--platform", "roku_like"), "--state: 'XX' is not a US state"),
    ]:
        assert fragment in user_error(invoke(*base, *args))
    assert len(invoke_json("list", "campaigns", "--db", url)) == 1
