"""The admin area. /admin/staff: add, change role, deactivate or reactivate, reset a
password, unlock after the sign-in limits (through monitor.staff, as the `staff` commands
do). /admin/webhooks: the subscriptions and each one's latest deliveries (created and
changed over the API, /api/v1/webhooks). Admin role only; every form posts a CSRF token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.alerts import webhooks
from monitor.models import Role, Staff, WebhookSubscription
from monitor.staff import accounts, sign_in_limits
from monitor.web.auth import CsrfChecked, require_role
from monitor.web.console.pages import render
from monitor.web.deps import DbTx, Now

router = APIRouter(prefix="/admin", include_in_schema=False)
AdminStaff = Annotated[Staff, require_role(Role.ADMIN)]
ROLES = tuple(r.value for r in Role)


def staff_page(
    request: Request,
    session: Session,
    admin: Staff,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "admin_staff.html",
        status_code=status_code,
        staff=admin,
        people=accounts.all_staff(session),
        roles=ROLES,
        notice=notice,
        error=error,
    )


def _member(session: Session, staff_id: int) -> Staff:
    member = session.get(Staff, staff_id)
    if member is None:
        raise accounts.AccountError(f"no staff member with id {staff_id}")
    return member


def _done(notice: str) -> Response:
    return RedirectResponse(f"/admin/staff?notice={notice}", status_code=303)


@router.get("/staff", response_class=HTMLResponse)
def list_staff(
    request: Request, session: DbTx, admin: AdminStaff, notice: str | None = None
) -> HTMLResponse:
    known = {"added", "role", "deactivated", "activated", "password", "unlocked"}
    return staff_page(request, session, admin, notice=notice if notice in known else None)


@router.post("/staff", dependencies=[CsrfChecked])
def add_staff(
    request: Request,
    session: DbTx,
    now: Now,
    admin: AdminStaff,
    name: Annotated[str, Form(max_length=80)],
    password: Annotated[str, Form(max_length=500)],
    role: Annotated[str, Form()] = "agent",
    email: Annotated[str, Form(max_length=320)] = "",
    timezone: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    try:
        accounts.create_staff(
            session,
            name=name,
            password=password,
            role=role,
            now=now,
            email=email.strip() or None,
            timezone=timezone.strip() or None,
        )
    except accounts.AccountError as exc:
        return staff_page(request, session, admin, error=str(exc), status_code=422)
    return _done("added")


@router.post("/staff/{staff_id}/{action}", dependencies=[CsrfChecked])
def change_staff(
    request: Request,
    session: DbTx,
    now: Now,
    admin: AdminStaff,
    staff_id: int,
    action: str,
    role: Annotated[str, Form()] = "",
    password: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    try:
        member = _member(session, staff_id)
        if action == "role":
            accounts.set_role(session, member, role=role, by=admin)
        elif action in ("deactivate", "activate"):
            if member.id == admin.id:
                raise accounts.AccountError("you cannot deactivate your own account")
            accounts.set_active(session, member, active=action == "activate", now=now)
            action += "d"
        elif action == "password":
            accounts.change_password(session, member, password=password, now=now)
        elif action == "unlock":
            sign_in_limits.unlock(session, account=member.name)
            action = "unlocked"
        else:
            raise accounts.AccountError(f"unknown action {action!r}")
    except accounts.AccountError as exc:
        return staff_page(request, session, admin, error=str(exc), status_code=422)
    return _done(action)


@router.get("/webhooks", response_class=HTMLResponse)
def list_webhooks(request: Request, session: DbTx, now: Now, admin: AdminStaff) -> HTMLResponse:
    subs = list(session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id)))
    return render(
        request,
        "admin_webhooks.html",
        staff=admin,
        now=now,
        subscriptions=[(sub, webhooks.deliveries(session, sub.id, limit=20)) for sub in subs],
    )
