"""Scale commands: generate (plan + simulate straight to files), plan (estimate), load.

Each parses its options, calls one `adsgen.runs.files` function and renders what it returns:
a progress bar in rows (rows/s, ETA) while generating, then a summary table — or one JSON
document under --json.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from adsgen.cli.application import State, command
from adsgen.cli.commands import PlatformOption, TemplatesDir, date_option, platform_name
from adsgen.cli.output import console, human_bytes
from adsgen.runs.sizing import BLOCK_SIZE_DEFAULT

if TYPE_CHECKING:
    from collections.abc import Callable

    from adsgen.runs.files import LoadResult, ScaleEstimate, ScaleResult

__all__ = ["duration"]

_PANEL = "Run"
Advertisers = Annotated[
    int | None,
    typer.Option("--advertisers", metavar="N", help="Draw N advertisers from the profiles."),
]
LineItems = Annotated[
    int | None,
    typer.Option("--line-items", metavar="N",
                 help="Draw advertisers until they hold exactly N line items "
                      "(instead of --advertisers)."),
]
Days = Annotated[
    int, typer.Option("--days", metavar="D", help="Every flight lasts D days (1 to 366).")
]
Start = Annotated[
    datetime | None,
    date_option("--start", "First hour of every flight (a date means 00:00; default "
                           "2026-09-01)."),
]
Out = Annotated[
    Path | None,
    typer.Option("--out", metavar="DIR",
                 help="Folder to write (default: ADSGEN_OUTPUT_DIR, else ./out); it must be "
                      "new or empty unless --overwrite."),
]
Format = Annotated[
    str, typer.Option("--format", metavar="parquet|csv|jsonl", help="File format.")
]
Engine = Annotated[
    str,
    typer.Option("--engine", metavar="local|processes|dask", rich_help_panel=_PANEL,
                 help="Where blocks run: this process, a process pool on every core, or a "
                      "Dask cluster. Every engine writes the same files."),
]
Workers = Annotated[
    int | None,
    typer.Option("--workers", metavar="N", rich_help_panel=_PANEL,
                 help="Processes for processes/dask (default: every core)."),
]
Scheduler = Annotated[
    str | None,
    typer.Option("--scheduler", metavar="ADDRESS", rich_help_panel=_PANEL,
                 help="Dask scheduler, e.g. tcp://host:8786 (default: a local cluster)."),
]
BlockSize = Annotated[
    int | None,
    typer.Option("--block-size", metavar="N", rich_help_panel=_PANEL,
                 help=f"Line items per block, the unit of work of a worker (default: "
                      f"{BLOCK_SIZE_DEFAULT})."),
]


# --- progress ---------------------------------------------------------------------------------


class _RunProgress:
    """Stage bars while planning (after a second), then bars in rows (generating, loading)
    with rows/s and ETA.

    One Rich display at a time: switching kind closes the previous one.
    """

    def __init__(self, state: State) -> None:
        self._state = state
        self._stack = ExitStack()
        self._kind = ""
        self._stages: Callable[[str, int, int], None] | None = None
        self._advance: Callable[[int], None] | None = None
        self._seen = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        from adsgen.runs.engines import rows_progress
        from adsgen.runs.files import LOADING_STAGE, ROWS_STAGE

        if self._state.quiet:
            return
        rows_bars = {ROWS_STAGE: "generating rows", LOADING_STAGE: "loading rows"}
        if stage in rows_bars:
            if self._kind != stage:
                self._switch(stage)
                self._advance = self._stack.enter_context(rows_progress(
                    total, description=rows_bars[stage], console=console(stderr=True)))
                self._seen = 0
            if self._advance is not None and done > self._seen:
                self._advance(done - self._seen)
                self._seen = done
            return
        if self._kind != "stages":
            self._switch("stages")
            self._stages = self._stack.enter_context(self._state.bars())
        if self._stages is not None:
            self._stages(stage, done, total)

    def _switch(self, kind: str) -> None:
        self.close()
        self._stack = ExitStack()
        self._kind = kind

    def close(self, error: BaseException | None = None) -> None:
        """Draw the final state of the current bar (erase it after an `error`) and release
        the terminal."""
        if error is None:
            self._stack.close()
        else:
            self._stack.__exit__(type(error), error, error.__traceback__)


@contextmanager
def _progress(state: State) -> Iterator[_RunProgress]:
    progress = _RunProgress(state)
    try:
        yield progress
    except BaseException as exc:
        progress.close(exc)  # a failed bar is erased: the error stays one line
        raise
    progress.close()


# --- rendering --------------------------------------------------------------------------------


def duration(seconds: float) -> str:
    """'0.4 s', '12 s', '3 min 05 s', '1 h 02 min' for humans."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def _checks(passed: int, failed: int) -> str:
    return f"{passed} passed" + (f", {failed} FAILED" if failed else "")


