"""DELETE of advertisers, campaigns, line items and creatives through the API: what has not
delivered goes, with everything it holds, and the facts of what stays are as if it had never
been; what has delivered is refused with 409 saying why, nothing changed. SQLite and
PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select

from adsgen.storage import orm
from apiutil import API, campaign_body, client, url_of


def _facts(engine: Engine, *, events: bool = True) -> dict[str, Any]:
    """Rows per table and every fact table's content digest: equal means nothing changed
    (without `events`: nothing but the change events the deletes record)."""
    from adsgen.simulate.columns import FACT_TABLES
    from adsgen.storage.database import table_counts

    digests = {}
    with engine.connect() as conn:
        for name in FACT_TABLES:
            table = orm.Base.metadata.tables[name]
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            digests[name] = hash(tuple(tuple(row) for row in rows))
    counts = table_counts(engine)
    if not events:
        counts.pop("change_events")
    return {"tables": counts, "digests": digests}


def test_what_has_not_delivered_is_deleted_as_if_never_created(db: Engine) -> None:
    api = client(url_of(db))
    before = _facts(db, events=False)
    # a campaign created without simulating it: no delivery yet
    campaign = api.post(f"{API}/campaigns", params={"simulate": "false"},
                        json=campaign_body(2, line_items=2)).json()
    line_items = api.get(f"{API}/line-items", params={"campaign_id": campaign["id"]}).json()
    first, second = (item["id"] for item in line_items["items"])
    assert api.delete(f"{API}/line-items/{first}").status_code == 204
    assert api.get(f"{API}/line-items/{first}").status_code == 404
    assert api.delete(f"{API}/campaigns/{campaign['id']}").status_code == 204
    for path in (f"campaigns/{campaign['id']}", f"line-items/{second}"):
        assert api.get(f"{API}/{path}").status_code == 404
    # a creative added to a delivered line item without simulating it, then deleted: the
    # line item is simulated again with the creatives it keeps, so its facts are as before
    creative = api.post(f"{API}/creatives", params={"simulate": "false"}, json={
        "line_item_id": 1, "name": "Unserved", "duration_s": 30,
        "asset_url": "https://cdn.brand.example/unserved.mp4"}).json()
    assert api.delete(f"{API}/creatives/{creative['id']}").status_code == 204
    after = _facts(db, events=False)
    assert after == before
    # an advertiser with nothing delivered goes with its whole tree
    advertiser = api.post(f"{API}/advertisers", params={"simulate": "false"}, json={
        "name": "Short Lived", "industry": "retail", "domain": "short.example",
        "campaigns": [{k: v for k, v in campaign_body(0).items() if k != "advertiser_id"}]})
    assert advertiser.status_code == 201, advertiser.text
    assert api.delete(f"{API}/advertisers/{advertiser.json()['id']}").status_code == 204
    assert _facts(db, events=False) == before
    events = [e["event_type"] for e in api.get(f"{API}/changes").json()["items"]]
    assert [e for e in events if e.endswith("Deleted")] == [
        "lineItemDeleted", "campaignDeleted", "creativeDeleted", "advertiserDeleted"]
    assert [e for e in events if not e.endswith("Deleted")] == [  # the POSTs'
        "campaignCreated", *["lineItemCreated"] * 2, *["creativeCreated"] * 3,
        "advertiserCreated", "campaignCreated", "lineItemCreated", "creativeCreated"]


def test_what_has_delivered_is_refused_with_409(db: Engine) -> None:
    api = client(url_of(db))
    before = _facts(db)
    with db.connect() as conn:
        delivered = conn.execute(select(func.sum(orm.Performance.impressions)).where(
            orm.Performance.line_item_id == 1)).scalar_one()
    for path in ("advertisers/1", "campaigns/1", "line-items/1", "creatives/1"):
        response = api.delete(f"{API}/{path}")
        assert response.status_code == 409, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert "delivered" in response.json()["detail"] and "pause" in response.json()["detail"]
    detail = api.delete(f"{API}/line-items/1").json()["detail"]
    assert f"{int(delivered):,} impressions" in detail
    assert api.delete(f"{API}/creatives/99999").status_code == 404
    assert _facts(db) == before


def test_deletes_need_the_token(sqlite_engine: Engine) -> None:
    api = client(url_of(sqlite_engine), token="a-token-of-32-characters-0123456")
    assert api.delete(f"{API}/advertisers/1").status_code == 401
