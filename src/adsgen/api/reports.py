"""Reporting routes: synchronous delivery, pacing, reach and truth reports, and asynchronous
report jobs (POST /reports → id → status → result as JSON, CSV or Parquet).

Parse, call, render: every query is `adsgen.runs.reports`, an SQL aggregation in the
database. Jobs run one at a time on a worker thread of the server and keep their result in
memory as an Arrow table until the server stops (a sandbox: nothing to clean up on disk).
"""

from __future__ import annotations

import io
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import Engine

from adsgen.api.app import State, state_of, writer
from adsgen.api.models import IsoDate, JobIn, JobOut, PacingOut, ReachOut, ReportOut, TruthOut
from adsgen.api.problems import Problem
from adsgen.runs import reports
from adsgen.runs.reports import Dimension, Filters, Metric

__all__ = ["router", "shutdown"]

MAX_ID = 2**31 - 1
MAX_JOBS = 100
"""Finished jobs kept (the oldest are forgotten first)."""

router = APIRouter(tags=["reports"], responses={
    404: {"model": Problem, "description": "No such report job"},
})

FilterId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Device = Annotated[str | None, Query(max_length=16, pattern=r"^[a-z_]+$",
                                     description="ctv, mobile or desktop")]
Day = Annotated[IsoDate | None, Query(description="UTC date, YYYY-MM-DD (both ends included)")]


def _filters(advertiser_id: FilterId = None, campaign_id: FilterId = None,
             line_item_id: FilterId = None, start: Day = None, end: Day = None) -> Filters:
    return Filters(advertiser_id=advertiser_id, campaign_id=campaign_id,
                   line_item_id=line_item_id, start=start, end=end)


def _engine(request: Request) -> Engine:
    return state_of(request).engine


@router.get("/reports/delivery", response_model=ReportOut)
def delivery(
    request: Request,
    dimension: Annotated[list[Dimension], Query(max_length=len(Dimension),
                                                description="Group by (repeat for more).")] = [],  # noqa: B006
    metric: Annotated[list[Metric], Query(min_length=1, max_length=len(Metric),
                                          description="Sum or rate (repeat for more).")] = [  # noqa: B006
        Metric.impressions, Metric.spend],
    filters: Filters = Depends(_filters),
    device: Device = None,
    sort: Annotated[list[str], Query(max_length=8, description="Report column, -column for "
                                                               "descending.")] = [],  # noqa: B006
    limit: Annotated[int, Query(ge=1, le=reports.MAX_REPORT_ROWS)] = 1000,
) -> dict[str, Any]:
    """A delivery report: metrics of the hourly rows grouped by dimensions, in the database.

    Reports grouped by nothing finer than a UTC day sum the daily table (the hourly rows'
    exact sums), hour and creative reports the hourly rows: same numbers, 24 × fewer rows.
    A `geo` report sums the weekly geo split (per advertiser and device: impressions, spend,
    eCPM, conversions; dates on whole ISO weeks; anything else is a 400 saying so), with
    the same totals. `platform` groups by each line item's own platform.
    Spend and eCPM add a `currency` column (money is summed per currency). More rows than
    `limit`: `truncated` is true (use a report job for big reports)."""
    chosen = replace(filters, device=device)
    with _engine(request).connect() as conn:
        report = reports.run_report(conn, dimensions=dimension, metrics=metric,
                                    filters=chosen, sort=sort, limit=limit)
    return {"columns": report.columns, "rows": report.rows, "truncated": report.truncated}


@router.get("/reports/pacing", response_model=PacingOut)
def pacing(request: Request, filters: Filters = Depends(_filters)) -> dict[str, Any]:
    """Delivery against the pacer's goal per pacing day, with why days fell short."""
    with _engine(request).connect() as conn:
        return {"rows": reports.pacing_report(conn, filters=filters)}


@router.get("/reports/reach", response_model=ReachOut)
def reach(request: Request, filters: Filters = Depends(_filters),
          limit: Annotated[int, Query(ge=1, le=1000)] = 1000) -> dict[str, Any]:
    """Flight reach and average frequency per line item; the frequency distribution."""
    with _engine(request).connect() as conn:
        return reports.reach_report(conn, filters=filters, limit=limit)


@router.get("/reports/truth", response_model=TruthOut)
def truth(request: Request, filters: Filters = Depends(_filters)) -> dict[str, Any]:
    """The simulation's true rates and causal conversions next to what the rows show."""
    with _engine(request).connect() as conn:
        return reports.truth_report(conn, filters=filters)


# --- asynchronous report jobs ------------------------------------------------------------------


