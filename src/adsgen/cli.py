"""The `adsgen` command line (Typer): global options, one error handler, output, commands.

Commands only parse, call the library and render (DESIGN.md: the CLI holds no business logic).
Heavy modules (NumPy, SQLAlchemy, PyArrow, Faker) are imported inside command functions, so
`adsgen --help` starts fast.

Exit codes: 0 success; 2 a user error (AdsgenError, or a usage error), printed as one
line `error: <message>` on stderr; 1 an internal error, with its traceback only under --debug.
stdout carries the result only (a JSON document under --json, else Rich tables); notes and
progress go to stderr and --quiet silences them.

Adding a command (see `init_db_command`):

    @app.command("create-thing")
    def create_thing_command(ctx: typer.Context, name: Annotated[str, typer.Option()]) -> None:
        \"\"\"One line for --help.\"\"\"
        state = State.of(ctx)           # --db, --seed, --json, --quiet, --debug
        from adsgen import pipeline     # heavy imports inside the function
        result = pipeline.create_thing(db=state.db, seed=state.seed, name=name)
        state.emit(result, title="Thing created")  # JSON or Rich, decided here

Raise AdsgenError (or a subclass) for anything the user can fix; never call sys.exit.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from adsgen import __version__
from adsgen.exceptions import AdsgenError

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

__all__ = ["State", "app", "main", "to_jsonable"]

USER_ERROR = 2
INTERNAL_ERROR = 1


# --- state and output -------------------------------------------------------------------


@dataclass
class State:
    """The global options of one invocation, and how its output is rendered."""

    db: str | None = None
    seed: int | None = None
    json: bool = False
    quiet: bool = False
    debug: bool = False

    @classmethod
    def of(cls, ctx: typer.Context) -> State:
        """The State set by the app callback (a default one when a command runs alone)."""
        return ctx.ensure_object(cls)

    def emit(self, result: Any, *, title: str = "") -> None:
        """Write a command's result on stdout: JSON under --json, else Rich tables.

        A mapping renders as a key/value table, with each nested mapping or list of mappings
        as a table of its own; a list of mappings as one table with a column per key.
        --quiet silences the tables, never the JSON.
        """
        if self.json:
            typer.echo(json.dumps(to_jsonable(result), indent=2, ensure_ascii=False))
        elif not self.quiet:
            _render(_console(), result, title=title)

    def note(self, message: str) -> None:
        """A line for the human on stderr (progress, what was done), unless --quiet."""
        if not self.quiet:
            _console(stderr=True).print(message, highlight=False)

    def progress(self) -> Progress:
        """A Rich progress bar on stderr, hidden under --quiet; use it as a context manager."""
        from rich.progress import Progress

        return Progress(console=_console(stderr=True), disable=self.quiet, transient=False)


def to_jsonable(value: Any) -> Any:
    """`value` as plain JSON types: Decimal → number, datetime → ISO text, enum → its value,
    Pydantic models and dataclasses → objects, sets → sorted lists."""
    if isinstance(value, Enum):
        return to_jsonable(value.value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, Mapping):
        return {str(to_jsonable(k)): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return sorted((to_jsonable(v) for v in value), key=str)
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value))
    if hasattr(value, "model_dump"):  # a Pydantic model, without importing pydantic
        return to_jsonable(value.model_dump(mode="json"))
    return str(value)


def _console(*, stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, soft_wrap=False)


def _rows(value: Any) -> list[Mapping[str, Any]] | None:
    """`value` as a list of row mappings, or None when it is not one."""
    if isinstance(value, Sequence) and not isinstance(value, str) and value:
        rows = [to_jsonable(v) for v in value]
        if all(isinstance(r, Mapping) for r in rows):
            return rows
    return None


def _cell(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 100 else f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(_cell(v) for v in value)
    return str(value)


def _render(console: Console, result: Any, *, title: str) -> None:
    from rich.table import Table

    data = to_jsonable(result)
    rows = _rows(data)
    if rows is not None:
        table = Table(title=title or None, title_justify="left")
        columns = list(dict.fromkeys(key for row in rows for key in row))
        for column in columns:
            numeric = all(isinstance(r.get(column), int | float) for r in rows)
            table.add_column(column, justify="right" if numeric else "left")
        for row in rows:
            table.add_row(*(_cell(row.get(column, "")) for column in columns))
        console.print(table)
        return
    if not isinstance(data, Mapping):
        console.print(_cell(data), highlight=False)
        return
    summary = Table(title=title or None, title_justify="left", show_header=False)
    summary.add_column(style="bold")
    summary.add_column()
    nested: list[tuple[str, Any]] = []
    for key, value in data.items():
        if isinstance(value, Mapping) or _rows(value) is not None:
            nested.append((key, value))
        else:
            summary.add_row(key, _cell(value))
    if summary.row_count:
        console.print(summary)
    for key, value in nested:
        if isinstance(value, Mapping):
            table = Table(title=key, title_justify="left", show_header=False)
            table.add_column(style="bold")
            table.add_column(justify="right")
            for k, v in value.items():
                table.add_row(k, _cell(v))
            console.print(table)
        else:
            _render(console, value, title=key)


# --- the application and its error handler ---------------------------------------------


class _AdsgenGroup(TyperGroup):
    """The root command: turns exceptions into exit codes and one-line messages."""

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except (typer.TyperException, typer.Exit, typer.Abort):  # usage errors, --help, exits
            raise
        except AdsgenError as exc:
            _report(ctx, exc, f"error: {exc}")
            raise typer.Exit(USER_ERROR) from exc
        except Exception as exc:
            _report(ctx, exc, f"internal error: {type(exc).__name__}: {exc}"
                    " (a bug in adsgen; rerun with --debug for the traceback)")
            raise typer.Exit(INTERNAL_ERROR) from exc


def _report(ctx: typer.Context, exc: BaseException, message: str) -> None:
    """The traceback under --debug, then the message as one line on stderr."""
    state = ctx.find_object(State)
    if state is not None and state.debug:
        traceback.print_exception(exc, file=sys.stderr)
    typer.echo(" ".join(message.splitlines()), err=True)


app = typer.Typer(
    cls=_AdsgenGroup,
    name="adsgen",
    help="Generate realistic synthetic data for a streaming-TV (CTV) advertising platform.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"adsgen {__version__}")
        raise typer.Exit()


@app.callback()
def global_options(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option(
            "--db", metavar="URL", envvar="ADSGEN_DATABASE_URL", show_envvar=True,
            help="SQLAlchemy database URL, e.g. sqlite:///ads.db (the default) or "
            "postgresql+psycopg://user@host:5432/db.",
        ),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option("--seed", envvar="ADSGEN_SEED", show_envvar=True,
                     help="Seed of every random draw (default 42): same seed, same data."),
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the result as JSON on stdout, nothing else.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress, notes or tables; errors only.")
    ] = False,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback of any error.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, expose_value=False,
                     help="Print the version and exit."),
    ] = False,
) -> None:
    """Generate realistic synthetic data for a streaming-TV (CTV) advertising platform."""
    ctx.obj = State(db=db, seed=seed, json=json_output, quiet=quiet, debug=debug)


def main() -> None:
    """Entry point of the `adsgen` console script and `python -m adsgen`."""
    app(prog_name="adsgen")


# --- commands ---------------------------------------------------------------------------


@app.command("init-db")
def init_db_command(ctx: typer.Context) -> None:
    """Create every adsgen table in the database (idempotent: never drops data)."""
    state = State.of(ctx)
    from adsgen import store

    engine = store.make_engine(state.db)
    try:
        store.init_db(engine)
        counts = store.table_counts(engine)
    finally:
        engine.dispose()
    state.emit(
        {"database": store.masked_url(engine.url), "dialect": engine.dialect.name,
         "tables": counts},
        title="Database ready",
    )


@app.command("version")
def version_command(ctx: typer.Context) -> None:
    """Print the versions of adsgen, Python and the main libraries."""
    state = State.of(ctx)
    import platform
    from importlib import metadata

    versions: dict[str, str] = {"adsgen": __version__, "python": platform.python_version()}
    for dist in ("sqlalchemy", "pydantic", "numpy", "pyarrow", "faker", "typer"):
        try:
            versions[dist] = metadata.version(dist)  # no import of the library itself
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    state.emit(versions, title="Versions")
