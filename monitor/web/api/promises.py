"""REST: promises (create, list, fulfil, cancel), promise suggestions, webhook admin.

Scopes: ``queue:read`` to read and to ask for suggestions, ``promises:write`` to create,
fulfil and cancel (acting as the token's staff member), ``webhooks:admin`` for
``/api/v1/webhooks``. A webhook's signing secret is returned once, by the POST that
creates it, and never again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException, Query, Response
from sqlalchemy import select

from monitor.alerts import webhooks
from monitor.cases import service as queue
from monitor.cases import staff_actions
from monitor.models import Alert, Promise, Staff, WebhookDelivery, WebhookSubscription
from monitor.promises import queries as promise_queries
from monitor.promises import service as promises
from monitor.promises.text import parse_due, suggest
from monitor.web.api.cases import CONFLICT, ERRORS, Principal, acting, scoped
from monitor.web.api.promise_schemas import (
    AlertOut,
    CancelIn,
    DeliveryOut,
    FulfilIn,
    PromiseIn,
    PromiseOut,
    SuggestIn,
    SuggestionOut,
    WebhookIn,
    WebhookOut,
    WebhookPatch,
)
from monitor.web.api.schemas import ErrorOut
from monitor.web.deps import Box, Config, DbTx, Now

Reader = Annotated[Principal, scoped("queue:read")]
Writer = Annotated[Principal, scoped("promises:write")]
Admin = Annotated[Principal, scoped("webhooks:admin")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such thing"}}
STATE_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorOut, "description": "the promise's state does not allow this"}
}


@contextmanager
def _domain_errors() -> Iterator[None]:
    try:
        yield
    except (promises.PromiseNotFound, queue.CaseNotFound, webhooks.SubscriptionNotFound) as exc:
        raise HTTPException(404, detail=str(exc)) from None
    except promises.PromiseStateError as exc:
        raise HTTPException(409, detail=str(exc)) from None
    except promises.PromiseNotAllowed as exc:
        raise HTTPException(403, detail=str(exc)) from None
    except (promises.PromiseError, webhooks.WebhookError) as exc:
        raise HTTPException(422, detail=str(exc)) from None


def promise_out(
    session: Any,
    p: Promise,
    *,
    now: datetime,
    detail: bool = False,
    alerts: list[Alert] | None = None,
) -> PromiseOut:
    """The promise with its alerts (given, or read); ``detail`` adds its history."""
    out = PromiseOut(
        overdue=p.state in promises.UNKEPT and p.due_at < now,
        **{k: getattr(p, k) for k in PromiseOut.model_fields if hasattr(Promise, k)},
    )
    if alerts is None:
        alerts = promise_queries.alerts_of(session, [p.id]).get(p.id, [])
    out.alerts = [AlertOut.model_validate(a, from_attributes=True) for a in alerts]
    if detail:
        out.history = [
            {**e.payload, "id": e.id, "kind": e.kind, "actor": e.actor, "at": e.created_at}
            for e in promises.history(session, p)
        ]
    return out


def webhook_out(sub: WebhookSubscription, secret: str | None = None) -> WebhookOut:
    return WebhookOut(
        id=sub.id,
        url=sub.url,
        events=list(sub.events),
        description=sub.description,
        active=sub.active,
        created_at=sub.created_at,
        secret=secret,
    )


router = APIRouter(prefix="/api/v1", tags=["promises"], responses=ERRORS)


def timing(cfg: Config) -> promises.Timing:
    return promises.Timing.from_settings(cfg.settings.alerts)


@router.post("/cases/{case_id}/promises", status_code=201, responses=NOT_FOUND | CONFLICT)
def create_promise(
    case_id: int,
    body: PromiseIn,
    session: DbTx,
    now: Now,
    cfg: Config,
    p: Writer,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=200,
            description="optional; the same key again answers with the promise it made "
            "(409 if it was a different promise)",
        ),
    ] = None,
) -> PromiseOut:
    """Record a promise made to the customer of this case (the due time may be parsed).

    409 while someone else holds the case (the claim covers promises), or when the
    Idempotency-Key was used for a different promise."""
    staff = acting(p)
    with _domain_errors():
        case = queue.get_case(session, case_id)
        owner = session.get(Staff, body.owner_id) if body.owner_id else staff
        if owner is None:
            raise HTTPException(422, detail=f"no staff member {body.owner_id}")
        tz = body.timezone or owner.timezone
        due = body.due_at
        if due is None:
            end = cfg.settings.alerts.workday_end_hour
            # Staff say this is a promise: its wording needs no "I will" to be read.
            found = parse_due(body.wording, now=now, timezone=tz, workday_end_hour=end)
            if found is None:
                raise HTTPException(422, detail="no due_at given and none found in the wording")
            due = found[0]
        promise = staff_actions.add_promise(
            session,
            case,
            staff=staff,
            idempotency_key=idempotency_key,
            kind=body.kind,
            wording=body.wording,
            due_at=due,
            owner=owner,
            now=now,
            timing=timing(cfg),
            owner_timezone=tz,
            reply_id=body.reply_id,
            target=body.target,
        )
    return promise_out(session, promise, now=now)


@router.get("/promises")
def list_promises(
    session: DbTx,
    now: Now,
    _p: Reader,
    state: Annotated[
        Literal["open", "overdue", "escalated", "fulfilled", "broken", "cancelled", "unkept"]
        | None,
        Query(description="unkept = open, overdue or escalated"),
    ] = None,
    case_id: int | None = None,
    owner_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: Annotated[int, Query(ge=0, description="the last id of the previous page")] = 0,
) -> list[PromiseOut]:
    """Promises by id, filtered."""
    rows = promises.list_promises(
        session, state=state, case_id=case_id, owner_id=owner_id, limit=limit, after_id=after
    )
    alerts = promise_queries.alerts_of(session, [r.id for r in rows])
    return [promise_out(session, r, now=now, alerts=alerts.get(r.id, [])) for r in rows]


@router.get("/promises/{promise_id}", responses=NOT_FOUND)
def get_promise(promise_id: int, session: DbTx, now: Now, _p: Reader) -> PromiseOut:
    """One promise with its alerts (and their delivery state) and its history."""
    with _domain_errors():
        return promise_out(session, promises.get(session, promise_id), now=now, detail=True)


@router.post("/promises/{promise_id}/fulfil", responses=NOT_FOUND | STATE_CONFLICT)
def fulfil(
    promise_id: int, body: FulfilIn, session: DbTx, now: Now, cfg: Config, p: Writer
) -> PromiseOut:
    """Confirm the promise was kept, with evidence; the case then gets a follow-up prompt.

    Agents confirm their own promises; leads and admins anyone's (403 otherwise).
    """
    staff = acting(p)
    evidence = body.evidence | ({"note": body.note} if body.note else {})
    with _domain_errors():
        promise = promises.get(session, promise_id, for_update=True)
        promises.ensure_may_act(promise, staff)
        promises.fulfil(
            session, promise, evidence=evidence, now=now, actor=staff.name, timing=timing(cfg)
        )
    return promise_out(session, promise, now=now, detail=True)


@router.post("/promises/{promise_id}/cancel", responses=NOT_FOUND | STATE_CONFLICT)
def cancel(promise_id: int, body: CancelIn, session: DbTx, now: Now, p: Writer) -> PromiseOut:
    """Withdraw a promise made in error, or record it as broken (owner or lead: 403)."""
    staff = acting(p)
    close: Callable[..., Promise] = promises.mark_broken if body.broken else promises.cancel
    with _domain_errors():
        promise = promises.get(session, promise_id, for_update=True)
        promises.ensure_may_act(promise, staff)
        close(session, promise, reason=body.reason, now=now, actor=staff.name)
    return promise_out(session, promise, now=now, detail=True)


@router.post("/replies/suggest-promises")
def suggest_promises(body: SuggestIn, now: Now, cfg: Config, p: Reader) -> list[SuggestionOut]:
    """The promises found in a draft reply, with kind and parsed due time."""
    tz = body.timezone or (p.staff.timezone if p.staff else "UTC")
    end = cfg.settings.alerts.workday_end_hour
    found = suggest(body.text, now=now, timezone=tz, workday_end_hour=end)
    return [
        SuggestionOut(
            kind=s.kind.value,
            wording=s.wording,
            due_at=s.due_at,
            due_phrase=s.due_phrase,
            due_guessed=s.due_guessed,
            start=s.start,
            end=s.end,
        )
        for s in found
    ]


# --- webhook subscriptions (webhooks:admin) ---


@router.get("/webhooks", tags=["webhooks"])
def list_webhooks(session: DbTx, _p: Admin) -> list[WebhookOut]:
    """Every subscription (secrets are never listed)."""
    stmt = select(WebhookSubscription).order_by(WebhookSubscription.id)
    return [webhook_out(s) for s in session.scalars(stmt)]


@router.post("/webhooks", status_code=201, tags=["webhooks"])
def create_webhook(
    body: WebhookIn, session: DbTx, now: Now, cfg: Config, box: Box, _p: Admin
) -> WebhookOut:
    """Subscribe an endpoint; the answer carries the signing secret, this once."""
    with _domain_errors():
        sub, secret = webhooks.create_subscription(
            session,
            box=box,
            url=str(body.url),
            kinds=body.events,
            description=body.description,
            now=now,
            require_https=cfg.settings.webhooks.require_https,
        )
    return webhook_out(sub, secret)


@router.get("/webhooks/{sub_id}", tags=["webhooks"], responses=NOT_FOUND)
def get_webhook(sub_id: int, session: DbTx, _p: Admin) -> WebhookOut:
    with _domain_errors():
        return webhook_out(webhooks.get_subscription(session, sub_id))


@router.patch("/webhooks/{sub_id}", tags=["webhooks"], responses=NOT_FOUND)
def update_webhook(
    sub_id: int, body: WebhookPatch, session: DbTx, now: Now, cfg: Config, _p: Admin
) -> WebhookOut:
    with _domain_errors():
        sub = webhooks.update_subscription(
            session,
            webhooks.get_subscription(session, sub_id),
            now=now,
            url=str(body.url) if body.url else None,
            kinds=body.events,
            description=body.description,
            active=body.active,
            require_https=cfg.settings.webhooks.require_https,
        )
    return webhook_out(sub)


@router.delete("/webhooks/{sub_id}", status_code=204, tags=["webhooks"], responses=NOT_FOUND)
def delete_webhook(sub_id: int, session: DbTx, _p: Admin) -> Response:
    with _domain_errors():
        webhooks.delete_subscription(session, webhooks.get_subscription(session, sub_id))
    return Response(status_code=204)


@router.get("/webhooks/{sub_id}/deliveries", tags=["webhooks"], responses=NOT_FOUND)
def list_deliveries(
    sub_id: int,
    session: DbTx,
    _p: Admin,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DeliveryOut]:
    """The delivery log, newest first: attempts, response codes, errors, next retry."""
    with _domain_errors():
        webhooks.get_subscription(session, sub_id)
    rows: list[WebhookDelivery] = webhooks.deliveries(session, sub_id, limit=limit)
    return [DeliveryOut.model_validate(d, from_attributes=True) for d in rows]
