"""Fuzz: random options for every command and random templates never make adsgen exit 1.

The promise (README, Promises): bad input exits 2 with one line `error: …` on stderr and
nothing else there; exit 1 means a bug in adsgen. Hypothesis draws command lines (every
option of every command, from a strategy for its kind: seeds, ids, dates, sizes, names,
enums, engines, formats; hostile values among valid ones) and template files (random YAML
documents, and mutations of the bundled templates, used by `validate`, `create-profile`,
`create-example` and `--platform`), runs the real CLI in process against a temporary SQLite
database and folder, and checks the exit code is 0 or 2 and, on 2, the one line.

Each exit 1 found so far is pinned with `@example`. The budget is bounded for CI (about
150 examples per test, under a minute in all); `make fuzz` runs ADSGEN_FUZZ_EXAMPLES (default
2,000) per test.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from importlib.resources import files
from types import SimpleNamespace
from typing import Any

import pytest
import typer
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import Result

from adsgen.cli import app
from adsgen.domain.enums import (
    AdFormat,
    AdPosition,
    CreativeMimeType,
    Currency,
    DeviceType,
    DspPartner,
    Genre,
    Industry,
    Objective,
    PacingPeriod,
    PacingType,
)
from cliutil import invoke, invoke_json, sqlite_url

EXAMPLES = int(os.environ.get("ADSGEN_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize="ADSGEN_FUZZ_EXAMPLES" not in
                os.environ, suppress_health_check=list(HealthCheck), database=None)
BUNDLED = files("adsgen.templates") / "data"
PROGRESS = "━"
"""Every progress bar line holds this; no other line may come before the error line."""
LONGEST_LINE = 1_200
"""An error line is at most this long (a message of 500 characters after a path or two)."""

# --- the contract ---------------------------------------------------------------------------


def assert_contract(result: Result, args: list[str]) -> None:
    """Exit 0, or exit 2 with one short `error: …` line on stderr, after progress bars only
    (and, under --json, one JSON document or nothing on stdout); never exit 1 or an
    exception escaping the app."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{args!r} raised") from result.exception
    assert result.exit_code in (0, 2), (args, result.exit_code, result.stderr[-2000:])
    if result.exit_code == 2:
        *above, line = result.stderr.splitlines() or [""]
        assert line.startswith("error: "), (args, result.stderr[-2000:])
        assert len(line) <= LONGEST_LINE, (args, line[:300])
        # A problem found once a run has started comes after its progress bars, nothing else.
        assert all(PROGRESS in bar for bar in above), (args, result.stderr[-2000:])
        if result.stdout.strip():
            assert "--json" in args, (args, result.stdout[-2000:])
            json.loads(result.stdout)


def run(args: list[str]) -> Result:
    result = invoke(*args)
    assert_contract(result, args)
    return result


# --- values by kind -------------------------------------------------------------------------

HOSTILE_INTS = [0, -1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**30]
HOSTILE_TEXT = ["", " ", "-", "--", "0x10", "1e9", "1_000", "NaN", "inf", "-inf", "١٢", "½",
                "\x00", "\t", "x" * 5000, "'", '"', "%s", "{}", "null", "~", "ü"]


def _text() -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=30))


def ints(low: int, high: int) -> st.SearchStrategy[str]:
    """A whole number in low..high (kept small: sizes run), or a hostile one, or text."""
    return st.one_of(st.integers(low, high).map(str), st.sampled_from(HOSTILE_INTS).map(str),
                     _text())


def one_of_enum(*enums: Any) -> st.SearchStrategy[str]:
    values = [str(member) for enum in enums for member in enum]
    return st.one_of(st.sampled_from(values), st.sampled_from(values).map(str.upper), _text())


