"""Where a stream's events go, chosen by URL: the `EventSink` interface and its registry.

| URL | sink |
| --- | --- |
| `-` | JSON lines on stdout |
| `file:PATH` (or `file:///abs/path`) | JSON lines appended to a file |
| `nats://HOST:PORT/SUBJECT` | NATS JetStream, subject `SUBJECT.<type>` (`nats_sink`) |
| `redis://HOST:PORT/DB?stream=KEY&maxlen=N` | a Redis stream (`redis_sink`) |
| `sqlite:///…`, `postgresql+psycopg://…`, `mysql+pymysql://…` | live sync (`db_sync`) |

A sink gets events batch by batch (`send`), makes what it got durable or acknowledged on
`commit` (returning what a checkpoint must keep to resume without loss or duplication) and
is told where to resume with `open(resume=…)`. A sink that cannot be reached raises
AdsgenError at `open` (exit 2); one that fails later raises SinkFailed naming the last
event it delivered.
"""

from __future__ import annotations

import os
import sys
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa

from adsgen.exceptions import AdsgenError
from adsgen.stream.encode import json_lines
from adsgen.stream.events import EventBatch, EventWorld

__all__ = [
    "SINK_FORMS", "ConsumerGone", "EventSink", "JsonLinesSink", "SinkFailed", "open_sink",
    "write_lines",
]

SINK_FORMS = ("-, file:PATH, nats://HOST:PORT/SUBJECT, redis://HOST:PORT/DB?stream=KEY, "
              "sqlite:///FILE, postgresql+psycopg://USER@HOST:PORT/DB or mysql+pymysql://…")


class SinkFailed(AdsgenError):
    """A sink failed mid-stream: the message names the last event it delivered."""


class ConsumerGone(Exception):
    """The reader of stdout went away (`| head`): the stream ends quietly."""


class EventSink(ABC):
    """Takes events batch by batch; `commit` acknowledges what was sent."""

    label: str = ""
    """What to print for the sink (credentials masked)."""

    def open(self, world: EventWorld, resume: dict[str, Any] | None) -> int:
        """Connect (AdsgenError when unreachable); `resume` is what `commit` returned last
        time. Returns how many events the sink holds beyond that commit (sent, not yet
        checkpointed when the stream stopped): the resumed stream skips them too."""
        self.world = world
        return 0

    @abstractmethod
    def send(self, events: EventBatch) -> None:
        """Deliver these events, in order."""

    def hour_closed(self, hour: int, emitted: int) -> None:  # noqa: B027 - most need none
        """Every event of the hour starting at `hour` (epoch s) has been sent; `emitted`
        events of the run have been handed to the sink so far."""

    def idle(self) -> None:  # noqa: B027 - a sink that writes at once has nothing to push
        """Push out what `send` left in a buffer: the stream is about to wait for its clock,
        so a consumer reading live (`--speed 1`) gets the events now, not when a buffer
        fills or the next commit comes. Never called at `--speed max` (no waiting)."""

    @abstractmethod
    def commit(self) -> dict[str, Any]:
        """Make everything sent durable; what a checkpoint keeps to resume here. A sink that
        acknowledges less than it was sent (the database sync, hour by hour) puts the count
        of events acknowledged under "acknowledged": the checkpoint counts those."""

    def close(self) -> None:  # noqa: B027 - a sink without resources has nothing to do
        """Release the connection or file."""


def write_lines(out: BinaryIO, lines: pa.Array) -> int:
    """Write JSON lines (each followed by a newline) straight from Arrow's buffer; bytes."""
    if len(lines) == 0:
        return 0
    import pyarrow.compute as pc

    joined = pc.binary_join_element_wise(lines, "\n", "")
    if not isinstance(joined, pa.StringArray):  # pragma: no cover - Arrow returns one
        joined = pa.array(joined, type=pa.string())
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int32,
                            count=len(joined) + 1, offset=joined.offset * 4)
    data = joined.buffers()[2]
    view = memoryview(data)[int(offsets[0]):int(offsets[-1])]
    out.write(view)
    return len(view)


