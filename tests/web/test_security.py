"""Headers over HTTP: no-store on answers with customer data, HSTS over https (after the
trusted-proxy handling serve uses)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from tests.fixtures.web import login

pytestmark = pytest.mark.db


def test_pages_and_api_answers_are_not_stored(app_client: Any, web_app: Any) -> None:
    web_app.add_staff("ana")
    token = web_app.add_token(["queue:read"], staff="ana")
    login(app_client, "ana")
    for path in ("/", "/login"):
        assert app_client.get(path).headers["cache-control"] == "no-store"
    api = app_client.get("/api/v1/queue", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200 and api.headers["cache-control"] == "no-store"
    assert "no-store" not in app_client.get("/static/console.css").headers.get("cache-control", "")
    assert "strict-transport-security" not in api.headers  # plain http


def test_hsts_over_https_only(web_app: Any) -> None:
    with TestClient(web_app.app, base_url="https://desk.example") as client:
        answer = client.get("/login")
        assert answer.headers["strict-transport-security"].startswith("max-age=31536000")


def test_hsts_believes_x_forwarded_proto_only_from_a_trusted_proxy(web_app: Any) -> None:
    behind = ProxyHeadersMiddleware(web_app.app, trusted_hosts=["10.0.0.5"])
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"}
    with TestClient(behind, client=("10.0.0.5", 443)) as proxy:
        assert "strict-transport-security" in proxy.get("/login", headers=forwarded).headers
    with TestClient(behind, client=("198.51.100.9", 443)) as stranger:
        assert "strict-transport-security" not in stranger.get("/login", headers=forwarded).headers
