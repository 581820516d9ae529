"""Execution engines: run one picklable, pure task function over a list of tasks.

`run_tasks(fn, tasks, engine=...)` runs `fn(task)` for every task and returns the results in
task order, whichever engine ran them:

- `local`: one after another in this process.
- `processes`: a `concurrent.futures.ProcessPoolExecutor` on every core by default, started
  with `forkserver` (`spawn` where there is no fork), so `fn` and the tasks must be
  picklable and importable by module path; a script using it needs the
  `if __name__ == "__main__":` guard.
- `dask`: a `dask.distributed` Client on the scheduler at `scheduler` (a real cluster; the
  tasks' output paths must then be on storage every worker sees), or on a LocalCluster of
  `workers` single-threaded processes started for the run.

The engines only schedule; what a task does, and so the output, never depends on the
engine or the worker count. `on_done(index, result)` is called in this process as each
task finishes (for a progress bar: see `rows_progress`).

No process outlives the run: pool workers watch the process that started them and exit
when it is gone (even after SIGKILL, which runs no cleanup), so the forkserver and the
resource tracker, which wait for them, end too and nobody keeps the caller's pipes open;
an interrupted run terminates its workers rather than waiting for their blocks.
`interrupt_on_sigterm` makes SIGTERM stop a run as Ctrl-C does.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import select
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal, TypeVar, get_args

from adsgen.exceptions import AdsgenError, UnknownNameError, shorten, shown

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["ENGINES", "EngineName", "available_cores", "check_scheduler",
           "interrupt_on_sigterm", "resolve_workers", "rows_progress", "run_tasks"]

EngineName = Literal["local", "processes", "dask"]
ENGINES: tuple[str, ...] = get_args(EngineName)

# How long to keep trying to reach a Dask scheduler before giving up.
DASK_CONNECT_TIMEOUT = "20s"

T = TypeVar("T")
R = TypeVar("R")
OnDone = Callable[[int, R], None]


def available_cores() -> int:
    """CPU cores this process may run on (affinity-aware where the OS says)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def resolve_workers(engine: str, workers: int | None) -> int:
    """The worker count an engine will use: 1 for local, else `workers` or every core.

    Raises AdsgenError for an unknown engine or a worker count below 1.
    """
    if engine not in ENGINES:
        raise UnknownNameError("engine", engine, ENGINES)
    if workers is not None and workers < 1:
        raise AdsgenError(f"--workers must be at least 1 (got {workers})")
    if engine == "local":
        return 1
    return workers if workers is not None else available_cores()


def check_scheduler(engine: str, scheduler: str | None) -> None:
    """AdsgenError for a scheduler given to an engine other than dask, or an address Dask
    cannot read (it needs a host and a port 1-65535, e.g. tcp://127.0.0.1:8786)."""
    if scheduler is None:
        return
    if engine != "dask":
        raise AdsgenError(f"--scheduler needs --engine dask (the engine is {engine!r})")
    from distributed.comm.addressing import get_address_host_port

    try:
        _, port = get_address_host_port(scheduler)
    except ValueError as error:
        problem = f"not a Dask scheduler address ({error})"
    else:
        if 0 < port < 65536:
            return
        problem = f"port {port} is not between 1 and 65535"
    raise AdsgenError(f"--scheduler {shown(scheduler)}: {shorten(problem, 200)}; give "
                      "tcp://HOST:PORT, e.g. tcp://127.0.0.1:8786")


def run_tasks(
    fn: Callable[[T], R],
    tasks: Sequence[T],
    *,
    engine: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    on_done: OnDone[R] | None = None,
) -> list[R]:
    """`[fn(t) for t in tasks]` on the chosen engine; results in task order.

    The first task to fail stops the run (pending tasks are cancelled) and its exception
    is raised here. Raises AdsgenError for an unknown engine, a bad worker count, a
    scheduler given to a non-dask engine, or a Dask scheduler that cannot be reached.
    """
    n_workers = resolve_workers(engine, workers)
    check_scheduler(engine, scheduler)
    if not tasks:
        return []
    if engine == "local":
        return _run_local(fn, tasks, on_done)
    if engine == "processes":
        return _run_processes(fn, tasks, min(n_workers, len(tasks)), on_done)
    return _run_dask(fn, tasks, n_workers, scheduler, on_done)


