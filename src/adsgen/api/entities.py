"""Campaign management routes: list, get, create, change and delete advertisers, campaigns,
line items and creatives.

Parse, call, render: lists and reads call `adsgen.runs.entities`, creates call the same
`adsgen.runs.grow` functions as the `create-*` commands (line items and creatives given
whole: `adsgen.runs.edits`), changes call `adsgen.runs.edits.change_entity` and deletes
`adsgen.runs.edits.delete_entity` (only what has not delivered), each recorded as change
events in its own transaction (creates: one `…Created` per entity written); bodies are the
domain's Create schemas and answers its Read schemas. A create with an `Idempotency-Key`
header is done once: the same key with the same body answers the first result again
(`Idempotent-Replayed: true`), with another body 422.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from adsgen.api.app import IDEMPOTENCY_KEYS, State, acquire_write_lock, session, writer
from adsgen.api.models import (
    OUT,
    AdvertiserOut,
    CampaignOut,
    Change,
    CreativeOut,
    LineItemOut,
    Page,
)
from adsgen.api.problems import FieldProblem, Problem, problem_response
from adsgen.domain.enums import Currency, Industry, Objective
from adsgen.domain.schemas import AdvertiserCreate, CampaignCreate, CreativeCreate, LineItemCreate
from adsgen.runs import entities as listing

__all__ = ["router"]

MAX_ID = 2**31 - 1
"""Ids are INTEGER columns on every database."""

router = APIRouter(responses={
    404: {"model": Problem, "description": "No such entity"},
    401: {"model": Problem, "description": "A write without the bearer token"},
    409: {"model": Problem, "description": "Another write holds the database"},
})

Id = Annotated[int, Path(ge=1, le=MAX_ID, description="The entity's id.")]
FilterId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=listing.MAX_PAGE, description="Rows per page (≤ 1000).")]
Cursor = Annotated[str | None, Query(max_length=512, pattern=r"^[A-Za-z0-9_-]+$",
                                     description="next_cursor of the previous page.")]
NameFilter = Annotated[str | None, Query(max_length=255, pattern=r"^[^\x00-\x1f\x7f]+$",
                                         description="Case-insensitive part of the name.")]
Status = Annotated[str | None, Query(max_length=32, pattern=r"^[a-z_]+$")]
Sort = Literal["id", "-id", "name", "-name", "status", "-status", "created_at",
               "-created_at", "updated_at", "-updated_at"]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", max_length=255, pattern=r"^[\x21-\x7e]+$",
    description="Do this create once: a retry with the same key answers the first result.")]
Simulate = Annotated[bool, Query(description="Simulate the new line items' delivery now.")]


def _page(session: Session, kind: str, filters: dict[str, Any], sort: str, limit: int,
          cursor: str | None) -> dict[str, Any]:
    page = listing.list_entities(session, kind, filters=filters, sort=sort, limit=limit,
                                 cursor=cursor)
    out = OUT[kind]
    return {"items": [out.model_validate(i.model_dump()) for i in page.items],
            "next_cursor": page.next_cursor}


def _one(session: Session, kind: str, entity_id: int) -> BaseModel:
    found = listing.get_entity(session, kind, entity_id)
    if found is None:
        raise HTTPException(404, f"no {kind.removesuffix('s').replace('_', ' ')} {entity_id}")
    return OUT[kind].model_validate(found.model_dump())


# --- lists and reads ---------------------------------------------------------------------


@router.get("/advertisers", tags=["advertisers"], response_model=Page[AdvertiserOut])
def list_advertisers(
    db: Session = Depends(session), status: Status = None, industry: Industry | None = None,
    currency: Currency | None = None, name: NameFilter = None, sort: Sort = "id",
    limit: Limit = 100, cursor: Cursor = None,
) -> dict[str, Any]:
    """Advertisers, filtered, sorted and a page at a time."""
    filters = {"status": status, "industry": industry, "currency": currency, "name": name}
    return _page(db, "advertisers", filters, sort, limit, cursor)


@router.get("/campaigns", tags=["campaigns"], response_model=Page[CampaignOut])
def list_campaigns(
    db: Session = Depends(session), advertiser_id: FilterId = None, status: Status = None,
    objective: Objective | None = None, name: NameFilter = None, sort: Sort = "id",
    limit: Limit = 100, cursor: Cursor = None,
) -> dict[str, Any]:
    """Campaigns with their flight, budget and frequency cap."""
    filters = {"advertiser_id": advertiser_id, "status": status, "objective": objective,
               "name": name}
    return _page(db, "campaigns", filters, sort, limit, cursor)


@router.get("/line-items", tags=["line items"], response_model=Page[LineItemOut])
def list_line_items(
    db: Session = Depends(session), advertiser_id: FilterId = None,
    campaign_id: FilterId = None, status: Status = None, name: NameFilter = None,
    sort: Sort = "id", limit: Limit = 100, cursor: Cursor = None,
) -> dict[str, Any]:
    """Line items with their flight, budget, cap and targeting."""
    filters = {"advertiser_id": advertiser_id, "campaign_id": campaign_id, "status": status,
               "name": name}
    return _page(db, "line_items", filters, sort, limit, cursor)


@router.get("/creatives", tags=["creatives"], response_model=Page[CreativeOut])
def list_creatives(
    db: Session = Depends(session), advertiser_id: FilterId = None,
    campaign_id: FilterId = None, line_item_id: FilterId = None, status: Status = None,
    name: NameFilter = None, sort: Sort = "id", limit: Limit = 100, cursor: Cursor = None,
) -> dict[str, Any]:
    """Creatives."""
    filters = {"advertiser_id": advertiser_id, "campaign_id": campaign_id,
               "line_item_id": line_item_id, "status": status, "name": name}
    return _page(db, "creatives", filters, sort, limit, cursor)


@router.get("/advertisers/{advertiser_id}", tags=["advertisers"], response_model=AdvertiserOut)
def get_advertiser(advertiser_id: Id, db: Session = Depends(session)) -> BaseModel:
    """One advertiser."""
    return _one(db, "advertisers", advertiser_id)


@router.get("/campaigns/{campaign_id}", tags=["campaigns"], response_model=CampaignOut)
def get_campaign(campaign_id: Id, db: Session = Depends(session)) -> BaseModel:
    """One campaign."""
    return _one(db, "campaigns", campaign_id)


@router.get("/line-items/{line_item_id}", tags=["line items"], response_model=LineItemOut)
def get_line_item(line_item_id: Id, db: Session = Depends(session)) -> BaseModel:
    """One line item."""
    return _one(db, "line_items", line_item_id)


@router.get("/creatives/{creative_id}", tags=["creatives"], response_model=CreativeOut)
def get_creative(creative_id: Id, db: Session = Depends(session)) -> BaseModel:
    """One creative."""
    return _one(db, "creatives", creative_id)


# --- writes ---------------------------------------------------------------------------------


def _locked(state: State, work: Callable[[], Any]) -> Any:
    """`work` while holding the write lock; 409 when another write keeps it over 30 s, or
    at once while a background run holds it."""
    acquire_write_lock(state)
    try:
        return work()
    finally:
        state.write_lock.release()


def _created(request: Request, state: State, kind: str, key: str | None, body: BaseModel,
             make: Callable[[], int]) -> JSONResponse:
    """Run a create once per idempotency key and answer 201 with the new entity."""
    fingerprint = hashlib.sha256(json.dumps(
        [request.url.path, str(request.query_params), body.model_dump(mode="json")],
        sort_keys=True).encode()).hexdigest()
    if key is not None and key in state.idempotency:
        seen, status, answer = state.idempotency[key]
        if seen != fingerprint:
            return problem_response(
                request, 422, f"Idempotency-Key {key!r} was used with another request; "
                "use a new key for a new create")
        return JSONResponse(answer, status_code=status,
                            headers={"Idempotent-Replayed": "true",
                                     "Location": f"{request.url.path}/{answer['id']}"})

    def run() -> JSONResponse:
        if key is not None and key in state.idempotency:  # a retry that waited for the lock
            return _created(request, state, kind, key, body, make)
        new_id = make()
        with Session(state.engine) as db:
            answer = _one(db, kind, new_id).model_dump(mode="json")
        if key is not None:
            state.idempotency[key] = (fingerprint, 201, answer)
            while len(state.idempotency) > IDEMPOTENCY_KEYS:
                state.idempotency.popitem(last=False)
        return JSONResponse(answer, status_code=201,
                            headers={"Location": f"{request.url.path}/{new_id}"})

    result: JSONResponse = _locked(state, run)
    return result


def _missing_parent(request: Request, state: State, model: Any, parent_id: int | None,
                    field: str) -> JSONResponse | None:
    """422 naming `field` when the parent id is absent or unknown, else None."""
    detail = None
    if parent_id is None:
        detail = "required when created on its own"
    else:
        with Session(state.engine) as db:
            if db.get(model, parent_id) is None:
                detail = f"no {field.removesuffix('_id').replace('_', ' ')} {parent_id}"
    if detail is None:
        return None
    return problem_response(request, 422, f"{field}: {detail}",
                            errors=[FieldProblem(pointer=f"#/{field}", detail=detail)])


def _run_options(state: State) -> dict[str, Any]:
    config = state.config
    return {"db": config.database_url, "seed": config.seed, "platform": config.platform}


@router.post("/advertisers", tags=["advertisers"], status_code=201,
             response_model=AdvertiserOut)
def create_advertiser(
    body: AdvertiserCreate, request: Request, state: State = Depends(writer),
    idempotency_key: IdempotencyKey = None, simulate: Simulate = True,
) -> JSONResponse:
    """Create an advertiser, with any campaigns, line items and creatives it holds."""
    from adsgen.runs import grow

    def make() -> int:
        summary = grow.create_advertiser(body, simulate=simulate, changes=True,
                                         **_run_options(state))
        return summary.ids["advertisers"][0]

    return _created(request, state, "advertisers", idempotency_key, body, make)


@router.post("/campaigns", tags=["campaigns"], status_code=201, response_model=CampaignOut)
def create_campaign(
    body: CampaignCreate, request: Request, state: State = Depends(writer),
    idempotency_key: IdempotencyKey = None, simulate: Simulate = True,
) -> JSONResponse:
    """Add a campaign (with its line items and creatives) to an advertiser (`advertiser_id`)."""
    from adsgen.runs import grow
    from adsgen.storage import orm

    missing = _missing_parent(request, state, orm.Advertiser, body.advertiser_id,
                              "advertiser_id")
    if missing is not None:
        return missing

    def make() -> int:
        assert body.advertiser_id is not None
        summary = grow.create_campaign(body.advertiser_id, body, simulate=simulate,
                                       changes=True, **_run_options(state))
        return summary.ids["campaigns"][0]

    return _created(request, state, "campaigns", idempotency_key, body, make)


@router.post("/line-items", tags=["line items"], status_code=201, response_model=LineItemOut)
def create_line_item(
    body: LineItemCreate, request: Request, state: State = Depends(writer),
    idempotency_key: IdempotencyKey = None, simulate: Simulate = True,
) -> JSONResponse:
    """Add a line item (with its creatives) to a campaign (`campaign_id`); it must fit the
    campaign's budget, flight and currency."""
    from adsgen.runs import edits
    from adsgen.storage import orm

    missing = _missing_parent(request, state, orm.Campaign, body.campaign_id, "campaign_id")
    if missing is not None:
        return missing

    def make() -> int:
        assert body.campaign_id is not None
        summary = edits.create_line_item_as_given(body.campaign_id, body, simulate=simulate,
                                                  changes=True, **_run_options(state))
        return summary.ids["line_items"][0]

    return _created(request, state, "line_items", idempotency_key, body, make)


