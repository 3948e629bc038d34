"""The command-line contract, through the real command."""

from __future__ import annotations

import hashlib
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import inspect, select, text

from monitor.db import make_engine, make_sessionmaker
from monitor.models import ApiToken, Staff
from monitor.storage import migrate
from tests.cli_helpers import REPO, one_line_error, run_cli

COMMANDS = [
    "serve",
    "demo",
    "poll",
    "score",
    "train-scorer",
    "export",
    "import",
    "db",
    "staff",
    "token",
]


def test_help_lists_every_command() -> None:
    proc = run_cli("--help")
    assert proc.returncode == 0
    for name in COMMANDS:
        assert f"    {name}" in proc.stdout, name


def test_typo_in_config_key_is_one_clear_line(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("database:\n  ulr: sqlite:///x.db\n")
    line = one_line_error(run_cli("--config", str(cfg), "db", "upgrade"))
    assert "unknown key 'database.ulr'" in line


def test_missing_secret_is_one_clear_line(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        f"database:\n  url: sqlite:///{tmp_path}/a.db\n"
        "sources:\n  email:\n    enabled: true\n    host: h\n"
        "    password_env: CM_TEST_IMAP_PASSWORD\n"
    )
    proc = run_cli("--config", str(cfg), "poll", "--once")
    line = one_line_error(proc)
    assert proc.returncode == 2
    assert "sources.email.password_env" in line and "CM_TEST_IMAP_PASSWORD" in line


def test_serve_requires_session_secret(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"database:\n  url: sqlite:///{tmp_path}/a.db\n")
    line = one_line_error(run_cli("--config", str(cfg), "serve"))
    assert "COMPLAINT_MONITOR_SECRET" in line


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://postgres@127.0.0.1:1/nowhere",
        "sqlite:////nonexistent-dir/for/sure/x.db",
    ],
)
def test_unreachable_database_is_one_clear_line(tmp_path: Path, url: str) -> None:
    proc = run_cli("db", "upgrade", env={"DATABASE_URL": url})
    line = one_line_error(proc)
    assert proc.returncode == 3
    assert "unreachable" in line


def test_db_upgrade_brings_an_empty_database_to_head(empty_db_url: str) -> None:
    proc = run_cli("db", "upgrade", env={"DATABASE_URL": empty_db_url})
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""  # no library warnings for a support team to puzzle over
    eng = make_engine(empty_db_url)
    try:
        assert migrate.current_revision(eng) == migrate.head_revision()
        assert "mentions" in inspect(eng).get_table_names()
        # the search indexes on expressions, which SQLite's reflection cannot see
        with eng.connect() as conn:
            names = conn.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'index'")
                if eng.dialect.name == "sqlite"
                else text("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")
            ).scalars()
            assert {
                "ix_search_customers_name",
                "ix_search_identities_username",
                "ix_search_identities_handle",
            } <= set(names)
        again = run_cli("db", "upgrade", env={"DATABASE_URL": empty_db_url})
        assert again.returncode == 0, again.stderr
        assert run_cli("db", "current", env={"DATABASE_URL": empty_db_url}).returncode == 0
    finally:
        eng.dispose()


def test_staff_and_tokens_are_stored_hashed(empty_db_url: str) -> None:
    env = {"DATABASE_URL": empty_db_url}
    assert run_cli("db", "upgrade", env=env).returncode == 0
    added = run_cli(
        "staff", "add", "maria", "--role", "lead", input="correct horse battery\n", env=env
    )
    assert added.returncode == 0, added.stderr
    dup = run_cli("staff", "add", "maria", input="correct horse battery\n", env=env)
    assert "already exists" in one_line_error(dup)
    short = run_cli("staff", "add", "bob", input="short\n", env=env)
    assert "at least" in one_line_error(short)
    created = run_cli(
        "token", "create", "--scopes", "queue:read,cases:write", "--staff", "maria", env=env
    )
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert secret.startswith("cm_") and len(secret) > 40
    bad_scope = run_cli("token", "create", "--scopes", "everything", env=env)
    assert "unknown scope" in one_line_error(bad_scope)

    eng = make_engine(empty_db_url)
    try:
        with make_sessionmaker(eng)() as s:
            staff = s.scalars(select(Staff)).one()
            assert staff.role == "lead"
            assert staff.password_hash.startswith("$argon2id$")
            assert "correct horse" not in staff.password_hash
            token = s.scalars(select(ApiToken)).one()
            assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
            assert token.scopes == ["cases:write", "queue:read"]
            assert secret not in repr(token.__dict__)
    finally:
        eng.dispose()
    listed = run_cli("token", "list", env=env)
    assert secret not in listed.stdout and "queue:read" in listed.stdout
    assert run_cli("token", "revoke", "1", env=env).returncode == 0
    assert "revoked" in run_cli("token", "list", env=env).stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_serve_answers_healthz_and_openapi(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/serve.db"
    assert run_cli("db", "upgrade", env={"DATABASE_URL": db}).returncode == 0
    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"database:\n  url: {db}\n")
    port = _free_port()
    env = {"COMPLAINT_MONITOR_SECRET": "x" * 40}
    import os

    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(cfg), "serve", "--port", str(port)],
        cwd=REPO,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        # on a loaded 2-core machine the imports alone can take 10 s or more
        deadline = time.monotonic() + 90
        while True:  # wait for the server to come up (a condition, not a deadline under test)
            try:
                r = httpx.get(f"{base}/healthz", timeout=2)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()  # then its output can be read to the end
                    out = proc.communicate(timeout=20)[0].decode()
                    pytest.fail(f"serve did not start: {out}")
                time.sleep(0.1)
        assert r.status_code == 200 and r.json()["database"] == "ok"
        spec = httpx.get(f"{base}/openapi.json", timeout=5).json()
        assert "/healthz" in spec["paths"]
        metrics = httpx.get(f"{base}/metrics", timeout=5).text
        assert "complaint_monitor_mentions_total 0" in metrics
    finally:
        proc.terminate()
        proc.wait(timeout=20)
