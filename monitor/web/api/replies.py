"""Replies over HTTP: the REST API (bearer tokens) and the composer's console endpoints.

REST (``/api/v1``, scopes from ``accounts.SCOPES``)
    POST /cases/{id}/replies   ``Idempotency-Key`` header required; 202 with the reply and
                               its state (the same key again: the same reply, 202); 409 the
                               case is claimed by someone else or the key was used for a
                               different reply; 422 the guard blocked it (with the check)
                               unless a lead gives ``override_reason``; 403 an agent tried
                               to override. Scope ``replies:write``.
                               ``promises`` (optional): the promises the reply makes,
                               created with it in the same transaction.
    GET  /replies/{id}         delivery state. Scope ``queue:read``.
    POST /replies/check        the template-likeness guard alone. Scope ``queue:read``.

Console (signed-in staff, ``X-CSRF-Token`` header), used by static/composer.js
    POST /cases/{id}/composer/check, POST /cases/{id}/composer/send, GET /composer/replies/{id}

The reply index (previous replies) lives on ``app.state.reply_index``, built on first use.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from monitor.cases import service as queue
from monitor.config import LoadedConfig
from monitor.models import Reply, Staff
from monitor.promises import service as promises
from monitor.promises.queries import made_by_reply
from monitor.replies import service as replies
from monitor.replies.index import ReplyIndex
from monitor.replies.promises import queue_reply_with_promises, suggestions
from monitor.web import auth
from monitor.web.api.cases import ERRORS, Principal, acting, scoped
from monitor.web.api.reply_schemas import (
    BlockedOut,
    CheckIn,
    CheckOut,
    ComposerCheckOut,
    ComposerSendIn,
    ReplyIn,
    ReplyOut,
    SuggestedPromiseOut,
)
from monitor.web.api.schemas import ErrorOut
from monitor.web.deps import Config, DbTx, Now
from monitor.web.viewer_zone import viewer_zone

__all__ = ["BlockedOut", "CheckIn", "CheckOut", "ReplyIn", "ReplyOut", "install"]


def reply_index(request: Request, session: DbTx) -> ReplyIndex:
    index: ReplyIndex = request.app.state.reply_index
    index.ensure_built(session)
    index.catch_up(session)
    return index


Index = Annotated[ReplyIndex, Depends(reply_index)]


def policy(cfg: LoadedConfig, index: ReplyIndex) -> replies.ReplyPolicy:
    s = cfg.settings
    domain = s.responders.email.from_address.rpartition("@")[2] or None
    return replies.ReplyPolicy(
        settings=s.replies,
        claim_timeout=timedelta(minutes=s.queue.claim_timeout_minutes),
        x_limit=s.responders.twitter.max_chars,
        index=index,
        message_id_domain=domain,
    )


def run_check(session: Session, cfg: LoadedConfig, index: ReplyIndex, body: CheckIn) -> CheckOut:
    ctx = None
    if body.case_id is not None:
        case = queue.get_case(session, body.case_id)
        ctx = replies.case_context(session, case, channel=body.channel)
    p = policy(cfg, index)
    result = replies.check_personal(
        body.text,
        case_context=ctx,
        previous_replies_index=index,
        settings=p.settings,
        x_limit=p.x_limit,
    )
    return CheckOut.of(result, p.settings.block_threshold)


def send(
    session: Session,
    cfg: LoadedConfig,
    index: ReplyIndex,
    *,
    case_id: int,
    staff: Staff,
    body: ReplyIn,
    key: str,
    now: datetime,
) -> JSONResponse:
    case = queue.get_case(session, case_id)
    threshold = cfg.settings.replies.block_threshold
    try:
        sent = queue_reply_with_promises(
            session,
            case=case,
            staff=staff,
            body=body.body,
            channel=body.channel,
            idempotency_key=key,
            now=now,
            policy=policy(cfg, index),
            drafts=[p.draft() for p in body.promises],
            timing=promises.Timing.from_settings(cfg.settings.alerts),
            override_reason=body.override_reason,
            compensation_settings=cfg.settings.compensation,
        )
    except promises.PromiseError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=422)
    except replies.ReplyBlocked as exc:
        out = BlockedOut(detail=str(exc), check=CheckOut.of(exc.check, threshold))
        return JSONResponse(out.model_dump(mode="json"), status_code=422)
    except replies.IdempotencyMismatch as exc:
        return JSONResponse({"detail": str(exc)}, status_code=409)
    except replies.OverrideNotAllowed as exc:
        return JSONResponse({"detail": str(exc)}, status_code=403)
    except replies.ReplyError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=422)
    session.flush()
    made = ReplyOut.of(sent.queued.reply, [p.id for p in sent.promises])
    return JSONResponse(made.model_dump(mode="json"), status_code=202)


def _reply(session: Session, reply_id: int) -> Reply:
    reply = session.get(Reply, reply_id)
    if reply is None:
        raise HTTPException(404, detail=f"no reply with id {reply_id}")
    return reply


REPLY_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"model": ReplyOut, "description": "recorded; the worker sends it"},
    409: {"description": "claimed by someone else, or the key was used for another reply"},
    422: {"model": BlockedOut, "description": "the guard blocked it (or invalid input)"},
}


router = APIRouter(prefix="/api/v1", tags=["replies"], responses=ERRORS)


@router.post("/cases/{case_id}/replies", status_code=202, responses=REPLY_RESPONSES)
def create_reply(
    case_id: int,
    body: ReplyIn,
    session: DbTx,
    now: Now,
    cfg: Config,
    index: Index,
    p: Annotated[Principal, scoped("replies:write")],
    idempotency_key: Annotated[str, Header(min_length=1, max_length=200)],
) -> JSONResponse:
    """Queue a personal reply on the customer's channel (sent once per key)."""
    return send(
        session,
        cfg,
        index,
        case_id=case_id,
        staff=acting(p),
        body=body,
        key=idempotency_key,
        now=now,
    )


