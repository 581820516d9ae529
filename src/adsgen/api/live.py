"""The live feed: `GET /api/v1/live`, Server-Sent Events pushing the delivery whenever the
database's delivery changes (a stream syncing hours into it, a run finishing, a write).

Why Server-Sent Events over a plain `StreamingResponse` (text/event-stream), and neither
WebSocket nor sse-starlette: the feed only ever goes from server to browser, which is what
EventSource does (it reconnects by itself); an event is three lines of text, so a library
would add a dependency for `f"event: …\\ndata: …\\n\\n"`; Starlette already ends the
generator when the client goes, and `adsgen serve` gives open streams a few seconds at
shutdown (uvicorn's `timeout_graceful_shutdown`), the one other thing sse-starlette does.

No message bus: one `LiveFeed` per app polls the database's delivery fingerprint
(`adsgen.runs.live.fingerprint`) at most once a second for all clients together, and no
more often than ten times what the last poll cost (a big SQLite table is polled less often
rather than kept busy); a new fingerprint (or `notify`, called by a run that finished)
makes one snapshot that every client is sent. A client gets the current delivery at once,
then each change: `event: delivery`, `id:` the feed's version, `data:` JSON as
`adsgen.runs.live.snapshot` makes it; a comment line every 15 s keeps proxies from closing
a quiet stream.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import Engine

__all__ = ["LiveFeed", "feed_of", "notify", "router"]

POLL_SECONDS = 1.0
"""How often a client's stream looks for news (the feed polls at most this often)."""
COST_SHARE = 10
"""The feed waits at least this many times what its last fingerprint query cost."""
KEEP_ALIVE_SECONDS = 15.0

router = APIRouter(tags=["live"])


@dataclass
class LiveFeed:
    """The latest delivery snapshot of one database, shared by every client."""

    engine: Engine
    generation: int = 0
    """Bumped by `notify`: the next look polls at once and sends a snapshot."""
    version: int = 0
    snapshot: dict[str, Any] | None = None
    interval: float = POLL_SECONDS
    _key: tuple[Any, ...] | None = None
    _checked: float = 0.0
    _seen_generation: int = -1
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def current(self) -> tuple[int, dict[str, Any]]:
        """(version, snapshot): polled again when due, else the last one (blocking: call
        it from a worker thread)."""
        from adsgen.runs.live import fingerprint, snapshot

        with self._lock:
            now = time.monotonic()
            due = now - self._checked >= self.interval
            if self.snapshot is None or due or self.generation != self._seen_generation:
                generation = self.generation
                with self.engine.connect() as conn:
                    began = time.monotonic()
                    key = (generation, *fingerprint(conn))
                    self.interval = max(POLL_SECONDS, COST_SHARE * (time.monotonic() - began))
                    if key != self._key or self.snapshot is None:
                        self.snapshot = snapshot(conn)
                        self.version += 1
                        self._key = key
                self._seen_generation = generation
                self._checked = time.monotonic()
            assert self.snapshot is not None
            return self.version, self.snapshot


def feed_of(app: FastAPI) -> LiveFeed:
    """The app's feed (made on first use)."""
    found = getattr(app.state, "live_feed", None)
    if found is None:
        found = app.state.live_feed = LiveFeed(engine=app.state.adsgen.engine)
    assert isinstance(found, LiveFeed)
    return found


def notify(app: FastAPI) -> None:
    """The delivery changed (a run finished): clients get a new snapshot at their next look."""
    feed_of(app).generation += 1


async def _events(request: Request, feed: LiveFeed) -> AsyncIterator[str]:
    from anyio import sleep, to_thread

    sent, quiet_since = 0, time.monotonic()
    yield f"retry: {int(POLL_SECONDS * 3000)}\n\n"
    while True:
        version, snapshot = await to_thread.run_sync(feed.current)
        if version != sent:
            data = json.dumps(snapshot, separators=(",", ":"))
            yield f"id: {version}\nevent: delivery\ndata: {data}\n\n"
            sent, quiet_since = version, time.monotonic()
        elif time.monotonic() - quiet_since >= KEEP_ALIVE_SECONDS:
            yield ": keep-alive\n\n"
            quiet_since = time.monotonic()
        await sleep(POLL_SECONDS)
        if await request.is_disconnected():
            return


@router.get("/live", response_class=StreamingResponse, responses={200: {
    "description": "A stream of `delivery` events (Server-Sent Events); each `data` is JSON: "
                   "rows, latest_hour, totals, hours (the last 24 up to the latest) and "
                   "campaigns (the 20 with most impressions).",
    "content": {"text/event-stream": {"schema": {"type": "string"}}}}})
def live(request: Request) -> StreamingResponse:
    """Delivery pushed as Server-Sent Events: the current delivery at once, then again each
    time it changes (an `adsgen stream` syncing into this database, a run finishing, a
    write). Use it with the browser's EventSource or `curl -N`."""
    feed = feed_of(request.app)
    return StreamingResponse(_events(request, feed), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
