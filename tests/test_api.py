"""The REST API of `adsgen serve` through FastAPI's TestClient, on SQLite and PostgreSQL.

Lists page through every row exactly once, reports equal the sums SQL gives, creates go
through the same code as the CLI (and are simulated), changes re-simulate, errors are RFC
9457 problem details naming the field, and the security rules hold (token for writes,
body cap, no database secret in any answer).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text

from adsgen.storage import orm
from apiutil import API, campaign_body, client, generated, url_of


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["instance"]
    return body


def test_lists_page_through_every_row_once_in_sort_order(db: Engine) -> None:
    api = client(url_of(db))
    for kind, model in (("advertisers", orm.Advertiser), ("campaigns", orm.Campaign),
                        ("line-items", orm.LineItem), ("creatives", orm.Creative)):
        with db.connect() as conn:
            expected = [row.id for row in conn.execute(
                select(model.id).order_by(model.name.desc(), model.id))]
        seen: list[int] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"sort": "-name", "limit": 3}
            if cursor:
                params["cursor"] = cursor
            page = api.get(f"{API}/{kind}", params=params).json()
            assert len(page["items"]) <= 3
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == expected, kind


def test_filters_and_reads(db: Engine) -> None:
    api = client(url_of(db))
    campaigns = api.get(f"{API}/campaigns", params={"advertiser_id": 2}).json()["items"]
    with db.connect() as conn:
        ids = list(conn.execute(select(orm.Campaign.id).where(orm.Campaign.advertiser_id == 2)
                                .order_by(orm.Campaign.id)).scalars())
    assert [c["id"] for c in campaigns] == ids and ids
    creatives = api.get(f"{API}/creatives", params={"advertiser_id": 2}).json()["items"]
    with db.connect() as conn:
        expected = conn.execute(
            select(func.count()).select_from(orm.Creative)
            .join(orm.LineItem, orm.LineItem.id == orm.Creative.line_item_id)
            .join(orm.Campaign, orm.Campaign.id == orm.LineItem.campaign_id)
            .where(orm.Campaign.advertiser_id == 2)).scalar_one()
    assert len(creatives) == expected > 0
    one = api.get(f"{API}/campaigns/{ids[0]}").json()
    assert one["advertiser_id"] == 2 and one["flight"]["start"].endswith("Z")
    assert one["created_at"].endswith("Z")
    _problem(api.get(f"{API}/campaigns/999999"), 404)
    _problem(api.get(f"{API}/advertisers", params={"limit": 1001}), 422)
    _problem(api.get(f"{API}/advertisers", params={"cursor": "bm9wZQ"}), 400)


def test_delivery_report_is_the_sql_sum(any_db: Engine) -> None:
    db = any_db
    api = client(url_of(db))
    with db.connect() as conn:
        total, spend = conn.execute(select(func.sum(orm.Performance.impressions),
                                           func.sum(orm.Performance.spend_micros))).one()
    report = api.get(f"{API}/reports/delivery", params={
        "dimension": ["campaign", "date"], "metric": ["impressions", "spend", "vcr"],
        "limit": 10000}).json()
    assert not report["truncated"]
    assert sum(row["impressions"] for row in report["rows"]) == int(total)
    assert sum(row["spend"] for row in report["rows"]) == pytest.approx(int(spend) / 1e6)
    assert {row["currency"] for row in report["rows"]} == {"USD"}
    assert all(type(row["impressions"]) is int for row in report["rows"])  # not 1.0e6
    assert all(0 <= row["vcr"] <= 1 for row in report["rows"] if row["vcr"] is not None)
    heat = api.get(f"{API}/reports/delivery", params={
        "dimension": ["weekday", "hour_of_day"], "metric": "impressions"}).json()["rows"]
    assert len(heat) == 7 * 24
    assert {r["weekday"] for r in heat} == set(range(1, 8))
    assert sum(r["impressions"] for r in heat) == int(total)
    one_day = api.get(f"{API}/reports/delivery", params={
        "dimension": "hour", "metric": "impressions", "start": "2026-09-10",
        "end": "2026-09-10"}).json()["rows"]
    assert len(one_day) == 24 and all(r["hour"].startswith("2026-09-10T") for r in one_day)
    top = api.get(f"{API}/reports/delivery", params={
        "dimension": "line_item", "metric": "impressions", "sort": "-impressions",
        "limit": 2}).json()
    assert top["truncated"] and top["rows"][0]["impressions"] >= top["rows"][1]["impressions"]
    _problem(api.get(f"{API}/reports/delivery", params={"metric": "impressions",
                                                        "sort": "nope"}), 400)
    _problem(api.get(f"{API}/reports/delivery", params={"metric": "reach"}), 422)


def _sums(rows: list[dict[str, Any]], by: str | None, *names: str) -> dict[Any, tuple[Any, ...]]:
    """Rows summed per value of `by` (None: all): integers exact, spend to the micro."""
    out: dict[Any, list[Any]] = {}
    for row in rows:
        acc = out.setdefault(None if by is None else row[by], [0] * len(names))
        for k, name in enumerate(names):
            acc[k] += row[name]
    return {key: tuple(round(v, 6) if isinstance(v, float) else v for v in acc)
            for key, acc in out.items()}


def test_geo_and_platform_reports_add_up_to_the_delivery_report(any_db: Engine) -> None:
    """By geo: summed in the database from the weekly geo split, the same totals per
    advertiser, device and whole weeks as the delivery report; platform: the line items'."""
    api = client(url_of(any_db))

    def report(**params: Any) -> list[dict[str, Any]]:
        answer = api.get(f"{API}/reports/delivery", params={"limit": 10000, **params})
        assert answer.status_code == 200, answer.text
        assert not answer.json()["truncated"]
        rows: list[dict[str, Any]] = answer.json()["rows"]
        return rows

    metrics = ["impressions", "conversions", "spend"]
    geo = report(dimension=["geo", "advertiser"], metric=[*metrics, "ecpm"])
    assert len({r["geo"] for r in geo}) > 1 and {r["currency"] for r in geo} == {"USD"}
    flat = report(dimension="advertiser", metric=metrics)
    assert _sums(geo, "advertiser_id", *metrics) == _sums(flat, "advertiser_id", *metrics)
    row = max(geo, key=lambda r: r["impressions"])
    assert row["ecpm"] == pytest.approx(row["spend"] / row["impressions"] * 1000)
    by_device = report(dimension=["device", "geo"], metric=metrics)
    assert _sums(by_device, "device", *metrics) == _sums(
        report(dimension="device", metric=metrics), "device", *metrics)
    one = report(dimension="geo", metric=metrics, advertiser_id=2, device="ctv")
    assert one and all(r["impressions"] > 0 for r in one)
    assert _sums(one, None, *metrics) == _sums(
        report(metric=metrics, advertiser_id=2, device="ctv"), None, *metrics)
    week = {"start": "2026-09-07", "end": "2026-09-13"}  # Monday to Sunday
    assert report(dimension="geo", metric="impressions", **week)[0]["impressions"] > 0
    assert _sums(report(dimension="geo", metric=metrics, **week), None, *metrics) == _sums(
        report(metric=metrics, **week), None, *metrics)
    for refused in ({"dimension": ["geo", "campaign"]}, {"dimension": "geo", "metric": "vcr"},
                    {"dimension": "geo", "start": "2026-09-08"},
                    {"dimension": "geo", "line_item_id": 1}):
        problem = _problem(api.get(f"{API}/reports/delivery", params={
            "metric": "impressions", **refused}), 400)
        assert "geo" in problem["detail"]

    platform = report(dimension=["platform", "device"], metric="impressions",
                      sort=["-platform", "-impressions"])
    with any_db.connect() as conn:  # each line item's own platform, summed in SQL
        truth = dict(conn.execute(
            select(orm.LineItem.platform, func.sum(orm.Performance.impressions))
            .join(orm.LineItem, orm.LineItem.id == orm.Performance.line_item_id)
            .group_by(orm.LineItem.platform)).all())
    assert len(truth) > 1  # the default dataset buys on several platforms
    assert _sums(platform, "platform", "impressions") == {
        name: (int(total),) for name, total in truth.items()}
    assert sum(r["impressions"] for r in platform) == sum(r["impressions"] for r in flat)
    for name in truth:  # sorted by platform (descending), then impressions within it
        own = [r["impressions"] for r in platform if r["platform"] == name]
        assert own == sorted(own, reverse=True)
    problem = _problem(api.get(f"{API}/reports/delivery", params={
        "metric": "impressions", "dimension": ["platform", "geo"]}), 400)
    assert "platform" in problem["detail"] and "geo" in problem["detail"]


