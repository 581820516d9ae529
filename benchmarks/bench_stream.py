"""Stream benchmark: events per second of `adsgen stream --speed max` into each sink, and
the latency from event time to sink at `--speed 1`.

Streams the plan `adsgen generate --line-items N --start 2026-09-01` draws, for `--hours`
of event time, into a file (JSON lines), NATS JetStream and Redis Streams, and prints per
sink: events, seconds of streaming (planning and simulation excluded: they happen once
before the first event) and events per second, plus the expansion alone (events made per
second, no encoding, no sink) and the peak RSS of this process. A sink whose server does
not answer is reported as skipped.

Latency (`--latency-seconds` of real time per sink at `--speed 1`, 0: skip): a consumer
in a thread of this process reads each event as the sink delivers it (tails the file,
subscribes to the NATS subjects, XREADs the Redis stream) and notes the wall clock at
receipt; an event's latency is that time minus its event time mapped to the wall clock by
the stream's own clock (`StreamResult.clock_origin_unix` + (event time − origin) ÷ speed):
p50, p95 and max per sink, and how many events the consumer got of those sent.

    .venv/bin/python benchmarks/bench_stream.py
    .venv/bin/python benchmarks/bench_stream.py --line-items 20 --hours 6 --sinks file,nats
    .venv/bin/python benchmarks/bench_stream.py --sinks none --latency-seconds 60
    .venv/bin/python benchmarks/bench_stream.py --nats nats://127.0.0.1:4222 \\
        --redis redis://127.0.0.1:6379/0

Targets (issue 13): >= 200,000 events/s to a file in one process, >= 50,000/s to NATS and
to Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from adsgen.exceptions import AdsgenError
from adsgen.stream.events import EventBatch
from adsgen.stream.job import stream
from adsgen.stream.source import plan_source

START = datetime(2026, 9, 1)


def _expansion(line_items: int, hours: int) -> tuple[int, float]:
    source = plan_source(seed=42, line_items=line_items, advertisers=None, days=-(-hours // 24),
                         start=START, platform="netflix_like")
    world = source.world()
    began = time.perf_counter()
    made = 0
    for k, rows in enumerate(source.hours()):
        if k >= hours:
            break
        events: EventBatch = world.expand(rows)
        made += len(events)
    return made, time.perf_counter() - began


def main() -> None:
    """Run each sink, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--line-items", type=int, default=20)
    parser.add_argument("--hours", type=int, default=6)
    parser.add_argument("--sinks", default="file,nats,redis",
                        help="sinks of the --speed max run (none: skip it)")
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--latency-seconds", type=int, default=30,
                        help="event seconds streamed at --speed 1 into each sink (0: skip)")
    parser.add_argument("--latency-sinks", default="file,nats,redis")
    args = parser.parse_args()
    token = secrets.token_hex(3)
    made, seconds = _expansion(args.line_items, args.hours)
    print(f"expansion only: {made:,} events in {seconds:.2f} s = {made / seconds:,.0f} events/s")
    with tempfile.TemporaryDirectory() as folder:
        targets = {
            "file": f"file:{Path(folder) / 'events.jsonl'}",
            "nats": f"{args.nats.rstrip('/')}/adsgenbench.{token}?stream=ADSGEN_BENCH_{token}",
            "redis": f"{args.redis}?stream=adsgen-bench-{token}&maxlen=100000",
        }
        for name in [n for n in args.sinks.split(",") if n != "none"]:
            try:
                result = stream(to=targets[name], line_items=args.line_items,
                                days=-(-args.hours // 24), start=START, speed=None,
                                until=START + timedelta(hours=args.hours), quiet=True)
            except AdsgenError as exc:
                print(f"{name}: skipped ({exc})")
                continue
            print(f"{name}: {result.events:,} events in {result.seconds:.2f} s = "
                  f"{result.events_per_second:,.0f} events/s")
            _clean(name, args, token)
        if args.latency_seconds:
            targets["file"] = f"file:{Path(folder) / 'latency.jsonl'}"  # a new file to tail
            for name in args.latency_sinks.split(","):
                _latency(name, targets[name], args)
                _clean(name, args, token)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak:,.0f} MiB")


class _Receiver:
    """Collects (wall clock at receipt, event time text) of every event a sink delivers,
    in a thread, until stopped."""

    def __init__(self, read: Callable[[_Receiver], None]) -> None:
        self.got: list[tuple[float, str, str]] = []
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(read,), daemon=True)
        self._thread.start()
        self.ready.wait(10)

    def _run(self, read: Callable[[_Receiver], None]) -> None:
        try:
            read(self)
        except BaseException as exc:  # reported by `finish`
            self.error = exc
            self.ready.set()

    def add(self, line: bytes | str) -> None:
        event = json.loads(line)
        self.got.append((time.time(), event["time"], event["event_id"]))

    def finish(self, expected: int, grace: float = 5.0) -> None:
        """Wait until `expected` events came (or `grace` s more), then stop the thread."""
        deadline = time.monotonic() + grace
        while len(self.got) < expected and time.monotonic() < deadline and self.error is None:
            time.sleep(0.05)
        self.stop.set()
        self._thread.join(10)
        if self.error is not None:
            raise self.error


