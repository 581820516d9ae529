"""The live feed of `adsgen serve` under load: clients on GET /api/v1/live while runs change
the delivery.

    .venv/bin/python benchmarks/bench_live.py [--clients 50] [--seconds 30] [--db URL]

Builds the run-all dataset in a temporary SQLite file (or uses `--db`), starts `adsgen serve`
on 127.0.0.1, opens `--clients` Server-Sent Events streams for `--seconds`, and meanwhile
starts a background run (`simulate` of line item 1) every few seconds. Prints how long the
first event took (p50, p95, max), how long after each run finished every client had the
update (p50, p95, max), and errors: connections refused or dropped, runs that failed.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx


def _quantiles(values: list[float]) -> str:
    if not values:
        return "none"
    p95 = statistics.quantiles(values, n=20)[18] if len(values) > 1 else values[0]
    return (f"p50 {statistics.median(values) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
            f"max {max(values) * 1000:.0f} ms")


async def _client(base: str, began: float, stop: float, firsts: list[float],
                  arrivals: list[list[float]], errors: list[str]) -> None:
    seen: list[float] = []
    arrivals.append(seen)
    try:
        async with httpx.AsyncClient(timeout=httpx.Timeout(10, read=None)) as http, \
                http.stream("GET", f"{base}/api/v1/live") as response:
            response.raise_for_status()
            async for line in response.aiter_lines():
                if line.startswith("event: delivery"):
                    now = time.monotonic()
                    if not seen:
                        firsts.append(now - began)
                    seen.append(now)
                if time.monotonic() > stop:
                    return
    except (httpx.HTTPError, OSError) as exc:
        errors.append(f"{type(exc).__name__}: {exc}")


async def _runs(base: str, stop: float, finished: list[float], errors: list[str]) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        await asyncio.sleep(3)
        while time.monotonic() < stop - 6:
            run = (await http.post(f"{base}/api/v1/runs", json={
                "command": "simulate", "line_item_ids": [1]})).json()
            while True:
                status = (await http.get(f"{base}/api/v1/runs/{run['id']}")).json()
                if status["status"] not in ("queued", "running"):
                    break
                await asyncio.sleep(0.02)
            if status["status"] == "done":
                finished.append(time.monotonic())
            else:
                errors.append(f"run {status['status']}: {status['error']}")
            await asyncio.sleep(4)


async def _load(base: str, clients: int, seconds: float) -> None:
    began = time.monotonic()
    stop = began + seconds
    firsts: list[float] = []
    arrivals: list[list[float]] = []
    finished: list[float] = []
    errors: list[str] = []
    await asyncio.gather(*[_client(base, began, stop, firsts, arrivals, errors)
                           for _ in range(clients)], _runs(base, stop, finished, errors))
    delays = []
    for done in finished:
        for seen in arrivals:
            after = [t for t in seen if t >= done - 0.05]  # (run status polled every 20 ms)
            if after:
                delays.append(max(after[0] - done, 0.0))
    print(f"live feed: {clients} clients × {seconds:.0f} s, {len(finished)} runs finished")
    print(f"  first event: {_quantiles(firsts)} ({len(firsts)} of {clients} clients)")
    print(f"  update after a run finished: {_quantiles(delays)} "
          f"({len(delays)} of {len(finished) * clients} client × run pairs)")
    print(f"  errors: {len(errors)}" + (f" (first: {errors[0]})" if errors else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="an existing database to use instead of building one")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from adsgen.runs.database import run_all
    from serveutil import serving

    with tempfile.TemporaryDirectory(prefix="adsgen-bench-live-") as folder:
        url = args.db
        if url is None:
            url = f"sqlite:///{Path(folder) / 'ads.db'}"
            run_all(db=url, seed=42)
        with serving(url, "--quiet") as (base, _):
            asyncio.run(_load(base, args.clients, args.seconds))


if __name__ == "__main__":
    main()
