"""The console's incident pages: the list and declare form, one incident's view (who is
affected, who is still waiting, suggestions to attach, the status form), and attaching
a case from its own page. Signed-in staff; CSRF token in every form."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from monitor.incidents import overview as views
from monitor.incidents import queries
from monitor.incidents import service as incidents
from monitor.models import IncidentState, Staff
from monitor.web.auth import CsrfChecked, CurrentStaff
from monitor.web.console.pages import _safe_next, render
from monitor.web.deps import Config, DbTx, Now

router = APIRouter(include_in_schema=False)
STATES = [s.value for s in IncidentState]
ASKABLE = ["error_code", "app_version", "device", "os_version", "date", "order"]


def _split(text: str) -> list[str]:
    return [t for t in (p.strip() for p in text.replace("\n", ",").split(",")) if t]


def _page(
    request: Request, session: Session, staff: Staff, *, error: str | None = None, code: int = 200
) -> HTMLResponse:
    return render(
        request, "incidents.html", code, staff=staff, error=error, states=STATES, askable=ASKABLE,
        incidents=queries.list_incidents(session),
    )  # fmt: skip


@router.get("/incidents", response_class=HTMLResponse)
def incidents_page(request: Request, session: DbTx, staff: CurrentStaff) -> HTMLResponse:
    return _page(request, session, staff)


@router.post("/incidents", dependencies=[CsrfChecked])
def declare(
    request: Request,
    session: DbTx,
    now: Now,
    staff: CurrentStaff,
    title: Annotated[str, Form(max_length=200)],
    status_text: Annotated[str, Form(max_length=4000)] = "",
    workaround: Annotated[str, Form(max_length=4000)] = "",
    terms: Annotated[str, Form(max_length=2000)] = "",
    asks: Annotated[list[str] | None, Form()] = None,
) -> Response:
    try:
        inc = incidents.declare(
            session, title=title, status_text=status_text, workaround=workaround,
            terms=_split(terms), asks=asks or [], staff=staff, now=now,
        )  # fmt: skip
    except incidents.IncidentError as exc:
        return _page(request, session, staff, error=str(exc), code=422)
    return RedirectResponse(f"/incidents/{inc.id}", status_code=303)


def incident_view(
    request: Request, session: Session, now: Now, staff: Staff, incident_id: int, *,
    error: str | None = None, code: int = 200, notice: str | None = None,
) -> HTMLResponse:  # fmt: skip
    try:
        inc = incidents.get(session, incident_id)
    except incidents.IncidentNotFound as exc:
        return render(request, "error.html", 404, message=str(exc))
    suggested = [] if inc.state == IncidentState.RESOLVED else queries.suggest_cases(session, inc)
    return render(
        request, "incident.html", code, staff=staff, ov=views.overview(session, inc, now=now),
        suggested=suggested, states=STATES, askable=ASKABLE, error=error, notice=notice,
        now=now,
    )  # fmt: skip


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident_page(
    request: Request, incident_id: int, session: DbTx, now: Now, staff: CurrentStaff
) -> HTMLResponse:
    return incident_view(request, session, now, staff, incident_id)


@router.post("/incidents/{incident_id}", dependencies=[CsrfChecked])
def update(
    request: Request,
    incident_id: int,
    session: DbTx,
    now: Now,
    cfg: Config,
    staff: CurrentStaff,
    state: Annotated[str, Form()],
    status_text: Annotated[str, Form(max_length=4000)] = "",
    workaround: Annotated[str, Form(max_length=4000)] = "",
    terms: Annotated[str, Form(max_length=2000)] = "",
    asks: Annotated[list[str] | None, Form()] = None,
) -> Response:
    policy = incidents.IncidentPolicy.from_settings(cfg.settings.incidents, cfg.settings.alerts)
    try:
        inc = incidents.get(session, incident_id)
        change = incidents.update(
            session, inc, staff=staff, now=now, policy=policy, state=state,
            status_text=status_text, workaround=workaround, terms=_split(terms), asks=asks or [],
        )  # fmt: skip
    except incidents.IncidentError as exc:
        return incident_view(request, session, now, staff, incident_id, error=str(exc), code=422)
    what = "check-ins" if inc.state == IncidentState.RESOLVED else "follow-up tasks"
    notice = f"Saved; {len(change.tasks)} {what} set." if change.status_changed else "Saved."
    return incident_view(request, session, now, staff, incident_id, notice=notice)


@router.post("/incidents/{incident_id}/attach", dependencies=[CsrfChecked])
def attach(
    request: Request,
    incident_id: int,
    session: DbTx,
    now: Now,
    staff: CurrentStaff,
    case_ids: Annotated[list[int] | None, Form()] = None,
    how: Annotated[str, Form()] = "hand",
    next: Annotated[str | None, Form()] = None,
) -> Response:
    try:
        inc = incidents.get(session, incident_id)
        incidents.attach(session, inc, case_ids or [], staff=staff, now=now, how=how)
    except incidents.IncidentError as exc:
        return incident_view(request, session, now, staff, incident_id, error=str(exc), code=422)
    target = _safe_next(next) if next else f"/incidents/{incident_id}"
    return RedirectResponse(target, status_code=303)
