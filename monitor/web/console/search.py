"""The console's search page (GET /search?q=...); the box is in every page's header."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from monitor.search.queries import MAX_QUERY, search
from monitor.web.api.search import console_url
from monitor.web.auth import CurrentStaff
from monitor.web.console.pages import render
from monitor.web.deps import DbTx

router = APIRouter(include_in_schema=False)


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    session: DbTx,
    staff: CurrentStaff,
    q: Annotated[str, Query(max_length=MAX_QUERY)] = "",
) -> HTMLResponse:
    found = search(session, q, limit=50) if q.strip() else None
    return render(request, "search.html", staff=staff, q=q, found=found, url=console_url)
