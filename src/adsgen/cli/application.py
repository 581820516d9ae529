"""The `adsgen` Typer application: global options, one error handler, progress, `command`.

Commands only parse, call the library and render (DESIGN.md: the CLI holds no business logic).
Heavy modules (NumPy, SQLAlchemy, PyArrow, Faker, Pydantic) are imported inside command
functions, so `adsgen --help` starts fast.

Exit codes: 0 success; 2 a user error (AdsgenError, or a usage error), printed as one
line `error: <message>` on stderr; 1 an internal error, with its traceback only under --debug;
130 an interrupt (Ctrl-C, SIGINT), printed as `interrupted; nothing was written` (every
command is one transaction, and file runs write into a hidden folder removed on failure).
stdout carries the result only (a JSON document under --json, else Rich tables); notes and
progress go to stderr and --quiet silences them. Under --json a failure also writes one JSON
object on stdout, `{"error": "<message>", "code": <exit code>}`, so a pipe into `jq` always
gets JSON.

Adding a command (see `adsgen.cli.commands`):

    @command("create-thing")
    def create_thing_command(ctx: typer.Context, name: Annotated[str, typer.Option()]) -> None:
        \"\"\"One line for --help.\"\"\"
        state = State.of(ctx)           # --db, --seed, --json, --quiet, --debug
        from adsgen.runs import grow    # heavy imports inside the function
        with state.bars() as progress:  # Rich bars on stderr for steps over a second
            result = grow.create_thing(db=state.db, seed=state.seed_or_default(),
                                           name=name, progress=progress)
        state.emit(result, title="Thing created")  # JSON or Rich, decided here

`command` also gives every command `--db`, `--seed`, `--json` and `--quiet` after its name
(`adsgen status --json`), merged into the State the global options set. Raise AdsgenError
(or a subclass) for anything the user can fix; never call sys.exit.
"""

from __future__ import annotations

import functools
import inspect
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup

from adsgen import __version__
from adsgen.cli.output import console, render
from adsgen.exceptions import AdsgenError, Interrupted

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

__all__ = ["MAX_INT64", "SHOW_PROGRESS_AFTER", "State", "app", "command", "int64_from", "main"]

USER_ERROR = 2
INTERNAL_ERROR = 1
MAX_INT64 = 2**63 - 1
"""The largest seed or id: a signed 64-bit integer, what a BIGINT column holds on every database."""
INTERRUPTED = 130
"""The shell's code for a process ended by SIGINT (128 + 2)."""
INTERRUPTED_MESSAGE = "interrupted; nothing was written"
SHOW_PROGRESS_AFTER = 1.0
"""Seconds a command runs before its progress bars appear (run-all shows them at once)."""
_F = TypeVar("_F", bound=Callable[..., Any])


def int64_from(low: int) -> Callable[[Any], Any]:
    """A Typer option callback refusing an integer (or each of a list) outside low..MAX_INT64,
    with the allowed range in the message: seeds and ids are 64-bit integers in the database."""

    def check(value: Any) -> Any:
        for number in value if isinstance(value, list | tuple) else [value]:
            if number is not None and not low <= number <= MAX_INT64:
                raise typer.BadParameter(f"must be a whole number from {low} to {MAX_INT64} "
                                         f"(a 64-bit integer), got {number}")
        return value

    return check


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

    def merge(self, *, db: str | None, seed: int | None, json: bool, quiet: bool) -> None:
        """Fold in the options given after the command name; they win over the global ones."""
        self.db = db if db is not None else self.db
        self.seed = seed if seed is not None else self.seed
        self.json = self.json or json
        self.quiet = self.quiet or quiet

    def seed_or_default(self) -> int:
        """--seed, else ADSGEN_SEED, else the settings' default (42)."""
        if self.seed is not None:
            return self.seed
        from adsgen.settings import get_settings

        return get_settings().seed

    def emit(self, result: Any, *, title: str = "") -> None:
        """Write a command's result on stdout: JSON under --json, else Rich tables.

        A mapping renders as a key/value table, with each nested mapping or list of mappings
        as a table of its own; a list of mappings as one table with a column per key.
        --quiet silences the tables, never the JSON.
        """
        if self.json:
            import json

            from adsgen.cli.output import to_jsonable

            typer.echo(json.dumps(to_jsonable(result), indent=2, ensure_ascii=False))
        elif not self.quiet:
            render(console(), result, title=title)

    def note(self, message: str) -> None:
        """A line for the human on stderr (progress, what was done), unless --quiet."""
        if not self.quiet:
            console(stderr=True).print(message, highlight=False)

    def progress(self) -> Progress:
        """A Rich progress bar on stderr, hidden under --quiet; use it as a context manager."""
        from rich.progress import Progress

        return Progress(console=console(stderr=True), disable=self.quiet, transient=False)

    @contextmanager
    def bars(self, *, at_once: bool = False) -> Iterator[_Bars]:
        """A pipeline Progress callback drawing one bar per stage on stderr.

        The bars appear at once with `at_once`, else only once the command has run for
        SHOW_PROGRESS_AFTER seconds, so quick commands print no bar at all.
        """
        bars = _Bars(self.progress(), delay=0.0 if at_once else SHOW_PROGRESS_AFTER)
        try:
            yield bars
        finally:
            bars.close()