def _run_local(fn: Callable[[T], R], tasks: Sequence[T], on_done: OnDone[R] | None) -> list[R]:
    results: list[R] = []
    for index, task in enumerate(tasks):
        result = fn(task)
        results.append(result)
        if on_done is not None:
            on_done(index, result)
    return results


def _mp_context() -> multiprocessing.context.BaseContext:
    """forkserver (fast, no fork of a threaded parent), preloading nothing, else spawn.

    Preloading `fn`'s module would save each worker its imports (~1 s, once per run) and
    share their pages, but a run's memory is the summed RSS of its tree, and a preloading
    forkserver holds what it imported (~118 MiB, most of it libarrow's pages, which every
    worker maps anyway). Measured with benchmarks/peak_rss.py on `generate --line-items
    2000 --days 90 --engine processes`, twice each way, interleaved: the tree peaked at
    1,041-1,046 MiB RSS preloaded (forkserver 118, workers 362-377) and 984-1,008 MiB not
    (forkserver 13, workers 391-410), PSS 756-780 MiB both ways. So it preloads nothing.

    Ctrl-C reaches the whole process group, and only this process should answer it (it
    stops the pool; the CLI prints one line). So the forkserver starts here with SIGINT
    ignored, which it passes to the workers it forks (which also ignore it in their
    initializer).
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        from multiprocessing import forkserver

        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([])
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
            try:
                forkserver.ensure_running()  # spawns it (when not running) and returns
            finally:
                signal.signal(signal.SIGINT, previous)
        return context
    return multiprocessing.get_context("spawn")


_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with(parent: int) -> None:
    """Pool worker initializer: end this worker when process `parent` (the run) ends.

    A worker's own parent is the forkserver, so the kernel's parent-death signal (set too)
    only covers the forkserver dying; a daemon thread waits on a pidfd of the run (polls
    where there is none) and exits the worker at once when the run is gone.
    """
    if sys.platform == "linux":
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    threading.Thread(target=_watch, args=(parent,), name="adsgen-watch-run",
                     daemon=True).start()


def _watch(parent: int) -> None:
    try:
        fd = os.pidfd_open(parent)
    except ProcessLookupError:
        os._exit(1)  # the run is already gone
    except (AttributeError, OSError):
        fd = -1
    if fd >= 0:
        select.select([fd], [], [])  # readable once the run has exited
    else:
        while _alive(parent):
            time.sleep(0.5)
    os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def interrupt_on_sigterm() -> Iterator[None]:
    """Within the block, SIGTERM raises KeyboardInterrupt as Ctrl-C does, so a run cleans
    up (hidden folder, lock, workers) and exits; the previous handler comes back after.
    Only the main thread can take signals: elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Ctrl-C inside the block is raised as KeyboardInterrupt at its end. A worker that
    Ctrl-C caught half-started would die on the vanished queues of its parent, printing a
    traceback; the pool starts whole, then stops."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt


