"""Engines: the same results, in task order, on local, a process pool and Dask."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from rich.console import Console

from adsgen.exceptions import AdsgenError, UnknownNameError
from adsgen.runs.engines import (
    ENGINES,
    available_cores,
    resolve_workers,
    rows_progress,
    run_tasks,
)

# Builtins pickle by name, so every engine can run them without importing this module.
TASKS = [-3, 1, -4, 1, -5, 9, -2, 6]


@pytest.fixture(scope="module")
def dask_scheduler() -> Iterator[str]:
    """One small LocalCluster for the module (starting one takes seconds)."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster:
        yield cluster.scheduler_address


def test_engine_names() -> None:
    assert ENGINES == ("local", "processes", "dask")


def test_resolve_workers() -> None:
    assert resolve_workers("local", 8) == 1
    assert resolve_workers("processes", None) == available_cores()
    assert resolve_workers("dask", 3) == 3
    with pytest.raises(UnknownNameError, match="processes"):
        resolve_workers("proceses", None)
    with pytest.raises(AdsgenError, match="at least 1"):
        resolve_workers("processes", 0)


@pytest.mark.parametrize(("engine", "workers"), [("local", None), ("processes", 2),
                                                 ("processes", 1)])
def test_results_in_task_order_and_every_task_reported(engine: str, workers: int | None) -> None:
    seen: list[tuple[int, int]] = []
    results = run_tasks(abs, TASKS, engine=engine, workers=workers,
                        on_done=lambda i, r: seen.append((i, r)))
    assert results == [abs(t) for t in TASKS]
    assert sorted(seen) == list(enumerate(results))


def test_dask_on_a_scheduler_address(dask_scheduler: str) -> None:
    seen: list[int] = []
    results = run_tasks(abs, TASKS, engine="dask", scheduler=dask_scheduler,
                        on_done=lambda i, r: seen.append(i))
    assert results == [abs(t) for t in TASKS] and sorted(seen) == list(range(len(TASKS)))


@pytest.mark.parametrize("engine", ["local", "processes"])
def test_a_failing_task_fails_the_run(engine: str) -> None:
    with pytest.raises(ValueError, match="invalid literal"):
        run_tasks(int, ["1", "2", "x", "4"], engine=engine, workers=2)


def test_a_failing_task_fails_a_dask_run(dask_scheduler: str) -> None:
    with pytest.raises(ValueError, match="invalid literal"):
        run_tasks(int, ["1", "x"], engine="dask", scheduler=dask_scheduler)


def test_no_tasks_and_bad_arguments() -> None:
    assert run_tasks(abs, [], engine="processes") == []
    with pytest.raises(AdsgenError, match="--engine dask"):
        run_tasks(abs, TASKS, engine="processes", scheduler="tcp://127.0.0.1:8786")


def test_unreachable_scheduler_is_a_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("adsgen.runs.engines.DASK_CONNECT_TIMEOUT", "1s")
    with pytest.raises(AdsgenError, match="cannot start Dask"):
        run_tasks(abs, TASKS, engine="dask", scheduler="tcp://127.0.0.1:9")


def test_rows_progress_counts_rows_and_completes() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=False, width=120)
    with rows_progress(1_000, description="simulating", console=console) as advance:
        advance(400)
        time.sleep(0.02)
        advance(700)  # the estimate was low: the bar still ends complete
    output = buffer.getvalue()
    assert "simulating" in output and "1100/1100" in output and "rows/s" in output


def test_dask_starts_and_stops_its_own_local_cluster() -> None:
    assert run_tasks(abs, TASKS, engine="dask", workers=2) == [abs(t) for t in TASKS]


def test_an_interrupt_while_a_worker_sends_a_large_result_does_not_hang() -> None:
    """Ctrl-C while a worker is half-way through writing a result bigger than a pipe holds:
    the run must still stop (the pool's reader thread would wait for the rest for ever)."""
    script = (  # the interrupt comes once results flow: the workers are writing the next
        "import os, signal\n"
        "from adsgen.runs.engines import run_tasks\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)  # a background job ignores it\n"
        "def done(index, result):\n"
        "    if index == 1:\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "try:\n"
        "    run_tasks(bytes, [8_000_000] * 400, engine='processes', workers=2, on_done=done)\n"
        "except KeyboardInterrupt:\n"
        "    print('stopped')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.strip() == "stopped", (done.returncode, done.stderr)


def test_a_block_worker_imports_no_door_library() -> None:
    """A pool worker imports the block module (its task function's) and nothing of the
    doors: each library it loads adds its pages to every worker of every run."""
    heavy = ("sqlalchemy", "faker", "rich", "typer", "click", "fastapi", "starlette",
             "uvicorn", "dask", "distributed", "pandas", "yaml", "psutil", "httpx")
    code = ("import sys, adsgen.runs.blocks; "
            f"print(','.join(m for m in {heavy!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/PID/maps")
def test_the_forkserver_preloads_nothing() -> None:
    """A forkserver that preloads the block module holds ~118 MiB (libarrow's pages above
    all), counted again beside each worker's own: the run's tree is bigger for it."""
    code = (
        "from multiprocessing import forkserver\n"
        "from adsgen.runs.blocks import tables_of\n"
        "from adsgen.runs.engines import run_tasks\n"
        "if __name__ == '__main__':\n"
        "    assert run_tasks(tables_of, [{}], engine='processes', workers=1) == [{}]\n"
        "    pid = forkserver._forkserver._forkserver_pid\n"
        "    maps = open(f'/proc/{pid}/maps').read()\n"
        "    print('numpy' in maps, 'libarrow' in maps)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.split() == ["False", "False"]
