"""The stream loop: hours of the source → events → (faults) → the sink, on the clock.

`run_stream` expands the source hour after hour (`EventWorld.expand`), lets `Faults` delay,
repeat or drop events (and write the ledger), and hands the events to the sink in chunks
the clock allows. Every `CHECKPOINT_SECONDS` and at the end it commits the sink and writes
the checkpoint: how many events were emitted, the last event id and what the sink needs to
resume. With `resume`, the same options and seed replay the same sequence, skip what the
checkpoint counted and go on, so a stream killed (even SIGKILL) and resumed delivers every
event once.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from adsgen.exceptions import AdsgenError, Interrupted
from adsgen.stream.clock import Clock, Progress
from adsgen.stream.encode import event_ids
from adsgen.stream.events import EVENT_TYPES, EventBatch
from adsgen.stream.faults import Faults
from adsgen.stream.sinks import ConsumerGone, EventSink, SinkFailed
from adsgen.stream.source import StreamSource

if TYPE_CHECKING:
    from sys import UnraisableHookArgs

__all__ = ["CHECKPOINT_SECONDS", "StreamResult", "run_stream"]

CHECKPOINT_SECONDS = 1.0
_US = 1_000_000


@dataclass
class StreamResult:
    """What a stream delivered."""

    events: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    first_event_time: str | None = None
    last_event_time: str | None = None
    last_event_id: str | None = None
    seconds: float = 0.0
    resumed_after: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    sink: str = ""
    max_lag_seconds: float | None = None
    """The most an event went after its due time (None at --speed max): how far the sink
    and the machine kept up with the clock."""
    clock_origin_us: int | None = None
    """The event time (µs) the clock started at (None: no event)."""
    clock_origin_unix: float | None = None
    """When that event time was due (Unix s): an event of time t is due at this +
    (t − clock_origin_us) / speed, which is what a sink's latency is measured against
    (`benchmarks/bench_stream.py`)."""

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"events": self.events, "by_type": self.by_type,
                "first_event_time": self.first_event_time,
                "last_event_time": self.last_event_time, "last_event_id": self.last_event_id,
                "seconds": round(self.seconds, 3),
                "events_per_second": round(self.events_per_second, 1),
                "resumed_after": self.resumed_after, "faults": self.faults, "sink": self.sink,
                "max_lag_seconds": None if self.max_lag_seconds is None
                else round(self.max_lag_seconds, 3)}


def _iso(us: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(us / _US, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _read_checkpoint(path: Path, key: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise AdsgenError(f"--resume: no checkpoint at {path}") from None
    except (OSError, ValueError) as exc:
        raise AdsgenError(f"--resume: cannot read the checkpoint {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("key") != key:
        raise AdsgenError(f"--resume: the checkpoint {path} was written by a stream with other "
                          "options, seed or sink; resume with the same ones")
    return data


def _write_checkpoint(path: Path, data: dict[str, Any]) -> None:
    """Write the checkpoint atomically (a temporary file beside it, renamed over it)."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with tmp.open("w") as handle:
            json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise AdsgenError(f"--checkpoint {path}: cannot write it: {exc.strerror or exc}"
                          ) from None


def checkpoint_key(options: dict[str, Any]) -> str:
    """A digest of everything the emitted sequence depends on."""
    return hashlib.sha256(json.dumps(options, sort_keys=True, default=str).encode()).hexdigest()


