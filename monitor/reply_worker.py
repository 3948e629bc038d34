"""The outbox worker: send queued replies once, retry with back-off, reconcile the unknown.

States of a reply::

    queued --claim--> sending --Delivery--> sent
      ^                  |  \\--PermanentError / attempts used up--> failed
      |                  |--TransientError (not sent)--> queued, next_attempt_at = back-off
      |                  |--TransientError(maybe_sent), crash, lease lapses--> (unknown)
      |                                                                          |
      +------- reconcile: find_sent() says "not there" <-------------------------+
                reconcile: find_sent() finds it --> sent

- **Claiming** is atomic across processes: ``SELECT … FOR UPDATE SKIP LOCKED`` on
  PostgreSQL, one ``UPDATE … RETURNING`` on SQLite (whose writers are serialised). The
  claim (state ``sending``, holder, lease, attempts + 1) is committed BEFORE the vendor
  is called, so a crash mid-send leaves a trace instead of a silent re-send.
- **Recording** happens in its own transaction, and only if this worker still holds the
  reply (same holder, still ``sending``).
- **Reconciling** (at start-up and on every run): a reply left in ``sending`` past its
  lease has an unknown outcome. ``find_sent`` looks it up (our timeline on X); found ->
  sent, absent -> queued again. SMTP cannot be asked: ``replies.email_unknown_outcome``
  chooses "resend" (at least once; the same Message-ID lets mail clients fold a
  duplicate) or "fail" (at most once; staff check and resend by hand).
- A sent reply counts as the staff reply in the case's frustration context
  (``queue.record_staff_reply`` + ``priority.rescore_cases``); one that apologises marks
  the case's "apologised" stage. A permanent failure is recorded on the reply, and a
  ``reply.failed`` event tells the case, the queue and the sender.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from time import monotonic

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session, sessionmaker

from monitor import events, queue
from monitor.config import ReplySettings
from monitor.events import EventKind
from monitor.models import Case, Mention, Reply, ReplyState, Staff, Stage
from monitor.priority import Scorer, rescore_cases
from monitor.replies import ReplyEventKind
from monitor.reply_alerts import FailureAlerts, record_failure
from responders.base import (
    Delivery,
    DuplicateContent,
    Outbound,
    PermanentError,
    Responder,
    TransientError,
    Unverifiable,
)

log = logging.getLogger(__name__)
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


def outbound_for(session: Session, reply: Reply) -> Outbound:
    mention = session.get(Mention, reply.mention_id) if reply.mention_id else None
    staff = session.get(Staff, reply.staff_id) if reply.staff_id else None
    case = session.get(Case, reply.case_id)
    refs = tuple(mention.thread_refs or ()) if mention and reply.channel == "email" else ()
    return Outbound(
        channel=reply.channel,
        body=reply.body,
        recipient=reply.recipient or "",
        idempotency_key=reply.idempotency_key,
        recipient_name=(mention.author_name or mention.author) if mention else None,
        in_reply_to=reply.in_reply_to,
        references=tuple(r for r in refs if r != reply.in_reply_to),
        subject=(mention.subject if mention else None) or (case.subject if case else None),
        message_id=reply.message_id,
        quoted=(mention.text_for_scoring or mention.text) if mention else None,
        sender_name=(staff.display_name or staff.name) if staff else None,
    )


def _claim_due(
    session: Session, *, now: datetime, holder: str, lease: timedelta, limit: int
) -> list[int]:
    due = and_(
        Reply.state == ReplyState.QUEUED,
        Reply.next_attempt_at.is_not(None),
        Reply.next_attempt_at <= now,
    )
    values = {
        "state": ReplyState.SENDING,
        "holder": holder,
        "lease_expires_at": now + lease,
        "attempts": Reply.attempts + 1,
    }
    if session.get_bind().dialect.name == "postgresql":
        ids = list(
            session.scalars(
                select(Reply.id)
                .where(due)
                .order_by(Reply.next_attempt_at, Reply.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if ids:
            session.execute(
                update(Reply)
                .where(Reply.id.in_(ids))
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        return ids
    chosen = select(Reply.id).where(due).order_by(Reply.next_attempt_at, Reply.id).limit(limit)
    stmt = (
        update(Reply)
        .where(Reply.id.in_(chosen.scalar_subquery()))
        .values(**values)
        .returning(Reply.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(session.scalars(stmt))


def _held(session: Session, reply_id: int, holder: str) -> Reply | None:
    stmt = select(Reply).where(Reply.id == reply_id).execution_options(populate_existing=True)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    reply = session.scalar(stmt)
    if reply is None or reply.state != ReplyState.SENDING or reply.holder != holder:
        return None  # the lease lapsed and someone else took over: not ours to record
    return reply


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
    queue.record_staff_reply(case, now=now)
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


def _retry(session: Session, reply: Reply, exc: TransientError, *, now: datetime,
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


def _deliver_one(
    session_factory: sessionmaker[Session],
    responders: Mapping[str, Responder],
    reply_id: int,
    report: RunReport,
    *,
    now: datetime,
    current: datetime,
    holder: str,
    lease: timedelta,
    settings: ReplySettings,
    scorer: Scorer | None,
    alerts: FailureAlerts,
) -> None:
    """Send one claimed reply and record the outcome (two short transactions around it).

    A reply whose lease lapsed before its turn may already be another process's to
    reconcile, so it is skipped; a half-spent lease is renewed before the vendor call.
    """
    with session_factory.begin() as session:
        reply = _held(session, reply_id, holder)
        if reply is None or reply.lease_expires_at is None or reply.lease_expires_at <= current:
            report.skipped.append(reply_id)
            return
        if reply.lease_expires_at < current + lease / 2:
            reply.lease_expires_at = current + lease
        outbound = outbound_for(session, reply)
    responder = responders.get(outbound.channel)
    delivery: Delivery | None = None
    failure: Exception | None = None
    try:
        if responder is None:
            raise PermanentError(f"no responder is configured for {outbound.channel!r}")
        delivery = responder.send(outbound)
    except DuplicateContent as exc:  # X: an identical post exists; is it this one?
        try:
            delivery = responder.find_sent(outbound) if responder else None
        except (TransientError, PermanentError, Unverifiable) as lookup:
            failure = TransientError(f"{exc}; look-up failed: {lookup}", maybe_sent=True)
        else:
            failure = None if delivery else exc
    except (TransientError, PermanentError) as exc:
        failure = exc
    except Exception as exc:  # a bug: the outcome is unknown, reconciliation decides
        log.exception("sending reply %s failed unexpectedly", reply_id)
        failure = TransientError(f"unexpected {type(exc).__name__}: {exc}", maybe_sent=True)
    with session_factory.begin() as session:
        reply = _held(session, reply_id, holder)
        if reply is None:
            return
        if delivery is not None:
            mark_sent(session, reply, delivery, now=now, scorer=scorer)
            report.sent.append(reply_id)
        elif isinstance(failure, TransientError):
            kind = _retry(session, reply, failure, now=now, settings=settings, alerts=alerts)
            getattr(report, kind).append(reply_id)
        else:
            mark_failed(session, reply, str(failure), now=now, alerts=alerts)
            report.failed.append(reply_id)


def deliver_due(
    session_factory: sessionmaker[Session],
    responders: Mapping[str, Responder],
    *,
    now: datetime,
    holder: str,
    settings: ReplySettings,
    scorer: Scorer | None = None,
    alerts: FailureAlerts = NO_EXTRA_ALERTS,
) -> RunReport:
    """Send the replies that are due (at most ``settings.batch_size``)."""
    report = RunReport()
    lease = timedelta(seconds=settings.send_lease_seconds)
    with session_factory.begin() as session:
        ids = _claim_due(session, now=now, holder=holder, lease=lease, limit=settings.batch_size)
    started = monotonic()
    for reply_id in ids:
        # ``now`` is when the job started; sends before this one took time.
        current = now + timedelta(seconds=monotonic() - started)
        try:
            _deliver_one(
                session_factory,
                responders,
                reply_id,
                report,
                now=now,
                current=current,
                holder=holder,
                lease=lease,
                settings=settings,
                scorer=scorer,
                alerts=alerts,
            )
        except Exception:  # one reply's bug must not strand the rest of the batch
            log.exception("delivering reply %s failed; reconciliation will settle it", reply_id)
            report.unknown.append(reply_id)
    return report


def reconcile(
    session_factory: sessionmaker[Session],
    responders: Mapping[str, Responder],
    *,
    now: datetime,
    holder: str,
    settings: ReplySettings,
    scorer: Scorer | None = None,
    alerts: FailureAlerts = NO_EXTRA_ALERTS,
) -> RunReport:
    """Settle replies left in ``sending`` past their lease (see the module docstring)."""
    report = RunReport()
    lease = timedelta(seconds=settings.send_lease_seconds)
    with session_factory.begin() as session:
        stale = list(
            session.scalars(
                select(Reply.id).where(
                    Reply.state == ReplyState.SENDING, Reply.lease_expires_at <= now
                )
            )
        )
    for reply_id in stale:
        with session_factory.begin() as session:  # take it over, atomically
            won = session.execute(
                update(Reply)
                .where(
                    Reply.id == reply_id,
                    Reply.state == ReplyState.SENDING,
                    Reply.lease_expires_at <= now,
                )
                .values(holder=holder, lease_expires_at=now + lease)
                .returning(Reply.id)
                .execution_options(synchronize_session=False)
            ).first()
            if won is None:
                continue
            reply = session.get(Reply, reply_id)
            assert reply is not None
            outbound = outbound_for(session, reply)
        responder = responders.get(outbound.channel)
        found: Delivery | None = None
        outcome: str
        try:
            if responder is None:
                raise Unverifiable(f"no responder is configured for {outbound.channel!r}")
            found = responder.find_sent(outbound)
            outcome = "found" if found else "absent"
        except Unverifiable:
            outcome = "resend" if settings.email_unknown_outcome == "resend" else "fail"
        except TransientError:
            outcome = "later"
        except PermanentError as exc:
            outcome = "fail"
            log.warning("cannot check whether reply %s was sent: %s", reply_id, exc)
        with session_factory.begin() as session:
            reply = _held(session, reply_id, holder)
            if reply is None:
                continue
            if found is not None:
                mark_sent(session, reply, found, now=now, scorer=scorer, reconciled=True)
                report.reconciled.append(reply_id)
            elif outcome == "later":
                reply.lease_expires_at = now + backoff(reply.attempts, settings)
                report.unknown.append(reply_id)
            elif outcome == "fail":
                mark_failed(
                    session,
                    reply,
                    "the outcome of sending is unknown and cannot be checked: "
                    "check with the customer before sending again",
                    now=now,
                    alerts=alerts,
                )
                report.failed.append(reply_id)
            elif reply.attempts >= settings.max_attempts:
                error = f"not sent after {reply.attempts} attempts"
                mark_failed(session, reply, error, now=now, alerts=alerts)
                report.failed.append(reply_id)
            else:  # not there (or SMTP and resend): send it again
                reply.state = ReplyState.QUEUED
                reply.holder = reply.lease_expires_at = None
                reply.next_attempt_at = now
                report.requeued.append(reply_id)
    return report
