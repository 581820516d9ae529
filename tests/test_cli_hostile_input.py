"""Values a user can fix that used to end as "internal error … (a bug in adsgen)", exit 1.

Issue 9, item 9 (input part): a seed or an id beyond a signed 64-bit integer, a Dask
scheduler address Dask cannot read, a date whose flight ends past year 9999. Each must be
exit 2 with one line naming the option and what is allowed, and must change nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cliutil import dump, invoke, invoke_json, sqlite_url, user_error

BIGINT_MAX = 2**63 - 1


@pytest.fixture
def filled(tmp_path: Path) -> str:
    """A database holding one example advertiser (id 1), campaign (id 1), line item (id 1)."""
    url = sqlite_url(tmp_path / "ads.db")
    invoke_json("create-example", "--example", "luxury_auto_awareness", "--db", url)
    return url


SEEDS_AND_IDS = [
    pytest.param(["--seed", str(2**63), "create-advertiser", "--auto"], "--seed", id="seed-2^63"),
    pytest.param(["--seed", "-1", "create-advertiser", "--auto"], "--seed", id="seed-negative"),
    pytest.param(["create-advertiser", "--auto", "--seed", str(2**64)], "--seed",
                 id="seed-after-the-command"),
    pytest.param(["create-campaign", "--advertiser-id", str(2**63), "--auto"],
                 "--advertiser-id", id="advertiser-id"),
    pytest.param(["create-campaign", "--advertiser-id", "-1", "--auto"],
                 "--advertiser-id", id="advertiser-id-negative"),
    pytest.param(["create-line-item", "--campaign-id", str(2**63), "--auto"],
                 "--campaign-id", id="campaign-id"),
    pytest.param(["create-creative", "--line-item-id", str(2**64), "--auto"],
                 "--line-item-id", id="line-item-id"),
    pytest.param(["simulate", "--line-item-id", str(2**63)], "--line-item-id",
                 id="simulate-line-item-id"),
]


@pytest.mark.parametrize(("args", "option"), SEEDS_AND_IDS)
def test_seeds_and_ids_beyond_64_bits(filled: str, args: list[str], option: str) -> None:
    before = dump(filled, timestamps=True)
    line = user_error(invoke(*args, "--db", filled))
    assert option in line and f"{BIGINT_MAX}" in line, line
    assert dump(filled, timestamps=True) == before


def test_the_largest_seed_works(filled: str) -> None:
    result = invoke_json("--seed", str(BIGINT_MAX), "create-advertiser", "--auto", "--db", filled)
    assert result["seed"] == BIGINT_MAX


def test_a_seed_beyond_64_bits_from_the_environment(filled: str) -> None:
    result = invoke("create-advertiser", "--auto", "--db", filled,
                    env={"ADSGEN_SEED": str(2**63)})
    assert "--seed" in user_error(result)


@pytest.mark.parametrize("command", ["generate", "plan"])
@pytest.mark.parametrize(
    ("seed", "address", "message"),
    [
        ("1", "garbage", "--scheduler 'garbage': not a Dask scheduler address"),
        ("1", "tcp://127.0.0.1:99999", "port 99999"),
        ("1", "tcp://127.0.0.1:port", "not a Dask scheduler address"),
        (str(2**63), "tcp://127.0.0.1:8786", "--seed"),
    ],
)
def test_generate_refuses_before_working(
    tmp_path: Path, command: str, seed: str, address: str, message: str
) -> None:
    where = ["--out", str(tmp_path / "out")] if command == "generate" else []
    line = user_error(invoke("--seed", seed, command, "--line-items", "2", "--days", "1",
                             "--engine", "dask", "--scheduler", address, *where))
    assert message in line
    assert list(tmp_path.iterdir()) == []


RANGE = ["1970-01-01", "9000-01-01"]
DATES = [
    pytest.param(["--start", "9999-12-31"], RANGE, id="start-9999-12-31"),
    pytest.param(["--start", "0001-01-01"], RANGE, id="start-0001-01-01"),
    pytest.param(["--start", "9000-01-01T01:00:00", "--days", "10"], RANGE, id="after-9000"),
    pytest.param(["--start", "0001-01-01T00:00:00+14:00"], [], id="offset-before-year-1"),
    pytest.param(["--start", "9999-12-31T23:00:00-14:00"], [], id="offset-after-9999"),
]


@pytest.mark.parametrize(("dates", "expected"), DATES)
@pytest.mark.parametrize("command", ["generate", "plan"])
def test_dates_out_of_range_at_scale(
    tmp_path: Path, command: str, dates: list[str], expected: list[str]
) -> None:
    where = ["--out", str(tmp_path / "out")] if command == "generate" else []
    line = user_error(invoke(command, "--line-items", "1", *dates, *where))
    assert all(text in line for text in ["--start", *expected]), line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["create-campaign", "create-line-item"])
@pytest.mark.parametrize(("dates", "expected"), DATES)
def test_dates_out_of_range_for_a_flight(
    filled: str, command: str, dates: list[str], expected: list[str]
) -> None:
    before = dump(filled, timestamps=True)
    days = [] if "--days" in dates else ["--days", "3"]
    parent = ["--advertiser-id" if command == "create-campaign" else "--campaign-id", "1"]
    line = user_error(invoke(command, *parent, *dates, *days, "--db", filled))
    assert all(text in line for text in ["--start", *expected]), line
    assert dump(filled, timestamps=True) == before


@pytest.mark.parametrize(
    ("start", "expected"),
    [("9999-12-31", RANGE), ("0001-01-01", RANGE), ("9000-01-02T00:00:00+00:00", RANGE),
     ("0001-01-01T00:00:00+14:00", ["out of range in UTC"])],
)
def test_dates_out_of_range_in_a_profile(
    filled: str, tmp_path: Path, start: str, expected: list[str]
) -> None:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "far.yml").write_text(
        f"type: profile\nstart: {start}\nflight_days: 30\n")
    line = user_error(invoke("create-profile", "--name", "far", "--templates-dir",
                             str(tmp_path), "--db", filled))
    assert all(text in line for text in ["far.yml", *expected]), line


def test_the_edges_of_the_range_work(filled: str) -> None:
    first = invoke_json("create-campaign", "--advertiser-id", "1", "--start", "1970-01-01",
                        "--days", "1", "--db", filled)
    last = invoke_json("create-campaign", "--advertiser-id", "1", "--start", "9000-01-01",
                       "--days", "366", "--db", filled)  # ends 9001-01-02, simulated
    assert first["facts"]["performance_rows"] > 0 < last["facts"]["performance_rows"]


@pytest.mark.parametrize("name", ["A\x00B", "A\nB", "Tab\there", "bell\x07"])
def test_names_with_control_characters(filled: str, name: str) -> None:
    """PostgreSQL refuses NUL in text (exit 1 before); a line break would split the one line."""
    before = dump(filled, timestamps=True)
    line = user_error(invoke("create-advertiser", "--name", name, "--industry", "automotive",
                             "--db", filled))
    assert "--name" in line and "control character" in line, line
    assert dump(filled, timestamps=True) == before