def run_stream(
    source: StreamSource,
    sink: EventSink,
    *,
    speed: float | None,
    rate: float | None = None,
    origin_us: int | None = None,
    until_us: int | None = None,
    faults: Faults | None = None,
    checkpoint: Path | None = None,
    resume: bool = False,
    key: str = "",
    progress: Progress | None = None,
) -> StreamResult:
    """Stream the source's events from its first hour to `until_us` (µs, excluded) into
    the sink; see the module docstring. `origin_us` is the event time due when the clock
    starts (default: the first hour)."""
    began = time.monotonic()
    faults = faults or Faults.none()
    state = _read_checkpoint(checkpoint, key) if resume and checkpoint is not None else None
    if checkpoint is not None and state is None:  # a folder that cannot hold it: say so now
        _write_checkpoint(checkpoint, {"key": key, "emitted": 0, "last_event_id": None,
                                       "sink": None, "faults": None})
    loop = _Loop(sink=sink, faults=faults, checkpoint=checkpoint, key=key,
                 progress=progress or Progress(quiet=True),
                 skip=int(state["emitted"]) if state else 0,
                 last_id=state.get("last_event_id") if state else None)
    loop.result.sink = sink.label
    world = source.world()
    loop.skip += sink.open(world, state["sink"] if state else None)
    loop.result.resumed_after = loop.skip
    faults.open(resume=state.get("faults") if state else None)
    if state is None:
        loop.commit()  # where the sink starts: a stream killed before a commit resumes here
    first = source.first_hour
    loop.interrupts = _Interrupts()
    try:
        if first is not None:
            loop.clock = Clock(speed=speed, rate=rate,
                               origin_event=origin_us if origin_us is not None else first * _US)
            stop_us = until_us if until_us is not None else (source.end_hour or first) * _US
            for rows in source.hours(stop=-(-stop_us // (3600 * _US)) * 3600):
                events = world.expand(rows)
                if until_us is not None:
                    events = events.take(np.flatnonzero(events.time < until_us))
                if loop.result.clock_origin_unix is None:
                    if speed is not None:  # on schedule from the first hour made, not before
                        loop.clock.restart()
                    loop.result.clock_origin_us = loop.clock.origin_event
                    loop.result.clock_origin_unix = loop.clock.origin_unix
                loop.deliver(faults.apply(events, now_us=(rows.hour + 3600) * _US))
                sink.hour_closed(rows.hour, loop.emitted)
                if speed is not None:
                    sink.idle()  # the hour's last events go out before the next is made
            loop.deliver(faults.flush())
            sink.hour_closed(-(-stop_us // (3600 * _US)) * 3600 - 3600, loop.emitted)
        loop.commit()
    except ConsumerGone:
        pass  # `| head` had enough: not an error, and nothing more to acknowledge
    except SinkFailed as exc:
        raise SinkFailed(f"{exc}; the last event delivered was {loop.last_id or 'none'}"
                         ) from None
    except KeyboardInterrupt:  # the sink keeps what it got: say so, not "nothing written"
        raise Interrupted(f"interrupted; {max(loop.emitted - loop.skip, 0):,} events "
                          f"delivered to {sink.label}, the last {loop.last_id or 'none'}"
                          ) from None
    finally:
        loop.interrupts.close()
        sink.close()
        faults.close()
    result = loop.result
    result.events = max(loop.emitted - loop.skip, 0)
    result.by_type = {EVENT_TYPES[k]: v for k, v in sorted(loop.counts.items())}
    result.last_event_id = loop.last_id
    result.faults = faults.counts()
    result.seconds = time.monotonic() - began
    loop.progress.update(events=result.events, event_us=loop.last_us, lag=None, final=True)
    return result


class _Interrupts:
    """Ctrl-C seen at once, whichever thread the kernel hands SIGINT to.

    CPython 3.11 on Linux can miss a SIGINT delivered to a thread it does not run (Arrow's
    compute threads): the handler is flagged but the main thread is not told, and a stream
    at --speed 60 kept streaming after Ctrl-C in 2 to 4 tries out of 10 here. The signal's
    number also goes to a wakeup pipe (`signal.set_wakeup_fd`), which the stream reads
    between chunks and sleeps on (`tests/test_cli_interrupt.py` presses Ctrl-C once)."""

    def __init__(self) -> None:
        import signal
        import sys

        # A SIGINT that lands while the interpreter runs a callback (an import lock's weakref
        # callback, a __del__) is printed as "Exception ignored in …" with a traceback and
        # then dropped. The wakeup pipe has the signal all the same and the stream stops on
        # it with its one line, so such a KeyboardInterrupt is not shown (`_quiet_interrupts`).
        self._unraisablehook = sys.unraisablehook
        sys.unraisablehook = _quiet_interrupts(self._unraisablehook)
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)
        try:
            self._previous: int | None = signal.set_wakeup_fd(self._write,
                                                              warn_on_full_buffer=False)
        except ValueError:  # not the main thread: signals are not ours to watch
            self._previous = None
            os.close(self._read)
            os.close(self._write)
            self._read = self._write = -1

    def check(self) -> None:
        """Raise KeyboardInterrupt if SIGINT came since the last look."""
        import signal

        if self._read < 0:
            return
        try:
            data = os.read(self._read, 512)
        except BlockingIOError:
            return
        if signal.SIGINT in data:
            raise KeyboardInterrupt

    def sleep(self, seconds: float) -> None:
        """time.sleep that a SIGINT cuts short (then KeyboardInterrupt)."""
        import select

        if self._read < 0:
            time.sleep(seconds)
            return
        select.select([self._read], [], [], seconds)
        self.check()

    def close(self) -> None:
        import signal
        import sys

        sys.unraisablehook = self._unraisablehook
        if self._read < 0:
            return
        signal.set_wakeup_fd(self._previous if self._previous is not None else -1)
        os.close(self._read)
        os.close(self._write)
        self._read = self._write = -1


def _quiet_interrupts(
    previous: Callable[[UnraisableHookArgs], object],
) -> Callable[[UnraisableHookArgs], None]:
    """An unraisable-exception hook that drops KeyboardInterrupt and passes on the rest."""

    def hook(unraisable: UnraisableHookArgs) -> None:
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):
            previous(unraisable)

    return hook


@dataclass
class _Loop:
    """The running state of one stream: counts, the last event, commits."""

    sink: EventSink
    faults: Faults
    checkpoint: Path | None
    key: str
    progress: Progress
    skip: int
    last_id: str | None
    clock: Clock | None = None
    emitted: int = 0
    counts: Counter[int] = field(default_factory=Counter)
    result: StreamResult = field(default_factory=StreamResult)
    last_commit: float = field(default_factory=time.monotonic)
    last_us: int | None = None
    interrupts: _Interrupts | None = None

    def commit(self) -> None:
        """Acknowledge what the sink got, then record it (checkpoint after the sink)."""
        sink_state = self.sink.commit()
        acknowledged = int(sink_state.pop("acknowledged", self.emitted))
        faults_state = self.faults.commit()
        if self.checkpoint is not None:
            _write_checkpoint(self.checkpoint, {
                "key": self.key, "emitted": acknowledged, "last_event_id": self.last_id,
                "sink": sink_state, "faults": faults_state})
        self.last_commit = time.monotonic()

    def deliver(self, events: EventBatch) -> None:
        """Send `events` (in emission order) on the clock, skipping what a resumed stream's
        checkpoint already counted."""
        n = len(events)
        if self.emitted + n <= self.skip:
            self.emitted += n
            return
        assert self.clock is not None
        start = max(self.skip - self.emitted, 0)
        base = self.emitted
        while start < n:
            if self.interrupts is not None:
                self.interrupts.check()
            count, wait = self.clock.take(events.emit, start)
            if count == 0:
                self.sink.idle()  # what is buffered goes out before the wait, not after
                if self.interrupts is not None:
                    self.interrupts.sleep(wait)
                else:
                    time.sleep(wait)
                continue
            part = events.take(np.arange(start, start + count))
            last_id = str(event_ids(part.take(np.array([count - 1])))[0])
            self.sink.send(part)
            start += count
            # together, no call between them: a Ctrl-C names the last event it counts
            self.emitted, self.last_id = base + start, last_id
            self.clock.sent += count
            kinds, many = np.unique(part.kind, return_counts=True)
            for k, m in zip(kinds.tolist(), many.tolist(), strict=True):
                self.counts[k] += m
            last_us = self.last_us = int(part.time[-1])
            if self.result.first_event_time is None:
                self.result.first_event_time = _iso(int(part.time[0]))
            self.result.last_event_time = _iso(last_us)
            lag = self.clock.lag(last_us)
            if lag is not None:
                self.result.max_lag_seconds = max(self.result.max_lag_seconds or 0.0, lag)
            self.progress.update(events=self.emitted - self.skip, event_us=last_us, lag=lag)
            if time.monotonic() - self.last_commit >= CHECKPOINT_SECONDS:
                self.commit()
        self.emitted = base + n