def test_pacing_reach_and_truth_reports(any_db: Engine) -> None:
    db = any_db
    api = client(url_of(db))
    pacing = api.get(f"{API}/reports/pacing", params={"campaign_id": 1}).json()["rows"]
    with db.connect() as conn:
        delivered = conn.execute(text(
            "SELECT SUM(delivered_impressions) FROM pacing p JOIN line_items l"
            " ON l.id = p.line_item_id WHERE l.campaign_id = 1")).scalar_one()
    assert sum(r["delivered_impressions"] for r in pacing) == int(delivered)
    for row in pacing:
        reasons = sum(row[k] for k in row if k.startswith("shortfall_") and
                      k != "shortfall_impressions")
        assert reasons == row["shortfall_impressions"]
    reach = api.get(f"{API}/reports/reach").json()
    assert reach["line_items"] and all(r["reach"] <= r["targetable_households"]
                                       for r in reach["line_items"])
    assert [b["frequency"] for b in reach["frequency_distribution"]][-1] == "10+"
    truth = api.get(f"{API}/reports/truth").json()
    assert 0 < truth["rates"]["true_vcr"] <= 1 and 0 < truth["rates"]["observed_vcr"] <= 1
    assert truth["conversions"] and all(
        {"day", "baseline", "incremental", "attributed"} <= set(r) for r in truth["conversions"])


