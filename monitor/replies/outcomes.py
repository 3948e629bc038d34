"""What became of a reply's send, written on the reply, its case and the event log.

Sent: the reply counts as the staff reply in the case's frustration context
(``queue.record_staff_reply`` + ``priority.rescore_cases``), and one that apologises
marks the case's "apologised" stage. Failed: the error is kept on the reply and a
``reply.failed`` event tells the case, the queue and the sender. Transient errors
schedule another attempt with back-off (:func:`retry`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from monitor import events
from monitor.cases import service as queue
from monitor.config import ReplySettings
from monitor.events import EventKind
from monitor.incidents import service as incidents
from monitor.models import Reply, ReplyState, Staff, Stage
from monitor.priority.service import Scorer, rescore_cases
from monitor.replies.failures import FailureAlerts, record_failure
from monitor.replies.service import ReplyEventKind
from responders.base import Delivery, TransientError

NO_EXTRA_ALERTS = FailureAlerts()  # the console alert only
APOLOGY = re.compile(
    r"\b(?:sorry|apologi[sz]e|apologies|my (?:fault|mistake)|our (?:fault|mistake)|"
    r"we (?:messed|dropped) |i regret|we regret)",
    re.IGNORECASE,
)


@dataclass
class RunReport:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    unknown: list[int] = field(default_factory=list)  # left for reconciliation
    reconciled: list[int] = field(default_factory=list)  # found sent by reconciliation
    requeued: list[int] = field(default_factory=list)  # reconciliation found nothing
    skipped: list[int] = field(default_factory=list)  # lease lapsed before its turn


def backoff(attempts: int, settings: ReplySettings, retry_after: float | None = None) -> timedelta:
    """Exponential: retry_seconds, doubling per attempt, capped; never sooner than asked."""
    seconds = min(settings.retry_max_seconds, settings.retry_seconds * 2 ** max(0, attempts - 1))
    return timedelta(seconds=max(seconds, retry_after or 0.0))


def _actor(session: Session, reply: Reply) -> str:
    staff = session.get(Staff, reply.staff_id) if reply.staff_id else None
    return staff.name if staff else "system"


def mark_sent(
    session: Session,
    reply: Reply,
    delivery: Delivery,
    *,
    now: datetime,
    scorer: Scorer | None,
    reconciled: bool = False,
) -> None:
    reply.state = ReplyState.SENT
    reply.external_id = delivery.external_id
    reply.sent_at = delivery.delivered_at if reconciled else now
    reply.holder = reply.lease_expires_at = reply.next_attempt_at = None
    reply.error = None
    actor = _actor(session, reply)
    kind = ReplyEventKind.RECONCILED if reconciled else ReplyEventKind.SENT
    payload = {"reply_id": reply.id, "channel": reply.channel, "external_id": delivery.external_id}
    events.append(session, kind, now=now, case_id=reply.case_id, actor=actor, payload=payload)
    case = queue.get_case(session, reply.case_id)
    queue.record_staff_reply(case, now=now, reply=reply)
    incidents.heard_from_us(session, case_id=case.id, reply_id=reply.id, now=now)
    if case.apologised_at is None and APOLOGY.search(reply.body):
        case.apologised_at = now
        events.append(
            session,
            EventKind.STAGE_CHANGED,
            now=now,
            case_id=case.id,
            actor=actor,
            payload={"stage": Stage.APOLOGISED.value, "status": case.status},
        )
    if scorer is not None:
        rescore_cases(session, [case], scorer=scorer, now=now)
    events.append(
        session,
        EventKind.CASE_UPDATED,
        now=now,
        case_id=case.id,
        payload={"score": case.score, "status": case.status, "reply_id": reply.id},
    )


def mark_failed(
    session: Session,
    reply: Reply,
    error: str,
    *,
    now: datetime,
    alerts: FailureAlerts = NO_EXTRA_ALERTS,
) -> None:
    reply.state = ReplyState.FAILED
    reply.error = error
    reply.holder = reply.lease_expires_at = reply.next_attempt_at = None
    events.append(
        session,
        ReplyEventKind.FAILED,
        now=now,
        case_id=reply.case_id,
        payload={
            "reply_id": reply.id,
            "channel": reply.channel,
            "error": error,
            "notify_staff_id": reply.staff_id,  # the sender is told (console, alerts)
        },
    )
    record_failure(session, reply, error, now=now, policy=alerts)


def retry(session: Session, reply: Reply, exc: TransientError, *, now: datetime,
           settings: ReplySettings, alerts: FailureAlerts) -> str:  # fmt: skip
    """Schedule another attempt (or give up); returns which list the reply belongs to."""
    reply.error = str(exc)
    if reply.attempts >= settings.max_attempts:
        error = f"gave up after {reply.attempts} attempts: {exc}"
        mark_failed(session, reply, error, now=now, alerts=alerts)
        return "failed"
    wait = backoff(reply.attempts, settings, exc.retry_after)
    if exc.maybe_sent:  # stay "sending": reconciliation looks before anything is re-sent
        reply.lease_expires_at = now + wait
        return "unknown"
    reply.state = ReplyState.QUEUED
    reply.holder = reply.lease_expires_at = None
    reply.next_attempt_at = now + wait
    events.append(
        session,
        ReplyEventKind.RETRYING,
        now=now,
        case_id=reply.case_id,
        payload={"reply_id": reply.id, "error": str(exc), "at": reply.next_attempt_at.isoformat()},
    )
    return "retrying"
