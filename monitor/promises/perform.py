"""Performing the promises the app can keep itself: Slack channel invites.

A ``slack_invite`` promise is queued on creation (``perform_next_at = now``). The job:

1. claims due promises (``SKIP LOCKED`` / ``UPDATE … RETURNING``, with a lease);
2. outside any transaction, asks the inviter: invite if nothing was sent yet, else
   check the invite that was sent;
3. records the outcome: **verified** (the customer is in the channel) → fulfilled with
   the Slack evidence; **invited** (a Slack Connect invite not accepted yet) → stays
   open, checked again every ``verify_every`` and followed up by the clock's reminders
   and ladder; **declined**, a permanent error, or too many transient ones → the app
   stops and the owner is alerted to do it by hand; a transient error (rate limit) →
   retried after the vendor's ``Retry-After`` or our back-off, never by sleeping.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from monitor import events
from monitor.alerts.service import insert_alerts
from monitor.models import Promise
from monitor.priority.service import Scorer
from monitor.promises import service as promises
from monitor.promises.clock import ClockPolicy, Step, alert_rows, message
from monitor.promises.recipients import Targets
from monitor.promises.service import UNKEPT, PromiseEvent, Timing
from monitor.promises.text import PromiseKind
from responders.base import PermanentError, TransientError

LEASE = timedelta(minutes=5)


class InviteOutcome(Protocol):
    @property
    def state(self) -> str: ...  # member | invited | declined
    @property
    def verified(self) -> bool: ...
    def as_evidence(self) -> dict[str, Any]: ...


class Inviter(Protocol):
    def invite(self, email: str) -> InviteOutcome: ...
    def check(self, sent: Mapping[str, Any]) -> InviteOutcome: ...


@dataclass(frozen=True)
class PerformPolicy:
    verify_every: timedelta = timedelta(minutes=30)
    max_attempts: int = 8
    first_retry: timedelta = timedelta(seconds=60)
    timing: Timing = field(default_factory=Timing)


@dataclass(frozen=True)
class Job:
    promise_id: int
    target: str | None
    perform: dict[str, Any]


@dataclass
class PerformStats:
    fulfilled: int = 0
    invited: int = 0
    retried: int = 0
    failed: int = 0


def claim(session: Session, *, now: datetime, limit: int) -> list[Job]:
    due = (
        (Promise.perform_next_at <= now)
        & Promise.state.in_(UNKEPT)
        & (Promise.kind == PromiseKind.SLACK_INVITE.value)
    )
    ids_q = select(Promise.id).where(due).order_by(Promise.perform_next_at).limit(limit)
    ids: Any
    if session.get_bind().dialect.name == "postgresql":
        ids = list(session.scalars(ids_q.with_for_update(skip_locked=True)))
        if not ids:
            return []
    else:
        ids = ids_q.scalar_subquery()
    rows = session.execute(
        update(Promise)
        .where(Promise.id.in_(ids))
        .values(perform_next_at=now + LEASE)
        .returning(Promise.id, Promise.target, Promise.perform)
        .execution_options(synchronize_session=False)
    ).all()
    return [Job(pid, target, dict(perform or {})) for pid, target, perform in rows]


def _attempt(inviter: Inviter, job: Job) -> tuple[str, Any]:
    """("ok", outcome) | ("transient", error) | ("permanent", error), no database."""
    try:
        if not job.target:
            raise PermanentError("no email address to invite (the customer has none on file)")
        if job.perform.get("state") == "invited":
            return "ok", inviter.check(job.perform.get("sent", {}))
        return "ok", inviter.invite(job.target)
    except TransientError as exc:
        return "transient", exc
    except PermanentError as exc:
        return "permanent", exc


def _alert_owner(session: Session, p: Promise, policy: ClockPolicy, now: datetime) -> None:
    step = Step("perform_failed", "promise.perform_failed", "owner")
    text = message(p, step, now=now)
    insert_alerts(session, alert_rows(p, step, Targets(session, policy), now=now, text=text))


def _record(
    session: Session,
    job: Job,
    result: tuple[str, Any],
    *,
    now: datetime,
    policy: PerformPolicy,
    clock: ClockPolicy,
    scorer: Scorer | None,
    stats: PerformStats,
) -> None:
    p = session.get(Promise, job.promise_id, populate_existing=True)
    if p is None or p.state not in UNKEPT:
        return  # cancelled or fulfilled by hand meanwhile
    kind, value = result
    perform = dict(job.perform)
    perform["attempts"] = int(perform.get("attempts", 0)) + 1
    perform["last_at"] = now.isoformat()
    if kind == "ok" and value.verified:
        perform |= {"state": "member", "error": None}
        p.perform, p.perform_next_at = perform, None
        evidence = {"source": "slack", **value.as_evidence()}
        promises.fulfil(
            session,
            p,
            evidence=evidence,
            now=now,
            actor="slack",
            timing=policy.timing,
            scorer=scorer,
        )
        stats.fulfilled += 1
    elif kind == "ok" and value.state == "invited":
        _record_invited(session, p, perform, value, now=now, policy=policy)
        stats.invited += 1
    elif kind == "transient" and perform["attempts"] < policy.max_attempts:
        _record_retry(session, p, perform, value, now=now, policy=policy)
        stats.retried += 1
    else:
        error = "the invite was declined or revoked" if kind == "ok" else str(value)
        perform |= {"state": "failed", "error": error}
        p.perform, p.perform_next_at = perform, None
        payload = {**_event_base(p), "error": error}
        events.append(
            session, PromiseEvent.PERFORM_FAILED, now=now, case_id=p.case_id, payload=payload
        )
        _alert_owner(session, p, clock, now)
        stats.failed += 1


def _event_base(p: Promise) -> dict[str, Any]:
    return {"promise_id": p.id, "kind": p.kind, "target": p.target}


def _record_invited(
    session: Session,
    p: Promise,
    perform: dict[str, Any],
    invite: Any,
    *,
    now: datetime,
    policy: PerformPolicy,
) -> None:
    """Invited but not yet a member: check again later; the event is written once."""
    first = perform.get("state") != "invited"
    perform |= {"state": "invited", "sent": invite.as_evidence(), "error": None}
    perform.setdefault("invited_at", now.isoformat())
    p.perform, p.perform_next_at = perform, now + policy.verify_every
    if first:
        payload = {**_event_base(p), "invite": invite.as_evidence()}
        events.append(
            session, PromiseEvent.INVITE_SENT, now=now, case_id=p.case_id, payload=payload
        )


def _record_retry(
    session: Session,
    p: Promise,
    perform: dict[str, Any],
    error: Any,
    *,
    now: datetime,
    policy: PerformPolicy,
) -> None:
    """A passing failure: back off exponentially, at least as long as the server asked."""
    wait = policy.first_retry * (2 ** (perform["attempts"] - 1))
    if error.retry_after:
        wait = max(wait, timedelta(seconds=float(error.retry_after)))
    perform["error"] = str(error)
    p.perform, p.perform_next_at = perform, now + wait
    payload = {**_event_base(p), "error": str(error), "retry_at": (now + wait).isoformat()}
    events.append(session, PromiseEvent.PERFORM_RETRY, now=now, case_id=p.case_id, payload=payload)


def run(
    sessions: sessionmaker[Session],
    inviter: Inviter,
    *,
    now: datetime,
    policy: PerformPolicy,
    clock: ClockPolicy,
    scorer: Scorer | None = None,
    batch: int = 20,
) -> PerformStats:
    """One pass of the performing job (a small batch: Slack's rate limits are tight)."""
    stats = PerformStats()
    with sessions.begin() as session:
        jobs = claim(session, now=now, limit=batch)
    if not jobs:
        return stats
    results = [(job, _attempt(inviter, job)) for job in jobs]
    with sessions.begin() as session:
        for job, result in results:
            _record(
                session,
                job,
                result,
                now=now,
                policy=policy,
                clock=clock,
                scorer=scorer,
                stats=stats,
            )
    return stats
