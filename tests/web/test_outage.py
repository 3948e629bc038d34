"""A database outage answers 503 with Retry-After (not 500), and a pooled connection the
server killed is replaced before use (pool pre-ping), not a failed request."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from monitor.db import make_engine
from monitor.web.app import create_app
from tests.fixtures.web import SECRET, web_settings

pytestmark = pytest.mark.db


def _unreachable(db_url: str, tmp_path: Path) -> str:
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'no-such-dir' / 'gone.db'}"
    return "postgresql+psycopg://postgres@127.0.0.1:1/gone"  # nothing listens on port 1


def test_an_outage_is_a_503_with_retry_after(db_url: str, tmp_path: Path) -> None:
    engine = make_engine(_unreachable(db_url, tmp_path))
    app = create_app(web_settings(), engine, session_secret=SECRET)
    # no lifespan: the live-update broadcaster would need the database to start
    client = TestClient(app, client=("127.0.0.1", 1), raise_server_exceptions=False)
    api = client.get("/api/v1/queue", headers={"Authorization": "Bearer cm_whatever"})
    assert api.status_code == 503, api.text
    assert api.headers["retry-after"] == "5"
    assert "unavailable" in api.json()["detail"]
    health = client.get("/healthz")
    assert health.status_code == 503 and health.headers["retry-after"] == "5"
    auth = {"Authorization": "Bearer cm_whatever"}
    page = client.post("/api/v1/cases/1/notes", json={"text": "hi"}, headers=auth)
    assert page.status_code == 503
    engine.dispose()


def test_a_connection_the_server_killed_is_not_a_failed_request(
    committed_engine: Engine, app_client: Any, web_app: Any
) -> None:
    if committed_engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no server to drop a connection")
    token = web_app.add_token(["queue:read"])
    auth = {"Authorization": f"Bearer {token}"}
    assert app_client.get("/api/v1/queue", headers=auth).status_code == 200  # pooled now
    killer = make_engine(committed_engine.url.render_as_string(hide_password=False), pool=False)
    with killer.begin() as conn:
        killed = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar()
    killer.dispose()
    assert killed and killed >= 1
    for _ in range(3):
        assert app_client.get("/api/v1/queue", headers=auth).status_code == 200
