"""Redis Streams sink: `redis://[USER:PASSWORD@]HOST:PORT/DB?stream=KEY&maxlen=N`.

Each event is one stream entry (XADD, ids chosen by Redis) with fields `event_id`, `type`
and `data` (the event's JSON line), sent in pipelines of `PIPELINE` commands; `maxlen`
(default 1,000,000, 0 for none) trims the stream approximately (`MAXLEN ~ N`) so it cannot
grow without bound. `commit` returns the id of the last entry written; a resumed stream
counts the entries written after it (sent but not checkpointed) and skips that many, so
nothing is added twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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
        if resume is None:
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
        ids = event_ids(events).to_pylist()
        lines = json_lines(events, self.world).to_pylist()
        kinds = [EVENT_TYPES[k] for k in events.kind.tolist()]
        limit = self.maxlen or None
        try:
            for begin in range(0, len(ids), PIPELINE):
                pipe = self._client.pipeline(transaction=False)
                for i in range(begin, min(begin + PIPELINE, len(ids))):
                    pipe.xadd(self.stream, {"event_id": ids[i], "type": kinds[i],
                                            "data": lines[i]},
                              maxlen=limit, approximate=True)
                added = pipe.execute()
                if added:
                    last = added[-1]
                    self._last_entry = last.decode() if isinstance(last, bytes) else str(last)
        except redis.RedisError as exc:
            raise SinkFailed(f"Redis at {self.label} failed: "
                             f"{_scrub(str(exc), self._url)}") from None

    def commit(self) -> dict[str, Any]:
        return {"last_entry": self._last_entry}

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def _scrub(message: str, url: str) -> str:
    from adsgen.storage.database import scrub

    return scrub(message, url)[:300]