def _show_result(state: State, result: ScaleResult) -> None:
    manifest = result.manifest
    if manifest.checks_failed:
        failed = sorted(name for name, check in manifest.checks.items() if not check.passed)
        state.note(f"[yellow]warning:[/] invariant checks failed: {', '.join(failed)} "
                   f"(see {result.manifest_path})")
    if state.json:  # the README's `generate --json`: these keys, the manifest as in the file
        state.emit({
            "out": result.out, "manifest_path": result.manifest_path,
            "seconds": result.seconds, "planning_seconds": result.planning_seconds,
            "loaded": None if result.loaded is None else _load_json(result.loaded),
            "manifest": result.manifest.model_dump(mode="json"),
        })
        return
    loaded = result.loaded.tables if result.loaded is not None else None
    tables = [
        {"table": name, "rows": stats.rows, "size": human_bytes(stats.bytes),
         "files": stats.files, **({"loaded": loaded.get(name, 0)} if loaded else {})}
        for name, stats in manifest.tables.items()
    ]
    view: dict[str, Any] = {
        "out": str(result.out),
        "format": manifest.format,
        "seed": manifest.seed,
        "line items": manifest.line_items,
        "engine": f"{manifest.engine} ({manifest.workers} worker"
                  f"{'s' if manifest.workers > 1 else ''})",
        "blocks": f"{manifest.blocks} of {manifest.block_size} line items",
        "time": f"{duration(result.seconds)} (planning {duration(result.planning_seconds)}, "
                f"files {duration(manifest.elapsed_seconds)})",
        "rows/s": f"{manifest.rows_per_second:,.0f}",
        "invariant checks": _checks(manifest.checks_passed, manifest.checks_failed),
        "manifest": str(result.manifest_path),
    }
    if result.loaded is not None:
        view["loaded into"] = (f"{result.loaded.database} in "
                               f"{duration(result.loaded.seconds)}")
    view["tables"] = tables
    state.emit(view, title="Generated")


def _show_estimate(state: State, guess: ScaleEstimate, *, title: str) -> None:
    if state.json:
        state.emit(guess)
        return
    view: dict[str, Any] = {
        "seed": guess.seed,
        "line items": guess.line_items,
        "engine": f"{guess.engine} ({guess.workers} worker{'s' if guess.workers > 1 else ''})",
        "blocks": f"{guess.blocks} of {guess.block_size} line items",
        **{f"{name.replace('_', ' ')} rows" + ("" if name == "performance" else " (estimated)"):
           rows for name, rows in guess.rows.items()},
        "disk (estimated)": human_bytes(guess.bytes),
        "speed (estimated)": f"{guess.rows_per_second:,.0f} rows/s",
        "time (estimated)": f"{duration(guess.seconds)} (planning "
                            f"{duration(guess.planning_seconds)})",
        "measured on": f"{guess.sample_line_items} line items",
        "entities": guess.entities,
    }
    state.emit(view, title=title)


def _load_json(loaded: LoadResult) -> dict[str, Any]:
    return {**loaded.__dict__, "rows": loaded.rows}


def _show_load(state: State, loaded: LoadResult) -> None:
    if state.json:
        state.emit(_load_json(loaded))
        return
    speed = loaded.rows / loaded.seconds if loaded.seconds else 0.0
    state.emit({
        "directory": str(loaded.directory),
        "database": loaded.database,
        "time": duration(loaded.seconds),
        "rows/s": f"{speed:,.0f}",
        "matches manifest": loaded.matches_manifest,
        "rows per table": loaded.tables,
    }, title="Loaded")


