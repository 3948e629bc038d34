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
from responders.base import Delivery, PermanentError, Responder, TransientError, Unverifiable

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
            reply = held(session, reply_id, holder)
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
