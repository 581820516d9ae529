"""NATS JetStream sink: `nats://[USER:PASSWORD@]HOST:PORT/SUBJECT?stream=NAME`.

Each event is one message on `SUBJECT.<type>` (`ads.events.impression`, …) whose payload is
the event's JSON line and whose `Nats-Msg-Id` header is the event id, so JetStream drops a
message it already holds (within the stream's duplicate window): a resumed stream re-sends
what it sent after its last checkpoint and nothing is stored twice. The JetStream stream that
captures `SUBJECT.>` is used if there is one; otherwise one is created (`NAME`, default
`ADSGEN_<SUBJECT>`, with a one-hour duplicate window).

Messages are published without waiting for each acknowledgement; `commit` publishes the last
message once more as a JetStream request (the server de-duplicates it) and waits for its
acknowledgement: the server handles one connection's messages in order, so once that copy
is acknowledged every message before it has been stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from adsgen.exceptions import AdsgenError
from adsgen.stream.encode import event_ids, json_lines
from adsgen.stream.events import EVENT_TYPES, EventBatch, EventWorld
from adsgen.stream.sinks import EventSink, SinkFailed

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.js import JetStreamContext

__all__ = ["DEFAULT_SUBJECT", "DUPLICATE_WINDOW_S", "NatsSink"]

DEFAULT_SUBJECT = "adsgen"
DUPLICATE_WINDOW_S = 3600.0
_SUBJECT = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")
_ACK_TIMEOUT_S = 30.0


class NatsSink(EventSink):
    """Events as JetStream messages, one subject per event type."""

    def __init__(self, url: str) -> None:
        from adsgen.storage.database import masked_url

        self.label = masked_url(url)
        parts = urlsplit(url)
        self.subject = parts.path.strip("/") or DEFAULT_SUBJECT
        if not _SUBJECT.fullmatch(self.subject):
            raise AdsgenError(f"--to {self.label}: {self.subject[:80]!r} is not a NATS subject "
                              "(tokens of letters, digits, - and _ joined by dots)")
        query = dict(parse_qsl(parts.query))
        default = "ADSGEN_" + re.sub(r"[^A-Za-z0-9_-]", "_", self.subject).upper()
        self.stream_name = query.get("stream") or default
        self._server = urlunsplit(parts._replace(path="", query=""))
        self._loop = asyncio.new_event_loop()
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._last: tuple[str, bytes, str] | None = None
        self._queued = False
        """Messages published since the last `idle` flush."""

    def _run(self, coro: Any) -> Any:
        return self._loop.run_until_complete(coro)

    def open(self, world: EventWorld, resume: dict[str, Any] | None) -> int:
        super().open(world, resume)
        try:
            self._run(self._connect())
        except AdsgenError:
            raise
        except Exception as exc:
            raise AdsgenError(f"cannot reach NATS at {self.label}: "
                              f"{_scrub(str(exc) or type(exc).__name__, self._server)}") from None
        return 0  # re-sent messages are dropped by JetStream's de-duplication

    async def _connect(self) -> None:
        import nats
        from nats.js.api import StreamConfig
        from nats.js.errors import NotFoundError

        async def quiet(error: Exception) -> None:  # errors are raised, not logged
            return None

        self._nc = await asyncio.wait_for(nats.connect(
            self._server, connect_timeout=5, allow_reconnect=False, max_reconnect_attempts=1,
            error_cb=quiet), timeout=15)
        self._js = self._nc.jetstream(timeout=_ACK_TIMEOUT_S)
        try:
            self.stream_name = await self._js.find_stream_name_by_subject(
                f"{self.subject}.impression")
        except NotFoundError:
            await self._js.add_stream(StreamConfig(
                name=self.stream_name, subjects=[f"{self.subject}.>"],
                duplicate_window=DUPLICATE_WINDOW_S))

    def send(self, events: EventBatch) -> None:
        if not len(events):
            return
        ids = event_ids(events).to_pylist()
        lines = json_lines(events, self.world).to_pylist()
        subjects = [f"{self.subject}.{t}" for t in EVENT_TYPES]
        kinds = events.kind.tolist()
        try:
            self._run(self._publish(ids, lines, [subjects[k] for k in kinds]))
        except Exception as exc:
            raise SinkFailed(f"NATS at {self.label} failed: "
                             f"{_scrub(str(exc) or type(exc).__name__, self._server)}") from None

    async def _publish(self, ids: list[str], lines: list[str], subjects: list[str]) -> None:
        assert self._nc is not None
        publish = self._nc.publish
        for event_id, line, subject in zip(ids, lines, subjects, strict=True):
            await publish(subject, line.encode(), headers={"Nats-Msg-Id": event_id})
        self._last = (subjects[-1], lines[-1].encode(), ids[-1])
        self._queued = True

    def idle(self) -> None:
        """Let the client write what it queued (its flusher runs only while the event loop
        does, and the loop runs only inside `send`) and wait for the server's PONG."""
        if self._nc is not None and self._queued:
            try:
                self._run(self._nc.flush(timeout=int(_ACK_TIMEOUT_S)))
            except Exception as exc:
                raise SinkFailed(f"NATS at {self.label} failed: "
                                 f"{_scrub(str(exc) or type(exc).__name__, self._server)}"
                                 ) from None
            self._queued = False

    def commit(self) -> dict[str, Any]:
        if self._last is not None and self._js is not None:
            subject, payload, event_id = self._last
            try:
                self._run(self._js.publish(subject, payload, headers={"Nats-Msg-Id": event_id}))
            except Exception as exc:
                raise SinkFailed(f"NATS at {self.label} did not acknowledge: "
                                 f"{_scrub(str(exc) or type(exc).__name__, self._server)}"
                                 ) from None
        return {"stream": self.stream_name}

    def close(self) -> None:
        if self._nc is not None:
            with contextlib.suppress(Exception):  # a dead connection: nothing left to save
                self._run(self._nc.close())
            self._nc = None
        self._loop.close()


def _scrub(message: str, url: str) -> str:
    from adsgen.storage.database import scrub

    return scrub(message, url)[:300]
