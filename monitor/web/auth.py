"""Staff sign-in for the console: signed session cookies, CSRF tokens, roles, rate limits.

- The session cookie (Starlette's SessionMiddleware, signed with the configured secret)
  holds only the staff id and a CSRF token; the staff row is re-read on every request,
  so a deactivated account is out at once.
- Every form carries the session's CSRF token, compared in constant time.
- Failed sign-ins are counted per account and per client address in a sliding window,
  in the database (:mod:`monitor.staff.sign_in_limits`), so all processes count together.
"""

from __future__ import annotations

import hmac
import math
import secrets
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Form, HTTPException, Request
from sqlalchemy.orm import Session

from monitor.models import Role, Staff
from monitor.staff import accounts, sign_in_limits
from monitor.web.deps import DbTx

SESSION_COOKIE = "cm_session"
SESSION_MAX_AGE = 12 * 3600
ROLE_RANK = {Role.AGENT: 0, Role.LEAD: 1, Role.ADMIN: 2}


class LoginRequired(Exception):
    """Raised by console dependencies; the app turns it into a redirect to /login."""

    def __init__(self, next_url: str = "/") -> None:
        self.next_url = next_url


def limiter(request: Request) -> sign_in_limits.SignInLimits:
    found: sign_in_limits.SignInLimits = request.app.state.sign_in_limits
    return found


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


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


def sign_in(request: Request, staff: Staff) -> None:
    request.session.clear()  # a fresh session (and CSRF token) at every sign-in
    request.session["staff_id"] = staff.id
    csrf_token(request)


def sign_out(request: Request) -> None:
    request.session.clear()


def try_sign_in(
    request: Request, session: Session, *, name: str, password: str, now: datetime
) -> tuple[Staff | None, str | None]:
    """(staff, None) on success; (None, user-facing reason) otherwise."""
    limits = limiter(request)
    account, address = name.strip().lower(), client_address(request)
    wait = sign_in_limits.retry_after(session, limits, account=account, address=address, now=now)
    if wait is not None:
        minutes = max(1, math.ceil(wait.total_seconds() / 60))
        return None, f"Too many failed sign-ins. Try again in {minutes} minute(s)."
    staff = accounts.authenticate(session, name=name.strip(), password=password)
    if staff is None:
        sign_in_limits.record_failure(session, limits, account=account, address=address, now=now)
        return None, "Wrong name or password."
    sign_in_limits.clear_account(session, account=account)
    sign_in(request, staff)
    return staff, None


def current_staff_or_none(request: Request, session: DbTx) -> Staff | None:
    staff_id = request.session.get("staff_id")
    if not isinstance(staff_id, int):
        return None
    staff = session.get(Staff, staff_id)
    if staff is None or not staff.active:
        request.session.clear()
        return None
    return staff


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
