"""Who is viewing, across processes: two apps on one database (as two `serve` processes
would be), each with its own clock, see each other's viewers through the heartbeat."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from monitor.cases import presence
from monitor.db import make_sessionmaker
from monitor.web.app import create_app
from tests.factories import T0
from tests.factories.cases import make_case
from tests.factories.staff import make_staff
from tests.fixtures.web import SECRET, csrf_of, login, web_settings


class Process:
    """One `serve` process: its own app object (no shared memory) and clock."""

    def __init__(self, engine: Engine, now: datetime) -> None:
        self.now = now
        self.app = create_app(web_settings(), engine, clock=lambda: self.now, session_secret=SECRET)


def beat(client: Any, case_id: int, csrf: str) -> str:
    r = client.post(f"/cases/{case_id}/presence", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    return str(r.text)


def test_two_processes_see_who_else_is_viewing(committed_engine: Engine) -> None:
    with make_sessionmaker(committed_engine).begin() as s:
        make_staff(s, "maria", display_name="Maria")
        make_staff(s, "bob", display_name="Bob")
        case_id = make_case(s, customer="Kim").id
    one, two = Process(committed_engine, T0), Process(committed_engine, T0)
    with TestClient(one.app) as maria, TestClient(two.app) as bob:
        login(maria, "maria")
        login(bob, "bob")
        page = maria.get(f"/cases/{case_id}")
        assert 'id="viewers"' in page.text and "Nobody else has this case open" in page.text
        maria_csrf = csrf_of(page.text)
        assert "Nobody else" in beat(maria, case_id, maria_csrf)
        bob_csrf = csrf_of(bob.get(f"/cases/{case_id}").text)
        assert '<strong class="viewer">Maria</strong>' in beat(bob, case_id, bob_csrf)
        assert '<strong class="viewer">Bob</strong>' in beat(maria, case_id, maria_csrf)
        # Maria's page stops beating (a closed laptop): gone once the window has passed
        two.now = T0 + presence.WINDOW - timedelta(seconds=1)
        assert "Maria" in beat(bob, case_id, bob_csrf)
        two.now = T0 + presence.WINDOW
        assert "Nobody else" in beat(bob, case_id, bob_csrf)
        one.now = two.now  # she comes back, then leaves the page
        assert "Bob" in beat(maria, case_id, maria_csrf)
        assert "Maria" in beat(bob, case_id, bob_csrf)
        r = maria.post(f"/cases/{case_id}/presence/leave", headers={"X-CSRF-Token": maria_csrf})
        assert r.status_code == 204
        assert "Nobody else" in beat(bob, case_id, bob_csrf)
        refused = bob.post(f"/cases/{case_id}/presence", headers={"X-CSRF-Token": "forged"})
        assert refused.status_code == 403
        assert (
            bob.post("/cases/999999/presence", headers={"X-CSRF-Token": bob_csrf}).status_code
            == 404
        )
