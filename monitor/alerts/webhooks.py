"""Webhook subscriptions and their deliveries; the events table is the outbox.

Two jobs, both safe to run in several processes:

- :func:`fan_out` follows the events table by id (one process at a time, under a lock
  that ends with its transaction, with the position in
  ``source_cursors`` as ``webhooks:outbox``) and creates one ``WebhookDelivery`` per
  matching active subscription (unique per subscription and event, inserted with
  ``ON CONFLICT DO NOTHING``). Ids are allocated before commit, so on PostgreSQL a
  lower id can become visible after a higher one: ids skipped over are remembered as
  *gaps* and looked at again for ``GAP_GRACE`` before they are given up.
- :func:`deliver` claims due deliveries (``SKIP LOCKED`` / ``UPDATE … RETURNING``),
  posts them signed (``responders.webhook``) outside any transaction, and records the
  answer: delivered, retry at the next step of the schedule, or failed. The row is the
  delivery log (attempts, response code, error, times).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from time import monotonic
from typing import Any, Protocol
from urllib.parse import urlsplit

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from monitor import events
from monitor.models import AlertState, Event, WebhookDelivery, WebhookSubscription
from monitor.storage import locks
from monitor.storage.cursors import cursor_row
from monitor.storage.secret_box import SecretBox, SecretUnreadable
from responders.base import PermanentError, TransientError
from responders.webhook import body_of, new_secret

log = logging.getLogger(__name__)

OUTBOX = "webhooks:outbox"
GAP_GRACE = timedelta(seconds=60)
SEND_LEASE = timedelta(minutes=2)
EVENT_KINDS = (
    "mention.created",
    "case.updated",
    "case.sla_warning",
    "case.sla_breached",
    "case.public_risk",
    "case.assigned",
    "reply.sent",
    "promise.created",
    "promise.due_soon",
    "promise.overdue",
    "promise.escalated",
    "promise.fulfilled",
    "compensation.requested",
    "compensation.approval_needed",
    "incident.declared",
    "incident.updated",
    "incident.resolved",
)


class WebhookError(ValueError):
    """A subscription request that cannot be honoured (message is user-facing)."""


class SubscriptionNotFound(WebhookError):
    pass


def _check(url: str, kinds: Sequence[str], *, require_https: bool) -> None:
    parts = urlsplit(url)
    allowed = ("https",) if require_https else ("https", "http")
    if parts.scheme not in allowed or not parts.netloc:
        need = "an https:// URL" if require_https else "an http(s):// URL"
        raise WebhookError(f"the endpoint must be {need}")
    unknown = sorted(set(kinds) - set(EVENT_KINDS))
    if unknown:
        raise WebhookError(f"unknown event kinds {unknown}; use any of {list(EVENT_KINDS)}")


def create_subscription(
    session: Session,
    *,
    box: SecretBox,
    url: str,
    kinds: Sequence[str] = (),
    description: str = "",
    now: datetime,
    require_https: bool = True,
) -> tuple[WebhookSubscription, str]:
    """A new subscription and its signing secret (the only time the secret is returned).

    The secret is stored sealed by ``box`` (see :mod:`monitor.storage.secret_box`)."""
    _check(url, kinds, require_https=require_https)
    secret = new_secret()
    sub = WebhookSubscription(
        url=url,
        secret=box.seal(secret),
        events=list(kinds),
        description=description,
        active=True,
        after_event_id=events.latest_id(session),
        created_at=now,
        updated_at=now,
    )
    session.add(sub)
    session.flush()
    return sub, secret


def get_subscription(session: Session, sub_id: int) -> WebhookSubscription:
    sub = session.get(WebhookSubscription, sub_id)
    if sub is None:
        raise SubscriptionNotFound(f"no webhook subscription {sub_id}")
    return sub


def update_subscription(
    session: Session,
    sub: WebhookSubscription,
    *,
    now: datetime,
    url: str | None = None,
    kinds: Sequence[str] | None = None,
    description: str | None = None,
    active: bool | None = None,
    require_https: bool = True,
) -> WebhookSubscription:
    _check(url or sub.url, sub.events if kinds is None else kinds, require_https=require_https)
    if url is not None:
        sub.url = url
    if kinds is not None:
        sub.events = list(kinds)
    if description is not None:
        sub.description = description
    if active is not None:
        sub.active = active
    sub.updated_at = now
    return sub


def delete_subscription(session: Session, sub: WebhookSubscription) -> None:
    session.query(WebhookDelivery).filter(WebhookDelivery.subscription_id == sub.id).delete()
    session.delete(sub)


def deliveries(session: Session, sub_id: int, *, limit: int = 100) -> list[WebhookDelivery]:
    stmt = (
        select(WebhookDelivery)
        .where(WebhookDelivery.subscription_id == sub_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def _wanted(sub: WebhookSubscription, event: Event) -> bool:
    if event.id <= sub.after_event_id or event.kind not in EVENT_KINDS:
        return False
    return not sub.events or event.kind in sub.events


def _insert(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        dialect = session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = insert(WebhookDelivery).on_conflict_do_nothing(
            index_elements=["subscription_id", "event_id"]
        )
        session.execute(stmt, rows)


def fan_out(session: Session, *, now: datetime, limit: int = 1000) -> int:
    """Turn new events into deliveries; returns how many events were looked at.

    One process at a time: the lock lasts the caller's transaction (and dies with it).
    """
    if not locks.in_transaction(session, OUTBOX):
        return 0
    row = cursor_row(session, OUTBOX, now=now, lock=True)
    state = dict(row.cursor or {})
    subs = list(session.scalars(select(WebhookSubscription).where(WebhookSubscription.active)))
    after = int(state.get("after", -1))
    if after < 0:  # first run: from where the oldest subscription starts, not all history
        starts = [s.after_event_id for s in subs]
        after = min(starts) if starts else events.latest_id(session)
    gaps: dict[str, str] = dict(state.get("gaps", {}))
    gap_ids = [int(g) for g in gaps]
    newer = Event.id > after
    stmt = select(Event).where(or_(newer, Event.id.in_(gap_ids)) if gap_ids else newer)
    found = list(session.scalars(stmt.order_by(Event.id).limit(limit)))
    rows = [
        {
            "subscription_id": s.id,
            "event_id": e.id,
            "event_kind": e.kind,
            "state": AlertState.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for e in found
        for s in subs
        if _wanted(s, e)
    ]
    _insert(session, rows)
    seen = {e.id for e in found}
    for gid in seen & set(gap_ids):
        gaps.pop(str(gid), None)
    new_ids = sorted(i for i in seen if i > after)
    expected = after + 1
    for i in new_ids:
        for missing in range(expected, i):
            gaps.setdefault(str(missing), now.isoformat())
        expected = i + 1
    gaps = {g: t for g, t in gaps.items() if datetime.fromisoformat(t) > now - GAP_GRACE}
    if len(gaps) > 10_000:  # a burst of rolled-back transactions; keep the newest
        gaps = dict(sorted(gaps.items(), key=lambda kv: int(kv[0]))[-10_000:])
    row.cursor = {"after": new_ids[-1] if new_ids else after, "gaps": gaps}
    row.updated_at = now
    return len(found)


class Poster(Protocol):
    def send(self, url: str, *, secret: str, msg_id: str, timestamp: int, body: bytes) -> Any: ...


@dataclass(frozen=True)
class Claimed:
    id: int
    url: str
    secret: str | None  # None: it cannot be opened (see ``problem``); nothing is sent
    event_id: int
    attempts: int
    body: bytes
    problem: str = ""


def _signing_secret(sub: WebhookSubscription, box: SecretBox) -> str:
    """The subscription's plain secret; one stored before sealing existed is sealed now."""
    plain = box.open(sub.secret)
    if not box.is_sealed(sub.secret):
        sub.secret = box.seal(plain)
    return plain


