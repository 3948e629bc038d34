"""The promise ledger: every commitment made to a customer, until it is kept.

A promise belongs to a case and its customer, has the wording the customer saw, a
kind, an owner and a deadline (kept with the owner's time zone, for display and for
parsing "today"). States::

    open ──(deadline)──> overdue ──(ladder: lead/channel)──> escalated
      │                     │                                   │
      ├──── fulfil (evidence) ──> fulfilled ──> follow-up prompt (own due time)
      ├──── cancel ─────────────> cancelled
      └──── mark_broken ────────> broken

A customer's later message never changes a promise: only staff, tools (API) and the
app's own performing job (Slack invites) do. The clock (``promise_clock``) moves the
time-driven states. Functions take ``now`` and leave the transaction to the caller;
each change appends an Event, so the case history is the promise's history.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor import events
from monitor.config import AlertsSettings
from monitor.models import (
    Case,
    CaseStatus,
    Promise,
    PromiseState,
    Role,
    Staff,
    Stage,
)
from monitor.priority.service import Scorer, rescore_cases
from monitor.promises import compensation
from monitor.promises.queries import customer_email as customer_email

# The read side lives in promise_queries; re-exported so callers keep one module.
from monitor.promises.queries import history as history
from monitor.promises.queries import list_promises as list_promises
from monitor.promises.queries import overdue as overdue
from monitor.promises.queries import reply_case_id
from monitor.promises.text import PromiseKind, zone

UNKEPT = (PromiseState.OPEN, PromiseState.OVERDUE, PromiseState.ESCALATED)
AUTOMATIC = (PromiseKind.SLACK_INVITE,)


class PromiseEvent(StrEnum):
    CREATED = "promise.created"
    DUE_SOON = "promise.due_soon"
    OVERDUE = "promise.overdue"
    ESCALATED = "promise.escalated"
    FULFILLED = "promise.fulfilled"
    CANCELLED = "promise.cancelled"
    BROKEN = "promise.broken"
    FOLLOW_UP_DUE = "promise.follow_up_due"
    FOLLOW_UP_OVERDUE = "promise.follow_up_overdue"
    INVITE_SENT = "promise.invite_sent"
    PERFORM_RETRY = "promise.perform_retry"
    PERFORM_FAILED = "promise.perform_failed"


class PromiseError(ValueError):
    """A request about a promise that cannot be honoured (message is user-facing)."""


class PromiseNotFound(PromiseError):
    pass


class PromiseStateError(PromiseError):
    pass


class PromiseNotAllowed(PromiseError):
    """An agent acting on someone else's promise (leads and admins may)."""


LEAD_ROLES = frozenset({Role.LEAD, Role.ADMIN})


def may_act(owner_id: int | None, staff: Staff) -> bool:
    """Agents confirm or cancel their own promises (and unowned ones); leads anyone's."""
    return staff.role in LEAD_ROLES or owner_id in (None, staff.id)


def ensure_may_act(promise: Promise, staff: Staff) -> None:
    if not may_act(promise.owner_id, staff):
        raise PromiseNotAllowed(
            f"promise {promise.id} belongs to someone else; only its owner or a lead may change it"
        )


@dataclass(frozen=True)
class Timing:
    """What creating and fulfilling need from the alerts settings."""

    remind_before: timedelta = timedelta(minutes=60)
    follow_up: timedelta = timedelta(hours=24)

    @classmethod
    def from_settings(cls, alerts: AlertsSettings) -> Timing:
        return cls(
            remind_before=timedelta(minutes=alerts.remind_before_minutes),
            follow_up=timedelta(hours=alerts.follow_up_hours),
        )


def first_action_at(due_at: datetime, *, now: datetime, timing: Timing) -> datetime:
    """When the clock should first look at a promise: the first reminder, or now."""
    return max(now, due_at - timing.remind_before) if timing.remind_before else due_at


def _payload(p: Promise, **extra: Any) -> dict[str, Any]:
    return {
        "promise_id": p.id,
        "kind": p.kind,
        "wording": p.wording,
        "due_at": p.due_at.isoformat(),
        "owner_id": p.owner_id,
        "state": p.state,
        **extra,
    }


