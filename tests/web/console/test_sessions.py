"""Console sessions live on the server: a cookie is only as good as its row.

Over HTTP through the app (TestClient); the clock is the app's, so timeouts are tested
without waiting."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from monitor.db import make_sessionmaker
from monitor.models import Role, Staff, StaffSession
from monitor.staff import accounts
from monitor.web.app import create_app
from tests.factories import T0
from tests.factories.staff import make_staff, make_token
from tests.fixtures.web import SECRET, csrf_of, login, web_settings

pytestmark = pytest.mark.db


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> Any:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(committed_engine: Engine, clock: Clock) -> Any:
    with make_sessionmaker(committed_engine).begin() as s:
        make_staff(s, "alice")
        make_staff(s, "root", role=Role.ADMIN)
    settings = web_settings(session_idle_minutes=60, session_max_hours=10)
    return create_app(settings, committed_engine, clock=clock, session_secret=SECRET)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def _signed_in(client: TestClient, name: str = "alice") -> str:
    """Sign in; returns the session cookie's value."""
    assert login(client, name).status_code == 303
    cookie = client.cookies.get("cm_session")
    assert cookie
    return cookie


def _replay(app: Any, cookie: str) -> int:
    """The queue page requested with nothing but a copied cookie."""
    with TestClient(app) as other:
        other.cookies.set("cm_session", cookie)
        return other.get("/", follow_redirects=False).status_code


def test_a_cookie_copied_before_sign_out_is_refused_after_it(app: Any, client: TestClient) -> None:
    copied = _signed_in(client)
    assert _replay(app, copied) == 200  # the copy works while the session is live
    page = client.get("/")
    r = client.post("/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    assert _replay(app, copied) == 303  # to /login: the session ended on the server


def test_only_the_token_digest_is_stored(committed_engine: Engine, client: TestClient) -> None:
    _signed_in(client)
    with make_sessionmaker(committed_engine)() as s:
        row = s.scalars(select(StaffSession)).one()
    assert len(row.token_hash) == 64 and row.user_agent == "testclient"
    assert row.expires_at == T0 + timedelta(hours=10)


def test_idle_and_absolute_timeouts(
    app: Any, client: TestClient, clock: Clock, committed_engine: Engine
) -> None:
    cookie = _signed_in(client)
    for _ in range(9):  # a request every 59 minutes keeps it alive, up to 10 hours...
        clock.now += timedelta(minutes=59)
        assert _replay(app, cookie) == 200
    clock.now = T0 + timedelta(hours=10)
    assert _replay(app, cookie) == 303  # ...and not one second past them
    cookie = _signed_in(client)
    clock.now += timedelta(minutes=59, seconds=59)
    assert _replay(app, cookie) == 200
    clock.now += timedelta(hours=1)  # an hour without a request
    assert _replay(app, cookie) == 303


def test_last_seen_is_written_at_most_once_a_minute(
    app: Any, client: TestClient, clock: Clock, committed_engine: Engine
) -> None:
    cookie = _signed_in(client)

    def last_seen() -> Any:
        with make_sessionmaker(committed_engine)() as s:
            return s.scalars(select(StaffSession.last_seen_at)).one()

    clock.now += timedelta(seconds=59)
    _replay(app, cookie)
    assert last_seen() == T0
    clock.now += timedelta(seconds=1)
    _replay(app, cookie)
    assert last_seen() == T0 + timedelta(minutes=1)


def test_sign_in_issues_a_new_token_and_ends_the_previous_session(
    app: Any, client: TestClient
) -> None:
    first = _signed_in(client)
    second = _signed_in(client)  # signing in again, e.g. after a stale tab
    assert first != second
    assert _replay(app, first) == 303 and _replay(app, second) == 200


def test_password_change_and_deactivation_end_every_session(
    app: Any, client: TestClient, committed_engine: Engine
) -> None:
    cookies = [_signed_in(TestClient(app)) for _ in range(2)]
    with make_sessionmaker(committed_engine).begin() as s:
        alice = accounts.by_name(s, "alice")
        assert accounts.change_password(s, alice, password="a new long password", now=T0) == 2
    assert [_replay(app, c) for c in cookies] == [303, 303]
    assert login(client, "alice", "a new long password").status_code == 303
    cookie = client.cookies.get("cm_session")
    assert cookie
    with make_sessionmaker(committed_engine).begin() as s:
        alice = accounts.by_name(s, "alice")
        assert accounts.set_active(s, alice, active=False, now=T0) == 1
        accounts.set_active(s, alice, active=True, now=T0)  # back, but the session is gone
    assert _replay(app, cookie) == 303


def test_an_admin_lists_and_revokes_sessions_over_the_api(
    app: Any, client: TestClient, committed_engine: Engine
) -> None:
    cookie = _signed_in(client)
    with make_sessionmaker(committed_engine).begin() as s:
        staff = {x.name: x for x in s.scalars(select(Staff))}
        admin = make_token(s, ["admin"], staff=staff["root"])
        reader = make_token(s, ["queue:read"], name="reader")
        alice_id = staff["alice"].id
    url = f"/api/v1/staff/{alice_id}/sessions"
    with TestClient(app) as api:
        assert api.delete(url, headers={"Authorization": f"Bearer {reader}"}).status_code == 403
        listed = api.get(url, headers={"Authorization": f"Bearer {admin}"}).json()
        assert [x["live"] for x in listed] == [True]
        r = api.delete(url, headers={"Authorization": f"Bearer {admin}"})
        assert r.status_code == 200 and r.json() == {"revoked": 1}
        listed = api.get(url, headers={"Authorization": f"Bearer {admin}"}).json()
        assert [(x["live"], x["revoked_reason"]) for x in listed] == [(False, "revoked by admin")]
    assert _replay(app, cookie) == 303