def seal_stored_secrets(session: Session, box: SecretBox) -> tuple[int, int]:
    """Seal every secret still stored in plain text; returns (sealed now, sealed under
    another key). ``serve`` runs this at start-up, so quiet subscriptions are sealed too
    and a changed session secret is reported before any delivery is due."""
    sealed = unreadable = 0
    for sub in session.scalars(select(WebhookSubscription)):
        if not box.is_sealed(sub.secret):
            sub.secret = box.seal(sub.secret)
            sealed += 1
            continue
        try:
            box.open(sub.secret)
        except SecretUnreadable:
            unreadable += 1
    return sealed, unreadable


def _claim(session: Session, *, now: datetime, limit: int, box: SecretBox) -> list[Claimed]:
    due = (WebhookDelivery.state == AlertState.PENDING) & (WebhookDelivery.next_attempt_at <= now)
    ids_q = (
        select(WebhookDelivery.id).where(due).order_by(WebhookDelivery.next_attempt_at).limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        ids: Any = list(session.scalars(ids_q.with_for_update(skip_locked=True)))
        if not ids:
            return []
    else:
        ids = ids_q.scalar_subquery()
    claimed = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(ids))
        .values(attempts=WebhookDelivery.attempts + 1, next_attempt_at=now + SEND_LEASE)
        .returning(
            WebhookDelivery.id,
            WebhookDelivery.subscription_id,
            WebhookDelivery.event_id,
            WebhookDelivery.attempts,
        )
        .execution_options(synchronize_session=False)
    ).all()
    out: list[Claimed] = []
    for did, sub_id, event_id, attempts in claimed:
        sub, event = session.get(WebhookSubscription, sub_id), session.get(Event, event_id)
        if sub is None or event is None:
            continue
        data = {
            "event_id": event.id,
            "case_id": event.case_id,
            "actor": event.actor,
            **(event.payload or {}),
        }
        body = body_of(event.kind, event.created_at.isoformat(), data)
        try:
            secret: str | None = _signing_secret(sub, box)
            problem = ""
        except SecretUnreadable as exc:  # never sent unsigned; retried on the schedule,
            secret, problem = None, str(exc)  # in case the key is put right meanwhile
            log.error("webhook delivery %s not sent: %s", did, exc)
        out.append(Claimed(did, sub.url, secret, event.id, attempts, body, problem))
    return out


