"""Background runs of the API (POST /api/v1/runs): run-all, simulate and generate as the CLI
runs them, with progress and speed; cancelling rolls the run back; one write at a time per
database (409 for the others); on SQLite and PostgreSQL.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from adsgen.storage import orm
from apiutil import API, campaign_body, client, generated, url_of


@pytest.fixture(params=["sqlite", "postgresql"])
def empty(request: pytest.FixtureRequest) -> Engine:
    """An empty database (tables, no rows), on SQLite and PostgreSQL."""
    name = {"sqlite": "sqlite_engine", "postgresql": "pg_engine"}[request.param]
    engine: Engine = request.getfixturevalue(name)
    return engine


def _wait(api: Any, run_id: str, until: Any = None, timeout: float = 300) -> dict[str, Any]:
    """Poll the run until it has ended (or `until(run)` holds); its last state."""
    deadline = time.monotonic() + timeout
    while True:
        run: dict[str, Any] = api.get(f"{API}/runs/{run_id}").json()
        if (until(run) if until else run["status"] in ("done", "failed", "cancelled")):
            return run
        assert run["status"] in ("queued", "running"), run
        assert time.monotonic() < deadline, run
        time.sleep(0.05)


def _contents(engine: Engine) -> dict[str, Any]:
    """Rows per table and the delivery's sums: what a rolled-back run must leave as it was."""
    from adsgen.storage.database import table_counts

    with engine.connect() as conn:
        perf = orm.Performance
        sums = conn.execute(select(func.sum(perf.impressions), func.sum(perf.spend_micros),
                                   func.max(perf.hour))).one()
        names = sorted(conn.execute(select(orm.Advertiser.name)).scalars())
    return {"tables": table_counts(engine), "sums": tuple(sums), "advertisers": names}


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def test_run_all_runs_in_the_background_and_reports_its_progress(empty: Engine) -> None:
    api = client(url_of(empty))
    started = api.post(f"{API}/runs", json={"command": "run-all", "seed": 42})
    assert started.status_code == 202, started.text
    run = started.json()
    assert started.headers["Location"] == f"{API}/runs/{run['id']}"
    assert run["command"] == "run-all" and run["status"] in ("queued", "running")
    ended = _wait(api, run["id"])
    assert ended["status"] == "done", ended
    assert ended["percent"] == 100.0 and ended["error"] is None
    assert ended["stage"] == "simulating performance" and ended["done"] == ended["total"] > 0
    with empty.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(orm.Performance)).scalar_one()
    assert ended["summary"]["facts"]["performance_rows"] == rows > 0
    assert ended["rows_per_second"] > 0 and ended["seconds"] > 0
    assert [r["id"] for r in api.get(f"{API}/runs").json()] == [run["id"]]
    # the same dataset as `adsgen run-all` with that seed: the CLI's function ran
    other = client(url_of(empty))  # a second run replaces the dataset: same content again
    again = _wait(other, other.post(f"{API}/runs", json={"command": "run-all"}).json()["id"])
    assert again["summary"]["facts"] == ended["summary"]["facts"]


def test_cancelling_a_run_rolls_it_back_and_one_write_at_a_time(empty: Engine) -> None:
    generated(empty)
    before = _contents(empty)
    api = client(url_of(empty))
    run = api.post(f"{API}/runs", json={"command": "run-all", "scale": 300, "seed": 7}).json()
    _wait(api, run["id"], until=lambda r: r["stage"] == "simulating performance")
    # meanwhile: a second run and every kind of write get 409 at once; reads answer
    began = time.monotonic()
    busy = _problem(api.post(f"{API}/runs", json={"command": "simulate"}), 409)
    assert run["id"] in busy["detail"]
    _problem(api.post(f"{API}/advertisers", json={
        "name": "Waiting Brand", "industry": "retail", "domain": "waiting.example"}), 409)
    patched = api.patch(f"{API}/campaigns/1", json={"status": "paused"})
    assert patched.status_code == 409, patched.text
    _problem(api.delete(f"{API}/campaigns/1"), 409)
    assert time.monotonic() - began < 10  # refused, not queued behind the run
    if empty.dialect.name == "sqlite":  # (PostgreSQL: run-all's TRUNCATE holds readers off)
        assert api.get(f"{API}/advertisers", params={"limit": 2}).status_code == 200
        read = api.get(f"{API}/reports/delivery", params={"metric": "impressions"})
        assert read.json()["rows"][0]["impressions"] == before["sums"][0]  # the old data
        print(f"\nwhile a run writes (sqlite, WAL): 4 refused writes, 2 reads in "
              f"{time.monotonic() - began:.2f} s")

    asked = time.monotonic()
    cancelling = api.delete(f"{API}/runs/{run['id']}")
    assert cancelling.status_code == 202 and cancelling.json()["cancel_requested"] is True
    ended = _wait(api, run["id"])
    print(f"\ncancelled after {time.monotonic() - asked:.2f} s "
          f"({empty.dialect.name}, at {ended['stage']} {ended['done']}/{ended['total']})")
    assert ended["status"] == "cancelled" and ended["summary"] is None
    assert _contents(empty) == before  # the cleared dataset and the new rows rolled back
    _problem(api.delete(f"{API}/runs/{run['id']}"), 409)  # ended already
    # the lock is free again
    created = api.post(f"{API}/campaigns", json=campaign_body(1))
    assert created.status_code == 201, created.text


