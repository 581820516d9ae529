"""The stream's clock: when each event is due on the wall clock, a rate ceiling, progress.

Event time maps to wall time by `speed`: an event `speed` × seconds after the clock's
origin is due that many wall seconds after the stream began (speed 1: real time; 60: an
hour a minute; None, `--speed max`: no waiting). `rate` caps events per wall second
whatever the speed. `Clock.take` says how many of the next events may go now, or how long
to sleep first; `Progress` prints one line on stderr about once a second: event time, wall
time, events so far, events/s and lag (how far behind schedule the last event went).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TextIO

import numpy as np

__all__ = ["CHUNK_EVENTS", "Clock", "Progress", "parse_speed"]

CHUNK_EVENTS = 20_000
"""Most events handed to a sink at once."""
_MAX_SLEEP = 0.25


def parse_speed(text: str) -> float | None:
    """`--speed`: a positive number (1 = real time) or `max` (None); ValueError otherwise."""
    if text.strip().lower() == "max":
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"--speed must be a positive number or max, got {text[:80]!r}") from None
    if not 0 < value < 1e9 or value != value:
        raise ValueError(f"--speed must be a positive number or max, got {text[:80]!r}")
    return value


@dataclass
class Clock:
    """Maps event time (µs) to wall time (monotonic s) and meters events by `rate`."""

    speed: float | None
    rate: float | None
    origin_event: int
    """The event time (µs) due at the moment the clock started."""
    origin_wall: float = field(default_factory=time.monotonic)
    origin_unix: float = field(default_factory=time.time)
    """`origin_wall` on the system clock (Unix s): when `origin_event` was due, for a
    consumer in another process that times events against the stream's schedule."""
    sent: int = 0

    def restart(self) -> None:
        """Put the origin event due now (the stream's first hour is made only now)."""
        self.origin_wall, self.origin_unix = time.monotonic(), time.time()

    def due(self, event_us: int) -> float:
        """Wall time (monotonic s) at which an event of this time is due."""
        if self.speed is None:
            return self.origin_wall
        return self.origin_wall + (event_us - self.origin_event) / 1e6 / self.speed

    def take(self, emit: np.ndarray, start: int) -> tuple[int, float]:
        """(how many events from `start` may go now, seconds to sleep when none may)."""
        now = time.monotonic()
        stop = min(len(emit), start + CHUNK_EVENTS)
        if self.speed is not None:
            horizon = self.origin_event + (now - self.origin_wall) * self.speed * 1e6
            stop = min(stop, int(np.searchsorted(emit, horizon, side="right")))
            if stop <= start:
                return 0, min(max(self.due(int(emit[start])) - now, 0.001), _MAX_SLEEP)
        if self.rate is not None:
            allowed = int(self.rate * (now - self.origin_wall)) - self.sent
            if allowed < 1:
                return 0, min((1 - allowed) / self.rate, _MAX_SLEEP)
            stop = min(stop, start + allowed)
        return stop - start, 0.0

    def lag(self, event_us: int) -> float | None:
        """Seconds the event went after it was due (None at --speed max)."""
        if self.speed is None:
            return None
        return max(time.monotonic() - self.due(event_us), 0.0)


@dataclass
class Progress:
    """One line on stderr about once a second (and at the end), unless quiet."""

    quiet: bool = False
    every: float = 1.0
    out: TextIO = field(default_factory=lambda: sys.stderr)
    began: float = field(default_factory=time.monotonic)
    _last: float = field(default_factory=time.monotonic)

    def update(self, *, events: int, event_us: int | None, lag: float | None,
               final: bool = False) -> None:
        now = time.monotonic()
        if self.quiet or (not final and now - self._last < self.every):
            return
        self._last = now
        wall = now - self.began
        when = ("-" if event_us is None else
                datetime.fromtimestamp(event_us / 1e6, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        rate = events / wall if wall > 0 else 0.0
        lag_text = "-" if lag is None else f"{lag:.1f} s"
        minutes, seconds = divmod(int(wall), 60)
        self.out.write(f"stream: event time {when}  wall {minutes // 60}:{minutes % 60:02d}:"
                       f"{seconds:02d}  events {events:,}  {rate:,.0f}/s  lag {lag_text}\n")
        self.out.flush()
