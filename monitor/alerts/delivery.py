"""The alert worker: delivers pending alerts with retries and back-off, and logs each try.

The clock records alerts as *pending* rows (one per promise, step, channel and target;
see :mod:`monitor.alerts.service`). Here, in short steps:

1. claim: a transaction takes up to ``batch`` pending alerts whose ``next_attempt_at``
   has come (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, ``UPDATE … RETURNING`` on
   SQLite), counts the attempt and pushes ``next_attempt_at`` out by a lease, then
   commits, so no other worker takes them meanwhile;
2. send, outside any transaction (a slow SMTP server never holds a lock); while a
   batch is being sent its lease is renewed every minute (:class:`Batch`);
3. record: sent, retry later (transient error; the vendor's Retry-After wins when it is
   longer than our back-off) or failed (permanent error, or out of attempts), each with
   an ``alert.*`` event on the case, which is the delivery log staff see.

Claims are fenced (:func:`hold`): every claim counts an attempt, so a worker whose
lease lapsed and was taken over matches no row any more. It does not send what it
still had to send, and it records nothing. Every step reads the time from a clock
(``monitor.clocks``), never from the job's start: a lease taken with a stale ``now``
would look lapsed to other processes the moment it was taken.

A process that dies, or a send that stalls for longer than the lease, leaves claimed
alerts whose outcome was not written: the one being sent, and those sent since the
batch's last renewal (under a minute before). After the lease they are tried again, so
those can repeat (at least once); nothing else can. Such a claim is recognised when the
alert is claimed again (a claim clears ``error``, every recorded outcome but "sent"
sets it: a pending alert with attempts and no error was never recorded), the retry is
logged with ``previous_outcome: unknown``, and a repeated email carries the alert's
one Message-ID (:meth:`AlertOut.message_id`), so the recipient's mail client folds it
into the first instead of showing the alert twice.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import or_, select, tuple_, update
from sqlalchemy.orm import Session, sessionmaker

from monitor import events
from monitor.alerts.service import AlertEvent
from monitor.clocks import Clock, advancing
from monitor.models import Alert, AlertState
from responders.base import PermanentError, TransientError

SEND_LEASE = timedelta(minutes=5)
RENEW_EVERY = timedelta(minutes=1)  # a claimed batch renews its lease this often


@dataclass(frozen=True)
class AlertOut:
    """What a sender needs: a snapshot, so no ORM object crosses the network call."""

    id: int
    kind: str
    channel: str
    target: str
    message: str
    case_id: int | None
    promise_id: int | None
    attempts: int
    key: str = ""  # the alert's dedupe_key: unique for ever, unlike a reused id
    in_doubt: bool = False  # an earlier claim's outcome was never recorded

    def message_id(self, domain: str) -> str:
        """The Message-ID of this alert's email: the same on every attempt."""
        tag = hashlib.blake2b(self.key.encode(), digest_size=6).hexdigest()
        return f"<alert.{self.id}.{tag}@{domain or 'localhost'}>"


class AlertSender(Protocol):
    def send(self, alert: AlertOut) -> str | None:
        """Deliver; returns a delivery reference. Raises TransientError/PermanentError."""
        ...


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    first: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=1)

    def delay(self, attempts: int, retry_after: float | None = None) -> timedelta:
        backoff: timedelta = min(self.cap, self.first * (2 ** max(0, attempts - 1)))
        if retry_after is not None:
            backoff = max(backoff, timedelta(seconds=retry_after))
        return backoff


@dataclass
class DeliveryStats:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    lost: int = 0  # taken over by another worker after this one's lease lapsed: not sent
    refs: dict[int, str | None] = field(default_factory=dict)


