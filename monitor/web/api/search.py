"""REST: GET /api/v1/search, the console's search over customers, mentions, replies, notes.

Scope ``queue:read``. ``q``: words (all must occur) and "quoted phrases"; ``limit`` per
kind (1-100, default 20); newest first. Each hit links to its console page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from monitor.search.queries import MAX_QUERY, Hit, Results, search
from monitor.web.api.cases import ERRORS, Principal, scoped
from monitor.web.deps import DbTx

router = APIRouter(prefix="/api/v1", tags=["search"], responses=ERRORS)
Reader = Annotated[Principal, scoped("queue:read")]


class HitOut(BaseModel):
    kind: str = Field(description="customer | mention | reply | note")
    id: int
    case_id: int | None
    customer_id: int | None
    title: str = Field(description="the customer, the author, the channel or the note's author")
    snippet: str = Field(description="the words around the first match")
    at: datetime | None
    url: str = Field(description="the console page of the hit")


class SearchOut(BaseModel):
    query: str
    terms: list[str]
    customers: list[HitOut]
    mentions: list[HitOut]
    replies: list[HitOut]
    notes: list[HitOut]


def console_url(hit: Hit) -> str:
    if hit.kind == "customer":
        return f"/customers/{hit.id}"
    return f"/cases/{hit.case_id}#{hit.kind}-{hit.id}"


def search_out(found: Results) -> SearchOut:
    def out(hits: list[Hit]) -> list[HitOut]:
        return [
            HitOut(
                kind=h.kind,
                id=h.id,
                case_id=h.case_id,
                customer_id=h.customer_id,
                title=h.title,
                snippet=h.snippet,
                at=h.at,
                url=console_url(h),
            )
            for h in hits
        ]

    return SearchOut(
        query=found.query,
        terms=list(found.terms),
        customers=out(found.customers),
        mentions=out(found.mentions),
        replies=out(found.replies),
        notes=out(found.notes),
    )


@router.get("/search")
def search_everything(
    session: DbTx,
    _p: Reader,
    q: Annotated[str, Query(max_length=MAX_QUERY, description='words and "phrases"')],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> SearchOut:
    """Customers, mentions, replies and notes matching ``q`` (full-text indexes)."""
    return search_out(search(session, q, limit=limit))
