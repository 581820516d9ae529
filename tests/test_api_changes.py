"""Change events of the API: a POST, PATCH or DELETE records what it changed (old → new) in
`change_events`, in the edit's own transaction (a refused edit records nothing), in the
names of `adsgen stream`'s change events; GET /changes pages through them. SQLite and
PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select

from adsgen.runs.changelog import event_type_of_status
from adsgen.storage import orm
from adsgen.stream.events import CHANGE_TYPES
from apiutil import API, campaign_body, client, url_of

MICROS = 1_000_000



def _events(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(orm.ChangeEvent)).scalar_one())


def _changes(api: Any, **params: Any) -> list[dict[str, Any]]:
    """Every change event the API answers for these filters, page by page (2 a page)."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = api.get(f"{API}/changes", params={**params, "limit": 2,
                                                 **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


def test_patch_and_delete_record_their_events_and_refused_ones_nothing(db: Engine) -> None:
    api = client(url_of(db))
    assert _events(db) == 0  # run-all records nothing: the API's changes only
    campaign = api.post(f"{API}/campaigns", params={"simulate": "false"},
                        json=campaign_body(2, line_items=2)).json()
    first, second = (i["id"] for i in api.get(f"{API}/line-items", params={
        "campaign_id": campaign["id"]}).json()["items"])
    created = _changes(api)
    assert [(e["event_type"], e["entity_id"]) for e in created][:3] == [
        ("campaignCreated", campaign["id"]), ("lineItemCreated", first),
        ("lineItemCreated", second)]
    assert [e["event_type"] for e in created[3:]] == ["creativeCreated"] * 2
    assert created[0]["changes"] == {
        "status": {"old": None, "new": campaign["status"]},
        "budget_micros": {"old": None, "new": 20000 * MICROS},
        "daily_cap_micros": {"old": None, "new": None},
        "start_at": {"old": None, "new": "2026-09-01T00:00:00Z"},
        "end_at": {"old": None, "new": "2026-09-08T00:00:00Z"}}
    assert created[3]["changes"] == {"status": {"old": None, "new": "active"}}
    _delete_changes(db)
    status = api.get(f"{API}/line-items/{first}").json()["status"]
    assert status == "active"

    patched = api.patch(f"{API}/line-items/{first}",
                        json={"status": "paused", "budget": {"amount": "6000"}})
    assert patched.status_code == 200, patched.text
    events = _changes(api, entity_type="line_item", entity_id=first)
    assert [(e["event_type"], e["changes"]) for e in events] == [
        ("lineItemPaused", {"status": {"old": "active", "new": "paused"}}),
        ("budgetChanged", {"budget_micros": {"old": 5000 * MICROS, "new": 6000 * MICROS}}),
    ]
    assert {(e["entity_type"], e["entity_id"], e["source"]) for e in events} == {
        ("line_item", first, "api")}
    assert all(e["occurred_at"].endswith("Z") for e in events)

    # refused: over the campaign's budget (422), an unknown status (422), a line item that
    # delivered deleted (409), the same values again (200, nothing changed): no event
    before = _events(db)
    assert api.patch(f"{API}/line-items/{first}",
                     json={"budget": {"amount": "999999"}}).status_code == 422
    assert api.patch(f"{API}/line-items/{first}", json={"status": "bogus"}).status_code == 422
    assert api.patch(f"{API}/line-items/{first}", json={
        "status": "paused", "flight": {"end": "2026-09-30T00:00:00Z"}}).status_code == 422
    assert api.delete(f"{API}/line-items/1").status_code == 409
    assert api.patch(f"{API}/line-items/{first}", json={"status": "paused"}).status_code == 200
    assert _events(db) == before

    resumed = api.patch(f"{API}/line-items/{first}", json={
        "status": "active", "flight": {"end": "2026-09-05T00:00:00Z"}})
    assert resumed.status_code == 200, resumed.text
    assert [(e["event_type"], e["changes"]) for e in _changes(api, entity_id=first)[2:]] == [
        ("lineItemResumed", {"status": {"old": "paused", "new": "active"}}),
        ("flightChanged", {"end_at": {"old": "2026-09-08T00:00:00Z",
                                      "new": "2026-09-05T00:00:00Z"}}),
    ]
    paused = api.patch(f"{API}/campaigns/{campaign['id']}", json={"status": "paused"})
    assert paused.status_code == 200, paused.text

    assert api.delete(f"{API}/line-items/{second}").status_code == 204
    assert [(e["event_type"], e["changes"]) for e in _changes(api, entity_id=second)] == [
        ("lineItemDeleted", {"status": {"old": "active", "new": None}})]
    every = _changes(api)
    assert [e["event_type"] for e in every] == [
        "lineItemPaused", "budgetChanged", "lineItemResumed", "flightChanged",
        "campaignPaused", "lineItemDeleted"]
    assert [e["id"] for e in every] == sorted(e["id"] for e in every)
    assert [e["entity_id"] for e in _changes(api, entity_type="campaign")] == [campaign["id"]]
    bad = api.get(f"{API}/changes", params={"cursor": "bm90LW91cnM"})
    assert bad.status_code == 400, bad.text  # as the entity lists answer it