def claim(session: Session, *, now: datetime, limit: int) -> list[AlertOut]:
    """Take up to ``limit`` due alerts: count an attempt, lease them, clear the error.

    PostgreSQL skips rows other workers hold (``FOR UPDATE SKIP LOCKED``); on SQLite
    the transaction already holds the database's write lock (``BEGIN IMMEDIATE``).
    """
    due = (Alert.state == AlertState.PENDING) & or_(
        Alert.next_attempt_at.is_(None), Alert.next_attempt_at <= now
    )
    pick = (
        select(Alert.id, Alert.attempts, Alert.error)
        .where(due)
        .order_by(Alert.next_attempt_at, Alert.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    picked = session.execute(pick).all()
    if not picked:
        return []
    in_doubt = {i for i, attempts, error in picked if attempts and error is None}
    rows = session.execute(
        update(Alert)
        .where(Alert.id.in_([i for i, _, _ in picked]))
        .values(attempts=Alert.attempts + 1, next_attempt_at=now + SEND_LEASE, error=None)
        .returning(
            Alert.id,
            Alert.kind,
            Alert.channel,
            Alert.target,
            Alert.message,
            Alert.case_id,
            Alert.promise_id,
            Alert.attempts,
            Alert.dedupe_key,
        )
        .execution_options(synchronize_session=False)
    ).all()
    claimed = [
        AlertOut(
            r.id, r.kind, r.channel, r.target, r.message, r.case_id, r.promise_id,
            r.attempts, key=r.dedupe_key, in_doubt=r.id in in_doubt,
        )
        for r in rows
    ]  # fmt: skip
    return sorted(claimed, key=lambda a: a.id)


@dataclass(frozen=True)
class Outcome:
    alert: AlertOut
    ref: str | None = None
    error: str | None = None
    permanent: bool = False
    retry_after: float | None = None


def _send_one(alert: AlertOut, senders: Mapping[str, AlertSender]) -> Outcome:
    sender = senders.get(alert.channel)
    if sender is None:
        return Outcome(alert, error=f"no {alert.channel} sender configured", permanent=True)
    try:
        return Outcome(alert, ref=sender.send(alert))
    except TransientError as exc:
        return Outcome(alert, error=str(exc), retry_after=exc.retry_after)
    except PermanentError as exc:
        return Outcome(alert, error=str(exc), permanent=True)
    except Exception as exc:  # an unexpected bug in one sender must not lose the batch
        return Outcome(alert, error=f"{type(exc).__name__}: {exc}")


def hold(session: Session, claimed: Iterable[AlertOut], *, until: datetime) -> set[int]:
    """Extend the lease to ``until`` on the alerts whose claim still stands; their ids.

    A claim is fenced by its attempt number: a worker that takes an alert over after
    the lease lapsed counts another attempt, and a recorded alert is no longer pending,
    so a stale claim matches no row. The rows stay locked until commit.
    """
    tokens = [(a.id, a.attempts) for a in claimed]
    if not tokens:
        return set()
    held = session.scalars(
        update(Alert)
        .where(tuple_(Alert.id, Alert.attempts).in_(tokens), Alert.state == AlertState.PENDING)
        .values(next_attempt_at=until)
        .returning(Alert.id)
        .execution_options(synchronize_session=False)
    )
    return set(held)


def _log_entry(a: AlertOut) -> dict[str, object]:
    """The alert's line in the case's delivery log (completed with the outcome)."""
    log: dict[str, object] = {
        "alert_id": a.id,
        "promise_id": a.promise_id,
        "kind": a.kind,
        "channel": a.channel,
        "target": a.target,
        "attempt": a.attempts,
    }
    if a.in_doubt:
        log["previous_outcome"] = "unknown"  # a process stopped before writing it
    return log


def record(
    session: Session,
    outcomes: list[Outcome],
    *,
    now: datetime,
    policy: RetryPolicy,
    stats: DeliveryStats,
) -> None:
    """Write the outcomes whose claim still stands (bulk UPDATEs, one event per alert).

    An alert another worker took over is counted ``lost`` and left alone: its outcome
    is that worker's to write.
    """
    held = hold(session, (o.alert for o in outcomes), until=now + SEND_LEASE)
    groups: dict[str, list[dict[str, object]]] = {"sent": [], "failed": [], "retry": []}
    logs: list[tuple[AlertEvent, int | None, dict[str, object]]] = []
    for o in outcomes:
        a = o.alert
        if a.id not in held:
            stats.lost += 1
            continue
        log = _log_entry(a)
        if o.error is None:
            groups["sent"].append(
                {
                    "id": a.id,
                    "state": AlertState.SENT,
                    "sent_at": now,
                    "error": None,
                    "next_attempt_at": None,
                }
            )
            kind, stats.sent = AlertEvent.SENT, stats.sent + 1
            log["ref"] = o.ref
            stats.refs[a.id] = o.ref
        elif o.permanent or a.attempts >= policy.max_attempts:
            groups["failed"].append(
                {"id": a.id, "state": AlertState.FAILED, "error": o.error, "next_attempt_at": None}
            )
            kind, stats.failed = AlertEvent.FAILED, stats.failed + 1
            log["error"] = o.error
        else:
            retry_at = now + policy.delay(a.attempts, o.retry_after)
            groups["retry"].append({"id": a.id, "error": o.error, "next_attempt_at": retry_at})
            kind, stats.retried = AlertEvent.RETRY, stats.retried + 1
            log |= {"error": o.error, "retry_at": retry_at.isoformat()}
        logs.append((kind, a.case_id, log))
    for rows in groups.values():
        if rows:
            session.execute(update(Alert), rows)
    for kind, case_id, payload in logs:
        events.append(session, kind, now=now, case_id=case_id, payload=payload)


class Batch:
    """One claimed batch while it is sent: which claims still stand, and until when.

    Before each send, once the batch's lease is :data:`RENEW_EVERY` old, one
    transaction writes the outcomes so far and renews the lease, from the current
    time, on every alert not written yet (to send, or being sent); an alert another
    worker took over meanwhile is dropped, not sent. So each send starts with at least
    ``SEND_LEASE - RENEW_EVERY`` of lease left for itself and for the alerts whose
    outcome waits to be written; the senders' timeouts keep one send far shorter.
    Thread-safe: the pool's threads share one batch.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        senders: Mapping[str, AlertSender],
        claimed: list[AlertOut],
        *,
        leased_at: datetime,
        clock: Clock,
        policy: RetryPolicy,
        stats: DeliveryStats,
    ) -> None:
        self._sessions, self._senders, self._clock = sessions, senders, clock
        self._policy, self._stats = policy, stats
        self._held = {a.id: a for a in claimed}  # claims that stand, outcome not written
        self._outcomes: list[Outcome] = []
        self._leased_at = leased_at
        self._lock = threading.Lock()

    def send(self, alert: AlertOut) -> None:
        with self._lock:
            now = self._clock()
            if now - self._leased_at >= RENEW_EVERY:
                self._checkpoint(now)
            if alert.id not in self._held:
                self._stats.lost += 1  # another worker holds it now
                return
        outcome = _send_one(alert, self._senders)
        with self._lock:
            self._outcomes.append(outcome)

    def finish(self) -> None:
        """Write the outcomes not written yet (after the last send)."""
        with self._lock:
            self._checkpoint(self._clock())

    def _checkpoint(self, now: datetime) -> None:
        with self._sessions.begin() as session:
            record(session, self._outcomes, now=now, policy=self._policy, stats=self._stats)
            for o in self._outcomes:
                del self._held[o.alert.id]
            held = hold(session, self._held.values(), until=now + SEND_LEASE)
        self._held = {i: a for i, a in self._held.items() if i in held}
        self._outcomes = []
        self._leased_at = now


def deliver(
    sessions: sessionmaker[Session],
    senders: Mapping[str, AlertSender],
    *,
    now: datetime,
    clock: Clock | None = None,
    policy: RetryPolicy = RetryPolicy(),
    batch: int = 200,
    max_batches: int = 100,
    workers: int = 1,
) -> DeliveryStats:
    """Claim, send and record pending alerts until none is due (the scheduled job).

    ``now`` is when the run starts; ``clock`` reads the time as it goes on (by default
    ``now`` moved on by the monotonic clock). With ``workers`` > 1 a batch is sent on a
    thread pool (senders are thread-safe).
    """
    clock = clock or advancing(now)
    stats = DeliveryStats()
    for _ in range(max_batches):
        leased_at = clock()
        with sessions.begin() as session:
            claimed = claim(session, now=leased_at, limit=batch)
        if not claimed:
            break
        sending = Batch(
            sessions,
            senders,
            claimed,
            leased_at=leased_at,
            clock=clock,
            policy=policy,
            stats=stats,
        )
        if workers > 1 and len(claimed) > 1:
            with ThreadPoolExecutor(max_workers=min(workers, len(claimed))) as pool:
                list(pool.map(sending.send, claimed))
        else:
            for alert in claimed:
                sending.send(alert)
        sending.finish()
        if len(claimed) < batch:
            break
    return stats
