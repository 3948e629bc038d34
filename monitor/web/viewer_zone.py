"""Whose clock the console shows times on: the viewer's.

A staff member's own setting (``Staff.timezone``, changed on /settings) wins; without one
the zone their browser reports, which ``static/console.js`` keeps in the ``tz`` cookie
(``Intl.DateTimeFormat().resolvedOptions().timeZone``). Either must be a zone this
machine knows (:mod:`monitor.zones`); anything else, or nothing, is UTC.
"""

from __future__ import annotations

from starlette.requests import Request

from monitor.models import Staff
from monitor.zones import known_zone

COOKIE = "tz"
MAX_NAME = 64


def browser_zone(request: Request) -> str | None:
    """The zone the browser reported, when it names a known zone."""
    name = request.cookies.get(COOKIE, "").strip()
    if not name or len(name) > MAX_NAME or known_zone(name) is None:
        return None
    return name


def viewer_zone(request: Request, staff: Staff | None) -> str:
    """The zone to show times in for this request (an IANA name, UTC at worst)."""
    if staff is not None and staff.timezone and known_zone(staff.timezone) is not None:
        return staff.timezone
    return browser_zone(request) or "UTC"
