"""Failed sign-ins are limited across every process on one database, and survive a
restart: two apps on one engine stand for two ``serve`` processes behind a balancer."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from monitor.db import make_sessionmaker
from monitor.models import SignInFailure
from monitor.web.app import create_app
from tests.factories import T0
from tests.fixtures.web import SECRET, csrf_of, login, make_staff, web_settings


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
        for client in (one, two, one, two, one):  # 5 failures, spread over both
            assert login(client, "alice", "guess").status_code == 401
        for client in (one, two):  # both refuse now, even the right password
            r = login(client, "alice")
            assert r.status_code == 429 and "Try again in 15 minute(s)" in r.text
    with _app(committed_engine, clock) as restarted:  # a restart forgets nothing
        assert login(restarted, "alice").status_code == 429
        clock.now = T0 + timedelta(minutes=15, seconds=1)  # the window has passed
        assert login(restarted, "alice").status_code == 303
    with make_sessionmaker(committed_engine)() as s:  # success cleared the account's rows
        keys = s.scalars(select(SignInFailure.key)).all()
    assert keys and not [k for k in keys if k.startswith("a:")]


def test_expired_failures_are_deleted(committed_engine: Engine) -> None:
    clock = Clock()
    with _app(committed_engine, clock) as client:
        for i in range(3):
            login(client, f"nobody{i}", "guess")
        clock.now = T0 + timedelta(hours=1)
        login(client, "nobody-later", "guess")
    with make_sessionmaker(committed_engine)() as s:
        rows = s.execute(select(SignInFailure.key, func.count()).group_by(SignInFailure.key))
        counts = dict(rows.tuples().all())
    assert counts == {"a:nobody-later": 1, "ip:testclient": 1}


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
