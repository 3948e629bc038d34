"""The cookie side of console sessions (the rows are :mod:`monitor.staff.sessions`).

The signed cookie (Starlette's SessionMiddleware) carries the session's random token
and the CSRF token; the token is worth nothing once its row is revoked or expired, so
a cookie copied before sign-out no longer signs anyone in. A cookie from before
server-side sessions (a bare ``staff_id``) is simply not a sign-in.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import Request
from sqlalchemy.orm import Session

from monitor.config import LoadedConfig
from monitor.models import Staff
from monitor.staff import sessions
from monitor.web.deps import get_now, get_sessionmaker

TOKEN_KEY = "sid"  # noqa: S105 (the cookie field's name, not a secret)


def policy(request: Request) -> sessions.SessionPolicy:
    loaded: LoadedConfig = request.app.state.config
    return sessions.policy_of(loaded.settings.server)


def client_address(request: Request) -> str:
    """The peer, or the client a trusted proxy named (uvicorn's proxy headers)."""
    return request.client.host if request.client else "unknown"


def _token(request: Request) -> str:
    token = request.session.get(TOKEN_KEY)
    return token if isinstance(token, str) else ""


def begin(request: Request, db: Session, staff: Staff, *, now: datetime) -> None:
    """A fresh cookie session (new token; the caller adds a new CSRF token)."""
    previous = _token(request)
    if previous:  # signing in over a live session ends the old one
        sessions.end(db, previous, now=now, reason="signed in again")
    request.session.clear()
    started = sessions.start(
        db,
        staff,
        policy=policy(request),
        now=now,
        user_agent=request.headers.get("user-agent", ""),
        address=client_address(request),
    )
    sessions.forget_ended(db, now=now)
    request.session[TOKEN_KEY] = started.token


def staff_of(request: Request, db: Session) -> Staff | None:
    """The active staff member whose live session the cookie names, else None."""
    token = _token(request)
    row = sessions.find_live(db, token, policy=policy(request), now=get_now(request))
    staff = db.get(Staff, row.staff_id) if row is not None else None
    if staff is None or not staff.active:
        if token:  # a dead session: forget it (a bare CSRF token stays, for /login)
            request.session.clear()
        return None
    return staff


def end(request: Request) -> None:
    """Sign out: revoke the cookie's session on the server, then forget the cookie."""
    token = _token(request)
    if token:
        with get_sessionmaker(request).begin() as db:
            sessions.end(db, token, now=get_now(request))
    request.session.clear()