DATES = st.one_of(
    st.sampled_from(["9999-12-31", "0001-01-01", "2026-02-30", "2026-09-01", "2026-13-01",
                     "2026-09-01T10:30:00", "2026-09-01T00:00:00+14:00", "9999-12-31T23:00:00",
                     "today", "+7d", "-3d", "+99999999d", "+0d", "1e9", "2026-9-1"]),
    st.dates().map(str),
    st.datetimes().map(lambda moment: moment.replace(minute=0, second=0, microsecond=0)
                       .isoformat()),
    _text(),
)
AMOUNTS = st.one_of(
    st.sampled_from(["100", "5000", "50000.00", "0.5", "25", "1e3", "-5", "0", "1e400",
                     "1000000000", "1000000000.01", "12.345", "NaN", "Infinity", "sNaN",
                     "9" * 5000]),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    _text(),
)
NAMES = st.one_of(st.sampled_from(["My Brand", "Luxury Auto Co", "EV Launch Hero 30s", "x" * 300]),
                  _text())
TEMPLATE_NAMES = st.one_of(
    st.sampled_from(["luxury_auto_awareness", "nexbank_conversion", "mobile_consideration",
                     "multi_device_advanced", "netflix_like", "../etc/passwd", "a" * 300]),
    _text(),
)
SCHEDULERS = st.one_of(st.sampled_from(["garbage", "tcp://127.0.0.1:0", "tcp://[::1:8786",
                                        "tcp://127.0.0.1:99999", "inproc://x", ""]), _text())

OPTIONS: dict[str, st.SearchStrategy[str]] = {
    "--seed": ints(0, 50),
    "--advertiser-id": ints(1, 3), "--campaign-id": ints(1, 3), "--line-item-id": ints(1, 3),
    "--scale": ints(0, 1), "--count": ints(1, 2), "--campaigns": ints(0, 1),
    "--line-items": ints(0, 3), "--creatives": ints(1, 3), "--advertisers": ints(1, 2),
    "--days": ints(1, 3), "--workers": ints(1, 2), "--block-size": ints(1, 5),
    "--duration": ints(5, 60),
    "--start": DATES, "--end": DATES,
    "--budget": AMOUNTS, "--cpm": AMOUNTS,
    "--name": NAMES, "--domain": st.one_of(st.sampled_from(["brand.example", "-x.example"]),
                                           _text()),
    "--example": TEMPLATE_NAMES, "--profile": TEMPLATE_NAMES, "--platform": st.one_of(
        TEMPLATE_NAMES, st.sampled_from(["roku_like", "netflix_like,roku_like", ",", "a,,b"])),
    "--template": st.one_of(st.sampled_from(["netflix-ads-examples.yml", "/dev/zero",
                                             "/dev/null", "/", "nowhere.yml"]), _text()),
    "--templates-dir": st.sampled_from(["/nonexistent", "/dev", "/proc/self", "/"]),
    "--industry": one_of_enum(Industry), "--objective": one_of_enum(Objective),
    "--currency": one_of_enum(Currency), "--pacing": one_of_enum(PacingType),
    "--pacing-period": one_of_enum(PacingPeriod), "--dsp": one_of_enum(DspPartner),
    "--device": one_of_enum(DeviceType), "--genre": one_of_enum(Genre),
    "--geo": st.one_of(st.sampled_from(["US", "us", "GB", "XX", "USA", "U"]), _text()),
    "--dma": st.one_of(st.sampled_from(["501", "803", "999", "0501", "-1", "5e2"]), _text()),
    "--state": st.one_of(st.sampled_from(["CA", "ny", "DC", "XX", "PR", "Calif"]), _text()),
    "--segment": st.one_of(st.sampled_from(["age_18_34", "retail_grocery_buyers",
                                            "age_13_17", "AGE_18_34"]), _text()),
    "--time-zone": st.one_of(st.sampled_from(["America/New_York", "utc", "UTC", "Mars/Base",
                                              "../../etc/passwd", "Europe/"]), _text()),
    "--position": one_of_enum(AdPosition), "--mime-type": one_of_enum(CreativeMimeType),
    "--format": one_of_enum(AdFormat, ["parquet", "csv", "jsonl"]),
    "--engine": st.one_of(st.sampled_from(["local", "LOCAL", "spark", "dusk"]), _text()),
    "--scheduler": SCHEDULERS,
}
"""A strategy for the value of every option that takes one (flags are drawn on or off)."""
FIXED = {"--db", "--out", "--json", "--quiet", "--debug", "--version", "--help"}
"""Options the harness sets itself (database, output folder) or that print, not run."""
COMMANDS = ("create-advertiser", "create-campaign", "create-line-item", "create-creative",
            "create-example", "create-profile", "simulate", "generate", "plan", "run-all",
            "list", "status")