@router.post("/creatives", tags=["creatives"], status_code=201, response_model=CreativeOut)
def create_creative(
    body: CreativeCreate, request: Request, state: State = Depends(writer),
    idempotency_key: IdempotencyKey = None, simulate: Simulate = True,
) -> JSONResponse:
    """Add a creative to a line item (`line_item_id`) and simulate the line item again."""
    from adsgen.runs import edits
    from adsgen.storage import orm

    missing = _missing_parent(request, state, orm.LineItem, body.line_item_id, "line_item_id")
    if missing is not None:
        return missing

    def make() -> int:
        assert body.line_item_id is not None
        summary = edits.create_creative_as_given(body.line_item_id, body, simulate=simulate,
                                                 changes=True, **_run_options(state))
        return summary.ids["creatives"][0]

    return _created(request, state, "creatives", idempotency_key, body, make)


def _change(state: State, kind: str, entity_id: int, body: Change) -> BaseModel:
    from adsgen.runs import edits

    budget, flight = body.budget, body.flight
    change = edits.Change(
        status=body.status,
        budget_amount=budget.amount if budget else None,
        daily_cap=budget.daily_cap if budget else None,
        clear_daily_cap=budget.clear_daily_cap if budget else False,
        start=flight.start if flight else None, end=flight.end if flight else None)

    def run() -> BaseModel:  # the lock first: a run writing the database answers 409 at once
        with Session(state.engine) as db:
            _one(db, kind, entity_id)
        edits.change_entity(kind, entity_id, change, **_run_options(state))
        with Session(state.engine) as db:
            return _one(db, kind, entity_id)

    changed: BaseModel = _locked(state, run)
    return changed