@dataclass
class WebhookStats:
    delivered: int = 0
    retried: int = 0
    failed: int = 0


def deliver(
    sessions: sessionmaker[Session],
    poster: Poster,
    *,
    box: SecretBox,
    now: datetime,
    retry: Sequence[int] = (5, 300, 1800, 7200, 18000, 36000),
    batch: int = 100,
    max_batches: int = 50,
    timestamp: int | None = None,
) -> WebhookStats:
    """Claim, post and record due deliveries (the scheduled job)."""
    stats = WebhookStats()
    started = monotonic()

    def stamp() -> int:
        # signed at each post: receivers reject timestamps older than a few minutes, and
        # posts after a slow endpoint may be sent long after the job started
        if timestamp is not None:
            return timestamp
        return int(now.timestamp() + (monotonic() - started))

    for _ in range(max_batches):
        with sessions.begin() as session:
            claimed = _claim(session, now=now, limit=batch, box=box)
        if not claimed:
            break
        results: list[tuple[Claimed, Mapping[str, Any]]] = []
        for c in claimed:
            if c.secret is None:
                results.append((c, {"_retry": True, "error": c.problem}))
            else:
                results.append((c, _post(poster, c, c.secret, stamp())))
        with sessions.begin() as session:
            for c, values in results:
                values = dict(values)
                if values.pop("_retry", False):
                    if c.attempts > len(retry):
                        values |= {"state": AlertState.FAILED, "next_attempt_at": None}
                        stats.failed += 1
                    else:
                        values["next_attempt_at"] = now + timedelta(
                            seconds=max(retry[c.attempts - 1], values.pop("_after", 0) or 0)
                        )
                        stats.retried += 1
                elif values.get("state") == AlertState.SENT:
                    values |= {"delivered_at": now}
                    stats.delivered += 1
                else:
                    stats.failed += 1
                values.pop("_after", None)
                session.execute(
                    update(WebhookDelivery)
                    .where(WebhookDelivery.id == c.id)
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
        if len(claimed) < batch:
            break
    return stats


def _post(poster: Poster, c: Claimed, secret: str, stamp: int) -> dict[str, Any]:
    try:
        result = poster.send(
            c.url, secret=secret, msg_id=f"msg_{c.event_id}", timestamp=stamp, body=c.body
        )
    except TransientError as exc:
        code = getattr(exc, "status_code", None)
        return {"_retry": True, "_after": exc.retry_after, "error": str(exc), "response_code": code}
    except PermanentError as exc:
        code = getattr(exc, "status_code", None)
        return {
            "state": AlertState.FAILED,
            "error": str(exc),
            "response_code": code,
            "next_attempt_at": None,
        }
    code = getattr(result, "status_code", None)
    return {"state": AlertState.SENT, "error": None, "response_code": code, "next_attempt_at": None}
