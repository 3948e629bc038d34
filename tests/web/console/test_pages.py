"""The console over HTTP (no browser): sign-in, CSRF, rate limits, roles, headers, escaping."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from monitor.db import make_sessionmaker
from monitor.models import Role, Staff
from tests.factories.cases import make_case
from tests.fixtures.web import WebApp, csrf_of, login

pytestmark = pytest.mark.db


def test_pages_need_sign_in(app_client: Any) -> None:
    r = app_client.get("/?channel=x", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2F%3Fchannel%3Dx"
    assert app_client.get("/cases/1", follow_redirects=False).status_code == 303
    assert app_client.get("/live/events", follow_redirects=False).status_code == 303


def test_sign_in_and_out(app_client: Any, web_app: WebApp) -> None:
    web_app.add_staff("alice")
    r = login(app_client, "alice", "wrong password!")
    assert r.status_code == 401 and "Wrong name or password" in r.text
    r = login(app_client, "alice")
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert (
        "cm_session=" in cookie
        and "httponly" in cookie.lower()
        and "samesite=lax" in cookie.lower()
    )
    page = app_client.get("/")
    assert page.status_code == 200 and "Nothing in the queue" in page.text
    # Logout needs the CSRF token too.
    assert app_client.post("/logout", data={}).status_code == 403
    r = app_client.post("/logout", data={"csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    assert app_client.get("/", follow_redirects=False).status_code == 303


def test_login_form_needs_csrf_and_next_is_local(app_client: Any, web_app: WebApp) -> None:
    web_app.add_staff("alice")
    app_client.get("/login")
    r = app_client.post("/login", data={"username": "alice", "password": "correct horse battery"})
    assert r.status_code == 403
    page = app_client.get("/login?next=//evil.example/")
    r = app_client.post(
        "/login",
        data={
            "username": "alice",
            "password": "correct horse battery",
            "csrf_token": csrf_of(page.text),
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_secure_cookie_flag_follows_config(committed_engine: Any) -> None:
    from fastapi.testclient import TestClient

    from monitor.web.app import create_app
    from tests.factories.staff import make_staff
    from tests.fixtures.web import SECRET, web_settings

    with make_sessionmaker(committed_engine).begin() as s:
        make_staff(s, "sam")
    app = create_app(web_settings(secure_cookies=True), committed_engine, session_secret=SECRET)
    with TestClient(app, base_url="https://testserver") as client:
        r = login(client, "sam")
        assert r.status_code == 303 and "secure" in r.headers["set-cookie"].lower()


def test_failed_logins_are_rate_limited_per_account(app_client: Any, web_app: WebApp) -> None:
    web_app.add_staff("alice")
    for _ in range(5):
        assert login(app_client, "alice", "not the password").status_code == 401
    r = login(app_client, "alice")  # even the right password waits now
    assert r.status_code == 429 and "Too many failed sign-ins" in r.text


def test_failed_logins_are_rate_limited_per_address(app_client: Any, web_app: WebApp) -> None:
    web_app.add_staff("zed")
    for i in range(20):
        assert login(app_client, f"nobody{i}", "not the password").status_code == 401
    assert login(app_client, "zed").status_code == 429


def test_console_flow_claim_conflict_and_take_over(app_client: Any, web_app: WebApp) -> None:
    from fastapi.testclient import TestClient

    web_app.add_staff("alice")
    web_app.add_staff("lena", Role.LEAD)
    with make_sessionmaker(web_app.engine).begin() as s:
        case_id = make_case(s, score=70, customer="Dana").id
    login(app_client, "alice")
    page = app_client.get(f"/cases/{case_id}")  # reading takes neither owner nor lock
    assert page.status_code == 200 and "Nobody is replying" in page.text
    assert "Nobody owns this case yet" in page.text
    token = csrf_of(page.text)
    page = app_client.post(f"/cases/{case_id}/claim", data={"csrf_token": token})
    assert page.status_code == 200 and "You hold this case" in page.text
    r = app_client.post(
        f"/cases/{case_id}/notes", data={"text": "check courier", "csrf_token": token}
    )
    assert r.status_code == 200 and "check courier" in r.text
    r = app_client.post(
        f"/cases/{case_id}/stage", data={"stage": "apologised", "csrf_token": token}
    )
    assert r.status_code == 200
    assert app_client.post(f"/cases/{case_id}/stage", data={"stage": "agreed"}).status_code == 403

    with TestClient(web_app.app) as other:
        login(other, "lena")
        view = other.get(f"/cases/{case_id}")
        assert "Claimed by" in view.text and "alice is replying" in view.text
        lena_token = csrf_of(view.text)
        r = other.post(f"/cases/{case_id}/claim", data={"csrf_token": lena_token})
        assert r.status_code == 409 and "Refused: alice holds this case" in r.text
        r = other.post(f"/cases/{case_id}/claim", data={"csrf_token": lena_token, "take_over": "1"})
        assert r.status_code == 200 and "You hold this case" in r.text
    queue_page = app_client.get("/")
    assert "lena" in queue_page.text and "Dana" in queue_page.text


def test_headers_and_escaping(app_client: Any, web_app: WebApp) -> None:
    web_app.add_staff("alice")
    with make_sessionmaker(web_app.engine).begin() as s:
        make_case(s, customer="<script>alert(1)</script>", reasons=["<img src=x onerror=alert(2)>"])
    login(app_client, "alice")
    page = app_client.get("/")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert "<script>alert(1)" not in page.text and "&lt;script&gt;alert(1)" in page.text
    assert "<img src=x" not in page.text
    assert app_client.get("/static/console.js").status_code == 200
    docs_csp = app_client.get("/docs").headers["content-security-policy"]  # its own policy
    assert docs_csp != csp and "script-src 'self' 'sha256-" in docs_csp


def test_assign_from_the_case_page_and_the_queue_and_the_typing_lock(
    app_client: Any, web_app: WebApp
) -> None:
    from fastapi.testclient import TestClient

    web_app.add_staff("alice")
    web_app.add_staff("bob")
    with make_sessionmaker(web_app.engine).begin() as s:
        one = make_case(s, score=70, customer="Dana").id
        two = make_case(s, score=60, customer="Eli").id
        bob_id = s.scalars(select(Staff.id).where(Staff.name == "bob")).one()
    login(app_client, "alice")
    page = app_client.get(f"/cases/{one}")
    token = csrf_of(page.text)
    r = app_client.post(f"/cases/{one}/assign", data={"csrf_token": token, "assignee": "me"})
    assert r.status_code == 200 and 'id="assignee">alice' in r.text
    r = app_client.post(
        f"/cases/{one}/assign",
        data={"csrf_token": token, "assignee": str(bob_id), "note": "bob knows the courier"},
    )
    assert r.status_code == 200 and 'id="assignee">bob' in r.text
    assert "assigned the case to bob (was alice): bob knows the courier" in r.text
    # Alice no longer owns it: only bob or a lead may hand it over now.
    r = app_client.post(f"/cases/{one}/assign", data={"csrf_token": token, "assignee": "me"})
    assert r.status_code == 403 and "only they or a lead" in r.text
    queue_page = app_client.get("/")
    r = app_client.post(
        "/queue/assign",
        data={"csrf_token": csrf_of(queue_page.text), "case_ids": [str(two)], "assignee": "me"},
    )
    assert r.status_code == 200
    mine = app_client.get("/?claimed=mine").text
    assert "Eli" in mine and "Dana" not in mine
    # The composing lock: alice types; bob, reading, sees her replying and is refused.
    typed = app_client.post(
        f"/cases/{two}/composer/typing", json={}, headers={"X-CSRF-Token": token}
    )
    assert typed.status_code == 200 and typed.json()["until"]
    with TestClient(web_app.app) as other:
        login(other, "bob")
        view = other.get(f"/cases/{two}")
        assert "alice is replying" in view.text
        bob_token = csrf_of(view.text)
        refused = other.post(
            f"/cases/{two}/composer/typing", json={}, headers={"X-CSRF-Token": bob_token}
        )
        assert refused.status_code == 409 and refused.json()["detail"] == "alice is replying"
        bar = other.get(f"/cases/{two}/partials/claim").text
        assert 'data-held-by-other="true"' in bar
