"""Reconciling replies whose outcome is unknown (see :mod:`monitor.replies.scheduled`).

A reply left in ``sending`` past its lease (a crash mid-send, a lost connection, a
``maybe_sent`` error) may or may not have gone out. ``find_sent`` looks it up (our
timeline on X): found -> sent, absent -> queued again. SMTP cannot be asked:
``replies.email_unknown_outcome`` chooses "resend" (at least once; the same Message-ID
lets mail clients fold a duplicate) or "fail" (at most once; staff check and resend by
hand).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from monitor.config import ReplySettings
from monitor.models import Reply, ReplyState
from monitor.priority.service import Scorer
from monitor.replies.claims import held, outbound_for
from monitor.replies.failures import FailureAlerts
from monitor.replies.outcomes import NO_EXTRA_ALERTS, RunReport, backoff, mark_failed, mark_sent
from responders.base import (
    Delivery,
    Outbound,
    PermanentError,
    Responder,
    TransientError,
    Unverifiable,
)

log = logging.getLogger(__name__)


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
        with session_factory.begin() as session:
            outbound = _take_over(session, reply_id, holder=holder, until=now + lease, now=now)
        if outbound is None:
            continue
        found, outcome = _look_up(responders, outbound, settings=settings, reply_id=reply_id)
        with session_factory.begin() as session:
            reply = held(session, reply_id, holder)
            if reply is None:
                continue
            if found is not None:
                mark_sent(session, reply, found, now=now, scorer=scorer, reconciled=True)
                report.reconciled.append(reply_id)
            else:
                _settle_unfound(session, reply, outcome, now=now, settings=settings,
                                alerts=alerts, report=report)  # fmt: skip
    return report


def _take_over(
    session: Session, reply_id: int, *, holder: str, until: datetime, now: datetime
) -> Outbound | None:
    """Take a lapsed reply over, atomically; what it sends, or None if another won."""
    won = session.execute(
        update(Reply)
        .where(
            Reply.id == reply_id,
            Reply.state == ReplyState.SENDING,
            Reply.lease_expires_at <= now,
        )
        .values(holder=holder, lease_expires_at=until)
        .returning(Reply.id)
        .execution_options(synchronize_session=False)
    ).first()
    if won is None:
        return None
    reply = session.get(Reply, reply_id)
    assert reply is not None
    return outbound_for(session, reply)


def _look_up(
    responders: Mapping[str, Responder],
    outbound: Outbound,
    *,
    settings: ReplySettings,
    reply_id: int,
) -> tuple[Delivery | None, str]:
    """Ask the vendor whether it went out: (delivery, "found" | "absent" | "resend" |
    "fail" | "later"). Outside any transaction."""
    responder = responders.get(outbound.channel)
    try:
        if responder is None:
            raise Unverifiable(f"no responder is configured for {outbound.channel!r}")
        found = responder.find_sent(outbound)
        return found, "found" if found else "absent"
    except Unverifiable:
        return None, "resend" if settings.email_unknown_outcome == "resend" else "fail"
    except TransientError:
        return None, "later"
    except PermanentError as exc:
        log.warning("cannot check whether reply %s was sent: %s", reply_id, exc)
        return None, "fail"


def _settle_unfound(
    session: Session,
    reply: Reply,
    outcome: str,
    *,
    now: datetime,
    settings: ReplySettings,
    alerts: FailureAlerts,
    report: RunReport,
) -> None:
    if outcome == "later":
        reply.lease_expires_at = now + backoff(reply.attempts, settings)
        report.unknown.append(reply.id)
    elif outcome == "fail":
        mark_failed(
            session,
            reply,
            "the outcome of sending is unknown and cannot be checked: "
            "check with the customer before sending again",
            now=now,
            alerts=alerts,
        )
        report.failed.append(reply.id)
    elif reply.attempts >= settings.max_attempts:
        error = f"not sent after {reply.attempts} attempts"
        mark_failed(session, reply, error, now=now, alerts=alerts)
        report.failed.append(reply.id)
    else:  # not there (or SMTP and resend): send it again
        reply.state = ReplyState.QUEUED
        reply.holder = reply.lease_expires_at = None
        reply.next_attempt_at = now
        report.requeued.append(reply.id)
