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

Here: the send loop (:func:`deliver_due`). Claims and the ``Outbound`` a reply becomes
are in :mod:`monitor.replies.claims`, writing outcomes in :mod:`monitor.replies.outcomes`,
reconciling in :mod:`monitor.replies.reconcile`; this module re-exports their public
names, so callers import the worker from here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from monitor.clocks import Clock, advancing
from monitor.config import ReplySettings
from monitor.priority.service import Scorer
from monitor.replies.claims import claim_due, held, outbound_for
from monitor.replies.failures import FailureAlerts
from monitor.replies.outcomes import (
    NO_EXTRA_ALERTS,
    RunReport,
    backoff,
    mark_failed,
    mark_sent,
    retry,
)
from monitor.replies.reconcile import reconcile
from responders.base import (
    Delivery,
    DuplicateContent,
    PermanentError,
    Responder,
    TransientError,
    Unverifiable,
)

__all__ = [
    "RunReport",
    "backoff",
    "deliver_due",
    "mark_failed",
    "mark_sent",
    "outbound_for",
    "reconcile",
]

log = logging.getLogger(__name__)


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
        reply = held(session, reply_id, holder)
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
        reply = held(session, reply_id, holder)
        if reply is None:
            return
        if delivery is not None:
            mark_sent(session, reply, delivery, now=now, scorer=scorer)
            report.sent.append(reply_id)
        elif isinstance(failure, TransientError):
            kind = retry(session, reply, failure, now=now, settings=settings, alerts=alerts)
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
    clock: Clock | None = None,
) -> RunReport:
    """Send the replies that are due (at most ``settings.batch_size``).

    ``now`` is when the job starts; each reply's lease is checked at ``clock()``
    (default: ``now`` moved on by the monotonic clock), as sends before it took time.
    """
    report = RunReport()
    lease = timedelta(seconds=settings.send_lease_seconds)
    with session_factory.begin() as session:
        ids = claim_due(session, now=now, holder=holder, lease=lease, limit=settings.batch_size)
    clock = clock or advancing(now)
    for reply_id in ids:
        current = clock()
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