def _start_worker(parent: int) -> None:
    """Pool worker initializer: Ctrl-C is the parent's to answer (see `_mp_context`), and
    the worker ends with the run (`_die_with`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with(parent)


def _run_processes(
    fn: Callable[[T], R], tasks: Sequence[T], workers: int, on_done: OnDone[R] | None
) -> list[R]:
    results: dict[int, R] = {}
    pending: dict[Future[R], int] = {}
    executor: ProcessPoolExecutor | None = None
    try:
        with _sigint_deferred():  # submit starts the workers: let none start half-way
            executor = ProcessPoolExecutor(max_workers=workers, mp_context=_mp_context(),
                                           initializer=_start_worker, initargs=(os.getpid(),))
            for index, task in enumerate(tasks):
                pending[executor.submit(fn, task)] = index
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=pending.__getitem__):
                index = pending.pop(future)
                results[index] = future.result()  # raises the task's exception
                if on_done is not None:
                    on_done(index, results[index])
    except BaseException:
        # Stop now: the running blocks' work is thrown away anyway (their files with it).
        if executor is not None:
            processes: dict[int, Any] = dict(getattr(executor, "_processes", None) or {})
            for process in processes.values():
                with contextlib.suppress(OSError, ValueError):
                    process.terminate()
            _end_result_reads(executor)
            executor.shutdown(wait=True, cancel_futures=True)
        raise
    assert executor is not None  # tasks is not empty
    executor.shutdown(wait=True)
    return [results[i] for i in range(len(tasks))]


def _end_result_reads(executor: ProcessPoolExecutor) -> None:
    """Let the pool's reader thread see the end of the result pipe once the workers are gone.

    A worker stopped half-way through sending a result larger than a pipe holds (a block's
    statistics can be) leaves the pool's reader thread waiting for the rest for ever, and
    `shutdown` waits on that thread: the run hung on Ctrl-C or SIGTERM. The parent's copy of
    the pipe's write end is then the only one left open; closing it turns that read into
    end-of-file, which the pool treats as a broken worker, and it shuts down.
    """
    writer = getattr(getattr(executor, "_result_queue", None), "_writer", None)
    if writer is not None:
        with contextlib.suppress(OSError):
            writer.close()


def _run_dask(
    fn: Callable[[T], R],
    tasks: Sequence[T],
    workers: int,
    scheduler: str | None,
    on_done: OnDone[R] | None,
) -> list[R]:
    import distributed

    dist: Any = distributed  # untyped library
    cluster: Any = None
    try:
        if scheduler is None:
            cluster = dist.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
            )
            client = dist.Client(cluster)
        else:
            client = dist.Client(scheduler, timeout=DASK_CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        if cluster is not None:
            cluster.close()
        where = scheduler or "a LocalCluster"
        raise AdsgenError(f"cannot start Dask on {where}: {exc}") from exc
    try:
        futures = client.map(fn, list(tasks), pure=False)
        index_of = {future.key: index for index, future in enumerate(futures)}
        results: dict[int, R] = {}
        try:
            for future in dist.as_completed(futures):
                index = index_of[future.key]
                results[index] = future.result()
                if on_done is not None:
                    on_done(index, results[index])
        except BaseException:
            client.cancel(futures)
            raise
        return [results[i] for i in range(len(tasks))]
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


@contextmanager
def rows_progress(
    total: int, *, description: str = "generating", console: Console | None = None
) -> Iterator[Callable[[int], None]]:
    """A Rich progress bar counted in rows (with rows/s and ETA); yields `advance(rows)`.

    `total` may be an estimate: when the run ends the bar is completed at the rows seen;
    when it fails (an exception through this block) the bar is erased.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        Task,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.text import Text

    class RowsPerSecond(ProgressColumn):
        """Average rows per second since the start (blocks finish in bursts)."""

        def render(self, task: Task) -> Text:
            elapsed = task.finished_time if task.finished else task.elapsed
            speed = f"{task.completed / elapsed:,.0f}" if elapsed else "?"
            return Text(f"{speed} rows/s", style="cyan")

    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RowsPerSecond(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )
    task_id = progress.add_task(description, total=max(total, 1))

    def advance(rows: int) -> None:
        progress.update(task_id, advance=rows)

    progress.start()
    try:
        yield advance
    except BaseException:
        # The error line says it all: erase the bar, print nothing more (Rich adds a blank
        # line when stderr is not a terminal).
        progress.live.transient = True
        progress.live.stop()
        raise
    done = progress.tasks[0].completed
    progress.update(task_id, total=max(done, 1), completed=max(done, 1))
    progress.stop()