def _delete_changes(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(orm.ChangeEvent.__table__.delete())


def test_creates_record_one_event_per_entity_and_refused_or_replayed_ones_nothing(
        db: Engine) -> None:
    """POSTs of each kind log a `…Created` event per row they wrote, in their transaction."""
    api = client(url_of(db))
    body = {"name": "Changelog Brand", "industry": "retail", "domain": "log.example",
            "campaigns": [campaign_body(0, line_items=1) | {"advertiser_id": None}]}
    key = {"Idempotency-Key": "create-events-1"}
    made = api.post(f"{API}/advertisers", params={"simulate": "false"}, json=body,
                    headers=key)
    assert made.status_code == 201, made.text
    kinds = [(e["entity_type"], e["event_type"]) for e in _changes(api)]
    assert kinds == [("advertiser", "advertiserCreated"), ("campaign", "campaignCreated"),
                     ("line_item", "lineItemCreated"), ("creative", "creativeCreated")]
    assert _changes(api)[0]["entity_id"] == made.json()["id"]
    replayed = api.post(f"{API}/advertisers", params={"simulate": "false"}, json=body,
                        headers=key)
    assert replayed.headers.get("Idempotent-Replayed") == "true"
    before = _events(db)
    assert api.post(f"{API}/advertisers", json=body).status_code == 400  # name taken
    assert api.post(f"{API}/campaigns", json=campaign_body(made.json()["id"], budget="1")
                    ).status_code == 422
    assert _events(db) == before

    campaign = api.get(f"{API}/campaigns", params={
        "advertiser_id": made.json()["id"]}).json()["items"][0]
    item = campaign_body(0)["line_items"][0] | {"name": "Added", "campaign_id": campaign["id"]}
    line_item = api.post(f"{API}/line-items", params={"simulate": "false"}, json=item)
    assert line_item.status_code == 201, line_item.text
    creative = api.post(f"{API}/creatives", params={"simulate": "false"}, json={
        "line_item_id": line_item.json()["id"], "name": "Extra", "duration_s": 15,
        "asset_url": "https://cdn.brand.example/extra.mp4"})
    assert creative.status_code == 201, creative.text
    assert [(e["event_type"], e["entity_id"]) for e in _changes(api)[before:]] == [
        ("lineItemCreated", line_item.json()["id"]),
        ("creativeCreated", creative.json()["id"] - 1),  # the line item's own
        ("creativeCreated", creative.json()["id"])]


def test_the_names_are_the_streams() -> None:
    """The events the stream also makes carry its names, not a second vocabulary."""
    assert event_type_of_status("line_items", "active", "paused") == "lineItemPaused"
    assert event_type_of_status("line_items", "paused", "active") == "lineItemResumed"
    assert {"budgetChanged", "lineItemPaused", "lineItemResumed"} <= set(CHANGE_TYPES)
    assert event_type_of_status("campaigns", "draft", "active") == "campaignActivated"
