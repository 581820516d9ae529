"""Helpers shared by the CLI and pipeline tests: invoking commands, reading databases back.

`dump` reads every adsgen table in primary-key order (the way two databases are compared);
`user_error` checks the contract of a user error: exit 2, one line `error: ...` on stderr,
nothing on stdout but, under --json, the object `{"error": ..., "code": 2}`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select
from typer.testing import CliRunner, Result

from adsgen.cli import app
from adsgen.storage.orm import Base

BIN = Path(sys.executable).parent
ADSGEN = str(BIN / "adsgen")
REPO = Path(__file__).resolve().parent.parent
TIMESTAMPS = frozenset({"created_at", "updated_at"})
ENTITY_TABLES = ("advertisers", "campaigns", "line_items", "creatives")

runner = CliRunner()


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    """Run the CLI in process (Typer's runner), stdout and stderr kept apart."""
    return runner.invoke(app, list(args), env=env)


def invoke_json(*args: str) -> Any:
    """Run a command with --json; assert success and return the parsed document."""
    result = invoke("--json", *args)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


# A user's shell, not the `make test` that runs the suite: a make started with MAKELEVEL set
# prints "Entering directory" lines on stdout before it reads the Makefile.
_OUTER_MAKE = frozenset({"MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES"})


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell for a subprocess: no ADSGEN_* setting of the
    caller, and none of the variables an outer `make test` exports."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("ADSGEN_") and k not in _OUTER_MAKE}
    return {**env, "COLUMNS": "120", **extra}


def console_script(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the installed `adsgen` console script, as a user does."""
    return subprocess.run([ADSGEN, *args], capture_output=True, text=True, cwd=cwd,
                          env=subprocess_env(**env), timeout=300)


def user_error(result: Result) -> str:
    """The one-line message of a user error (exit 2, stdout empty, or under --json only the
    error object with that message); fails otherwise."""
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    if result.stdout:
        assert json.loads(result.stdout) == {"error": lines[0].removeprefix("error: "),
                                             "code": 2}, result.stdout
    return lines[0]


def dump(url: str, *, timestamps: bool = False) -> dict[str, list[tuple[Any, ...]]]:
    """Every adsgen table's rows in primary-key order, without created_at/updated_at unless
    `timestamps`: equal dumps mean equal database content."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            tables = {}
            for table in Base.metadata.sorted_tables:
                columns = [c for c in table.c if timestamps or c.name not in TIMESTAMPS]
                query = select(*columns).order_by(*table.primary_key.columns)
                tables[table.name] = [tuple(row) for row in conn.execute(query)]
            return tables
    finally:
        engine.dispose()


def counts(url: str) -> dict[str, int]:
    """Rows per adsgen table."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                for t in Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def tiny_example(*, platforms: str = "", targeting: str = "{device: [ctv]}",
                 duration: int = 30) -> str:
    """A one-line-item example YAML (My Brand, 3 days, one 30 s spot) on `platforms`
    (a `platforms: [...]` line or nothing) with `targeting`: the bad-input tests' base."""
    return f"""type: examples
examples:
  my_brand:
    {platforms}
    advertiser: {{name: My Brand, industry: retail, domain: mybrand.example}}
    campaign:
      name: Tiny Test
      objective: awareness
      budget: {{amount: 5000}}
      flight: {{start: 2026-09-01, end: 2026-09-03}}
      line_items:
        - name: CTV
          cpm: 20
          budget: {{amount: 1000}}
          flight: {{start: 2026-09-01, end: 2026-09-03}}
          targeting: {targeting}
          creatives:
            - name: Spot
              duration_s: {duration}
              asset_url: https://cdn.mybrand.example/spot.mp4
"""