def test_create_is_simulated_idempotent_and_validated(db: Engine) -> None:
    api = client(url_of(db))
    body = campaign_body(2)
    created = api.post(f"{API}/campaigns", json=body, headers={"Idempotency-Key": "k-1"})
    assert created.status_code == 201, created.text
    campaign = created.json()
    assert created.headers["location"] == f"{API}/campaigns/{campaign['id']}"
    assert campaign["name"] == "API Launch" and campaign["budget"]["amount"] == "20000.00"
    again = api.post(f"{API}/campaigns", json=body, headers={"Idempotency-Key": "k-1"})
    assert again.status_code == 201 and again.json()["id"] == campaign["id"]
    assert again.headers["idempotent-replayed"] == "true"
    with db.connect() as conn:
        named = conn.execute(select(func.count()).select_from(orm.Campaign)
                             .where(orm.Campaign.name == "API Launch")).scalar_one()
    assert named == 1
    other = api.post(f"{API}/campaigns", json={**body, "name": "Other"},
                     headers={"Idempotency-Key": "k-1"})
    _problem(other, 422)
    delivered = api.get(f"{API}/reports/delivery", params={
        "campaign_id": campaign["id"], "metric": "impressions"}).json()["rows"][0]
    assert delivered["impressions"] > 0  # simulated on create
    too_much = campaign_body(2, name="Too Much", budget="6000", line_items=2)
    problem = _problem(api.post(f"{API}/campaigns", json=too_much), 422)
    assert "more than the campaign budget" in problem["detail"]
    bad = _problem(api.post(f"{API}/campaigns", json={**body, "budget": {"amount": "-5"}}), 422)
    assert bad["errors"][0]["pointer"] == "#/budget/amount"
    orphan = _problem(api.post(f"{API}/campaigns", json={**body, "advertiser_id": 999999}), 422)
    assert orphan["errors"] == [{"pointer": "#/advertiser_id", "detail": "no advertiser 999999"}]
    item = {**campaign_body(2)["line_items"][0], "name": "Added", "campaign_id": campaign["id"]}
    added = api.post(f"{API}/line-items", json=item)
    assert added.status_code == 201, added.text
    assert added.json()["budget"]["currency"] == "USD"
    creative = {"name": "Second spot", "duration_s": 15, "line_item_id": added.json()["id"],
                "asset_url": "https://cdn.brand.example/second.mp4"}
    assert api.post(f"{API}/creatives", json=creative).status_code == 201
    _problem(api.post(f"{API}/creatives", json=creative), 422)  # the same name again
    advertiser = api.post(f"{API}/advertisers", json={
        "name": "Sandbox Brand", "industry": "retail", "domain": "sandbox.example"})
    assert advertiser.status_code == 201 and advertiser.json()["currency"] == "USD"


