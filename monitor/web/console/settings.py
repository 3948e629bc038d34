"""/settings: a staff member's own preferences. Today: the time zone the console shows
times in (their own choice, or "follow my browser", the zone static/console.js reports
in the ``tz`` cookie; see monitor.web.viewer_zone)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import available_timezones

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from monitor.models import Staff
from monitor.staff import accounts
from monitor.web.auth import CsrfChecked, CurrentStaff
from monitor.web.console.pages import render
from monitor.web.deps import DbTx, Now
from monitor.web.viewer_zone import MAX_NAME, browser_zone

router = APIRouter(include_in_schema=False)


def zone_names() -> tuple[str, ...]:
    """Every zone this machine knows, for the picker (a settings page is seldom opened,
    so it is read afresh each time rather than kept)."""
    return tuple(sorted(n for n in available_timezones() if "/" in n or n == "UTC"))


def settings_page(
    request: Request,
    staff: Staff,
    *,
    now: datetime,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "settings.html",
        status_code=status_code,
        staff=staff,
        now=now,
        zones=zone_names(),
        browser=browser_zone(request),
        notice=notice,
        error=error,
    )


@router.get("/settings", response_class=HTMLResponse)
def show_settings(request: Request, now: Now, staff: CurrentStaff, saved: str = "") -> HTMLResponse:
    notice = "Saved: times now show in this zone." if saved else None
    return settings_page(request, staff, now=now, notice=notice)


@router.post("/settings", dependencies=[CsrfChecked])
def save_settings(
    request: Request,
    session: DbTx,
    now: Now,
    staff: CurrentStaff,
    timezone: Annotated[str, Form(max_length=MAX_NAME)] = "",
) -> Response:
    try:
        accounts.set_timezone(session, staff, timezone=timezone.strip() or None)
    except accounts.AccountError as exc:
        return settings_page(request, staff, now=now, error=str(exc), status_code=422)
    return RedirectResponse("/settings?saved=1", status_code=303)
