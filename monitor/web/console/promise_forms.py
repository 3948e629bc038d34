"""The case page's promise forms: mark a promise fulfilled (with evidence), or cancel it.

Signed-in staff, CSRF token in the form. Agents act on their own promises, leads and
admins on anyone's (``promises.ensure_may_act``). Slack invites are performed and
verified by the app, so the page offers no "mark fulfilled" for them; the REST API
(``/api/v1/promises/{id}/fulfil``) stays open to tools. After a change the browser
goes back to the case page, where the follow-up prompt now shows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from monitor.models import Promise, Staff
from monitor.promises import compensation
from monitor.promises import service as promises
from monitor.replies.promises import approve_compensation, refuse_compensation
from monitor.web.auth import CsrfChecked, CurrentStaff
from monitor.web.console.pages import case_page, render
from monitor.web.deps import Config, DbTx, Now

MAX_EVIDENCE = 2000


router = APIRouter(include_in_schema=False)


def done(
    request: Request,
    session: DbTx,
    now: Now,
    cfg: Config,
    staff: Staff,
    promise_id: int,
    change: Callable[[Promise], None],
) -> Response:
    try:
        promise = promises.get(session, promise_id, for_update=True)
    except promises.PromiseNotFound as exc:
        return render(request, "error.html", 404, message=str(exc))
    try:
        promises.ensure_may_act(promise, staff)
        change(promise)
    except promises.PromiseError as exc:
        status = {
            promises.PromiseNotAllowed: 403,
            promises.PromiseStateError: 409,
        }.get(type(exc), 422)
        # Every refusal comes before anything is written; the page shows why.
        return case_page(
            request,
            session,
            now,
            cfg,
            staff,
            promise.case_id,
            status_code=status,
            error=str(exc),
        )
    return RedirectResponse(f"/cases/{promise.case_id}#promise-{promise.id}", status_code=303)


@router.post("/promises/{promise_id}/fulfil", dependencies=[CsrfChecked])
def fulfil(
    request: Request,
    promise_id: int,
    session: DbTx,
    now: Now,
    cfg: Config,
    staff: CurrentStaff,
    evidence: Annotated[str, Form(max_length=MAX_EVIDENCE)] = "",
) -> Response:
    def run(promise: Promise) -> None:
        if not evidence.strip():
            raise promises.PromiseError("say what shows the promise was kept (evidence)")
        promises.fulfil(
            session,
            promise,
            evidence={"note": evidence.strip(), "source": "console"},
            now=now,
            actor=staff.name,
            timing=promises.Timing.from_settings(cfg.settings.alerts),
        )

    return done(request, session, now, cfg, staff, promise_id, run)


def _decide(
    request: Request, session: DbTx, now: Now, cfg: Config, staff: Staff, promise_id: int,
    decide: Callable[[Promise], object],
) -> Response:  # fmt: skip
    try:
        promise = promises.get(session, promise_id, for_update=True)
    except promises.PromiseNotFound as exc:
        return render(request, "error.html", 404, message=str(exc))
    try:
        decide(promise)
    except (compensation.CompensationError, promises.PromiseError) as exc:
        code = 403 if isinstance(exc, compensation.ApprovalNotAllowed) else 409
        if type(exc) is promises.PromiseError:
            code = 422  # e.g. no reason given
        return case_page(request, session, now, cfg, staff, promise.case_id,
                         status_code=code, error=str(exc))  # fmt: skip
    return RedirectResponse(f"/cases/{promise.case_id}#promise-{promise.id}", status_code=303)


@router.post("/promises/{promise_id}/approve", dependencies=[CsrfChecked])
def approve(
    request: Request, promise_id: int, session: DbTx, now: Now, cfg: Config, staff: CurrentStaff
) -> Response:
    """A lead approves compensation above the limit; the held reply goes to the worker."""
    return _decide(request, session, now, cfg, staff, promise_id,
                   lambda p: approve_compensation(session, p, lead=staff, now=now))  # fmt: skip


@router.post("/promises/{promise_id}/refuse", dependencies=[CsrfChecked])
def refuse(
    request: Request,
    promise_id: int,
    session: DbTx,
    now: Now,
    cfg: Config,
    staff: CurrentStaff,
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """A lead refuses: the promise is withdrawn and its reply is not sent."""
    return _decide(request, session, now, cfg, staff, promise_id,
                   lambda p: refuse_compensation(session, p, lead=staff, reason=reason,
                                                 now=now))  # fmt: skip


@router.post("/promises/{promise_id}/cancel", dependencies=[CsrfChecked])
def cancel(
    request: Request,
    promise_id: int,
    session: DbTx,
    now: Now,
    cfg: Config,
    staff: CurrentStaff,
    reason: Annotated[str, Form(max_length=MAX_EVIDENCE)] = "",
    broken: Annotated[str, Form()] = "",
) -> Response:
    def run(promise: Promise) -> None:
        if not reason.strip():
            raise promises.PromiseError("give a reason for cancelling the promise")
        close = promises.mark_broken if broken else promises.cancel
        close(session, promise, reason=reason.strip(), now=now, actor=staff.name)

    return done(request, session, now, cfg, staff, promise_id, run)
