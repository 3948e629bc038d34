"""Failed sign-ins are limited across every process on one database, and survive a
restart: two apps on one engine stand for two ``serve`` processes behind a balancer."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from monitor.db import make_sessionmaker
from monitor.models import Role, SignInFailure
from monitor.web.app import create_app
from tests.factories import T0
from tests.factories.staff import make_staff, make_token
from tests.fixtures.web import SECRET, csrf_of, login, web_settings


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> Any:
        return self.now


def _app(engine: Engine, clock: Clock) -> TestClient:
    return TestClient(create_app(web_settings(), engine, clock=clock, session_secret=SECRET))


def test_two_processes_count_the_same_failures(committed_engine: Engine) -> None:
    with make_sessionmaker(committed_engine).begin() as s:
        make_staff(s, "alice")
    clock = Clock()
    with _app(committed_engine, clock) as one, _app(committed_engine, clock) as two:
        for client in (one, two, one, two):  # 4 failures, spread over both: no wait yet
            r = login(client, "alice", "guess")
            assert r.status_code == 401 and "Wait" not in r.text
        r = login(one, "alice", "guess")  # the 5th: the next attempt must wait 30 s
        assert r.status_code == 401 and "Wait 30 seconds before the next try" in r.text
        for client in (one, two):  # both refuse now, even the right password
            r = login(client, "alice")
            assert r.status_code == 429 and "Try again in 30 seconds" in r.text
    with _app(committed_engine, clock) as restarted:  # a restart forgets nothing
        assert login(restarted, "alice").status_code == 429
        clock.now = T0 + timedelta(seconds=31)  # the wait is over: the owner signs in
        assert login(restarted, "alice").status_code == 303
    with make_sessionmaker(committed_engine)() as s:  # success cleared every failure of hers
        assert s.scalars(select(SignInFailure.key)).all() == []


def test_waits_double_with_each_failure_up_to_fifteen_minutes(committed_engine: Engine) -> None:
    """A locked account is never locked for longer than the cap: each failure after the
    fifth doubles the wait (30 s, 1, 2, 4, 8 min, then 15 min), and the right password
    after the wait still signs in."""
    with make_sessionmaker(committed_engine).begin() as s:
        make_staff(s, "alice")
    clock = Clock()
    seen = []
    with _app(committed_engine, clock) as client:
        for _ in range(5):
            login(client, "alice", "guess")
        for _ in range(7):
            wait = _wait_seconds(login(client, "alice", "guess"))  # refused, not counted
            seen.append(wait)
            clock.now += timedelta(seconds=wait - 1)
            assert login(client, "alice").status_code == 429  # a second early
            clock.now += timedelta(seconds=1)
            assert login(client, "alice", "guess").status_code == 401  # counted
        assert seen == [30, 60, 120, 240, 480, 900, 900]
        clock.now += timedelta(minutes=15)
        assert login(client, "alice").status_code == 303


def _wait_seconds(response: Any) -> int:
    assert response.status_code == 429, response.text
    found = re.search(r"Try again in (\d+) (second|minute)s?", response.text)
    assert found, response.text
    return int(found.group(1)) * (60 if found.group(2) == "minute" else 1)


def test_unknown_names_are_delayed_alike(committed_engine: Engine) -> None:
    """The limit does not tell whether an account exists."""
    with make_sessionmaker(committed_engine).begin() as s:
        make_staff(s, "alice")
    clock = Clock()
    answers = {}
    with _app(committed_engine, clock) as client:
        for name in ("alice", "nobody"):
            texts = [login(client, name, "guess").text for _ in range(6)]
            answers[name] = [_message(t) for t in texts]
    assert answers["alice"] == answers["nobody"]
    assert answers["alice"][-1] == "Too many failed sign-ins. Try again in 30 seconds."


def _message(html: str) -> str:
    found = re.search(r'<p class="error"[^>]*>([^<]+)</p>', html)
    assert found, html
    return found.group(1).strip()


def test_owner_typos_stop_counting_against_a_shared_address(committed_engine: Engine) -> None:
    """Behind one office address, a colleague's successful sign-in clears their own
    typos from the address's count, not the failures on other accounts."""
    with make_sessionmaker(committed_engine).begin() as s:
        make_staff(s, "alice")
    clock = Clock()
    with _app(committed_engine, clock) as client:
        for i in range(3):
            login(client, f"someone{i}", "guess")
        for _ in range(2):
            login(client, "alice", "typo")
        assert login(client, "alice").status_code == 303
    with make_sessionmaker(committed_engine)() as s:
        rows = s.execute(select(SignInFailure.key, func.count()).group_by(SignInFailure.key))
        counts = dict(rows.tuples().all())
    assert counts == {"a:someone0": 1, "a:someone1": 1, "a:someone2": 1, "ip:testclient": 3}


