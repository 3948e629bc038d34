"""The case page's cause and tags forms (signed-in staff, CSRF token in the form)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from monitor.cases import service as queue
from monitor.reports import service as reports
from monitor.web.auth import CsrfChecked, CurrentStaff
from monitor.web.console.pages import case_page, render
from monitor.web.deps import Config, DbTx, Now

router = APIRouter(include_in_schema=False)


@router.post("/cases/{case_id}/cause", dependencies=[CsrfChecked])
def set_cause(
    request: Request,
    case_id: int,
    session: DbTx,
    now: Now,
    cfg: Config,
    staff: CurrentStaff,
    cause: Annotated[str, Form(max_length=40)],
) -> Response:
    try:
        case = queue.get_case(session, case_id)
    except queue.CaseNotFound as exc:
        return render(request, "error.html", 404, message=str(exc))
    try:
        settings = cfg.settings.reports
        reports.set_cause(session, case, cause=cause, staff=staff, settings=settings, now=now)
    except reports.ReportsError as exc:
        return case_page(
            request, session, now, cfg, staff, case_id, status_code=422, error=str(exc)
        )
    return RedirectResponse(f"/cases/{case_id}#cause", status_code=303)


@router.post("/cases/{case_id}/tags", dependencies=[CsrfChecked])
def set_tags(
    request: Request,
    case_id: int,
    session: DbTx,
    now: Now,
    cfg: Config,
    staff: CurrentStaff,
    tags: Annotated[str, Form(max_length=800)] = "",
) -> Response:
    """The field holds the whole list: what is missing from it is removed."""
    try:
        queue.get_case(session, case_id)
        wanted = reports.clean_tags(tags.split(","))
        have = reports.tags_of(session, case_id)
        reports.retag(
            session,
            [case_id],
            add=wanted,
            remove=[t for t in have if t not in wanted],
            staff=staff,
            settings=cfg.settings.reports,
            now=now,
        )
    except queue.CaseNotFound as exc:
        return render(request, "error.html", 404, message=str(exc))
    except reports.ReportsError as exc:
        return case_page(
            request, session, now, cfg, staff, case_id, status_code=422, error=str(exc)
        )
    return RedirectResponse(f"/cases/{case_id}#cause", status_code=303)