class _Bars:
    """Adapts pipeline's Progress callback (stage, done, total) to Rich tasks."""

    def __init__(self, progress: Progress, *, delay: float) -> None:
        self._progress = progress
        self._tasks: dict[str, TaskID] = {}
        self._began = time.monotonic()
        self._delay = delay
        self._started = False

    def __call__(self, stage: str, done: int, total: int) -> None:
        task = self._tasks.get(stage)
        if task is None:
            task = self._tasks[stage] = self._progress.add_task(stage, total=total)
        self._progress.update(task, completed=done, total=total)
        if not self._started and time.monotonic() - self._began >= self._delay:
            self._progress.start()
            self._started = True

    def close(self) -> None:
        """Draw the final state of the bars (if they were shown) and release the terminal."""
        if self._started:
            self._progress.stop()


# --- the application and its error handler ---------------------------------------------


def _tidy(params: list[Any]) -> list[Any]:
    """Help that reads like a man page: `--days N`, `--campaign-id ID`, `--name NAME`, no
    `<bool>` after flags and no `<int>`/`<list[Path]>` type labels.

    An option without a metavar gets one from its name (ID for ids, N for counts and
    numbers, else the name in capitals); a flag gets none. An argument shows only its
    metavar (the name column already has it). Given metavars are kept.
    """
    for param in params:
        if isinstance(param, TyperArgument):
            if param.metavar is None:
                param.metavar = str(param.name).upper()
            param.display_type_rich = lambda ctx: None  # type: ignore[method-assign]
        elif param.metavar is None:
            param.metavar = "" if getattr(param, "is_flag", False) else _metavar(param)
    return params


def _metavar(param: Any) -> str:
    name = str(param.name).removeprefix("_shared_")
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    if name.endswith("_id"):
        return "ID"
    if annotation in (int, float):
        return "N"
    return name.upper()


class _AdsgenCommand(TyperCommand):
    """A command whose help has clean metavars and a plain usage line (`FILE...`)."""

    def get_params(self, ctx: typer.Context) -> list[Any]:  # type: ignore[override]
        return _tidy(super().get_params(ctx))

    def collect_usage_pieces(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                name = str(param.metavar)
                name += "..." if param.nargs != 1 and not name.endswith("...") else ""
                pieces.append(name if param.required else f"[{name}]")
        return pieces


class _AdsgenGroup(TyperGroup):
    """The root command: turns exceptions into exit codes and one-line messages."""

    def get_params(self, ctx: typer.Context) -> list[Any]:  # type: ignore[override]
        return _tidy(super().get_params(ctx))

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        given = list(kwargs.get("args", args[1] if len(args) > 1 else []))  # parsing eats it
        try:
            return super().make_context(*args, **kwargs)
        except typer.TyperException as exc:  # a bad global option
            raise _usage_error(exc, json_output=_asks_json(given)) from exc
        except KeyboardInterrupt:
            raise _interrupted(json_output=_asks_json(given)) from None

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        # The words after the global options: --json may be among them, and the command's
        # own parsing (which would merge it into State) may be what fails.
        rest = [*getattr(ctx, "_protected_args", ()), *ctx.args]
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort):  # --help, --version, explicit exits
            raise
        except typer.TyperException as exc:  # usage errors: unknown option, missing value …
            raise _usage_error(exc, json_output=_json_output(ctx, rest)) from exc
        except KeyboardInterrupt as exc:  # Interrupted says what was kept, if anything
            kept = str(exc) if isinstance(exc, Interrupted) else INTERRUPTED_MESSAGE
            raise _interrupted(json_output=_json_output(ctx, rest), message=kept) from None
        except AdsgenError as exc:
            _report(ctx, exc, f"error: {exc}", code=USER_ERROR, json_output=_json_output(ctx, rest))
            raise typer.Exit(USER_ERROR) from exc
        except Exception as exc:
            _report(ctx, exc, f"internal error: {type(exc).__name__}: {exc}"
                    " (a bug in adsgen; rerun with --debug for the traceback)",
                    code=INTERNAL_ERROR, json_output=_json_output(ctx, rest))
            raise typer.Exit(INTERNAL_ERROR) from exc


def _asks_json(args: Any) -> bool:
    """Whether the words of a command line hold --json (before a `--`)."""
    words = [str(word) for word in args or ()]
    return "--json" in words[: words.index("--")] if "--" in words else "--json" in words


def _json_output(ctx: typer.Context, rest: list[str]) -> bool:
    """--json given before the command name (State) or after it (in its words)."""
    state = ctx.find_object(State)
    return (state is not None and state.json) or _asks_json(rest)


