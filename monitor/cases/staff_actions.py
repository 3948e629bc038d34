"""Staff actions on a case that another noun carries out: promises and identity links.

Each checks the claim first (``service.ensure_may_act`` over ``service.CLAIM_COVERS``),
then hands over to the owning package; nothing here commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.cases.service import Action, QueueError, ensure_may_act
from monitor.models import Case, CaseStatus, Identity, Promise, Staff
from monitor.promises import queries as promise_queries
from monitor.promises import service as promises


class KeyReused(QueueError):
    """An idempotency key sent again with a different request (409)."""


def add_promise(
    session: Session,
    case: Case,
    *,
    staff: Staff,
    now: datetime,
    idempotency_key: str | None = None,
    **promise: Any,
) -> Promise:
    """A promise recorded on ``case`` by ``staff`` (covered by the claim), then
    :func:`monitor.promises.service.create` with ``promise``'s arguments.

    With an ``idempotency_key`` a retry returns the promise the key made (KeyReused if
    that was a different promise: another case, kind or wording)."""
    key = (idempotency_key or "").strip() or None
    found = promise_queries.by_idempotency_key(session, key) if key else None
    if found is not None:
        wording = str(promise.get("wording", "")).strip()
        if (found.case_id, found.kind, found.wording) != (case.id, promise.get("kind"), wording):
            raise KeyReused(f"Idempotency-Key {key!r} was used for another promise")
        return found
    ensure_may_act(session, case, staff=staff, action=Action.PROMISE, now=now)
    return promises.create(
        session, case=case, now=now, actor=staff.name, idempotency_key=key, **promise
    )


def ensure_may_link(
    session: Session, *, identity_id: int, customer_id: int, staff: Staff, now: datetime
) -> None:
    """An identity link touches the open cases of both customers: each must be free,
    expired or held by ``staff`` (:data:`CLAIM_COVERS`)."""
    owner = select(Identity.customer_id).where(Identity.id == identity_id).scalar_subquery()
    cases = session.scalars(
        select(Case).where(
            Case.customer_id.in_([customer_id, owner]), Case.status != CaseStatus.RESOLVED
        )
    )
    for case in cases:
        ensure_may_act(session, case, staff=staff, action=Action.LINK, now=now)