def create(
    session: Session,
    *,
    case: Case,
    kind: PromiseKind | str,
    wording: str,
    due_at: datetime,
    owner: Staff | None,
    now: datetime,
    timing: Timing = Timing(),
    owner_timezone: str | None = None,
    reply_id: int | None = None,
    target: str | None = None,
    actor: str = "system",
    idempotency_key: str | None = None,
) -> Promise:
    """Record a promise made on ``case``; Slack invites are queued for performing."""
    kind = _known_kind(kind)
    wording = wording.strip()
    if not wording:
        raise PromiseError("a promise needs the wording the customer saw")
    if due_at.tzinfo is None:
        raise PromiseError("due_at needs a time zone (e.g. 2026-11-02T17:00:00+01:00)")
    tz = owner_timezone or (owner.timezone if owner else None) or "UTC"
    if zone(tz).key != tz:
        raise PromiseError(f"unknown time zone {tz!r}")
    if reply_id is not None:
        _check_reply_on_case(session, reply_id, case)
    if kind in AUTOMATIC and target is None:
        target = customer_email(session, case.customer_id)
    promise = Promise(
        case_id=case.id,
        customer_id=case.customer_id,
        reply_id=reply_id,
        idempotency_key=idempotency_key,
        owner_id=owner.id if owner else None,
        kind=kind.value,
        wording=wording,
        due_at=due_at,
        owner_timezone=tz,
        state=PromiseState.OPEN,
        escalation_step=0,
        next_action_at=first_action_at(due_at, now=now, timing=timing),
        target=target,
        perform={"state": "pending", "attempts": 0} if kind in AUTOMATIC else None,
        perform_next_at=now if kind in AUTOMATIC else None,
        created_at=now,
        updated_at=now,
    )
    session.add(promise)
    session.flush()
    events.append(
        session,
        PromiseEvent.CREATED,
        now=now,
        case_id=case.id,
        actor=actor,
        payload=_payload(promise, target=target),
    )
    return promise


def _known_kind(kind: PromiseKind | str) -> PromiseKind:
    try:
        return PromiseKind(kind)
    except ValueError:
        names = ", ".join(k.value for k in PromiseKind)
        raise PromiseError(f"unknown promise kind {kind!r}; use one of: {names}") from None


def _check_reply_on_case(session: Session, reply_id: int, case: Case) -> None:
    found = reply_case_id(session, reply_id)
    if found is None:
        raise PromiseError(f"no reply {reply_id}")
    if found != case.id:
        raise PromiseError(f"reply {reply_id} belongs to another case, not case {case.id}")


def get(session: Session, promise_id: int, *, for_update: bool = False) -> Promise:
    stmt = select(Promise).where(Promise.id == promise_id)
    if for_update and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    promise = session.scalars(stmt).one_or_none()
    if promise is None:
        raise PromiseNotFound(f"no promise {promise_id}")
    return promise


def _rescore_customer(
    session: Session, customer_id: int, scorer: Scorer | None, now: datetime
) -> None:
    if scorer is None:
        return
    cases = list(
        session.scalars(
            select(Case).where(Case.customer_id == customer_id, Case.status != CaseStatus.RESOLVED)
        )
    )
    session.flush()
    for case in rescore_cases(session, cases, scorer=scorer, now=now):
        events.append(
            session,
            events.EventKind.SCORE_CHANGED,
            now=now,
            case_id=case.id,
            payload={"score": case.score, "band": case.band, "reasons": case.reasons},
        )


def _stamp_acted(session: Session, promise: Promise, *, now: datetime, actor: str) -> None:
    """A kept promise is the case's "acted" stage, a kept check-in its "followed up"
    stage (the first time counts)."""
    case = session.get(Case, promise.case_id)
    stage = Stage.FOLLOWED_UP if promise.kind == PromiseKind.CHECK_IN else Stage.ACTED
    column = f"{stage.value}_at"
    if case is None or getattr(case, column) is not None:
        return
    setattr(case, column, now)
    case.updated_at = now
    events.append(
        session,
        events.EventKind.STAGE_CHANGED,
        now=now,
        case_id=case.id,
        actor=actor,
        payload={"stage": stage.value, "status": case.status, "by_promise": promise.id},
    )


