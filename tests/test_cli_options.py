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
from adsgen.domain.dates import DATE_FORMS, parse_date

NOW = datetime(2026, 11, 29, 21, 30, tzinfo=UTC)
MIDNIGHT = datetime(2026, 11, 29)


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
    help_text = " ".join(invoke(command, "--help", env={"COLUMNS": "300"}).stdout.split())
    assert DATE_FORMS in help_text


def test_create_campaign_starts_a_week_from_today(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "ads.db")
    invoke_json("--db", url, "create-advertiser", "--auto")
    created = invoke_json("--db", url, "create-campaign", "--advertiser-id", "1", "--start",
                          "+7d", "--days", "3", "--budget", "3000", "--no-simulate")
    campaign = invoke_json("--db", url, "show", "campaign", str(created["ids"]["campaigns"][0]))
    start = _midnight_today() + timedelta(days=7)
    assert campaign["flight"]["start"] == start.isoformat()
    assert campaign["flight"]["end"] == (start + timedelta(days=3)).isoformat()


def test_generate_starts_three_days_ago(tmp_path: Path) -> None:
    out = tmp_path / "run"
    invoke_json("generate", "--line-items", "2", "--days", "2", "--start", "-3d", "--out",
                str(out))
    starts = pq.read_table(out / "flights.parquet").column("start").to_pylist()
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