class JsonLinesSink(EventSink):
    """JSON lines on stdout (`-`) or appended to a file (`file:PATH`).

    A file sink's checkpoint keeps the file's size after the last commit: a resumed stream
    cuts the file back to it (what came after was never acknowledged) and writes on.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.label = "-" if path is None else f"file:{path}"
        self._out: BinaryIO | None = None
        self._size = 0
        self._buffered = False

    def open(self, world: EventWorld, resume: dict[str, Any] | None) -> int:
        super().open(world, resume)
        if self.path is None:
            self._out = sys.stdout.buffer
            return 0
        try:
            if resume is not None:
                size = int(resume.get("bytes", 0))
                if not self.path.exists() or self.path.stat().st_size < size:
                    raise AdsgenError(f"cannot resume into {self.path}: it is shorter than "
                                      "the checkpoint says it was; start a new stream")
                handle = self.path.open("r+b")
                handle.truncate(size)
                handle.seek(size)
                self._out, self._size = handle, size
            else:
                self._out = self.path.open("ab")
                self._size = self._out.tell()
        except OSError as exc:
            raise AdsgenError(f"cannot write {self.path}: {exc.strerror or exc}") from None
        return 0

    def send(self, events: EventBatch) -> None:
        assert self._out is not None
        try:
            self._size += write_lines(self._out, json_lines(events, self.world))
            self._buffered = True
        except OSError as exc:
            self._failed(exc)

    def idle(self) -> None:
        if self._out is not None and self._buffered:
            try:
                self._out.flush()  # to the reader (a pipe, a tail -f); fsync waits for commit
                self._buffered = False
            except OSError as exc:
                self._failed(exc)

    def _failed(self, exc: OSError) -> None:
        """ConsumerGone when stdout's reader left, else SinkFailed."""
        if isinstance(exc, BrokenPipeError):
            if self.path is None:  # nothing more reaches the reader; no noise at exit
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
                os.close(devnull)
                self._out = None
                raise ConsumerGone from None
            raise SinkFailed(f"cannot write {self.label}: broken pipe") from None
        raise SinkFailed(f"cannot write {self.label}: {exc.strerror or exc}") from None

    def commit(self) -> dict[str, Any]:
        if self._out is not None:
            try:
                self._out.flush()
            except BrokenPipeError:
                self._out = None
                return {"bytes": self._size}
            if self.path is not None:
                os.fsync(self._out.fileno())
        return {"bytes": self._size}

    def close(self) -> None:
        if self._out is not None and self.path is not None:
            self._out.close()
        self._out = None


def open_sink(url: str) -> EventSink:
    """The sink a URL names (not yet opened); AdsgenError listing the forms otherwise."""
    text = url.strip()
    if text == "-":
        return JsonLinesSink(None)
    if text.startswith("file:"):
        rest = text.removeprefix("file:")
        path = rest.removeprefix("//") if rest.startswith("///") else rest
        if not path or path.endswith("/"):
            raise AdsgenError(f"--to {url[:80]!r}: give a file, as file:PATH")
        return JsonLinesSink(Path(path))
    scheme = text.partition("://")[0].lower()
    if scheme in ("nats", "tls") and "://" in text:
        from adsgen.stream.nats_sink import NatsSink

        return NatsSink(text)
    if scheme in ("redis", "rediss") and "://" in text:
        from adsgen.stream.redis_sink import RedisSink

        return RedisSink(text)
    if scheme.split("+")[0] in ("sqlite", "postgresql", "mysql", "mariadb") and "://" in text:
        from adsgen.stream.db_sync import DatabaseSync

        return DatabaseSync(text)
    from adsgen.storage.database import masked_url

    raise AdsgenError(f"--to {masked_url(text)[:80]!r}: not a sink; give one of {SINK_FORMS}")
