"""Run routes: start `run-all`, `simulate` or `generate` as a background run, follow its
progress, cancel it.

Parse, call, render: a run is the CLI command's own function (`adsgen.runs.database.
generate` for run-all, `simulate_database`, `adsgen.runs.files.generate_files` loading into
the served database) on a worker thread (`adsgen.runs.background` says why a thread). A run
holds the database's write lock from its POST to its end: a second run, or any create,
change or delete meanwhile, gets 409. Cancelling (DELETE) makes the run's progress callback
raise at its next call, which rolls its transaction back: the database is as before it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, HTTPException, Path, Request
from fastapi.responses import JSONResponse

from adsgen.api.app import State, acquire_write_lock, state_of, writer
from adsgen.api.models import GenerateIn, RunAllIn, RunIn, RunOut, SimulateIn
from adsgen.api.problems import Problem
from adsgen.runs.background import BackgroundRun, Runs
from adsgen.runs.jobs import Progress

__all__ = ["router", "runs_of", "shutdown"]

router = APIRouter(tags=["runs"], responses={
    404: {"model": Problem, "description": "No such run"},
})
RunId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The run's id.")]


def runs_of(app: FastAPI) -> Runs:
    """The app's runs (made on first use)."""
    found = getattr(app.state, "runs", None)
    if found is None:
        found = app.state.runs = Runs()
    assert isinstance(found, Runs)
    return found


def shutdown(app: FastAPI) -> None:
    """Cancel the running run and wait (10 s at most) for its rollback."""
    found = getattr(app.state, "runs", None)
    if isinstance(found, Runs):
        found.stop()


def _out(state: State, run: BackgroundRun) -> RunOut:
    from adsgen.storage.database import scrub

    return RunOut(
        id=run.id, command=run.command,
        status=run.status, cancel_requested=run.cancel_requested.is_set(),
        options=run.options, created_at=run.created_at, started_at=run.started_at,
        finished_at=run.finished_at, stage=run.stage, done=run.done, total=run.total,
        unit=run.unit,
        percent=run.percent, per_second=run.per_second, rows_per_second=run.rows_per_second,
        seconds=run.seconds, summary=run.summary,
        error=None if run.error is None else scrub(run.error, state.config.database_url))


def _work(state: State, body: RunAllIn | SimulateIn | GenerateIn) -> Any:
    """The command's call, given a progress callback: what the CLI command calls."""
    from adsgen.runs import database

    config = state.config
    seed = config.seed if body.seed is None else body.seed
    common: dict[str, Any] = {"db": config.database_url, "seed": seed,
                              "platform": config.platform}
    if isinstance(body, RunAllIn):
        def run_all(progress: Progress) -> dict[str, Any]:
            return database.generate(
                **common, scale=body.scale, progress=progress,
                deterministic_timestamps=body.deterministic_timestamps).as_dict()
        return run_all
    if isinstance(body, SimulateIn):
        def simulate(progress: Progress) -> dict[str, Any]:
            return database.simulate_database(
                **common, line_item_ids=body.line_item_ids, progress=progress).as_dict()
        return simulate

    def generate(progress: Progress) -> dict[str, Any]:
        from datetime import datetime, time

        from adsgen.build.at_scale import DEFAULT_SCALE_START
        from adsgen.runs.background import generate_into_database

        start = (DEFAULT_SCALE_START if body.start is None
                 else datetime.combine(body.start, time()))
        return generate_into_database(
            **common, progress=progress, advertisers=body.advertisers,
            line_items=body.line_items, days=body.days, start=start)
    return generate


@router.post("/runs", status_code=202, response_model=RunOut, responses={
    401: {"model": Problem, "description": "A write without the bearer token"},
    409: {"model": Problem, "description": "Another run or write holds the database"},
})
def start_run(request: Request, body: Annotated[RunIn, Body()],
              state: State = Depends(writer)) -> JSONResponse:
    """Start `run-all`, `simulate` or `generate` in the background; follow it at the
    `Location` (GET /runs/{id}), cancel it with DELETE. One write at a time per database: 409
    while another run (or a create, change or delete) holds it."""
    from adsgen.api.live import notify

    if isinstance(body, GenerateIn) and (body.advertisers is None) == (body.line_items is None):
        raise HTTPException(422, "give one of advertisers or line_items")
    runs = runs_of(request.app)
    run = BackgroundRun(command=body.command,
                        options=body.model_dump(mode="json", exclude={"command"}))
    work = _work(state, body)
    acquire_write_lock(state)
    state.busy = run.id

    def finished(ended: BackgroundRun) -> None:
        state.busy = None
        state.write_lock.release()
        if ended.status == "done":
            notify(request.app)

    runs.start(run, work, finished=finished)
    location = f"{str(request.url.path).rstrip('/')}/{run.id}"
    return JSONResponse(_out(state, run).model_dump(mode="json"), status_code=202,
                        headers={"Location": location})


@router.get("/runs", response_model=list[RunOut])
def list_runs(request: Request) -> list[RunOut]:
    """The server's runs, newest first (the last 100 finished ones and any running)."""
    state = state_of(request)
    return [_out(state, run) for run in runs_of(request.app).listed()]


def _run(request: Request, run_id: str) -> BackgroundRun:
    found = runs_of(request.app).get(run_id)
    if found is None:
        raise HTTPException(404, f"no run {run_id}")
    return found


@router.get("/runs/{run_id}", response_model=RunOut)
def get_run(run_id: RunId, request: Request) -> RunOut:
    """A run's status, stage, percent, speed, and its summary once done."""
    return _out(state_of(request), _run(request, run_id))


@router.delete("/runs/{run_id}", status_code=202, response_model=RunOut, responses={
    401: {"model": Problem, "description": "A write without the bearer token"},
    409: {"model": Problem, "description": "The run has ended already"},
})
def cancel_run(run_id: RunId, request: Request, state: State = Depends(writer)) -> RunOut:
    """Cancel a run: it stops at its next progress point and its transaction is rolled back,
    so the database is as it was before it (status `cancelled`). 409 once it has ended."""
    run = _run(request, run_id)
    if run.status in ("done", "failed", "cancelled"):
        raise HTTPException(409, f"run {run_id} is {run.status} already")
    run.cancel_requested.set()
    return _out(state, run)