@dataclass
class _Job:
    id: str
    request: JobIn
    status: Literal["queued", "running", "done", "failed"] = "queued"
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC).replace(tzinfo=None))
    finished_at: datetime | None = None
    table: Any = None  # a pyarrow.Table once done
    truncated: bool | None = None
    error: str | None = None

    def out(self, base: str) -> JobOut:
        return JobOut(id=self.id, status=self.status, created_at=self.created_at,
                      finished_at=self.finished_at,
                      rows=None if self.table is None else self.table.num_rows,
                      truncated=self.truncated, error=self.error,
                      result=f"{base}/{self.id}/result" if self.status == "done" else None)


@dataclass
class _Jobs:
    pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="adsgen-report"))
    jobs: dict[str, _Job] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _jobs(app: FastAPI) -> _Jobs:
    found = getattr(app.state, "report_jobs", None)
    if found is None:
        found = app.state.report_jobs = _Jobs()
    assert isinstance(found, _Jobs)
    return found


def shutdown(app: FastAPI) -> None:
    """Stop the job worker (queued jobs are dropped)."""
    found = getattr(app.state, "report_jobs", None)
    if isinstance(found, _Jobs):
        found.pool.shutdown(wait=False, cancel_futures=True)


def _run(job: _Job, state: State) -> None:
    import pyarrow as pa

    from adsgen.storage.database import scrub

    job.status = "running"
    asked = job.request
    try:
        filters = Filters(advertiser_id=asked.advertiser_id, campaign_id=asked.campaign_id,
                          line_item_id=asked.line_item_id, device=asked.device,
                          start=asked.start, end=asked.end)
        with state.engine.connect() as conn:
            report = reports.run_report(conn, dimensions=asked.dimensions,
                                        metrics=asked.metrics, filters=filters,
                                        sort=asked.sort, limit=asked.max_rows,
                                        most=asked.max_rows)
        job.table = pa.Table.from_pylist(report.rows) if report.rows else pa.table(
            {name: pa.array([], pa.null()) for name in report.columns})
        job.truncated = report.truncated
        job.status = "done"
    except Exception as exc:  # a job's failure is its result, never the server's
        job.error = scrub(str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                          state.config.database_url)
        job.status = "failed"
    job.finished_at = datetime.now(UTC).replace(tzinfo=None)


@router.post("/reports", status_code=202, response_model=JobOut, responses={
    401: {"model": Problem, "description": "A write without the bearer token"}})
def start_job(body: JobIn, request: Request, state: State = Depends(writer)) -> JobOut:
    """Start an asynchronous delivery report; poll GET /reports/{id}, then fetch the result."""
    if body.start is not None and body.end is not None and body.end < body.start:
        raise HTTPException(422, f"end {body.end} is before start {body.start}")
    jobs = _jobs(request.app)
    job = _Job(id=uuid.uuid4().hex, request=body)
    with jobs.lock:
        jobs.jobs[job.id] = job
        done = [j for j in jobs.jobs.values() if j.status in ("done", "failed")]
        for old in done[: max(0, len(done) - MAX_JOBS)]:
            del jobs.jobs[old.id]
    jobs.pool.submit(_run, job, state)
    return job.out(str(request.url.path).rstrip("/"))


JobId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The job's id.")]


def _job(request: Request, job_id: str) -> _Job:
    found = _jobs(request.app).jobs.get(job_id)
    if found is None:
        raise HTTPException(404, f"no report job {job_id}")
    return found


@router.get("/reports/{job_id}", response_model=JobOut)
def job_status(job_id: JobId, request: Request) -> JobOut:
    """A report job's status; `result` is set once it is done."""
    base = str(request.url.path).rsplit("/", 1)[0]
    return _job(request, job_id).out(base)


_MEDIA = {"json": "application/json", "csv": "text/csv",
          "parquet": "application/vnd.apache.parquet"}


@router.get("/reports/{job_id}/result", response_class=Response, responses={
    200: {"description": "The rows", "content": {m: {} for m in _MEDIA.values()}},
    409: {"model": Problem, "description": "The job is not done"},
})
def job_result(job_id: JobId, request: Request,
               format: Literal["json", "csv", "parquet"] = "json") -> Response:
    """A done job's rows as a JSON array, CSV with a header, or a Parquet file."""
    import json

    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    job = _job(request, job_id)
    if job.status != "done":
        raise HTTPException(409, f"report job {job_id} is {job.status}"
                            + (f": {job.error}" if job.error else ""))
    if format == "json":
        body = json.dumps(job.table.to_pylist(), separators=(",", ":")).encode()
    else:
        sink = io.BytesIO()
        if format == "csv":
            pacsv.write_csv(job.table, sink)
        else:
            pq.write_table(job.table, sink)
        body = sink.getvalue()
    name = f"report-{job_id}.{format}"
    return Response(body, media_type=_MEDIA[format],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
