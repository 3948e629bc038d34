"""Shared fixtures: one migrated database per backend, a rolled-back session per test.

Tests that take ``session`` (or ``engine``/``db_url``) run once per backend: SQLite
always, PostgreSQL when reachable (``TEST_DATABASE_URL``, default the local trust-auth
server). Each test session creates its own PostgreSQL database so parallel runs never
collide. The terminal summary says how many tests ran on each backend.
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from monitor.db import make_engine
from monitor.storage import migrate
from tests.support import missing_service, wipe

pytest_plugins = [
    "tests.fixtures.x_server",
    "tests.fixtures.dovecot",
    "tests.fixtures.smtp",
    "tests.fixtures.web",
    "tests.fixtures.slack_server",
    "tests.fixtures.oauth_server",
]

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

# Property tests judge results, not speed: on a shared 2-core machine a single example can
# take longer than Hypothesis' default 200 ms deadline for reasons unrelated to the code.
hypothesis_settings.register_profile("shared-machine", deadline=None)
hypothesis_settings.load_profile("shared-machine")
BACKENDS = ["sqlite", "postgresql"]
REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def pg_admin_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", DEFAULT_PG)


def _create_pg_database() -> tuple[str, Engine]:
    admin = create_engine(pg_admin_url(), isolation_level="AUTOCOMMIT")
    name = f"cm_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        missing_service(f"PostgreSQL is unreachable at {pg_admin_url()}: {exc.__class__.__name__}")
    url = make_url(pg_admin_url()).set(database=name).render_as_string(hide_password=False)
    return url, admin


def _drop_pg_database(admin: Engine, url: str) -> None:
    name = make_url(url).database
    with admin.connect() as conn:
        conn.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
            {"n": name},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A migrated, empty database URL for this backend, alive for the whole test session."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "test.db"
        url = f"sqlite:///{path}"
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        yield url
        return
    url, admin = _create_pg_database()
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        _drop_pg_database(admin, url)


@pytest.fixture(params=BACKENDS)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A brand-new, unmigrated database for this backend, removed after the test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    url, admin = _create_pg_database()
    try:
        yield url
    finally:
        _drop_pg_database(admin, url)


@pytest.fixture(scope="session")
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test.

    "Joining a Session into an External Transaction": the code under test may commit;
    with join_transaction_mode="create_savepoint" those commits release SAVEPOINTs.
    """
    conn = engine.connect()
    trans = conn.begin()
    sess = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield sess
    finally:
        sess.close()
        if trans.is_active:
            trans.rollback()
        conn.close()


@pytest.fixture
def committed_engine(engine: Engine) -> Iterator[Engine]:
    """The backend's engine for tests that need real commits (several sessions/processes).

    Every table is emptied afterwards, so the next test starts clean.
    """
    wipe(engine)
    try:
        yield engine
    finally:
        wipe(engine)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    counts: dict[str, Counter[str]] = {b: Counter() for b in BACKENDS}
    for outcome in ("passed", "failed", "skipped", "error"):
        for rep in terminalreporter.stats.get(outcome, []):
            nodeid = getattr(rep, "nodeid", "")
            if getattr(rep, "when", "call") not in ("call", "setup"):
                continue
            if outcome == "passed" and getattr(rep, "when", "call") != "call":
                continue
            for backend in BACKENDS:
                if f"[{backend}" in nodeid or f"-{backend}]" in nodeid or f"-{backend}-" in nodeid:
                    counts[backend][outcome] += 1
    terminalreporter.section("tests per database backend")
    for backend in BACKENDS:
        c = counts[backend]
        terminalreporter.write_line(
            f"{backend}: {c['passed']} passed, {c['failed']} failed, "
            f"{c['skipped']} skipped, {c['error']} errors"
        )


@pytest.fixture(scope="session")
def scorer() -> Any:
    """The real frustration scorer with the shipped model and default weights."""
    from monitor.config import ScoringSettings
    from monitor.priority.service import ModelScorer
    from monitor.scoring import load_model

    return ModelScorer(load_model(None), ScoringSettings())
