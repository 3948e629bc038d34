"""The console's HTML pages: sign-in, the case page and its forms (the live queue is
:mod:`monitor.web.console.queue_page`).

Every page is server-rendered (Jinja2, autoescaped); the small script in /static only
ticks waiting times and swaps in a fresh queue fragment when the live stream says
something changed. Every form posts a CSRF token; every handler delegates to the domain.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from sse_starlette import EventSourceResponse

from monitor.cases import casefile, staff_actions
from monitor.cases import service as queue
from monitor.config import LoadedConfig
from monitor.customers import linking
from monitor.incidents import overview as incident_views
from monitor.incidents import queries as incident_queries
from monitor.models import Role, Staff, Stage
from monitor.promises import service as promises
from monitor.promises.text import PromiseKind
from monitor.reports.case_view import cause_view
from monitor.staff import accounts
from monitor.web import auth
from monitor.web.auth import CsrfChecked, CurrentStaff, MaybeStaff
from monitor.web.deps import Config, DbTx, Now
from monitor.web.viewer_zone import viewer_zone

CHANNELS = ("x", "x_dm", "email")


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    templates = request.app.state.templates
    context.setdefault("csrf_token", auth.csrf_token(request))
    context.setdefault("tz", viewer_zone(request, context.get("staff")))
    response: HTMLResponse = templates.TemplateResponse(
        request, name, context, status_code=status_code
    )
    return response


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _timeout(cfg: Config) -> timedelta:
    return timedelta(minutes=cfg.settings.queue.claim_timeout_minutes)


Timeout = Annotated[timedelta, Depends(_timeout)]


def case_page(
    request: Request,
    session: Session,
    now: datetime,
    cfg: LoadedConfig,
    staff: Staff,
    case_id: int,
    *,
    status_code: int = 200,
    error: str | None = None,
    survey_link: str | None = None,
) -> HTMLResponse:
    """The case page (raises queue.CaseNotFound); ``survey_link`` is shown once, made."""
    own = cfg.settings.sources.email.own_addresses
    soon = timedelta(minutes=cfg.settings.sla.soon_minutes)
    cf = casefile.load(session, case_id, now=now, own_addresses=own, soon=soon)
    return render(
        request,
        "case.html",
        status_code,
        cf=cf,
        staff=staff,
        now=now,
        error=error,
        stages=list(Stage),
        is_lead=auth.has_role(staff, Role.LEAD),
        may_act={p.id for p in cf.promises if promises.may_act(p.owner_id, staff)},
        owners=accounts.active_staff(session),
        promise_kinds=[k.value for k in PromiseKind],
        cause=cause_view(session, queue.get_case(session, case_id), cfg.settings.reports),
        survey_link=survey_link,
        surveys_on=cfg.settings.reports.survey.enabled,
        incidents=incident_views.case_panel(
            session, case_id, cf.facts, customer_name=cf.customer.display_name
        ),
        incident_offers=incident_offers(session, case_id, request.app.state.incident_refs),
        worth=incident_views.customer_worth(session, cf.case.customer_id),
    )


def incident_offers(
    session: Session, case_id: int, cache: incident_queries.ReferenceCache
) -> list[incident_queries.IncidentSuggestion]:
    """Open incidents this case may belong to (none once it is attached to one)."""
    if incident_queries.incidents_of_case(session, case_id):
        return []
    text = incident_queries.case_texts(session, [case_id]).get(case_id, "")
    return incident_queries.suggest_incidents(session, text, cache=cache)


router = APIRouter(include_in_schema=False)


@router.get("/login")
def login_page(request: Request, staff: MaybeStaff, next: str = "/") -> Response:
    if staff is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", next=_safe_next(next), error=None)


@router.post("/login", dependencies=[CsrfChecked])
def login(
    request: Request,
    session: DbTx,
    now: Now,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    staff, error = auth.try_sign_in(request, session, name=username, password=password, now=now)
    if staff is None:
        code = 429 if error and error.startswith("Too many") else 401
        return render(request, "login.html", code, next=_safe_next(next), error=error)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", dependencies=[CsrfChecked])
def logout(request: Request) -> Response:
    auth.sign_out(request)
    return RedirectResponse("/login", status_code=303)


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def open_case(
    request: Request, case_id: int, session: DbTx, now: Now, cfg: Config, staff: CurrentStaff
) -> HTMLResponse:
    """Reading a case takes neither its assignment nor the composing lock."""
    try:
        return case_page(request, session, now, cfg, staff, case_id)
    except queue.CaseNotFound:
        return render(request, "error.html", 404, message=f"There is no case {case_id}.")


def act(
    request: Request,
    session: DbTx,
    now: Now,
    cfg: Config,
    staff: Staff,
    case_id: int,
    action: Any,
) -> Response:
    try:
        action()
    except queue.CaseNotFound:
        return render(request, "error.html", 404, message=f"There is no case {case_id}.")
    except queue.ClaimConflict as exc:  # domain functions refuse before writing anything
        return case_page(
            request,
            session,
            now,
            cfg,
            staff,
            case_id,
            status_code=409,
            error=f"Refused: {exc.holder_name} holds this case until {exc.until:%H:%M} UTC.",
        )
    except (queue.QueueError, linking.LinkError, ValueError) as exc:
        status = 403 if isinstance(exc, queue.NotAllowed) else 422
        return case_page(
            request, session, now, cfg, staff, case_id, status_code=status, error=str(exc)
        )
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


@router.post("/cases/{case_id}/claim", dependencies=[CsrfChecked])
def claim(
    request: Request,
    case_id: int,
    session: DbTx,
    now: Now,
    cfg: Config,
    staff: CurrentStaff,
    take_over: Annotated[str, Form()] = "",
) -> Response:
    return act(
        request,
        session,
        now,
        cfg,
        staff,
        case_id,
        lambda: queue.claim(
            session,
            case_id,
            staff=staff,
            now=now,
            timeout=_timeout(cfg),
            take_over=bool(take_over),
        ),
    )


@router.post("/cases/{case_id}/release", dependencies=[CsrfChecked])
def release(
    request: Request, case_id: int, session: DbTx, now: Now, cfg: Config, staff: CurrentStaff
) -> Response:
    return act(
        request,
        session,
        now,
        cfg,
        staff,
        case_id,
        lambda: queue.release(session, case_id, staff=staff, now=now),
    )


@router.post("/cases/{case_id}/notes", dependencies=[CsrfChecked])
def note(
    request: Request,
    case_id: int,
    session: DbTx,
    now: Now,
    cfg: Config,
    staff: CurrentStaff,
    text: Annotated[str, Form()] = "",
) -> Response:
    def run() -> None:
        case = queue.get_case(session, case_id)
        queue.add_note(session, case, staff=staff, text=text, now=now)
        queue.touch(session, case, staff=staff, now=now, timeout=_timeout(cfg))

    return act(request, session, now, cfg, staff, case_id, run)


@router.post("/cases/{case_id}/stage", dependencies=[CsrfChecked])
def stage(
    request: Request,
    case_id: int,
    session: DbTx,
    now: Now,
    cfg: Config,
    staff: CurrentStaff,
    stage: Annotated[str, Form()],
    text: Annotated[str, Form()] = "",
) -> Response:
    def run() -> None:
        case = queue.get_case(session, case_id)
        queue.advance_stage(
            session,
            case,
            stage,
            actor=staff,
            now=now,
            check_in_after=timedelta(hours=cfg.settings.reports.check_in_hours),
            text=text,
        )
        queue.touch(session, case, staff=staff, now=now, timeout=_timeout(cfg))

    return act(request, session, now, cfg, staff, case_id, run)


@router.post("/cases/{case_id}/link", dependencies=[CsrfChecked])
def link(
    request: Request,
    case_id: int,
    session: DbTx,
    now: Now,
    cfg: Config,
    staff: CurrentStaff,
    identity_id: Annotated[int, Form()],
) -> Response:
    def run() -> None:
        case = queue.get_case(session, case_id)
        staff_actions.ensure_may_link(
            session, identity_id=identity_id, customer_id=case.customer_id, staff=staff, now=now
        )
        linking.link_identity(
            session,
            identity_id=identity_id,
            customer_id=case.customer_id,
            actor=staff.name,
            now=now,
        )

    return act(request, session, now, cfg, staff, case_id, run)


@router.get("/live/events")
async def live(request: Request, staff: CurrentStaff) -> EventSourceResponse:
    broadcaster = request.app.state.broadcaster
    return EventSourceResponse(broadcaster.stream(broadcaster.subscribe()), ping=15)
