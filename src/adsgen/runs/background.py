"""Runs in the background: a database command (`run-all`, `simulate`, `generate` loaded into
the database) on a worker thread, with its progress, its speed and cancellation.

The server (`adsgen serve`) starts these; the command itself is the same function the CLI
calls (`adsgen.runs.database.generate`, `simulate_database`, `adsgen.runs.files.
generate_files`), given a progress callback that records each (stage, done, total) and,
once the run is cancelled, raises `RunCancelled`.

Why a thread and not a process: the command's transaction is a `with` block in the thread
that runs it, so a cancellation raised inside it unwinds through that block and rolls the
transaction back exactly as a failure does (the pipeline's own rule: a failed run leaves the
database as it was), and the generated files' hidden folder is removed on the way out by
`runs.target`; progress is a plain function call, with no queue or pickling; and a run is
mostly NumPy and database driver work, which releases the GIL, so the server keeps
answering (measured in tests/test_api_runs.py). A process would have to be killed to stop
mid-block, leaving the rollback to the database noticing a dead connection (a SQLite hot
journal, a PostgreSQL backend timing out) and the generated folder to a later run's clean-up.
The price: a run stops at its next progress point (after each simulated block of 200 line
items, each generated block, each loaded batch), not at once.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from adsgen.runs.jobs import Progress

__all__ = ["BackgroundRun", "RunCancelled", "Runs", "generate_into_database"]

Status = Literal["queued", "running", "done", "failed", "cancelled"]
KEEP_FINISHED = 100
"""Finished runs remembered (the oldest are forgotten first)."""


class RunCancelled(BaseException):
    """Raised by a cancelled run's progress callback. A BaseException, as KeyboardInterrupt
    is, so that no `except Exception` on the way turns it into a failure: every `with` block
    of the command (its transaction, the staged folder) sees it and undoes its work."""


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _row_stages() -> frozenset[str]:
    from adsgen.runs.files import LOADING_STAGE, ROWS_STAGE

    return frozenset((ROWS_STAGE, LOADING_STAGE))


@dataclass
class BackgroundRun:
    """One run: what was asked, where it is, how fast it goes, and how it ended."""

    command: str
    options: dict[str, Any]
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    status: Status = "queued"
    created_at: datetime = field(default_factory=_now)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    stage: str | None = None
    done: int = 0
    total: int = 0
    summary: dict[str, Any] | None = None
    error: str | None = None
    cancel_requested: threading.Event = field(default_factory=threading.Event)
    _stage_began: float = 0.0
    _began: float = 0.0
    _seconds: float = 0.0
    _rows: int = 0
    """Rows written by the stages counted in rows (generate, load), finished stages."""

    def progress(self, stage: str, done: int, total: int) -> None:
        """The pipeline's Progress callback: record, or raise RunCancelled once cancelled."""
        if self.cancel_requested.is_set():
            raise RunCancelled(f"run {self.id} cancelled")
        if stage != self.stage:
            if self.stage in _row_stages():
                self._rows += self.done
            self.stage, self._stage_began = stage, time.monotonic()
        self.done, self.total = done, total

    @property
    def unit(self) -> str:
        """What the current stage counts: rows, or the stage's own units."""
        return "rows" if self.stage in _row_stages() else "units"

    @property
    def percent(self) -> float | None:
        """How far the current stage is (each stage counts from 0 to 100)."""
        if self.status == "done":
            return 100.0
        return round(100 * self.done / self.total, 1) if self.total else None

    @property
    def per_second(self) -> float | None:
        """Units of the current stage done per second since it began."""
        if self.status != "running" or not self._stage_began:
            return None
        elapsed = time.monotonic() - self._stage_began
        return round(self.done / elapsed, 1) if elapsed > 0 else None

    @property
    def seconds(self) -> float | None:
        """How long it ran (so far)."""
        if self._seconds:
            return round(self._seconds, 3)
        return round(time.monotonic() - self._began, 3) if self._began else None

    @property
    def rows_per_second(self) -> float | None:
        """Rows written per second: while a stage counted in rows runs, its rate; once done,
        every row the run wrote over its whole time."""
        if self.status == "running" and self.unit == "rows":
            return self.per_second
        if self.status == "done" and self.summary is not None and self._seconds > 0:
            return round(written_rows(self.summary) / self._seconds, 1)
        return None


