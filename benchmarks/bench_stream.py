"""Stream benchmark: events per second of `adsgen stream --speed max` into each sink.

Streams the plan `adsgen generate --line-items N --start 2026-09-01` draws, for `--hours`
of event time, into a file (JSON lines), NATS JetStream and Redis Streams, and prints per
sink: events, seconds of streaming (planning and simulation excluded: they happen once
before the first event) and events per second, plus the expansion alone (events made per
second, no encoding, no sink), the latency at `--speed 1` (how late the latest event went
to a file, over `--latency-seconds` of real time) and the peak RSS of this process. A sink
whose server does not answer is reported as skipped.

    .venv/bin/python benchmarks/bench_stream.py
    .venv/bin/python benchmarks/bench_stream.py --line-items 20 --hours 6 --sinks file,nats
    .venv/bin/python benchmarks/bench_stream.py --nats nats://127.0.0.1:4222 \\
        --redis redis://127.0.0.1:6379/0

Targets (issue 13): >= 200,000 events/s to a file in one process, >= 50,000/s to NATS and
to Redis.
"""

from __future__ import annotations

import argparse
import resource
import secrets
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

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
    parser.add_argument("--sinks", default="file,nats,redis")
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--latency-seconds", type=int, default=30,
                        help="event seconds streamed at --speed 1 to a file (0: skip)")
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
        for name in args.sinks.split(","):
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
            live = stream(to=targets["file"], line_items=args.line_items, days=1, start=START,
                          speed=1.0, until=START + timedelta(seconds=args.latency_seconds),
                          quiet=True)
            print(f"latency at --speed 1 to a file: {live.events:,} events in "
                  f"{live.seconds:.1f} s, the latest event went {live.max_lag_seconds or 0:.3f}"
                  " s after its due time")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak:,.0f} MiB")


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
