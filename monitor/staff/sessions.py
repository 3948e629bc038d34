"""Console sessions held on the server, so that signing out (or an admin) ends them.

A sign-in creates a ``staff_sessions`` row and hands back a random 256-bit token for
the cookie; only the token's SHA-256 is stored (it has full entropy, so a fast digest
is safe and lets the row be found by it). A session is live while it is not revoked,
``now`` is before its absolute ``expires_at``, and it was seen within the idle timeout.
``last_seen_at`` is written at most once a minute, not on every request.

Revoked by: sign-out (one session), a password change or deactivation (all of the
staff member's), an admin (all, from the CLI or the API). Plain SQLAlchemy in the
caller's transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from monitor.config import ServerSettings
from monitor.models import Staff, StaffSession

TOUCH_EVERY = timedelta(minutes=1)
USER_AGENT_LENGTH = 300
ADDRESS_LENGTH = 64
KEEP_ENDED = timedelta(days=30)  # ended rows stay this long for the admin list


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta = timedelta(minutes=240)
    absolute: timedelta = timedelta(hours=12)


def policy_of(server: ServerSettings) -> SessionPolicy:
    return SessionPolicy(
        idle=timedelta(minutes=server.session_idle_minutes),
        absolute=timedelta(hours=server.session_max_hours),
    )


@dataclass(frozen=True)
class StartedSession:
    row: StaffSession
    token: str  # for the cookie only; never stored


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start(
    session: Session,
    staff: Staff,
    *,
    policy: SessionPolicy,
    now: datetime,
    user_agent: str = "",
    address: str = "",
) -> StartedSession:
    """A new session with a new token (never a token the client brought: no fixation)."""
    token = secrets.token_urlsafe(32)
    row = StaffSession(
        staff_id=staff.id,
        token_hash=token_digest(token),
        created_at=now,
        last_seen_at=now,
        expires_at=now + policy.absolute,
        user_agent=user_agent[:USER_AGENT_LENGTH],
        address=address[:ADDRESS_LENGTH],
    )
    session.add(row)
    session.flush()
    return StartedSession(row=row, token=token)


def is_live(row: StaffSession, *, policy: SessionPolicy, now: datetime) -> bool:
    return row.revoked_at is None and now < row.expires_at and now < row.last_seen_at + policy.idle


def find_live(
    session: Session, token: str, *, policy: SessionPolicy, now: datetime
) -> StaffSession | None:
    """The live session for a presented token (touching ``last_seen_at`` when it is more
    than a minute old), or None: unknown, revoked, idle too long or past its end."""
    if not token:
        return None
    digest = token_digest(token)
    row = session.scalar(select(StaffSession).where(StaffSession.token_hash == digest))
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    if not is_live(row, policy=policy, now=now):
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return row


def end(session: Session, token: str, *, now: datetime, reason: str = "signed out") -> bool:
    """Revoke the session behind a token (sign-out); True when there was a live one."""
    if not token:
        return False
    result = session.execute(
        update(StaffSession)
        .where(StaffSession.token_hash == token_digest(token), StaffSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )
    return bool(getattr(result, "rowcount", 0))


def revoke_all(session: Session, staff_id: int, *, now: datetime, reason: str) -> int:
    """Revoke every session of one staff member; how many were still open."""
    result = session.execute(
        update(StaffSession)
        .where(StaffSession.staff_id == staff_id, StaffSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def of_staff(session: Session, staff_id: int, *, limit: int = 100) -> list[StaffSession]:
    """One staff member's sessions, newest first (live and ended)."""
    stmt = (
        select(StaffSession)
        .where(StaffSession.staff_id == staff_id)
        .order_by(StaffSession.created_at.desc(), StaffSession.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def forget_ended(session: Session, *, now: datetime) -> int:
    """Delete rows that ended (expired or revoked) more than KEEP_ENDED ago."""
    cutoff = now - KEEP_ENDED
    result = session.execute(
        delete(StaffSession).where(
            (StaffSession.expires_at < cutoff) | (StaffSession.revoked_at < cutoff)
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
