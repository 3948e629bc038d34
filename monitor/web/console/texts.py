"""The whole of a long timeline body, for the case page's "Show all" button.

The page shows the first part of a long mention, reply or note (monitor.web.text);
static/console.js fetches the rest from here and puts it in place. The answer is an
HTML fragment made by the same filter (escaped, isolated, invisible characters shown).
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from monitor.cases import casefile
from monitor.cases.service import CaseNotFound
from monitor.web.auth import CurrentStaff
from monitor.web.deps import DbTx
from monitor.web.text import user_text

router = APIRouter(include_in_schema=False)


@router.get("/cases/{case_id}/{kind}/{entry_id}/text", response_class=HTMLResponse)
def entry_text(
    case_id: int,
    kind: Literal["mentions", "replies", "notes"],
    entry_id: int,
    session: DbTx,
    _staff: CurrentStaff,
) -> HTMLResponse:
    try:
        text = casefile.entry_text(session, case_id, kind=kind, entry_id=entry_id)
    except CaseNotFound:
        text = None
    if text is None:
        return HTMLResponse("no such text on this case", status_code=404)
    return HTMLResponse(str(user_text(text)), headers={"Cache-Control": "private, no-store"})
