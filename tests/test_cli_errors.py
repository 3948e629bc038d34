"""Expected failures of the real command: one line on stderr, a non-zero exit, no traceback.

An unmigrated, too-old or too-new database; an unsupported or malformed database URL;
a port already in use. And `db upgrade` needs only the database settings.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from monitor.db import make_engine
from monitor.storage import migrate
from tests.cli_helpers import one_line_error, run_cli

SECRET_ENV = {"COMPLAINT_MONITOR_SECRET": "s" * 40}
# every command that uses the database, except `db upgrade` / `db current`
DATABASE_COMMANDS: list[tuple[list[str], str | None]] = [
    (["staff", "add", "maria"], "correct horse battery\n"),
    (["staff", "list"], None),
    (["token", "create", "--scopes", "queue:read"], None),
    (["token", "list"], None),
    (["token", "revoke", "1"], None),
    (["export", "mentions"], None),
    (["import", "nothing-here.jsonl"], None),
    (["poll", "--once"], None),
]


def test_every_database_command_on_an_unmigrated_database_names_db_upgrade(
    empty_db_url: str,
) -> None:
    env = {"DATABASE_URL": empty_db_url}
    for args, stdin in DATABASE_COMMANDS:
        proc = run_cli(*args, env=env, input=stdin)
        line = one_line_error(proc)
        assert proc.returncode == 3, (args, line)
        assert "is not migrated (revision none, head" in line, (args, line)
        assert "run `complaint-monitor db upgrade`" in line, (args, line)


def test_serve_on_an_unmigrated_database_names_db_upgrade(tmp_path: Path) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path}/never.db", **SECRET_ENV}
    proc = run_cli("serve", env=env)
    assert "is not migrated" in one_line_error(proc) and proc.returncode == 3


def test_an_older_schema_names_db_upgrade(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        migrate.upgrade(engine, "0030")
    finally:
        engine.dispose()
    env = {"DATABASE_URL": empty_db_url}
    line = one_line_error(run_cli("staff", "list", env=env))
    assert f"older schema (revision 0030, head {migrate.head_revision()})" in line
    assert "db upgrade" in line
    assert run_cli("db", "upgrade", env=env).returncode == 0
    assert run_cli("staff", "list", env=env).returncode == 0


def test_a_schema_from_a_newer_release_is_refused_even_by_db_upgrade(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        migrate.upgrade(engine)
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9000'"))
    finally:
        engine.dispose()
    env = {"DATABASE_URL": empty_db_url}
    for args in (["staff", "list"], ["db", "upgrade"]):
        proc = run_cli(*args, env=env)
        line = one_line_error(proc)
        assert "revision 9000" in line and "made by a newer complaint-monitor" in line, line
        assert proc.returncode == 3


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://x", "'mysql' databases are not supported"),
        ("garbage", "not a database URL"),
        ("postgresql+psycopg2://cm:hunter2@db/desk", "driver 'psycopg2' is not supported"),
    ],
)
def test_an_unusable_database_url_is_one_line(url: str, says: str) -> None:
    proc = run_cli("db", "upgrade", env={"DATABASE_URL": url})
    line = one_line_error(proc)
    assert proc.returncode == 2
    assert line.startswith("complaint-monitor: config error: DATABASE_URL: "), line
    assert says in line and "sqlite:///PATH or postgresql+psycopg://" in line
    assert "hunter2" not in line


def test_an_unusable_url_in_the_file_names_database_url(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("database:\n  url: mysql://x\n")
    line = one_line_error(run_cli("--config", str(cfg), "staff", "list"))
    assert f"{cfg}: database.url: mysql://x: 'mysql' databases are not supported" in line


def test_db_upgrade_needs_no_mailbox_secret(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"database:\n  url: sqlite:///{tmp_path}/a.db\n"
        "sources:\n  email:\n    enabled: true\n    host: h\n"
        "    password_env: CM_TEST_UNSET_IMAP_PASSWORD\n"
    )
    upgraded = run_cli("--config", str(cfg), "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert run_cli("--config", str(cfg), "staff", "list").returncode == 0
    polled = run_cli("--config", str(cfg), "poll", "--once")  # the poller does need it
    assert "CM_TEST_UNSET_IMAP_PASSWORD" in one_line_error(polled)


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port on 127.0.0.1 that another process is already listening on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def test_serve_on_a_busy_port_names_the_port_option(tmp_path: Path, busy_port: int) -> None:
    db = f"sqlite:///{tmp_path}/serve.db"
    assert run_cli("db", "upgrade", env={"DATABASE_URL": db}).returncode == 0
    proc = run_cli("serve", "--port", str(busy_port), env={"DATABASE_URL": db, **SECRET_ENV})
    line = one_line_error(proc)
    assert proc.returncode == 3
    assert f"port {busy_port} on 127.0.0.1 is in use: pass --port N (or set server.port)" in line


def test_demo_on_a_busy_port_names_the_port_option(tmp_path: Path, busy_port: int) -> None:
    proc = run_cli("demo", "--port", str(busy_port), "--db", str(tmp_path / "d.db"))
    line = one_line_error(proc)
    assert proc.returncode == 3
    assert f"port {busy_port} on 127.0.0.1 is in use: pass --port N (make demo PORT=N)" in line
    assert not (tmp_path / "d.db").exists()  # stopped before it made anything


def test_an_address_that_is_not_local_is_one_line(tmp_path: Path) -> None:
    proc = run_cli("demo", "--host", "192.0.2.1", "--port", "0", "--db", str(tmp_path / "d.db"))
    line = one_line_error(proc)
    assert "cannot listen on 192.0.2.1 port 0" in line and proc.returncode == 3


def test_the_port_listens_before_the_url_is_printed() -> None:
    """The demo prints its URL before uvicorn starts; a client that connects at once
    (a script reading the URL, CI's wheel smoke test) must wait, not be refused."""
    from monitor.runtime import _bind

    sock = _bind("127.0.0.1", 0, hint="")
    try:
        client = socket.create_connection(sock.getsockname(), timeout=2)
        client.close()
    finally:
        sock.close()
