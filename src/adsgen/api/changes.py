"""The change events route: what PATCH and DELETE did to the entities, oldest first.

Parse, call, render: `adsgen.runs.changelog.list_changes` reads a page of `change_events`;
the limit and cursor are the entity lists' (`adsgen.api.entities`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from adsgen.api.app import session
from adsgen.api.entities import MAX_ID, Cursor, Limit
from adsgen.api.models import ChangeEventOut, Page
from adsgen.runs import changelog

__all__ = ["router"]

router = APIRouter()

EntityType = Literal["advertiser", "campaign", "line_item", "creative"]


@router.get("/changes", tags=["changes"], response_model=Page[ChangeEventOut])
def list_changes(
    db: Session = Depends(session), entity_type: EntityType | None = None,
    entity_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Limit = 100, cursor: Cursor = None,
) -> dict[str, Any]:
    """Changes of status, budget and flight and deletes made through this API, in the order
    they were made (`budgetChanged`, `lineItemPaused`, `flightChanged`, `lineItemDeleted`…),
    each with its fields' old and new values; filter by entity type and id."""
    page = changelog.list_changes(db, entity_type=entity_type, entity_id=entity_id,
                                  limit=limit, cursor=cursor)
    return {"items": [ChangeEventOut.model_validate(row) for row in page.items],
            "next_cursor": page.next_cursor}