def written_rows(summary: dict[str, Any]) -> int:
    """Rows a finished run wrote, from its summary: the fact tables' `<table>_rows` (run-all,
    simulate) or the rows loaded (generate)."""
    facts = summary.get("facts", summary)
    counted = sum(v for k, v in facts.items() if k.endswith("_rows") and isinstance(v, int))
    loaded = summary.get("loaded_rows")
    return counted if loaded is None else int(loaded)


@dataclass
class Runs:
    """The runs of one server, and the thread of the one that runs."""

    runs: OrderedDict[str, BackgroundRun] = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    threads: dict[str, threading.Thread] = field(default_factory=dict)

    def start(self, run: BackgroundRun, work: Callable[[Progress], dict[str, Any]], *,
              finished: Callable[[BackgroundRun], None]) -> None:
        """Run `work(progress)` on a new thread; `finished(run)` after it ends, however."""
        with self.lock:
            self.runs[run.id] = run
            ended = [r for r in self.runs.values()
                     if r.status in ("done", "failed", "cancelled")]
            for old in ended[: max(0, len(ended) - KEEP_FINISHED)]:
                del self.runs[old.id]
        thread = threading.Thread(target=self._run, args=(run, work, finished),
                                  name=f"adsgen-run-{run.id[:8]}", daemon=True)
        self.threads[run.id] = thread
        thread.start()

    def get(self, run_id: str) -> BackgroundRun | None:
        return self.runs.get(run_id)

    def listed(self) -> list[BackgroundRun]:
        """Every remembered run, newest first."""
        with self.lock:
            return list(reversed(self.runs.values()))

    @staticmethod
    def _run(run: BackgroundRun, work: Callable[[Progress], dict[str, Any]],
             finished: Callable[[BackgroundRun], None]) -> None:
        from adsgen.exceptions import AdsgenError

        run._began = time.monotonic()
        run.started_at = _now()
        run.status = "running"
        try:
            if run.cancel_requested.is_set():
                raise RunCancelled(f"run {run.id} cancelled")
            run.summary = work(run.progress)
            run.status = "done"
        except RunCancelled:
            run.status = "cancelled"
        except AdsgenError as exc:  # the user's problem: the message says what to fix
            run.error, run.status = str(exc).splitlines()[0], "failed"
        except Exception as exc:  # a run's failure is its result, never the server's
            run.error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            run.status = "failed"
        finally:
            run._seconds = time.monotonic() - run._began
            run.finished_at = _now()
            finished(run)

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel every run and wait up to `timeout` seconds for their threads to unwind."""
        deadline = time.monotonic() + timeout
        for run in self.listed():
            run.cancel_requested.set()
        for thread in list(self.threads.values()):
            thread.join(max(0.0, deadline - time.monotonic()))


def generate_into_database(*, db: str, progress: Progress, **options: Any) -> dict[str, Any]:
    """`adsgen generate --db` with the files in a temporary folder, removed after: the
    served database is what the run is for. Options as `adsgen.runs.files.generate_files`
    (not `out`, `overwrite`, `db`); a summary: line items, rows per table, rows loaded."""
    import shutil
    import tempfile

    from adsgen.runs.files import generate_files

    folder = Path(tempfile.mkdtemp(prefix="adsgen-run-"))
    try:
        result = generate_files(out=folder / "run", db=db, progress=progress, **options)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    manifest = result.manifest
    loaded = result.loaded
    return {
        "line_items": manifest.line_items,
        "rows": {name: stats.rows for name, stats in manifest.tables.items()},
        "loaded_rows": None if loaded is None else loaded.rows,
        "matches_manifest": None if loaded is None else loaded.matches_manifest,
        "seconds": result.seconds,
    }