@router.get("/replies/{reply_id}", response_model=ReplyOut)
def get_reply(
    reply_id: int, session: DbTx, _p: Annotated[Principal, scoped("queue:read")]
) -> ReplyOut:
    """A reply, its delivery state and the promises it made."""
    return ReplyOut.of(_reply(session, reply_id), made_by_reply(session, reply_id))


@router.post(
    "/replies/check",
    response_model=CheckOut,
    responses={404: {"model": ErrorOut, "description": "no such case (case_id)"}},
)
def check(
    body: CheckIn,
    session: DbTx,
    cfg: Config,
    index: Index,
    _p: Annotated[Principal, scoped("queue:read")],
) -> CheckOut:
    """The template-likeness guard alone: score, reasons and highlights."""
    return run_check(session, cfg, index, body)


def csrf_header(request: Request, x_csrf_token: Annotated[str, Header()] = "") -> None:
    if not auth.csrf_ok(request, x_csrf_token):
        raise HTTPException(403, detail="CSRF token missing or wrong; reload the page")


console_router = APIRouter(tags=["console"], include_in_schema=False)
Csrf = Depends(csrf_header)


@console_router.post("/cases/{case_id}/composer/check", dependencies=[Csrf])
def composer_check(
    request: Request,
    case_id: int,
    body: CheckIn,
    session: DbTx,
    cfg: Config,
    index: Index,
    now: Now,
    staff: auth.CurrentStaff,
) -> ComposerCheckOut:
    """The guard, and the promises the draft makes (due times in the sender's zone)."""
    checked = run_check(session, cfg, index, body.model_copy(update={"case_id": case_id}))
    found = suggestions(
        session,
        queue.get_case(session, case_id),
        body.text,
        staff=staff,
        now=now,
        workday_end_hour=cfg.settings.alerts.workday_end_hour,
        timezone=viewer_zone(request, staff),  # the browser's, for staff who chose none
    )
    return ComposerCheckOut(
        **checked.model_dump(), promises=[SuggestedPromiseOut.of(v) for v in found]
    )


@console_router.post("/cases/{case_id}/composer/send", dependencies=[Csrf])
def composer_send(
    case_id: int,
    body: ComposerSendIn,
    session: DbTx,
    cfg: Config,
    index: Index,
    now: Now,
    staff: auth.CurrentStaff,
) -> JSONResponse:
    return send(
        session,
        cfg,
        index,
        case_id=case_id,
        staff=staff,
        body=body,
        key=body.idempotency_key,
        now=now,
    )


@console_router.get("/composer/replies/{reply_id}")
def composer_status(reply_id: int, session: DbTx, _staff: auth.CurrentStaff) -> ReplyOut:
    return ReplyOut.of(_reply(session, reply_id))


def install(app: FastAPI, loaded: LoadedConfig) -> None:
    """Mount the routers and give the app its reply index (built on first use)."""
    app.state.reply_index = ReplyIndex(capacity=loaded.settings.replies.index_size)
    app.include_router(router)
    app.include_router(console_router)