def test_changes_are_checked_and_simulated_again(db: Engine) -> None:
    api = client(url_of(db))
    campaign = api.post(f"{API}/campaigns", json=campaign_body(3)).json()
    paused = api.patch(f"{API}/campaigns/{campaign['id']}", json={"status": "paused"})
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    rows = api.get(f"{API}/reports/delivery", params={
        "campaign_id": campaign["id"], "metric": "impressions"}).json()["rows"]
    assert rows == [] or rows[0]["impressions"] == 0  # a paused campaign delivers nothing
    below = api.patch(f"{API}/campaigns/{campaign['id']}", json={"budget": {"amount": "100"}})
    _problem(below, 422)
    assert api.get(f"{API}/campaigns/{campaign['id']}").json()["budget"]["amount"] == "20000.00"
    shorter = api.patch(f"{API}/campaigns/{campaign['id']}",
                        json={"flight": {"end": "2026-09-05T00:00:00Z"}})
    assert "outside the campaign flight" in _problem(shorter, 422)["detail"]
    more = api.patch(f"{API}/campaigns/{campaign['id']}",
                     json={"status": "active", "budget": {"amount": "30000"}})
    assert more.status_code == 200 and more.json()["budget"]["amount"] == "30000.00"
    _problem(api.patch(f"{API}/campaigns/{campaign['id']}", json={"status": "bogus"}), 422)
    _problem(api.patch(f"{API}/advertisers/1", json={"budget": {"amount": "5"}}), 422)
    _problem(api.patch(f"{API}/creatives/999999", json={"status": "paused"}), 404)


def test_report_jobs_give_json_csv_and_parquet(sqlite_engine: Engine) -> None:
    import io

    import pyarrow.parquet as pq

    api = client(generated(sqlite_engine))
    asked = {"dimensions": ["date", "device"], "metrics": ["impressions", "ctr"]}
    job = api.post(f"{API}/reports", json=asked)
    assert job.status_code == 202, job.text
    job_id = job.json()["id"]
    for _ in range(200):
        status = api.get(f"{API}/reports/{job_id}").json()
        if status["status"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert status["status"] == "done", status
    assert status["result"] == f"{API}/reports/{job_id}/result"
    rows = api.get(status["result"]).json()
    sync = api.get(f"{API}/reports/delivery", params={
        "dimension": ["date", "device"], "metric": ["impressions", "ctr"],
        "limit": 10000}).json()["rows"]
    assert rows == sync and status["rows"] == len(rows)
    csv = api.get(status["result"], params={"format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0] == '"date","device","impressions","ctr"'
    assert len(csv.text.splitlines()) == len(rows) + 1
    parquet = pq.read_table(io.BytesIO(api.get(status["result"],
                                               params={"format": "parquet"}).content))
    assert parquet.to_pylist() == rows
    _problem(api.get(f"{API}/reports/{'0' * 32}"), 404)


def test_writes_need_the_token_when_one_is_set(sqlite_engine: Engine) -> None:
    token = "t0ken-for-the-tests-0123456789"
    api = client(generated(sqlite_engine), token=token)
    body = campaign_body(1)
    _problem(api.post(f"{API}/campaigns", json=body), 401)
    _problem(api.post(f"{API}/campaigns", json=body,
                      headers={"Authorization": "Bearer wrong"}), 401)
    _problem(api.patch(f"{API}/campaigns/1", json={"status": "paused"}), 401)
    _problem(api.post(f"{API}/reports", json={"metrics": ["impressions"]}), 401)
    assert api.get(f"{API}/campaigns").status_code == 200  # reads stay open
    ok = api.post(f"{API}/campaigns", json=body, headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 201, ok.text
    schema = api.get("/openapi.json").json()
    assert "HTTPBearer" in schema["components"]["securitySchemes"]


def test_body_cap_and_no_cors(sqlite_engine: Engine) -> None:
    api = client(generated(sqlite_engine), max_body=2000)
    big = campaign_body(1, name="x" * 3000)
    _problem(api.post(f"{API}/campaigns", json=big), 413)
    answer = api.get(f"{API}/advertisers", headers={"Origin": "https://elsewhere.example"})
    assert "access-control-allow-origin" not in answer.headers
    # what a cross-site form can send (text/plain, no preflight) is not a JSON body
    form = api.post(f"{API}/advertisers", headers={"Content-Type": "text/plain"},
                    content='{"name": "Forged", "industry": "retail", "domain": "f.example"}')
    _problem(form, 422)
    assert api.get(f"{API}/advertisers", params={"name": "forged"}).json()["items"] == []


def test_no_database_secret_in_any_answer(pg_engine: Engine) -> None:
    """The server is given a URL with a password (PostgreSQL's trust auth ignores it)."""
    secret = "Sup3rSecretPw"
    url = pg_engine.url.set(password=secret).render_as_string(hide_password=False)
    api = client(url)
    answers = [api.get(path) for path in (
        "/openapi.json", f"{API}/health", f"{API}/advertisers?cursor=x",
        f"{API}/campaigns/1", "/docs", "/")]
    answers.append(api.post(f"{API}/campaigns", json=campaign_body(424242)))
    for answer in answers:
        assert secret not in answer.text and "postgresql" not in answer.text.replace(
            '"dialect":"postgresql"', "")
