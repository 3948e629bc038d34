"""Staff accounts and API tokens: creation and verification.

Passwords are hashed with argon2id (argon2-cffi's defaults follow RFC 9106). API
tokens are 256-bit random strings shown once; only their SHA-256 digest is stored:
a token has full entropy, so a fast digest is safe and lets us look it up by hash.
The caller owns the transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.models import ApiToken, Role, Staff
from monitor.staff import sessions
from monitor.zones import check_zone

TOKEN_PREFIX = "cm_"  # noqa: S105 (a public prefix, not a secret)
SCOPES: dict[str, str] = {
    "queue:read": "list the queue, read cases, customers and history",
    "cases:write": "claim/release cases, add notes, change stages, link identities",
    "replies:write": "send replies to customers",
    "promises:write": "create, fulfil and cancel promises",
    "webhooks:admin": "manage webhook subscriptions",
    "admin": "everything, including staff and tokens",
}
MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    """A request about accounts that cannot be honoured (message is user-facing)."""


def _hasher() -> PasswordHasher:
    return PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_timezone(name: str) -> str:
    """``name`` if it is an IANA time zone this machine knows (e.g. Europe/Berlin)."""
    try:
        return check_zone(name)
    except ValueError as exc:
        raise AccountError(str(exc)) from None


def create_staff(
    session: Session,
    *,
    name: str,
    password: str,
    role: Role | str,
    now: datetime,
    display_name: str = "",
    email: str | None = None,
    timezone: str | None = None,
) -> Staff:
    """A new account; ``timezone`` None: the console follows the browser's zone."""
    name = name.strip()
    if not name or len(name) > 80:
        raise AccountError("staff name must be 1-80 characters")
    try:
        role = Role(role)
    except ValueError:
        raise AccountError(f"unknown role {role!r}; use one of: agent, lead, admin") from None
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if timezone:
        check_timezone(timezone)
    if session.scalar(select(Staff.id).where(Staff.name == name)) is not None:
        raise AccountError(f"staff member {name!r} already exists")
    staff = Staff(
        name=name,
        display_name=display_name or name,
        email=email,
        role=role,
        password_hash=hash_password(password),
        timezone=timezone or None,
        created_at=now,
    )
    session.add(staff)
    session.flush()
    return staff


def authenticate(session: Session, *, name: str, password: str) -> Staff | None:
    staff = session.scalar(select(Staff).where(Staff.name == name, Staff.active.is_(True)))
    if staff is None:
        _hasher().hash(password)  # spend the same time whether or not the name exists
        return None
    return staff if verify_password(staff.password_hash, password) else None


def by_name(session: Session, name: str) -> Staff:
    staff = session.scalar(select(Staff).where(Staff.name == name.strip()))
    if staff is None:
        raise AccountError(f"no staff member named {name.strip()!r}")
    return staff


def change_password(session: Session, staff: Staff, *, password: str, now: datetime) -> int:
    """Set a new password and end every console session of the account (whoever knew
    the old password may hold one); returns how many sessions were ended."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    staff.password_hash = hash_password(password)
    return sessions.revoke_all(session, staff.id, now=now, reason="password changed")


def set_active(session: Session, staff: Staff, *, active: bool, now: datetime) -> int:
    """Deactivate (ending every console session) or reactivate an account."""
    staff.active = active
    if active:
        return 0
    return sessions.revoke_all(session, staff.id, now=now, reason="deactivated")


def set_role(session: Session, staff: Staff, *, role: Role | str, by: Staff) -> Staff:
    """Give ``staff`` another role; nobody changes their own (an admin could lock
    everybody out of the admin area by demoting themselves)."""
    try:
        new = Role(role)
    except ValueError:
        raise AccountError(f"unknown role {role!r}; use one of: agent, lead, admin") from None
    if staff.id == by.id:
        raise AccountError("you cannot change your own role; ask another admin")
    staff.role = new
    return staff


def all_staff(session: Session, *, limit: int = 1000) -> list[Staff]:
    """Every account, active first, by name (the admin area)."""
    stmt = select(Staff).order_by(Staff.active.desc(), Staff.name).limit(limit)
    return list(session.scalars(stmt))


def active_staff(session: Session, *, limit: int = 500) -> list[Staff]:
    """Active staff by name (who can own a promise)."""
    stmt = select(Staff).where(Staff.active.is_(True)).order_by(Staff.name).limit(limit)
    return list(session.scalars(stmt))


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown once, never stored


def create_token(
    session: Session,
    *,
    name: str,
    scopes: Iterable[str],
    now: datetime,
    staff: Staff | None = None,
) -> IssuedToken:
    wanted = sorted(set(scopes))
    if not wanted:
        raise AccountError("give at least one scope: " + ", ".join(SCOPES))
    unknown = [s for s in wanted if s not in SCOPES]
    if unknown:
        raise AccountError(f"unknown scope {unknown[0]!r}; known: " + ", ".join(SCOPES))
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        name=name,
        prefix=secret[:10],
        token_hash=token_digest(secret),
        scopes=wanted,
        staff_id=staff.id if staff else None,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return IssuedToken(token=row, secret=secret)


def find_token(session: Session, secret: str, *, now: datetime) -> ApiToken | None:
    """The live token for a presented secret, touching ``last_used_at``; else None."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    digest = token_digest(secret)
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.token_hash, digest):
        return None
    row.last_used_at = now
    return row


def revoke_token(session: Session, token_id: int, *, now: datetime) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise AccountError(f"no token with id {token_id}")
    row.revoked_at = row.revoked_at or now
    return row


def has_scope(granted: Iterable[str], needed: str) -> bool:
    granted = set(granted)
    return "admin" in granted or needed in granted


def set_timezone(session: Session, staff: Staff, *, timezone: str | None) -> Staff:
    """A staff member's own zone for the console; None or "": follow their browser."""
    staff.timezone = check_timezone(timezone) if timezone else None
    session.flush()
    return staff
