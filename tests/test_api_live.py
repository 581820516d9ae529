"""The live feed (GET /api/v1/live, Server-Sent Events) against a running `adsgen serve`: the
current delivery at once, then an update whenever the database changes, because a run
finished, because `adsgen stream` syncs into the database, or because `serve --live` runs one
itself; the numbers are the reports' numbers. And the feed's poller on its own: one query a
second however many clients, fewer on a table that is slow to count.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, func, select

from adsgen.storage import orm
from apiutil import generated, url_of
from cliutil import ADSGEN, subprocess_env
from serveutil import serving


def _updates(base: str) -> Iterator[dict[str, Any]]:
    """The `delivery` events of the feed, parsed, as they come (the stream stays open)."""
    with httpx.stream("GET", f"{base}/api/v1/live", timeout=60) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        event: dict[str, str] = {}
        for line in response.iter_lines():
            if line == "":
                if event.get("event") == "delivery":
                    yield json.loads(event["data"])
                event = {}
            elif not line.startswith(":"):
                key, _, value = line.partition(": ")
                event[key] = value


def _until(updates: Iterator[dict[str, Any]], check: Any, seconds: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    for update in updates:
        if check(update):
            return update
        assert time.monotonic() < deadline, update
    raise AssertionError("the feed ended")


def _sums(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        rows, impressions = conn.execute(select(
            func.count(), func.coalesce(func.sum(orm.Performance.impressions), 0))).one()
    return int(rows), int(impressions)


def test_a_finished_run_is_pushed(sqlite_engine: Engine) -> None:
    with serving(url_of(sqlite_engine)) as (base, _):
        updates = _updates(base)
        first = next(updates)
        assert first["rows"] == 0 and first["latest_hour"] is None and first["hours"] == []
        run = httpx.post(f"{base}/api/v1/runs", json={"command": "run-all"}).json()
        pushed = _until(updates, lambda u: u["rows"] > 0)
    rows, impressions = _sums(sqlite_engine)
    assert pushed["rows"] == rows and pushed["totals"][0]["impressions"] == impressions
    assert pushed["latest_hour"] == max(h["hour"] for h in pushed["hours"])
    assert len({h["hour"] for h in pushed["hours"]}) == 24
    assert pushed["campaigns"][0]["impressions"] >= pushed["campaigns"][-1]["impressions"]
    assert run["command"] == "run-all"


def test_a_stream_syncing_into_the_database_is_pushed(tmp_path: Path) -> None:
    from adsgen.storage.database import make_engine

    url = f"sqlite:///{tmp_path / 'live.db'}"
    engine = make_engine(url)
    with serving(url) as (base, _):
        updates = _updates(base)
        assert next(updates)["rows"] == 0
        stream = subprocess.run(
            [ADSGEN, "stream", "--to", url, "--line-items", "2", "--start", "2026-09-01",
             "--duration", "6h", "--speed", "max", "--quiet"],
            capture_output=True, text=True, timeout=300, env=subprocess_env(), check=False)
        assert stream.returncode == 0, stream.stderr
        rows, impressions = _sums(engine)
        pushed = _until(updates, lambda u: u["rows"] == rows)
    assert pushed["totals"][0]["impressions"] == impressions > 0
    assert pushed["latest_hour"] == "2026-09-01T05:00:00Z"


def test_serve_live_streams_into_the_served_database(tmp_path: Path) -> None:
    from adsgen.storage.database import make_engine

    url = f"sqlite:///{tmp_path / 'live.db'}"
    with serving(url, "--live", "--live-speed", "3600", "--live-line-items", "2") as (base, _):
        updates = _updates(base)
        grew = _until(updates, lambda u: u["rows"] > 0)
        more = _until(updates, lambda u: u["rows"] > grew["rows"])
    assert more["totals"][0]["impressions"] >= grew["totals"][0]["impressions"] > 0
    with make_engine(url).connect() as conn:  # the stream's plan: two line items
        assert conn.execute(select(func.count()).select_from(orm.LineItem)).scalar_one() == 2


def test_serve_live_on_another_dataset_says_why_it_stopped(sqlite_engine: Engine) -> None:
    import queue
    import threading

    url = generated(sqlite_engine)
    with serving(url, "--live") as (base, process):
        lines: queue.Queue[str] = queue.Queue()
        assert process.stderr is not None
        threading.Thread(target=lambda: [lines.put(line) for line in process.stderr],
                         daemon=True).start()
        deadline = time.monotonic() + 120
        while not (line := lines.get(timeout=120)).startswith("live stream stopped:"):
            assert time.monotonic() < deadline
        message = " ".join([line, lines.get(timeout=10)])  # (wrapped at the terminal's width)
        assert "holds another dataset" in " ".join(message.split()), message
        assert httpx.get(f"{base}/api/v1/health").status_code == 200  # it serves on


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest) -> Engine:
    name = {"sqlite": "sqlite_engine", "postgresql": "pg_engine"}[request.param]
    engine: Engine = request.getfixturevalue(name)
    return engine


@pytest.mark.parametrize("clients", [1, 20])
def test_the_feed_polls_once_however_many_clients(db: Engine, clients: int) -> None:
    """Every client's look within a second shares one fingerprint query; the snapshot is
    what SQL sums; a change is seen at the next look once the interval has passed."""
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import event, update

    from adsgen.api.live import LiveFeed

    generated(db)
    feed = LiveFeed(engine=db)
    queries: list[str] = []
    event.listen(db, "before_cursor_execute",
                 lambda conn, cursor, statement, *a: queries.append(statement))
    with ThreadPoolExecutor(clients) as pool:
        looks = list(pool.map(lambda _: feed.current(), range(clients * 5)))
    assert {version for version, _ in looks} == {1}
    fingerprints = [q for q in queries if "max(performance.hour)" in q]
    assert len(fingerprints) == 2  # one look's fingerprint, and the snapshot's own
    assert feed.interval >= 1.0
    snapshot = looks[0][1]
    assert (snapshot["rows"], snapshot["totals"][0]["impressions"]) == _sums(db)
    with db.begin() as conn:  # another writer (a stream's sync, a CLI command)
        conn.execute(update(orm.Performance).where(orm.Performance.line_item_id == 1)
                     .values(impressions=orm.Performance.impressions + 1))
    assert feed.current()[0] == 1  # not polled again within the interval
    time.sleep(feed.interval)
    version, changed = feed.current()
    from adsgen.runs.reports import Metric, run_report

    with db.connect() as conn:  # the reports' number (they may read the daily sums)
        reported = run_report(conn, dimensions=[], metrics=[Metric.impressions]).rows
    assert version == 2 and changed["totals"][0]["impressions"] == reported[0]["impressions"]
    assert changed["rows"] == _sums(db)[0]
