"""The alert worker: delivers pending alerts with retries and back-off, and logs each try.

The clock records alerts as *pending* rows (one per promise, step, channel and target;
see ``promise_clock``). Here, in three short steps:

1. claim: a transaction takes up to ``batch`` pending alerts whose ``next_attempt_at``
   has come (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, ``UPDATE … RETURNING`` on
   SQLite), counts the attempt and pushes ``next_attempt_at`` out by a lease, then
   commits, so no other worker takes them meanwhile;
2. send, outside any transaction (a slow SMTP server never holds a lock);
3. record: sent, retry later (transient error; the vendor's Retry-After wins when it is
   longer than our back-off) or failed (permanent error, or out of attempts), each with
   an ``alert.*`` event on the case, which is the delivery log staff see.

A process that dies between 2 and 3 leaves the alert claimed; after the lease it is
tried again, so a crash at exactly that moment can repeat one alert (at least once);
nothing else can.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from monitor import events
from monitor.models import Alert, AlertState
from monitor.promises import PromiseEvent
from responders.base import PermanentError, TransientError

SEND_LEASE = timedelta(minutes=5)


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
    refs: dict[int, str | None] = field(default_factory=dict)


def claim(session: Session, *, now: datetime, limit: int) -> list[AlertOut]:
    due = (Alert.state == AlertState.PENDING) & or_(
        Alert.next_attempt_at.is_(None), Alert.next_attempt_at <= now
    )
    order = (Alert.next_attempt_at, Alert.id)
    if session.get_bind().dialect.name == "postgresql":
        ids = list(
            session.scalars(
                select(Alert.id)
                .where(due)
                .order_by(*order)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if not ids:
            return []
        stmt = update(Alert).where(Alert.id.in_(ids))
    else:
        sub = select(Alert.id).where(due).order_by(*order).limit(limit).scalar_subquery()
        stmt = update(Alert).where(Alert.id.in_(sub))
    rows = session.execute(
        stmt.values(attempts=Alert.attempts + 1, next_attempt_at=now + SEND_LEASE)
        .returning(
            Alert.id,
            Alert.kind,
            Alert.channel,
            Alert.target,
            Alert.message,
            Alert.case_id,
            Alert.promise_id,
            Alert.attempts,
        )
        .execution_options(synchronize_session=False)
    ).all()
    return sorted((AlertOut(*r) for r in rows), key=lambda a: a.id)


@dataclass(frozen=True)
class Outcome:
    alert: AlertOut
    ref: str | None = None
    error: str | None = None
    permanent: bool = False
    retry_after: float | None = None


def send_all(
    alerts: list[AlertOut], senders: Mapping[str, AlertSender], *, workers: int = 1
) -> list[Outcome]:
    """Send each alert; with ``workers`` > 1 on a thread pool (senders are thread-safe)."""
    if workers > 1 and len(alerts) > 1:
        with ThreadPoolExecutor(max_workers=min(workers, len(alerts))) as pool:
            return list(pool.map(lambda a: _send_one(a, senders), alerts))
    return [_send_one(a, senders) for a in alerts]


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


def record(
    session: Session,
    outcomes: list[Outcome],
    *,
    now: datetime,
    policy: RetryPolicy,
    stats: DeliveryStats,
) -> None:
    """Write the outcomes: bulk UPDATEs by primary key, then one event per alert."""
    groups: dict[str, list[dict[str, object]]] = {"sent": [], "failed": [], "retry": []}
    logs: list[tuple[PromiseEvent, int | None, dict[str, object]]] = []
    for o in outcomes:
        a = o.alert
        log: dict[str, object] = {
            "alert_id": a.id,
            "promise_id": a.promise_id,
            "kind": a.kind,
            "channel": a.channel,
            "target": a.target,
            "attempt": a.attempts,
        }
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
            kind, stats.sent = PromiseEvent.ALERT_SENT, stats.sent + 1
            log["ref"] = o.ref
            stats.refs[a.id] = o.ref
        elif o.permanent or a.attempts >= policy.max_attempts:
            groups["failed"].append(
                {"id": a.id, "state": AlertState.FAILED, "error": o.error, "next_attempt_at": None}
            )
            kind, stats.failed = PromiseEvent.ALERT_FAILED, stats.failed + 1
            log["error"] = o.error
        else:
            retry_at = now + policy.delay(a.attempts, o.retry_after)
            groups["retry"].append({"id": a.id, "error": o.error, "next_attempt_at": retry_at})
            kind, stats.retried = PromiseEvent.ALERT_RETRY, stats.retried + 1
            log |= {"error": o.error, "retry_at": retry_at.isoformat()}
        logs.append((kind, a.case_id, log))
    for rows in groups.values():
        if rows:
            session.execute(update(Alert), rows)
    for kind, case_id, payload in logs:
        events.append(session, kind, now=now, case_id=case_id, payload=payload)


def deliver(
    sessions: sessionmaker[Session],
    senders: Mapping[str, AlertSender],
    *,
    now: datetime,
    policy: RetryPolicy = RetryPolicy(),
    batch: int = 200,
    max_batches: int = 100,
    workers: int = 1,
) -> DeliveryStats:
    """Claim, send and record pending alerts until none is due (the scheduled job)."""
    stats = DeliveryStats()
    for _ in range(max_batches):
        with sessions.begin() as session:
            claimed = claim(session, now=now, limit=batch)
        if not claimed:
            break
        outcomes = send_all(claimed, senders, workers=workers)
        with sessions.begin() as session:
            record(session, outcomes, now=now, policy=policy, stats=stats)
        if len(claimed) < batch:
            break
    return stats