def _tail(path: Path) -> Callable[[_Receiver], None]:
    def read(rx: _Receiver) -> None:
        rx.ready.set()
        while not path.exists():
            if rx.stop.wait(0.002):
                return
        with path.open("rb") as handle:
            pending = b""
            while not rx.stop.is_set():
                chunk = handle.read(1 << 20)
                if not chunk:
                    time.sleep(0.002)
                    continue
                lines = (pending + chunk).split(b"\n")
                pending = lines.pop()
                for line in lines:
                    rx.add(line)
    return read


def _nats_reader(server: str, subject: str) -> Callable[[_Receiver], None]:
    def read(rx: _Receiver) -> None:
        import nats

        async def run() -> None:
            nc = await nats.connect(server)

            async def got(msg: object) -> None:
                rx.add(msg.data)  # type: ignore[attr-defined]

            await nc.subscribe(f"{subject}.>", cb=got)
            await nc.flush()
            rx.ready.set()
            while not rx.stop.is_set():
                await asyncio.sleep(0.01)
            await nc.drain()

        asyncio.run(run())
    return read


def _redis_reader(url: str, key: str) -> Callable[[_Receiver], None]:
    def read(rx: _Receiver) -> None:
        import redis

        client = redis.Redis.from_url(url)
        last = "0-0"
        rx.ready.set()
        while not rx.stop.is_set():
            answer = client.xread({key: last}, count=10_000, block=50)
            for _, entries in answer or ():
                for entry_id, fields in entries:
                    rx.add(fields[b"data"])
                    last = entry_id
        client.close()
    return read


def _latency(name: str, target: str, args: argparse.Namespace) -> None:
    """Stream `--latency-seconds` at --speed 1 into the sink with a consumer reading it;
    print the latency from event time to receipt: p50, p95, max."""
    readers = {
        "file": lambda: _tail(Path(target.removeprefix("file:"))),
        "nats": lambda: _nats_reader(args.nats, target.split("/")[-1].split("?")[0]),
        "redis": lambda: _redis_reader(args.redis, target.split("stream=")[1].split("&")[0]),
    }
    try:
        rx = _Receiver(readers[name]())
        if rx.error is not None:
            raise rx.error
        live = stream(to=target, line_items=args.line_items, days=1, start=START, speed=1.0,
                      until=START + timedelta(seconds=args.latency_seconds), quiet=True)
        rx.finish(live.events)
    except (AdsgenError, OSError, ConnectionError) as exc:
        print(f"latency to {name}: skipped ({exc})")
        return
    except Exception as exc:  # a client library's own error: the server is not there
        print(f"latency to {name}: skipped ({type(exc).__name__}: {exc})")
        return
    if not rx.got or live.clock_origin_unix is None or live.clock_origin_us is None:
        print(f"latency to {name}: no event received of {live.events:,} sent")
        return
    # first receipt of each event id (a NATS subscriber also sees the copy `commit` sends)
    _, first = np.unique(np.array([i for _, _, i in rx.got]), return_index=True)
    got = [rx.got[k] for k in np.sort(first)]
    received = np.array([t for t, _, _ in got])
    times = np.array([e.rstrip("Z") for _, e, _ in got], dtype="datetime64[us]")
    due = live.clock_origin_unix + (times.astype(np.int64) - live.clock_origin_us) / 1e6
    late = received - due
    p50, p95 = np.percentile(late, [50, 95])
    print(f"latency at --speed 1 to {name}: {len(got):,} of {live.events:,} events "
          f"received over {live.seconds:.1f} s; event time to receipt p50 {p50 * 1e3:,.1f} ms, "
          f"p95 {p95 * 1e3:,.1f} ms, max {late.max() * 1e3:,.1f} ms (the stream's own "
          f"max lag {(live.max_lag_seconds or 0) * 1e3:,.1f} ms)")


def _clean(name: str, args: argparse.Namespace, token: str) -> None:
    """Remove what the benchmark wrote to the servers."""
    if name == "redis":
        import redis

        client = redis.Redis.from_url(args.redis)
        client.delete(f"adsgen-bench-{token}")
        client.close()
    elif name == "nats":
        import asyncio

        import nats

        async def drop() -> None:
            nc = await nats.connect(args.nats)
            await nc.jetstream().delete_stream(f"ADSGEN_BENCH_{token}")
            await nc.close()

        asyncio.run(drop())


if __name__ == "__main__":
    main()
