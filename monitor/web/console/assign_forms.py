"""Ownership, the composing lock and presence in the console: assign from the case page
(the queue's bulk assign is in :mod:`.bulk_forms`), start/renew the lock while typing a
reply, the live claim bar, and who else is viewing the case (the page's heartbeat,
:mod:`monitor.cases.presence`).

Reading a case takes neither the assignment nor the lock: the lock is taken by the
composer's first keystroke (``POST /cases/{id}/composer/typing``, renewed while typing)
and by sending; colleagues' pages re-fetch the claim bar when the case's claim events
arrive over the live stream, so they see "Maria is replying" within a second.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from monitor.cases import assignment, casefile, presence
from monitor.cases import service as queue
from monitor.models import Staff
from monitor.web.api.replies import Csrf
from monitor.web.auth import CsrfChecked, CurrentStaff
from monitor.web.console.pages import _timeout, case_page, render
from monitor.web.deps import Config, DbTx, Now

router = APIRouter(include_in_schema=False)


def _target(session: DbTx, staff: Staff, value: str) -> Staff | None:
    """The form's choice: "me", "" (nobody) or a staff id."""
    if value == "me":
        return staff
    if not value:
        return None
    try:
        return assignment.staff_by_id(session, int(value))
    except ValueError:
        raise queue.QueueError("choose a colleague from the list") from None


@router.post("/cases/{case_id}/assign", dependencies=[CsrfChecked])
def assign_case(
    request: Request,
    case_id: int,
    session: DbTx,
    now: Now,
    cfg: Config,
    staff: CurrentStaff,
    assignee: Annotated[str, Form(max_length=20)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        case = queue.get_case(session, case_id)
        to = _target(session, staff, assignee)
        assignment.assign(session, case, to=to, by=staff, now=now, note=note)
    except queue.CaseNotFound as exc:
        return render(request, "error.html", 404, message=str(exc))
    except queue.QueueError as exc:
        code = 403 if isinstance(exc, queue.NotAllowed) else 422
        return case_page(
            request, session, now, cfg, staff, case_id, status_code=code, error=str(exc)
        )
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/composer/typing", dependencies=[Csrf])
def typing(case_id: int, session: DbTx, now: Now, cfg: Config, staff: CurrentStaff) -> JSONResponse:
    """Take or renew the composing lock: 200 with until, or 409 with who is replying."""
    try:
        case = queue.claim(session, case_id, staff=staff, now=now, timeout=_timeout(cfg))
    except queue.CaseNotFound as exc:
        raise HTTPException(404, detail=str(exc)) from None
    except queue.ClaimConflict as exc:
        return JSONResponse(
            {"detail": f"{exc.holder_name} is replying", "holder": exc.holder_name},
            status_code=409,
        )
    until = case.claim_expires_at.isoformat() if case.claim_expires_at else None
    return JSONResponse({"holder": staff.display_name or staff.name, "until": until})


@router.get("/cases/{case_id}/partials/claim", response_class=HTMLResponse)
def claim_bar(
    request: Request, case_id: int, session: DbTx, now: Now, cfg: Config, staff: CurrentStaff
) -> HTMLResponse:
    """The claim bar alone, for the live update of a colleague's page."""
    try:
        cf = casefile.load(session, case_id, now=now)
    except queue.CaseNotFound as exc:
        return render(request, "error.html", 404, message=str(exc))
    return render(
        request, "partials/claim_bar.html", cf=cf, staff=staff, now=now,
        is_lead=staff.role in queue.LEAD_ROLES,
    )  # fmt: skip


@router.post("/cases/{case_id}/presence", dependencies=[Csrf], response_class=HTMLResponse)
def heartbeat(
    request: Request, case_id: int, session: DbTx, now: Now, staff: CurrentStaff
) -> HTMLResponse:
    """The open case page's heartbeat: I am viewing it; answers who else is."""
    try:
        queue.get_case(session, case_id)
    except queue.CaseNotFound as exc:
        raise HTTPException(404, detail=str(exc)) from None
    presence.seen(session, case_id=case_id, staff_id=staff.id, now=now)
    presence.sweep(session, case_id=case_id, now=now)
    others = presence.viewers(session, case_id=case_id, now=now, besides=staff.id)
    return render(request, "partials/viewers.html", case_id=case_id, viewers=others)


@router.post("/cases/{case_id}/presence/leave", dependencies=[Csrf], status_code=204)
def leave(case_id: int, session: DbTx, staff: CurrentStaff) -> Response:
    """The page was closed or left: no longer viewing."""
    presence.left(session, case_id=case_id, staff_id=staff.id)
    return Response(status_code=204)
