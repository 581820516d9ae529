"""A live stream beside a server: `adsgen serve --live` syncs `adsgen stream` into the
database it serves, on a thread, so the dashboard's live feed has something to show.

The stream is `adsgen.stream.job.stream` with the database as its sink (live sync,
`adsgen.stream.db_sync`), exactly as `adsgen stream --to URL` runs it; `stop` makes its
progress callback raise, so the loop unwinds through `run_stream`'s clean-up (the sink
writes the hours it holds and closes).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from adsgen.stream.clock import Progress

__all__ = ["BackgroundStream"]


class StreamStopped(BaseException):
    """Raised by a stopped stream's progress callback (a BaseException: nothing on the way
    mistakes it for a sink's failure)."""


@dataclass
class _Stoppable(Progress):
    """The stream's progress, quiet, raising StreamStopped once `stopping` is set."""

    stopping: threading.Event = field(default_factory=threading.Event)

    def update(self, *, events: int, event_us: int | None, lag: float | None,
               final: bool = False) -> None:
        if self.stopping.is_set() and not final:
            raise StreamStopped
        self.events = events

    events: int = 0


@dataclass
class BackgroundStream:
    """`adsgen stream --to <database> …options` on a daemon thread; `on_end(message)` says
    why it ended (None: it reached its end or was stopped)."""

    options: dict[str, Any]
    on_end: Callable[[str | None], None] = lambda message: None
    _progress: _Stoppable = field(default_factory=lambda: _Stoppable(quiet=True))
    _thread: threading.Thread | None = None

    @property
    def events(self) -> int:
        """Events streamed so far."""
        return self._progress.events

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="adsgen-live-stream",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from adsgen.exceptions import AdsgenError
        from adsgen.stream.job import stream

        try:
            stream(**self.options, progress=self._progress)
        except StreamStopped:
            self.on_end(None)
        except AdsgenError as exc:
            self.on_end(str(exc).splitlines()[0])
        except Exception as exc:  # the server goes on without its stream: say why
            self.on_end(f"{type(exc).__name__}: {exc}")
        else:
            self.on_end(None)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop at the stream's next event and wait up to `timeout` seconds for it."""
        self._progress.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