def _fail(message: str, *, code: int, json_output: bool) -> None:
    """The message as one line on stderr; under --json also `{"error", "code"}` on stdout."""
    line = " ".join(message.splitlines())
    typer.echo(line, err=True)
    if json_output:
        import json

        typer.echo(json.dumps({"error": line.removeprefix("error: "), "code": code},
                              ensure_ascii=False))


def _usage_error(exc: typer.TyperException, *, json_output: bool) -> typer.Exit:
    """Click's usage error (exit 2) as one line: the problem, then where to find the options."""
    format_message = getattr(exc, "format_message", None)
    if format_message is None or type(exc).__name__ == "NoArgsIsHelpError":
        raise exc  # Typer shows it as usual (the help, for `adsgen` alone)
    message = " ".join(str(format_message()).split())
    failed = getattr(exc, "ctx", None)
    hint = f" (see `{failed.command_path} --help`)" if failed is not None else ""
    code = int(getattr(exc, "exit_code", USER_ERROR))
    _fail(f"error: {message}{hint}", code=code, json_output=json_output)
    return typer.Exit(code)


def _interrupted(*, json_output: bool, message: str = INTERRUPTED_MESSAGE) -> typer.Exit:
    """Ctrl-C: one line, exit 130. What was under way has been rolled back by then."""
    _fail(message, code=INTERRUPTED, json_output=json_output)
    return typer.Exit(INTERRUPTED)


def _report(ctx: typer.Context, exc: BaseException, message: str, *, code: int,
            json_output: bool) -> None:
    """The traceback under --debug, then the message as one line on stderr (and the JSON
    error object on stdout under --json), all scrubbed of the database URL's credentials
    (driver messages and tracebacks can quote the DSN)."""
    state = ctx.find_object(State)
    if state is not None and state.debug:
        sys.stderr.write(_scrubbed(state, "".join(traceback.format_exception(exc))))
    _fail(_scrubbed(state, " ".join(message.splitlines())), code=code, json_output=json_output)


def _scrubbed(state: State | None, text: str) -> str:
    """`text` without the secrets of the database URL this invocation uses."""
    import os

    from adsgen.storage.database import scrub

    for url in {state.db if state else None, os.environ.get("ADSGEN_DATABASE_URL")}:
        if url:
            text = scrub(text, url)
    return text


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


_DB_HELP = ("SQLAlchemy database URL, e.g. sqlite:///ads.db (the default) or "
            "postgresql+psycopg://user@host:5432/db.")
_SEED_HELP = "Seed of every random draw (default 42): same seed, same data."
_JSON_HELP = "Print the result as JSON on stdout, nothing else."
_QUIET_HELP = "No progress, notes or tables; errors only."


@app.callback()
def global_options(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option("--db", metavar="URL", envvar="ADSGEN_DATABASE_URL", show_envvar=True,
                     help=_DB_HELP),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option("--seed", envvar="ADSGEN_SEED", show_envvar=True,
                     callback=int64_from(0), help=_SEED_HELP),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help=_JSON_HELP)] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=_QUIET_HELP)] = False,
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


# --- commands: the shared options after the command name --------------------------------

_PANEL = "Global options (also before the command)"
_SHARED: dict[str, inspect.Parameter] = {
    name: inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                            annotation=annotation)
    for name, default, annotation in (
        ("db", None, Annotated[str | None, typer.Option(
            "--db", metavar="URL", help=_DB_HELP, rich_help_panel=_PANEL)]),
        ("seed", None, Annotated[int | None, typer.Option(
            "--seed", callback=int64_from(0), help=_SEED_HELP, rich_help_panel=_PANEL)]),
        ("json", False, Annotated[bool, typer.Option(
            "--json", help=_JSON_HELP, rich_help_panel=_PANEL)]),
        ("quiet", False, Annotated[bool, typer.Option(
            "--quiet", "-q", help=_QUIET_HELP, rich_help_panel=_PANEL)]),
    )
}
_SHARED_NAME = "_shared_{}".format


def command(name: str, **kwargs: Any) -> Callable[[_F], _F]:
    """Register a command that also takes --db, --seed, --json and --quiet after its name.

    The decorated function declares only its own options (and `ctx: typer.Context`); the
    shared ones are added to the signature Typer reads and merged into `State.of(ctx)`
    before the function runs.
    """

    def decorate(func: _F) -> _F:
        signature = inspect.signature(func, eval_str=True)
        shared = [p.replace(name=_SHARED_NAME(p.name)) for p in _SHARED.values()]
        parameters = [*signature.parameters.values(), *shared]

        @functools.wraps(func)
        def run(**values: Any) -> Any:
            given = {key: values.pop(_SHARED_NAME(key)) for key in _SHARED}
            State.of(values["ctx"]).merge(**given)
            return func(**values)

        del run.__wrapped__  # Typer must read the signature below, not func's
        run.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in parameters}
        run.__annotations__["return"] = signature.return_annotation
        app.command(name, cls=_AdsgenCommand, **kwargs)(run)
        return func

    return decorate
