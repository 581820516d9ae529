"""Options as users type them: dates (`--start today`, `+7d`, `-3d`) parsed in one place for
every command that takes one, and `--help` texts without type noise (`<bool>`, `<int>`,
`{FILE...}...`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import typer.main
from tests.cliutil import invoke, invoke_json, sqlite_url, user_error

from adsgen.cli import app
from adsgen.domain.dates import DATE_FORMS, parse_date, to_utc_naive

NOW = datetime(2026, 11, 29, 21, 30, tzinfo=UTC)
MIDNIGHT = datetime(2026, 11, 29)


def _help_text(command: str) -> str:
    """`adsgen COMMAND --help` as one line of words (Rich's box lines taken out)."""
    result = invoke(command, "--help", env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.stderr
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.stdout).split())


def _midnight_today() -> datetime:
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)


# --- the parser --------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("today", MIDNIGHT),
    (" Today ", MIDNIGHT),
    ("+7d", MIDNIGHT + timedelta(days=7)),
    ("-3d", MIDNIGHT - timedelta(days=3)),
    ("+0d", MIDNIGHT),
    ("2026-09-01", datetime(2026, 9, 1)),
    ("2026-09-01T06:00", datetime(2026, 9, 1, 6)),
    ("2026-09-01 06:00:00", datetime(2026, 9, 1, 6)),
    ("2026-09-01T08:00+02:00", datetime(2026, 9, 1, 6)),  # converted to UTC
    ("2026-09-01T06:00Z", datetime(2026, 9, 1, 6)),
])
def test_parse_date_reads_every_documented_form(text: str, expected: datetime) -> None:
    assert parse_date(text, now=NOW) == expected


def test_relative_dates_count_whole_days_in_utc() -> None:
    in_local_time = datetime(2026, 11, 30, 0, 30, tzinfo=UTC).astimezone()  # any local zone
    assert parse_date("today", now=in_local_time) == datetime(2026, 11, 30)
    assert parse_date("+1d", now=datetime(2026, 11, 29, 23, 59)) == datetime(2026, 11, 30)


@pytest.mark.parametrize(("text", "why"), [
    ("0001-01-01T00:00+14:00", "is outside the years 1 to 9999 in UTC"),
    ("9999-12-31T23:00-14:00", "is outside the years 1 to 9999 in UTC"),
])
def test_a_date_beyond_the_calendar_is_a_value_error(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"{text!r} {why}")):
        parse_date(text, now=NOW)
    with pytest.raises(ValueError, match=re.escape("'+99d' is past the years 1 to 9999")):
        parse_date("+99d", now=datetime(9999, 12, 1))


@pytest.mark.parametrize("text", ["tomorow", "+7", "7d", "+7w", "2026-13-01", "", "+d"])
def test_a_bad_date_names_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"{text!r} is not a date; use {DATE_FORMS}")):
        parse_date(text, now=NOW)


# --- every command that takes a date -----------------------------------------------------


def _date_options() -> list[tuple[str, str]]:
    """(command, option) for every option of every command whose name is --start or --end."""
    group = typer.main.get_command(app)
    found = []
    for name, cmd in sorted(group.commands.items()):  # type: ignore[attr-defined]
        for param in cmd.params:
            found += [(name, opt) for opt in param.opts if opt in ("--start", "--end")]
    return found


DATE_OPTIONS = _date_options()


def test_the_commands_that_take_dates_are_found() -> None:
    commands = {command for command, _ in DATE_OPTIONS}
    assert {"create-campaign", "create-line-item", "generate", "plan"} <= commands


@pytest.mark.parametrize(("command", "option"), DATE_OPTIONS)
def test_every_date_option_takes_the_same_forms(command: str, option: str) -> None:
    message = user_error(invoke(command, option, "next tuesday"))
    assert message == (f"error: Invalid value for '{option}': 'next tuesday' is not a date; "
                       f"use {DATE_FORMS}, in UTC (see `adsgen {command} --help`)")
    assert DATE_FORMS in _help_text(command)


def test_create_campaign_starts_a_week_from_today(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "ads.db")
    invoke_json("--db", url, "create-advertiser", "--auto")
    created = invoke_json("--db", url, "create-campaign", "--advertiser-id", "1", "--start",
                          "+7d", "--days", "3", "--budget", "3000", "--no-simulate")
    campaign = invoke_json("--db", url, "show", "campaign", str(created["ids"]["campaigns"][0]))
    start = _midnight_today() + timedelta(days=7)
    flight = {key: to_utc_naive(datetime.fromisoformat(campaign["flight"][key]))
              for key in ("start", "end")}
    assert flight == {"start": start, "end": start + timedelta(days=3)}