@router.patch("/advertisers/{advertiser_id}", tags=["advertisers"],
              response_model=AdvertiserOut)
def change_advertiser(advertiser_id: Id, body: Change,
                      state: State = Depends(writer)) -> BaseModel:
    """Change an advertiser's status (its line items are simulated again)."""
    return _change(state, "advertisers", advertiser_id, body)


@router.patch("/campaigns/{campaign_id}", tags=["campaigns"], response_model=CampaignOut)
def change_campaign(campaign_id: Id, body: Change, state: State = Depends(writer)) -> BaseModel:
    """Change a campaign's status, budget or flight; its line items must still fit, and are
    simulated again."""
    return _change(state, "campaigns", campaign_id, body)


@router.patch("/line-items/{line_item_id}", tags=["line items"], response_model=LineItemOut)
def change_line_item(line_item_id: Id, body: Change,
                     state: State = Depends(writer)) -> BaseModel:
    """Change a line item's status, budget or flight (within its campaign's); it is
    simulated again."""
    return _change(state, "line_items", line_item_id, body)


@router.patch("/creatives/{creative_id}", tags=["creatives"], response_model=CreativeOut)
def change_creative(creative_id: Id, body: Change, state: State = Depends(writer)) -> BaseModel:
    """Change a creative's status (its line item is simulated again)."""
    return _change(state, "creatives", creative_id, body)


