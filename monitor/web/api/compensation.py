"""REST: a lead approves or refuses compensation above its limit.

``POST /api/v1/promises/{id}/approve`` releases the reply that was held for it (the
worker then sends it) and sends the ``compensation.requested`` webhook;
``POST /api/v1/promises/{id}/refuse`` (with a reason) withdraws the promise and the
reply is not sent. Both need ``promises:write`` and a lead or admin behind the token
(403 otherwise). Billing confirms delivery with ``POST /api/v1/promises/{id}/fulfil``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from monitor.promises import compensation
from monitor.promises import service as promises
from monitor.replies.promises import approve_compensation, refuse_compensation
from monitor.web.api.cases import ERRORS, Principal, acting, scoped
from monitor.web.api.promise_schemas import PromiseOut
from monitor.web.api.promises import NOT_FOUND, STATE_CONFLICT, _domain_errors, promise_out
from monitor.web.deps import DbTx, Now

Writer = Annotated[Principal, scoped("promises:write")]


class RefuseIn(BaseModel):
    reason: str = Field(min_length=5, max_length=1000)


@contextmanager
def _compensation_errors() -> Iterator[None]:
    try:
        yield
    except compensation.ApprovalNotAllowed as exc:
        raise HTTPException(403, detail=str(exc)) from None
    except compensation.CompensationError as exc:
        raise HTTPException(409, detail=str(exc)) from None


router = APIRouter(prefix="/api/v1", tags=["promises"], responses=ERRORS)


@router.post("/promises/{promise_id}/approve", responses=NOT_FOUND | STATE_CONFLICT)
def approve(promise_id: int, session: DbTx, now: Now, p: Writer) -> PromiseOut:
    """A lead approves the compensation; the held reply is released to be sent."""
    lead = acting(p)
    with _domain_errors(), _compensation_errors():
        promise = promises.get(session, promise_id, for_update=True)
        approve_compensation(session, promise, lead=lead, now=now)
    return promise_out(session, promise, now=now, detail=True)


@router.post("/promises/{promise_id}/refuse", responses=NOT_FOUND | STATE_CONFLICT)
def refuse(promise_id: int, body: RefuseIn, session: DbTx, now: Now, p: Writer) -> PromiseOut:
    """A lead refuses the compensation: the promise is withdrawn, its reply not sent."""
    lead = acting(p)
    with _domain_errors(), _compensation_errors():
        promise = promises.get(session, promise_id, for_update=True)
        refuse_compensation(session, promise, lead=lead, reason=body.reason, now=now)
    return promise_out(session, promise, now=now, detail=True)