"""The commands fuzzed over their options; validate, load and init-db take paths only."""


def _click_commands() -> dict[str, Any]:
    return dict(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def _options(name: str) -> list[Any]:
    return [p for p in _click_commands()[name].params if p.param_type_name == "option"
            and not set(p.opts) & FIXED]


def test_every_option_has_a_strategy() -> None:
    """A new option is fuzzed too: it needs a strategy above (or a flag)."""
    for name in COMMANDS:
        for param in _options(name):
            assert param.is_flag or param.opts[0] in OPTIONS, (name, param.opts)


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    """A command with a random subset of its options, each with a random value."""
    name = draw(st.sampled_from(COMMANDS))
    args = [*draw(st.sampled_from([[], [], ["--json"], ["--quiet"]])), name]
    if name == "list":
        args.append(draw(st.one_of(st.sampled_from(["examples", "profiles", "platforms"]),
                                   _text())))
    for param in _options(name):
        if draw(st.integers(0, 3)) != 0:  # about one option in four
            continue
        if param.is_flag:
            args.append(draw(st.sampled_from([*param.opts, *param.secondary_opts])))
            continue
        count = draw(st.integers(1, 2)) if param.multiple else 1
        args += [f"{param.opts[0]}={draw(OPTIONS[param.opts[0]])}" for _ in range(count)]
    if name in ("create-advertiser", "create-campaign", "create-line-item", "create-creative"):
        args += draw(st.sampled_from([["--auto"], [], ["--no-simulate"]]))
    if name in ("generate", "plan") and not any(a.startswith(("--line", "--adv")) for a in args):
        args.append("--line-items=1")
    return args


# --- the harness ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A SQLite database holding one example (ids 1) and a scratch folder, for the module."""
    root = tmp_path_factory.mktemp("fuzz")
    url = sqlite_url(root / "ads.db")
    invoke_json("create-example", "--example", "luxury_auto_awareness", "--db", url)
    yield {"root": root, "db": url}


def _harness(args: list[str], world: dict[str, Any]) -> list[str]:
    """The command line with the database, and for generate a fresh output folder."""
    out = world["root"] / "out"
    shutil.rmtree(out, ignore_errors=True)
    extra = ["--db", world["db"]]
    if "generate" in args:
        extra += ["--out", str(out)]
    return [*args, *extra]


@FUZZ
@given(args=command_lines())
@example(args=["--seed=9223372036854775808", "create-advertiser", "--auto"])
@example(args=["create-campaign", f"--advertiser-id={2**63}", "--auto"])
@example(args=["create-line-item", f"--campaign-id={2**63}", "--auto"])
@example(args=["simulate", f"--line-item-id={2**63}"])
@example(args=["generate", "--line-items=1", "--engine=dask", "--scheduler=garbage"])
@example(args=["plan", "--line-items=1", "--start=9999-12-31"])
@example(args=["plan", "--line-items=1", "--start=0001-01-01"])
@example(args=["generate", "--line-items=1", "--start=9999-12-31T23:00:00"])
@example(args=["create-campaign", "--advertiser-id=1", "--start=9999-12-31", "--days=3"])
@example(args=["create-campaign", "--advertiser-id=1", "--start=0001-01-01", "--days=1"])
@example(args=["create-advertiser", "--name=" + "x" * 5000])
def test_cli_options_never_exit_1(args: list[str], world: dict[str, Any]) -> None:
    run(_harness(args, world))


# --- templates ------------------------------------------------------------------------------

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20),
    st.sampled_from([2**63, 10**400, "2026-02-30", "9999-12-31", "0001-01-01", "ctv", "US",
                     "awareness", "profile", "platform", "example", "examples"]),
    st.dates(), st.datetimes(),
)
YAML_VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=12), children, max_size=4)),
    max_leaves=20,
)


def _bundled(kind: str) -> list[tuple[str, str]]:
    return sorted((entry.name, entry.read_text()) for entry in (BUNDLED / kind).iterdir()
                  if entry.name.endswith(".yml"))