def fulfil(
    session: Session,
    promise: Promise,
    *,
    evidence: Mapping[str, Any],
    now: datetime,
    actor: str = "system",
    timing: Timing = Timing(),
    scorer: Scorer | None = None,
    follow_up: bool = True,
) -> Promise:
    """Mark kept with evidence; the case then gets a follow-up prompt with its own due time.

    ``follow_up=False`` for a promise that was itself the contact (an incident update
    kept by a reply): no prompt to check in about it.
    """
    if promise.state == PromiseState.FULFILLED:
        return promise  # idempotent: a retry of the same confirmation
    if promise.state not in UNKEPT:
        raise PromiseStateError(f"promise {promise.id} is {promise.state}; it cannot be fulfilled")
    try:
        compensation.ensure_can_fulfil(promise, evidence)
    except compensation.AwaitingApproval as exc:
        raise PromiseStateError(str(exc)) from None
    except compensation.CompensationError as exc:
        raise PromiseError(str(exc)) from None
    was_overdue = promise.due_at < now
    promise.state = PromiseState.FULFILLED
    promise.fulfilled_at = now
    promise.evidence = {**dict(evidence), "by": actor, "at": now.isoformat()}
    follow_up = follow_up and promise.kind != PromiseKind.CHECK_IN  # it is the follow-up
    promise.follow_up_due_at = now + timing.follow_up if follow_up else None
    promise.next_action_at = promise.follow_up_due_at  # the clock checks the follow-up
    promise.perform_next_at = None
    promise.updated_at = now
    _stamp_acted(session, promise, now=now, actor=actor)
    events.append(
        session,
        PromiseEvent.FULFILLED,
        now=now,
        case_id=promise.case_id,
        actor=actor,
        payload=_payload(promise, evidence=promise.evidence, late=was_overdue),
    )
    if promise.follow_up_due_at is None:
        return _after_fulfil(session, promise, was_overdue, scorer, now)
    events.append(
        session,
        PromiseEvent.FOLLOW_UP_DUE,
        now=now,
        case_id=promise.case_id,
        actor="system",
        payload=_payload(
            promise,
            follow_up_due_at=promise.follow_up_due_at.isoformat(),
            prompt="Check personally with the customer that this worked for them "
            "(no automatic message is sent).",
        ),
    )
    return _after_fulfil(session, promise, was_overdue, scorer, now)


def _after_fulfil(
    session: Session, promise: Promise, was_overdue: bool, scorer: Scorer | None, now: datetime
) -> Promise:
    if was_overdue:
        _rescore_customer(session, promise.customer_id, scorer, now)
    return promise


def _close(
    session: Session,
    promise: Promise,
    state: PromiseState,
    kind: PromiseEvent,
    *,
    reason: str,
    now: datetime,
    actor: str,
    scorer: Scorer | None,
) -> Promise:
    if promise.state == state:
        return promise
    if promise.state not in UNKEPT:
        raise PromiseStateError(f"promise {promise.id} is {promise.state}; it cannot be {state}")
    was_overdue = promise.due_at < now
    promise.state = state
    promise.next_action_at = None
    promise.perform_next_at = None
    promise.updated_at = now
    payload = _payload(promise, reason=reason)
    events.append(session, kind, now=now, case_id=promise.case_id, actor=actor, payload=payload)
    if was_overdue:
        _rescore_customer(session, promise.customer_id, scorer, now)
    return promise


def cancel(
    session: Session,
    promise: Promise,
    *,
    reason: str,
    now: datetime,
    actor: str = "system",
    scorer: Scorer | None = None,
) -> Promise:
    """Withdraw a promise made in error (staff only; never because the customer wrote)."""
    return _close(
        session,
        promise,
        PromiseState.CANCELLED,
        PromiseEvent.CANCELLED,
        reason=reason,
        now=now,
        actor=actor,
        scorer=scorer,
    )


def mark_broken(
    session: Session,
    promise: Promise,
    *,
    reason: str,
    now: datetime,
    actor: str = "system",
    scorer: Scorer | None = None,
) -> Promise:
    """Record that a promise will not be kept (it stays in reports as broken)."""
    return _close(
        session,
        promise,
        PromiseState.BROKEN,
        PromiseEvent.BROKEN,
        reason=reason,
        now=now,
        actor=actor,
        scorer=scorer,
    )
