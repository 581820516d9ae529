"""The ASGI app of `adsgen serve`: the REST API under /api/v1, the dashboard at /, OpenAPI
3.1 at /openapi.json and interactive docs at /docs.

FastAPI on Starlette: the request bodies are the domain's own Pydantic schemas, so the API
validates exactly what the CLI and the YAML templates do and its OpenAPI document comes
from the same models. The app holds one SQLAlchemy engine for reads; writes go through the
same `adsgen.runs` functions as the CLI (each its own transaction), one at a time.

Security (the app is a local sandbox first): writes need `Authorization: Bearer <token>`
whenever a token is configured (`adsgen serve` requires one to bind beyond loopback); request
bodies over `max_body` bytes are refused with 413 before they are read whole; no CORS
headers are sent (the dashboard is served from the same origin), and bodies must be
`application/json`, so another site's page can neither read answers nor post a form; on
loopback only loopback Host headers are answered (DNS rebinding); error messages are
scrubbed of the database URL's secrets and the URL itself is never returned.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from adsgen import __version__
from adsgen.api.models import Health
from adsgen.api.problems import PROBLEM_TYPE, Problem, install, problem_response

__all__ = ["MAX_BODY", "ServeConfig", "create_app"]

MAX_BODY = 1 << 20
"""Largest request body accepted (1 MiB): a whole advertiser tree fits many times over."""
IDEMPOTENCY_KEYS = 10_000
"""Idempotency keys remembered (the oldest are forgotten first)."""

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass
class ServeConfig:
    """What one server serves: its database, the token writes need (None: none needed),
    the seed and platform of simulations its writes run, and its body cap."""

    database_url: str
    token: str | None = None
    seed: int = 42
    platform: str = "netflix_like"
    max_body: int = MAX_BODY
    dashboard: bool = True
    allowed_hosts: tuple[str, ...] = ()
    """Host headers answered (empty: any). `adsgen serve` on loopback allows only loopback
    names, so a web page that rebinds its own domain to 127.0.0.1 cannot read the API."""


@dataclass
class State:
    """What the routes share: config, read engine, the write lock and idempotency keys."""

    config: ServeConfig
    engine: Engine
    write_lock: threading.Lock = field(default_factory=threading.Lock)
    idempotency: OrderedDict[str, tuple[str, int, Any]] = field(default_factory=OrderedDict)
    busy: str | None = None
    """The background run holding the write lock (`adsgen.api.runs`): other writes get 409
    at once rather than waiting for it."""


class BodyLimit:
    """Refuses a request body over `limit` bytes with 413: by its Content-Length at once, or
    while it streams in (chunked uploads have none)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = problem_response(
            request, 413, f"the request body is over {self.limit:,} bytes; send less")
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


def state_of(request: Request) -> State:
    """The app's shared State."""
    found: State = request.app.state.adsgen
    return found


def session(request: Request) -> Iterator[Session]:
    """A read session on the app's engine, closed after the request."""
    with Session(state_of(request).engine) as opened:
        yield opened


_bearer = HTTPBearer(auto_error=False, description="ADSGEN_API_TOKEN: needed by writes "
                     "when the server has a token (always when bound beyond 127.0.0.1).")


def writer(request: Request,
           credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> State:
    """The State, for a write: 401 unless the bearer token matches (when one is set)."""
    from fastapi import HTTPException

    state = state_of(request)
    token = state.config.token
    if token is not None:
        given = "" if credentials is None else credentials.credentials
        if not secrets.compare_digest(given.encode(), token.encode()):
            raise HTTPException(401, "writes need Authorization: Bearer <ADSGEN_API_TOKEN>",
                                headers={"WWW-Authenticate": "Bearer"})
    return state


WRITE_WAIT = 30.0
"""Seconds a write waits for another (short) write before it answers 409."""


def acquire_write_lock(state: State, wait: float = WRITE_WAIT) -> None:
    """Take the database's write lock (one write at a time per database): 409 when another
    write keeps it over `wait` seconds, and at once while a background run holds it."""
    import time

    from fastapi import HTTPException

    deadline = time.monotonic() + wait
    while True:
        if state.busy is not None:
            raise HTTPException(409, f"run {state.busy} is writing to this database; retry "
                                f"once it is done (GET /api/v1/runs/{state.busy})")
        if state.write_lock.acquire(timeout=0.05):
            return
        if time.monotonic() > deadline:
            raise HTTPException(409, "another write is running on this database; retry")


ERRORS = {status: {"model": Problem, "description": text} for status, text in (
    (400, "The request cannot be served as asked (problem details)"),
    (413, "The request body is too large"),
    (422, "A field or parameter is invalid; `errors` names each (problem details)"),
    (503, "The database failed"),
)}


def _problem_content(schema: dict[str, Any]) -> None:
    """Error responses in the OpenAPI document as application/problem+json, not JSON."""
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if status[0] in "45" and "application/json" in content:
                    response["content"] = {PROBLEM_TYPE: content["application/json"]}


def _without_security(schema: dict[str, Any]) -> None:
    """Drop the bearer scheme and the 401 answers of a server that has no token."""
    schema.get("components", {}).pop("securitySchemes", None)
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            operation.pop("security", None)
            operation.get("responses", {}).pop("401", None)


def create_app(config: ServeConfig) -> FastAPI:
    """The app serving `config.database_url`; its tables are created if missing (never
    changed otherwise). Raises DatabaseError when the database cannot be reached."""
    from adsgen.api import changes, entities, live, reports, runs
    from adsgen.runs.jobs import open_database
    from adsgen.storage.database import init_db, read_while_writing

    engine = open_database(config.database_url)
    init_db(engine)
    read_while_writing(engine)  # the dashboard reads while a background run writes

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        yield
        runs.shutdown(app)
        reports.shutdown(app)
        engine.dispose()

    app = FastAPI(
        title="adsgen sandbox ad platform",
        version=__version__,
        summary="Campaign management and delivery reporting over an adsgen database.",
        description=(
            "A local sandbox of a CTV ad platform's API: create advertisers, campaigns, line "
            "items and creatives (simulated at once), change their status, budget and flight, "
            "and pull delivery, pacing, reach and truth reports that run as SQL aggregations. "
            "Errors are RFC 9457 problem details."),
        responses=ERRORS,  # type: ignore[arg-type]
        lifespan=lifespan,
    )
    app.state.adsgen = State(config=config, engine=engine)
    app.state.database_url = config.database_url
    install(app)

    @app.get("/api/v1/health", tags=["meta"])
    def health(request: Request) -> Health:
        """The server and its database answer."""
        from sqlalchemy import text

        with state_of(request).engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return Health(status="ok", dialect=engine.dialect.name, version=__version__)

    app.include_router(entities.router, prefix="/api/v1")
    app.include_router(changes.router, prefix="/api/v1")
    app.include_router(reports.router, prefix="/api/v1")
    app.include_router(runs.router, prefix="/api/v1")
    app.include_router(live.router, prefix="/api/v1")
    if config.dashboard:
        from adsgen.web import mount

        mount(app)

    openapi = app.openapi

    def patched() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = openapi()
            _problem_content(schema)
            if config.token is None:  # nothing asks for the token: do not document one
                _without_security(schema)
        return app.openapi_schema or {}

    app.openapi = patched  # type: ignore[method-assign]
    app.add_middleware(BodyLimit, limit=config.max_body)
    if config.allowed_hosts:
        from starlette.middleware.trustedhost import TrustedHostMiddleware

        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(config.allowed_hosts))
    return app