def _delete(state: State, kind: str, entity_id: int) -> Response:
    from adsgen.runs import edits

    def run() -> None:
        with Session(state.engine) as db:
            _one(db, kind, entity_id)
        edits.delete_entity(kind, entity_id, **_run_options(state))

    _locked(state, run)
    return Response(status_code=204)


_DELETE: dict[int | str, dict[str, Any]] = {
    204: {"description": "Deleted, with everything it held"},
    409: {"model": Problem, "description": "It has delivered (pause or archive it), or "
                                           "another write holds the database"}}


@router.delete("/advertisers/{advertiser_id}", tags=["advertisers"], status_code=204,
               response_class=Response, responses=_DELETE)
def delete_advertiser(advertiser_id: Id, state: State = Depends(writer)) -> Response:
    """Delete an advertiser with its campaigns, line items and creatives, if none has
    delivered an impression (409 otherwise)."""
    return _delete(state, "advertisers", advertiser_id)


@router.delete("/campaigns/{campaign_id}", tags=["campaigns"], status_code=204,
               response_class=Response, responses=_DELETE)
def delete_campaign(campaign_id: Id, state: State = Depends(writer)) -> Response:
    """Delete a campaign with its line items and creatives, if none has delivered (409
    otherwise); the advertiser's other line items are simulated again."""
    return _delete(state, "campaigns", campaign_id)


@router.delete("/line-items/{line_item_id}", tags=["line items"], status_code=204,
               response_class=Response, responses=_DELETE)
def delete_line_item(line_item_id: Id, state: State = Depends(writer)) -> Response:
    """Delete a line item with its creatives, if it has not delivered (409 otherwise); the
    campaign's other line items are simulated again."""
    return _delete(state, "line_items", line_item_id)


@router.delete("/creatives/{creative_id}", tags=["creatives"], status_code=204,
               response_class=Response, responses=_DELETE)
def delete_creative(creative_id: Id, state: State = Depends(writer)) -> Response:
    """Delete a creative that was never served (409 otherwise); its line item is simulated
    again with the creatives it keeps."""
    return _delete(state, "creatives", creative_id)
