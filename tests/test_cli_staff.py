"""`complaint-monitor staff passwd|deactivate|activate|unlock|sessions`, through the real
command: what an admin does when a laptop is lost or an agent is locked out."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, func, select

from monitor.db import make_engine, make_sessionmaker, utcnow
from monitor.models import SignInFailure, Staff, StaffSession
from monitor.staff import accounts, sessions, sign_in_limits
from tests.cli_helpers import one_line_error, run_cli


def _setup(url: str) -> tuple[Engine, dict[str, str]]:
    env = {"DATABASE_URL": url}
    assert run_cli("db", "upgrade", env=env).returncode == 0
    added = run_cli("staff", "add", "alice", input="correct horse battery\n", env=env)
    assert added.returncode == 0, added.stderr
    return make_engine(url), env


def _open_sessions(engine: Engine, count: int) -> None:
    with make_sessionmaker(engine).begin() as s:
        alice = accounts.by_name(s, "alice")
        for _ in range(count):
            sessions.start(s, alice, policy=sessions.SessionPolicy(), now=utcnow())


def _live(engine: Engine) -> int:
    with make_sessionmaker(engine)() as s:
        stmt = (
            select(func.count()).select_from(StaffSession).where(StaffSession.revoked_at.is_(None))
        )
        return int(s.scalar(stmt) or 0)


def test_passwd_revoke_and_deactivate_end_sessions(empty_db_url: str) -> None:
    engine, env = _setup(empty_db_url)
    try:
        _open_sessions(engine, 2)
        listed = run_cli("staff", "sessions", "list", "alice", env=env)
        assert listed.returncode == 0 and listed.stdout.count("\tlive\t") == 2, listed
        changed = run_cli("staff", "passwd", "alice", input="another long password\n", env=env)
        assert changed.returncode == 0, changed.stderr
        assert "2 console session(s) ended" in changed.stdout and _live(engine) == 0
        with make_sessionmaker(engine)() as s:
            alice = s.scalars(select(Staff)).one()
            assert accounts.verify_password(alice.password_hash, "another long password")
        short = run_cli("staff", "passwd", "alice", input="short\n", env=env)
        assert "at least" in one_line_error(short)

        _open_sessions(engine, 1)
        revoked = run_cli("staff", "sessions", "revoke", "alice", env=env)
        assert "1 console session(s) of 'alice' ended" in revoked.stdout and _live(engine) == 0
        assert (
            "ended (revoked by admin)"
            in run_cli("staff", "sessions", "list", "alice", env=env).stdout
        )

        _open_sessions(engine, 1)
        off = run_cli("staff", "deactivate", "alice", env=env)
        assert "deactivated; 1 console session(s) ended" in off.stdout and _live(engine) == 0
        assert "disabled" in run_cli("staff", "list", env=env).stdout
        assert run_cli("staff", "activate", "alice", env=env).returncode == 0
        assert "active" in run_cli("staff", "list", env=env).stdout
        assert "no staff member named 'nobody'" in one_line_error(
            run_cli("staff", "deactivate", "nobody", env=env)
        )
    finally:
        engine.dispose()


def test_unlock_clears_an_account_or_an_address(empty_db_url: str) -> None:
    engine, env = _setup(empty_db_url)
    limits = sign_in_limits.SignInLimits()
    now = utcnow()
    try:
        with make_sessionmaker(engine).begin() as s:
            for i in range(6):
                at = now - timedelta(seconds=10 - i)
                sign_in_limits.record_failure(
                    s, limits, account="alice", address="192.0.2.1", now=at
                )
                sign_in_limits.record_failure(
                    s, limits, account=f"x{i}", address="192.0.2.9", now=at
                )
            wait = sign_in_limits.retry_after(
                s, limits, account="alice", address="192.0.2.5", now=now
            )
            assert wait is not None  # alice must wait
        done = run_cli("staff", "unlock", "alice", env=env)
        assert done.returncode == 0 and "6 failed sign-in(s) cleared" in done.stdout, done
        with make_sessionmaker(engine)() as s:
            assert (
                sign_in_limits.retry_after(s, limits, account="alice", address="192.0.2.5", now=now)
                is None
            )
            keys = set(s.scalars(select(SignInFailure.key)))
        assert "ip:192.0.2.1" not in keys and "ip:192.0.2.9" in keys  # her typos only
        by_address = run_cli("staff", "unlock", "--address", "192.0.2.9", env=env)
        assert "6 failed sign-in(s) cleared" in by_address.stdout, by_address
        assert "give a staff name" in one_line_error(run_cli("staff", "unlock", env=env))
        assert "no staff member" in one_line_error(run_cli("staff", "unlock", "nobody", env=env))
    finally:
        engine.dispose()


def test_an_unknown_time_zone_is_refused_in_one_line(empty_db_url: str) -> None:
    env = {"DATABASE_URL": empty_db_url}
    assert run_cli("db", "upgrade", env=env).returncode == 0
    bad = run_cli(
        "staff", "add", "bo", "--timezone", "Mars/Base", input="correct horse battery\n", env=env
    )
    assert "unknown time zone 'Mars/Base'" in one_line_error(bad)
    good = run_cli(
        "staff",
        "add",
        "bo",
        "--timezone",
        "Europe/Berlin",
        input="correct horse battery\n",
        env=env,
    )
    assert good.returncode == 0, good.stderr