BUNDLED_FILES = {kind: _bundled(kind) for kind in ("examples", "profiles", "platforms")}


@st.composite
def _mutated(draw: st.DrawFn, data: Any) -> Any:
    """`data` with one value somewhere inside replaced, removed or added."""
    if isinstance(data, dict) and data and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(data, key=str)))
        action = draw(st.sampled_from(["replace", "remove", "descend", "add"]))
        copy = dict(data)
        if action == "replace":
            copy[key] = draw(YAML_VALUES)
        elif action == "remove":
            del copy[key]
        elif action == "add":
            copy[draw(st.text(max_size=12))] = draw(YAML_VALUES)
        else:
            copy[key] = draw(_mutated(data[key]))
        return copy
    if isinstance(data, list) and data and draw(st.booleans()):
        index = draw(st.integers(0, len(data) - 1))
        copy_list = list(data)
        copy_list[index] = draw(st.one_of(_mutated(data[index]), YAML_VALUES))
        return copy_list
    return draw(YAML_VALUES) if draw(st.integers(0, 4)) == 0 else data


@st.composite
def template_files(draw: st.DrawFn) -> tuple[str, str, str]:
    """(kind, file name, text): a mutated bundled template, text-level damage, or random YAML."""
    kind = draw(st.sampled_from(["examples", "profiles", "platforms"]))
    name, text = draw(st.sampled_from(BUNDLED_FILES[kind]))
    how = draw(st.sampled_from(["mutate", "mutate", "damage", "random"]))
    if how == "mutate":
        data = yaml.safe_load(text)
        for _ in range(draw(st.integers(1, 3))):
            data = draw(_mutated(data))
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    elif how == "damage":
        lines = text.splitlines()
        index = draw(st.integers(0, len(lines) - 1))
        lines[index] = draw(st.one_of(st.text(max_size=40), st.just(lines[index][::-1]),
                                      st.just(lines[index] * 3)))
        text = "\n".join(lines) + "\n"
    else:
        text = yaml.safe_dump(draw(YAML_VALUES), allow_unicode=True)
    return kind, name, text


def _use(kind: str, name: str) -> list[list[str]]:
    """The commands that read a template of this kind from the folder `{dir}`."""
    stem = name.removesuffix(".yml")
    if kind == "profiles":
        return [["create-profile", f"--name={stem}", "--templates-dir={dir}", "--no-simulate"]]
    if kind == "platforms":
        return [["create-example", "--example=nexbank_conversion", "--templates-dir={dir}",
                 f"--platform={stem}"]]
    return [["create-example", "--template={dir}/examples/" + name,
             "--example=luxury_auto_awareness", "--no-simulate"]]


@FUZZ
@given(template=template_files())
@example(template=("profiles", "p.yml", "type: profile\n[1, 2]: x\n"))
@example(template=("profiles", "p.yml", "type: profile\nstart: 2026-02-30\n"))
@example(template=("profiles", "p.yml", "type: profile\nbudget: " + "[" * 20_000 + "]" * 20_000))
@example(template=("profiles", "p.yml", "type: [profile]\n"))
@example(template=("profiles", "p.yml", "type: profile\ndescription: a\x0bb\n"))
def test_templates_never_exit_1(template: tuple[str, str, str], world: dict[str, Any]) -> None:
    kind, name, text = template
    folder = world["root"] / "templates"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / kind).mkdir(parents=True)
    path = folder / kind / name
    path.write_text(text, encoding="utf-8")
    run(["validate", str(path)])
    for args in _use(kind, name):
        run([*(a.format(dir=folder) for a in args), "--db", world["db"]])


def test_the_harness_sees_an_exit_1() -> None:
    """The contract check itself fails on exit 1 (else the fuzz could pass on anything)."""
    for code, stderr in ((1, "internal error: x\n"), (2, "error: a\nerror: b\n"), (2, ""),
                         (2, "note\nerror: a\n"), (2, "error: " + "x" * LONGEST_LINE)):
        broken = SimpleNamespace(exit_code=code, stderr=stderr, stdout="", exception=None)
        with pytest.raises(AssertionError):
            assert_contract(broken, ["x"])  # type: ignore[arg-type]
