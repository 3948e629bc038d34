"""Staff sign-in for the console: signed session cookies, CSRF tokens, roles, rate limits.

- The session cookie (Starlette's SessionMiddleware, signed with the configured secret)
  holds only a session token and a CSRF token; the session's row and the staff row are
  re-read on every request (:mod:`monitor.web.sessions`), so sign-out, a revoked
  session and a deactivated account are out at once.
- Every form carries the session's CSRF token, compared in constant time.
- Failed sign-ins make further attempts wait, longer with each failure, per account and
  per client address, in the database (:mod:`monitor.staff.sign_in_limits`), so all
  processes count together.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Form, HTTPException, Request
from sqlalchemy.orm import Session

from monitor.models import Role, Staff
from monitor.staff import accounts, sign_in_limits
from monitor.web import sessions
from monitor.web.deps import DbTx

SESSION_COOKIE = "cm_session"
ROLE_RANK = {Role.AGENT: 0, Role.LEAD: 1, Role.ADMIN: 2}


class LoginRequired(Exception):
    """Raised by console dependencies; the app turns it into a redirect to /login."""

    def __init__(self, next_url: str = "/") -> None:
        self.next_url = next_url


def limiter(request: Request) -> sign_in_limits.SignInLimits:
    found: sign_in_limits.SignInLimits = request.app.state.sign_in_limits
    return found


client_address = sessions.client_address


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def csrf_ok(request: Request, presented: str | None) -> bool:
    expected = request.session.get("csrf")
    return (
        isinstance(expected, str)
        and bool(presented)
        and hmac.compare_digest(expected.encode(), (presented or "").encode())
    )


async def verify_csrf(request: Request, csrf_token: Annotated[str, Form()] = "") -> None:
    """Dependency for every console form POST."""
    if not csrf_ok(request, csrf_token or request.headers.get("x-csrf-token")):
        raise HTTPException(status_code=403, detail="CSRF token missing or wrong; reload the page")


def sign_in(request: Request, session: Session, staff: Staff, *, now: datetime) -> None:
    sessions.begin(request, session, staff, now=now)  # a new token at every sign-in
    csrf_token(request)


def sign_out(request: Request) -> None:
    sessions.end(request)


def try_sign_in(
    request: Request, session: Session, *, name: str, password: str, now: datetime
) -> tuple[Staff | None, str | None]:
    """(staff, None) on success; (None, user-facing reason) otherwise."""
    limits = limiter(request)
    account, address = name.strip().lower(), client_address(request)
    wait = sign_in_limits.retry_after(session, limits, account=account, address=address, now=now)
    if wait is not None:
        return None, f"Too many failed sign-ins. Try again in {too_soon(wait)}."
    staff = accounts.authenticate(session, name=name.strip(), password=password)
    if staff is None:
        wait = sign_in_limits.record_failure(
            session, limits, account=account, address=address, now=now
        )
        later = f" Wait {too_soon(wait)} before the next try." if wait else ""
        return None, "Wrong name or password." + later
    sign_in_limits.clear_on_success(session, account=account, address=address)
    sign_in(request, session, staff, now=now)
    return staff, None


def too_soon(wait: timedelta) -> str:
    return sign_in_limits.describe_wait(wait)


def current_staff_or_none(request: Request, session: DbTx) -> Staff | None:
    return sessions.staff_of(request, session)


def current_staff(
    request: Request, staff: Annotated[Staff | None, Depends(current_staff_or_none)]
) -> Staff:
    if staff is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    return staff


def has_role(staff: Staff, role: Role) -> bool:
    return ROLE_RANK.get(Role(staff.role), -1) >= ROLE_RANK[role]


def require_role(role: Role) -> object:
    def check(staff: Annotated[Staff, Depends(current_staff)]) -> Staff:
        if not has_role(staff, role):
            raise HTTPException(status_code=403, detail=f"this needs the {role.value} role")
        return staff

    return Depends(check)


CurrentStaff = Annotated[Staff, Depends(current_staff)]
MaybeStaff = Annotated[Staff | None, Depends(current_staff_or_none)]
CsrfChecked = Depends(verify_csrf)
