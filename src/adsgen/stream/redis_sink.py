"""Redis Streams sink: `redis://[USER:PASSWORD@]HOST:PORT/DB?stream=KEY&maxlen=N`.

Each event is one stream entry (XADD, ids chosen by Redis) with fields `event_id`, `type`
and `data` (the event's JSON line), sent in pipelines of `PIPELINE` commands written to the
socket as the Redis protocol built column-wise by Arrow (redis-py's per-command packing
would cost more than everything else; hiredis parses the replies); `maxlen`
(default 1,000,000, 0 for none) trims the stream approximately (`MAXLEN ~ N`) so it cannot
grow without bound. `commit` returns the id of the last entry written; a resumed stream
counts the entries written after it (sent but not checkpointed) and skips that many, so
nothing is added twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from adsgen.exceptions import AdsgenError
from adsgen.stream.encode import event_ids, json_lines
from adsgen.stream.events import EVENT_TYPES, EventBatch, EventWorld
from adsgen.stream.sinks import EventSink, SinkFailed

if TYPE_CHECKING:
    import redis

__all__ = ["DEFAULT_MAXLEN", "DEFAULT_STREAM", "RedisSink"]

DEFAULT_STREAM = "adsgen:events"
DEFAULT_MAXLEN = 1_000_000
PIPELINE = 2_000
_TYPES = pa.array(EVENT_TYPES, type=pa.string())


class RedisSink(EventSink):
    """Events as entries of one Redis stream."""

    def __init__(self, url: str) -> None:
        from adsgen.storage.database import masked_url

        self.label = masked_url(url)
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        self.stream = query.pop("stream", DEFAULT_STREAM) or DEFAULT_STREAM
        try:
            self.maxlen = int(query.pop("maxlen", DEFAULT_MAXLEN))
        except ValueError:
            raise AdsgenError(f"--to {self.label}: maxlen must be a whole number") from None
        if self.maxlen < 0:
            raise AdsgenError(f"--to {self.label}: maxlen must be 0 (no limit) or more")
        self._url = urlunsplit(parts._replace(query=urlencode(query)))
        self._client: redis.Redis | None = None
        self._last_entry: str | None = None
        self._conn: Any = None

    def open(self, world: EventWorld, resume: dict[str, Any] | None) -> int:
        super().open(world, resume)
        import redis

        try:
            self._client = redis.Redis.from_url(self._url, socket_connect_timeout=5,
                                                socket_timeout=30)
            self._client.ping()
        except (redis.RedisError, ValueError) as exc:
            raise AdsgenError(f"cannot reach Redis at {self.label}: "
                              f"{_scrub(str(exc), self._url)}") from None
        if resume is None:  # entries already there are not this stream's
            top = self._client.xrevrange(self.stream, count=1)
            if top:
                first = top[0][0]
                self._last_entry = first.decode() if isinstance(first, bytes) else str(first)
            return 0
        self._last_entry = resume.get("last_entry")
        after = f"({self._last_entry}" if self._last_entry else "-"
        extra = 0
        while True:
            page = self._client.xrange(self.stream, min=after, max="+", count=10_000)
            if not page:
                return extra
            extra += len(page)
            last = page[-1][0]
            after = f"({last.decode() if isinstance(last, bytes) else last}"
            self._last_entry = after[1:]

    def send(self, events: EventBatch) -> None:
        import redis

        assert self._client is not None
        if not len(events):
            return
        ids = event_ids(events)
        lines = json_lines(events, self.world)
        kinds = _TYPES.take(pa.array(events.kind.astype(np.int64)))
        commands = _resp_xadd(self.stream, self.maxlen, ids, kinds, lines)
        offsets = np.frombuffer(commands.buffers()[1], dtype=np.int32,
                                count=len(commands) + 1, offset=commands.offset * 4)
        data = memoryview(commands.buffers()[2])
        connection = self._connection()
        try:
            for begin in range(0, len(events), PIPELINE):
                end = min(begin + PIPELINE, len(events))
                connection.send_packed_command([data[offsets[begin]:offsets[end]]],
                                               check_health=False)
                last = None
                for _ in range(end - begin):  # one reply per entry, parsed by hiredis
                    last = connection.read_response()
                if last is not None:
                    self._last_entry = last.decode() if isinstance(last, bytes) else str(last)
        except redis.RedisError as exc:
            connection.disconnect()
            raise SinkFailed(f"Redis at {self.label} failed: "
                             f"{_scrub(str(exc), self._url)}") from None

    def _connection(self) -> Any:
        """The client's connection, held for the sink's life (raw pipelined writes)."""
        if self._conn is None:
            assert self._client is not None
            self._conn = self._client.connection_pool.get_connection()
        return self._conn

    def commit(self) -> dict[str, Any]:
        return {"last_entry": self._last_entry}

    def close(self) -> None:
        if self._conn is not None and self._client is not None:
            self._client.connection_pool.release(self._conn)
            self._conn = None
        if self._client is not None:
            self._client.close()
            self._client = None


def _bulk(values: pa.Array) -> list[pa.Array | str]:
    """RESP bulk strings of each value: `$<bytes>\r\n<value>\r\n`."""
    return ["$", pc.cast(pc.binary_length(values), pa.string()), "\r\n", values, "\r\n"]


def _resp_xadd(stream: str, maxlen: int, ids: pa.Array, kinds: pa.Array,
               lines: pa.Array) -> pa.Array:
    """One `XADD stream [MAXLEN ~ N] * event_id ID type TYPE data LINE` per event, in the
    Redis protocol (RESP), built column-wise: written to the socket as they are."""
    words = ["XADD", stream, *(["MAXLEN", "~", str(maxlen)] if maxlen else []), "*"]
    head = f"*{len(words) + 6}\r\n" + "".join(
        f"${len(w.encode())}\r\n{w}\r\n" for w in words)
    return pc.binary_join_element_wise(
        head, "$8\r\nevent_id\r\n", *_bulk(ids), "$4\r\ntype\r\n", *_bulk(kinds),
        "$4\r\ndata\r\n", *_bulk(lines), "")


def _scrub(message: str, url: str) -> str:
    from adsgen.storage.database import scrub

    return scrub(message, url)[:300]