def _given_db(ctx: typer.Context) -> str | None:
    """--db when typed on the command line (before or after the command), never the
    ADSGEN_DATABASE_URL default: generate loads into a database only when asked to."""
    state = State.of(ctx)
    sources = [ctx.get_parameter_source("_shared_db")]
    if ctx.parent is not None:
        sources.append(ctx.parent.get_parameter_source("db"))
    typed = any(source is not None and source.name == "COMMANDLINE" for source in sources)
    return state.db if typed else None


def _out(out: Path | None) -> Path:
    if out is not None:
        return out
    from adsgen.settings import get_settings

    return get_settings().output_dir


# --- commands ---------------------------------------------------------------------------------


@command("generate", rich_help_panel="Scale")
def generate_command(
    ctx: typer.Context,
    advertisers: Advertisers = None,
    line_items: LineItems = None,
    days: Days = 30,
    start: Start = None,
    out: Out = None,
    fmt: Format = "parquet",
    platform: PlatformOption = None,
    templates_dir: TemplatesDir = None,
    engine: Engine = "local",
    workers: Workers = None,
    scheduler: Scheduler = None,
    block_size: BlockSize = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace a previous run in --out.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the estimate (as `adsgen plan`); write "
                                             "nothing.")
    ] = False,
) -> None:
    """Plan advertisers and simulate their hourly delivery straight to files.

    Entity tables (advertisers.parquet …), performance partitioned by UTC date
    (performance/date=YYYY-MM-DD/part-*.parquet), ground truth and manifest.json. The
    files appear in --out only once complete. With --db URL, they are then loaded into
    that database (as `adsgen load`). Same seed and options, same files, on every engine.
    """
    state = State.of(ctx)
    from adsgen.build.at_scale import DEFAULT_SCALE_START
    from adsgen.runs import files as scale

    options: dict[str, Any] = {
        "seed": state.seed_or_default(), "advertisers": advertisers, "line_items": line_items,
        "days": days, "start": start or DEFAULT_SCALE_START, "fmt": fmt,
        "platform": platform_name(platform), "engine": engine, "workers": workers,
        "scheduler": scheduler, "block_size": block_size, "templates_dir": templates_dir,
        "out": _out(out), "overwrite": overwrite,
    }
    with _progress(state) as progress:
        if dry_run:
            guess = scale.estimate_files(**options, progress=progress)
        else:
            result = scale.generate_files(**options, db=_given_db(ctx), progress=progress)
    if dry_run:
        _show_estimate(state, guess, title="Dry run (nothing written)")
    else:
        _show_result(state, result)


@command("plan", rich_help_panel="Scale")
def plan_command(
    ctx: typer.Context,
    advertisers: Advertisers = None,
    line_items: LineItems = None,
    days: Days = 30,
    start: Start = None,
    fmt: Format = "parquet",
    platform: PlatformOption = None,
    templates_dir: TemplatesDir = None,
    engine: Engine = "local",
    workers: Workers = None,
    scheduler: Scheduler = None,
    block_size: BlockSize = None,
) -> None:
    """Estimate a `generate` run — rows, disk and time — without writing anything.

    Row counts are exact; disk and time are measured on a small sample of the line items.
    """
    state = State.of(ctx)
    from adsgen.build.at_scale import DEFAULT_SCALE_START
    from adsgen.runs import files as scale

    with _progress(state) as progress:
        guess = scale.estimate_files(
            seed=state.seed_or_default(), advertisers=advertisers, line_items=line_items,
            days=days, start=start or DEFAULT_SCALE_START, fmt=fmt,
            platform=platform_name(platform), engine=engine, workers=workers,
            scheduler=scheduler, block_size=block_size, templates_dir=templates_dir,
            progress=progress,
        )
    _show_estimate(state, guess, title="Plan")


@command("load", rich_help_panel="Scale")
def load_command(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(metavar="DIR",
                                              help="A folder written by `adsgen generate`.")],
) -> None:
    """Load a generated folder into the database (--db), in one transaction.

    PostgreSQL gets COPY, MariaDB/MySQL and SQLite batched inserts; on any error nothing
    is loaded.
    """
    state = State.of(ctx)
    from adsgen.runs import files as scale

    with _progress(state) as progress:
        loaded = scale.load_files(directory, db=state.db, progress=progress)
    _show_load(state, loaded)
