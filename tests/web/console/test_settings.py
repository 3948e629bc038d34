"""/settings and the viewer's zone over HTTP, on both databases: the browser's zone from
the ``tz`` cookie (only a real zone), the staff member's own choice over it, refusals."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

from sqlalchemy import select

from monitor import events
from monitor.db import make_sessionmaker
from monitor.events import EventKind
from monitor.models import Staff
from tests.factories.cases import make_case
from tests.fixtures.web import csrf_of, login


def zone_shown(client) -> str:
    found = re.search(r'id="current-zone">([^<]*)<', client.get("/settings").text)
    assert found is not None
    return found.group(1)


def test_the_viewer_zone_comes_from_the_setting_else_a_valid_browser_cookie(
    web_app, app_client
) -> None:
    web_app.add_staff("noor")
    with make_sessionmaker(web_app.engine).begin() as s:
        s.scalars(select(Staff).where(Staff.name == "noor")).one().timezone = None
    assert login(app_client, "noor").status_code == 303
    assert zone_shown(app_client) == "UTC"  # nothing chosen, nothing reported
    app_client.cookies.set("tz", "Mars/Base")
    assert zone_shown(app_client) == "UTC"  # not a zone: ignored
    app_client.cookies.set("tz", "../../etc/passwd")
    assert zone_shown(app_client) == "UTC"
    app_client.cookies.set("tz", "Australia/Sydney")
    page = app_client.get("/settings").text
    assert 'id="current-zone">Australia/Sydney<' in page and "(your browser's zone)" in page
    assert 'id="zone-link"' in page and ">Australia/Sydney</a>" in page

    token = csrf_of(page)
    refused = app_client.post("/settings", data={"timezone": "Mars/Base", "csrf_token": token})
    assert refused.status_code == 422
    assert "unknown time zone 'Mars/Base'" in html.unescape(refused.text)
    saved = app_client.post(
        "/settings", data={"timezone": "Europe/Lisbon", "csrf_token": token}, follow_redirects=False
    )
    assert saved.status_code == 303
    assert zone_shown(app_client) == "Europe/Lisbon"  # the setting wins over the browser
    app_client.post("/settings", data={"timezone": "", "csrf_token": token})
    assert zone_shown(app_client) == "Australia/Sydney"
    with make_sessionmaker(web_app.engine)() as s:
        assert s.scalars(select(Staff.timezone).where(Staff.name == "noor")).one() is None
    # No CSRF token, no change.
    assert app_client.post("/settings", data={"timezone": "UTC"}).status_code in (400, 403)


def test_response_target_events_on_the_case_read_in_the_viewer_zone(web_app, app_client) -> None:
    web_app.add_staff("kenji")
    due = "2026-11-02T09:30:00+00:00"
    with make_sessionmaker(web_app.engine).begin() as s:
        s.scalars(select(Staff).where(Staff.name == "kenji")).one().timezone = "Asia/Tokyo"
        case_id = make_case(s, customer="Dan", channel="email").id
        at = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
        for kind in (EventKind.SLA_SET, EventKind.SLA_BREACHED):
            payload = {"kind": "first", "due_at": due}
            events.append(s, kind, now=at, case_id=case_id, payload=payload)
    login(app_client, "kenji")
    page = html.unescape(app_client.get(f"/cases/{case_id}").text)
    assert "first response due Mon 02 Nov 18:30 JST" in page
    assert "first response target missed (due Mon 02 Nov 18:30 JST)" in page
    assert "09:30 UTC" not in page
