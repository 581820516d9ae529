"""A live stream hands each event to its sink when it is due, and no later than it must.

At a finite `--speed` the stream waits for its clock between batches; before each wait it
tells the sink to push out what it buffered (`EventSink.idle`), so a reader tailing a file
sees the events then, not when a buffer fills or the next commit comes. The clock starts
once the first hour's events are made, and `StreamResult.clock_origin_unix` says when the
origin was due, which is what `benchmarks/bench_stream.py` measures latency against: no
batch goes before its first event is due. At `--speed max` there is no wait, so no flush
costs anything.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import pytest

from adsgen.stream.events import EventBatch
from adsgen.stream.run import run_stream
from adsgen.stream.sinks import JsonLinesSink
from adsgen.stream.source import StreamSource, plan_source

START = datetime(2026, 9, 1)
_US = 1_000_000


class _Watched(JsonLinesSink):
    """A file sink that notes when each batch went and what a reader saw at each idle."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.sends: list[tuple[float, int]] = []
        self.sizes: list[int] = []
        self.idles: list[tuple[int, int]] = []

    def send(self, events: EventBatch) -> None:
        self.sends.append((time.time(), int(events.emit[0])))
        before = self._size
        super().send(events)
        self.sizes.append(self._size - before)

    def idle(self) -> None:
        super().idle()
        assert self.path is not None
        self.idles.append((self.path.stat().st_size, self._size))


@pytest.fixture(scope="module")
def source() -> StreamSource:
    return plan_source(seed=42, line_items=2, advertisers=None, days=1, start=START,
                       platform="netflix_like")


def test_a_waiting_stream_hands_the_reader_every_event_sent(source: StreamSource,
                                                           tmp_path: Path) -> None:
    sink = _Watched(tmp_path / "events.jsonl")
    until = int(START.timestamp()) * _US + 4 * _US  # 4 s at 2 × real time: 2 s
    result = run_stream(source, sink, speed=2.0, until_us=until)
    assert result.events > 0 and len(sink.sends) > 1
    assert len(sink.idles) >= 2  # it waited, and flushed before waiting
    assert any(len_ < 8192 for len_ in sink.sizes)  # batches a file buffer would keep
    assert all(on_disk == written for on_disk, written in sink.idles)
    assert result.clock_origin_unix is not None and result.clock_origin_us is not None
    for sent_at, first_us in sink.sends:  # never before due (1 ms: the clocks' rounding)
        due = result.clock_origin_unix + (first_us - result.clock_origin_us) / _US / 2.0
        assert sent_at >= due - 0.001


def test_at_speed_max_nothing_waits_or_flushes(source: StreamSource, tmp_path: Path) -> None:
    sink = _Watched(tmp_path / "events.jsonl")
    until = int(START.timestamp()) * _US + 2 * 3600 * _US
    result = run_stream(source, sink, speed=None, until_us=until)
    assert result.events > 0 and sink.idles == []