def test_simulate_runs_the_cli_function_for_chosen_line_items(empty: Engine) -> None:
    generated(empty)
    api = client(url_of(empty))
    run = api.post(f"{API}/runs", json={"command": "simulate", "line_item_ids": [1, 2]}).json()
    ended = _wait(api, run["id"])
    assert ended["status"] == "done", ended
    assert ended["summary"]["line_items"] == 2 and ended["options"]["line_item_ids"] == [1, 2]
    missing = _wait(api, api.post(f"{API}/runs", json={
        "command": "simulate", "line_item_ids": [99999]}).json()["id"])
    assert missing["status"] == "failed" and "99999" in missing["error"]


def test_generate_loads_into_the_served_database(empty: Engine) -> None:
    import tempfile
    from pathlib import Path

    leftovers = set(Path(tempfile.gettempdir()).glob("adsgen-run-*"))
    api = client(url_of(empty))
    run = api.post(f"{API}/runs", json={"command": "generate", "line_items": 3, "days": 2,
                                         "start": "2026-09-01"}).json()
    ended = _wait(api, run["id"])
    assert ended["status"] == "done", ended
    with empty.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(orm.Performance)).scalar_one()
        items = conn.execute(select(func.count()).select_from(orm.LineItem)).scalar_one()
    assert items == ended["summary"]["line_items"] == 3
    assert rows == ended["summary"]["rows"]["performance"] > 0
    assert ended["summary"]["matches_manifest"] is True and ended["rows_per_second"] > 0
    assert set(Path(tempfile.gettempdir()).glob("adsgen-run-*")) == leftovers  # removed
    # loading the same plan again is refused by the database: the run fails, nothing changes
    again = _wait(api, api.post(f"{API}/runs", json={
        "command": "generate", "line_items": 3, "days": 2, "start": "2026-09-01"}).json()["id"])
    assert again["status"] == "failed" and again["error"]
    with empty.connect() as conn:
        assert conn.execute(select(func.count()).select_from(orm.Performance)
                            ).scalar_one() == rows


def test_a_cancelled_generate_loads_nothing(sqlite_engine: Engine) -> None:
    api = client(url_of(sqlite_engine))
    run = api.post(f"{API}/runs", json={"command": "generate", "line_items": 40,
                                        "days": 30}).json()
    _wait(api, run["id"], until=lambda r: r["unit"] == "rows" and r["done"] > 0)
    api.delete(f"{API}/runs/{run['id']}")
    ended = _wait(api, run["id"])
    assert ended["status"] == "cancelled", ended
    with sqlite_engine.connect() as conn:
        for model in (orm.Advertiser, orm.LineItem, orm.Performance):
            assert conn.execute(select(func.count()).select_from(model)).scalar_one() == 0


def test_bad_runs_are_refused(sqlite_engine: Engine) -> None:
    api = client(url_of(sqlite_engine), token="a-token-of-32-characters-0123456")
    assert api.post(f"{API}/runs", json={"command": "run-all"}).status_code == 401
    auth = {"Authorization": "Bearer a-token-of-32-characters-0123456"}
    body = _problem(api.post(f"{API}/runs", json={"command": "drop-all"}, headers=auth), 422)
    assert body["errors"][0]["pointer"].startswith("#/")
    body = _problem(api.post(f"{API}/runs", json={"command": "run-all", "scale": -1},
                             headers=auth), 422)
    assert body["errors"][0]["pointer"] == "#/run-all/scale"
    _problem(api.post(f"{API}/runs", json={"command": "generate"}, headers=auth), 422)
    _problem(api.get(f"{API}/runs/{'0' * 32}"), 404)
    _problem(api.delete(f"{API}/runs/{'0' * 32}", headers=auth), 404)