def test_generate_starts_three_days_ago(tmp_path: Path) -> None:
    out = tmp_path / "run"
    invoke_json("generate", "--line-items", "2", "--days", "2", "--start", "-3d", "--out",
                str(out))
    starts = pq.read_table(out / "flights.parquet").column("start_at").to_pylist()
    expected = _midnight_today() - timedelta(days=3)
    assert {s.replace(tzinfo=None) for s in starts} == {expected}


# --- help texts --------------------------------------------------------------------------

_TYPE_LABEL = re.compile(r"<[a-z][\w\[\], ]*>")  # <bool>, <int>, <list[Path]>, <int range>


@pytest.mark.parametrize("command", [None, *sorted(typer.main.get_command(app).commands)])  # type: ignore[attr-defined]
def test_help_has_no_type_noise(command: str | None) -> None:
    args = ["--help"] if command is None else [command, "--help"]
    result = invoke(*args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stderr
    assert not _TYPE_LABEL.search(result.stdout), _TYPE_LABEL.search(result.stdout)
    usage = next(line for line in result.stdout.splitlines() if "Usage:" in line)
    assert "{" not in usage and "...." not in usage, usage


def test_usage_lines_read_as_in_the_readme() -> None:
    usage = {command: next(line.strip() for line in invoke(command, "--help").stdout
                           .splitlines() if "Usage:" in line)
             for command in ("validate", "load", "list", "show")}
    assert usage == {
        "validate": "Usage: adsgen validate [OPTIONS] FILE...",
        "load": "Usage: adsgen load [OPTIONS] DIR",
        "list": "Usage: adsgen list [OPTIONS] KIND",
        "show": "Usage: adsgen show [OPTIONS] KIND ID",
    }


# --- generate: one truth for block sizes and --json ----------------------------------------

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def _readme_section(title: str) -> str:
    start = README.index(f"### `{title}`")
    return README[start:README.index("\n### ", start + 1)]


def test_block_size_help_and_readme_quote_the_code() -> None:
    from adsgen.runs import blocks, sizing

    assert (blocks.DEFAULT_BLOCK_ROWS, blocks.ROWS_PER_DATE_FILE, blocks.MIN_BLOCKS) == (
        sizing.DEFAULT_BLOCK_ROWS, sizing.ROWS_PER_DATE_FILE, sizing.MIN_BLOCKS)
    for number in (sizing.DEFAULT_BLOCK_ROWS, sizing.ROWS_PER_DATE_FILE):
        assert f"{number:,}" in sizing.BLOCK_SIZE_DEFAULT
    assert f"1/{sizing.MIN_BLOCKS} of the line items" in sizing.BLOCK_SIZE_DEFAULT
    for command in ("generate", "plan"):
        assert f"(default: {sizing.BLOCK_SIZE_DEFAULT})" in _help_text(command)
    row = next(line for line in _readme_section("adsgen generate").splitlines()
               if line.startswith("| `--block-size N`"))
    assert f"(default: {sizing.BLOCK_SIZE_DEFAULT})" in row


def test_readme_block_figures_are_what_plan_says() -> None:
    """The README's examples of the default: blocks and rows per date file, as planned."""
    row = next(line for line in _readme_section("adsgen generate").splitlines()
               if line.startswith("| `--block-size N`"))
    for line_items, days in ((200, 365), (20_000, 365)):
        plan = invoke_json("plan", "--line-items", str(line_items), "--days", str(days))
        per_file = plan["rows"]["performance"] / plan["blocks"] / days
        assert (f"{line_items:,} line items × {days} days give {plan['blocks']} blocks of "
                f"{plan['block_size']} line items" in row
                or f"{line_items:,} × {days} give {plan['blocks']} blocks of "
                   f"{plan['block_size']}" in row)
        stated = re.search(rf"{plan['block_size']}(?: line items)?, about ([\d,.]+) rows", row)
        assert stated is not None
        assert abs(float(stated.group(1).replace(",", "")) - per_file) / per_file < 0.05


def test_generate_json_is_the_documented_object(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = invoke_json("generate", "--line-items", "3", "--days", "1", "--out", str(out))
    keys = {"out", "manifest_path", "seconds", "planning_seconds", "loaded", "manifest"}
    assert set(result) == keys
    section = _readme_section("adsgen generate")
    assert all(f"`{key}`" in section for key in keys)
    assert "`manifest`, exactly the content of `manifest.json`" in section
    import json

    assert result["manifest"] == json.loads((out / "manifest.json").read_text())
    assert result["out"] == str(out) and result["loaded"] is None
    assert result["seconds"] >= result["planning_seconds"] > 0