def test_address_waits_after_twenty_failures_on_any_names(committed_engine: Engine) -> None:
    clock = Clock()
    with _app(committed_engine, clock) as client:
        for i in range(20):
            assert login(client, f"name{i}", "guess").status_code == 401
        assert _wait_seconds(login(client, "fresh-name", "guess")) == 30
        clock.now += timedelta(seconds=30)
        assert login(client, "fresh-name", "guess").status_code == 401


def test_expired_failures_are_deleted(committed_engine: Engine) -> None:
    clock = Clock()
    with _app(committed_engine, clock) as client:
        for i in range(3):
            login(client, f"nobody{i}", "guess")
        clock.now = T0 + timedelta(hours=24, seconds=1)
        login(client, "nobody-later", "guess")
    with make_sessionmaker(committed_engine)() as s:
        rows = s.execute(select(SignInFailure.key, func.count()).group_by(SignInFailure.key))
        counts = dict(rows.tuples().all())
    assert counts == {"a:nobody-later": 1, "ip:testclient": 1}


def test_admin_unlock_lets_the_owner_in_at_once(committed_engine: Engine) -> None:
    with make_sessionmaker(committed_engine).begin() as s:
        alice = make_staff(s, "alice")
        admin = make_staff(s, "root", role=Role.ADMIN)
        token = make_token(s, ["admin"], staff=admin)
        agent_token = make_token(s, ["queue:read", "cases:write"], name="agent")
        alice_id = alice.id
    clock = Clock()
    with _app(committed_engine, clock) as client:
        for _ in range(8):
            login(client, "alice", "guess")
        assert login(client, "alice").status_code == 429
        url = f"/api/v1/staff/{alice_id}/unlock"
        denied = client.post(url, headers={"Authorization": f"Bearer {agent_token}"})
        assert denied.status_code == 403
        r = client.post(url, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and r.json() == {"cleared": 5}  # 5 counted, 3 refused
        assert login(client, "alice").status_code == 303
    with make_sessionmaker(committed_engine)() as s:  # gone from the address's count too
        assert s.scalars(select(SignInFailure.key)).all() == []
    with _app(committed_engine, clock) as client:
        missing = client.post(
            "/api/v1/staff/999999/unlock", headers={"Authorization": f"Bearer {token}"}
        )
        assert missing.status_code == 404


def test_parallel_guesses_cannot_all_pass_the_count(committed_engine: Engine) -> None:
    """Ten guesses at once on one account: five are checked and fail, the other five are
    refused (without serialising, all ten could read a count below five)."""
    with make_sessionmaker(committed_engine).begin() as s:
        make_staff(s, "alice")
    clock = Clock()
    app = create_app(web_settings(), committed_engine, clock=clock, session_secret=SECRET)
    clients = [TestClient(app) for _ in range(10)]
    pages = [c.get("/login") for c in clients]  # sessions and CSRF tokens first

    def guess(i: int) -> int:
        token = csrf_of(pages[i].text)
        form = {"username": "alice", "password": f"guess {i}", "csrf_token": token}
        return clients[i].post("/login", data=form, follow_redirects=False).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        codes = sorted(pool.map(guess, range(10)))
    assert codes == [401] * 5 + [429] * 5
