"""Console paths answer failures with HTML pages in the console's layout; API paths keep
JSON. Also the favicon."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from tests.fixtures.web import login

pytestmark = pytest.mark.db


@pytest.mark.parametrize("path", ["/nope", "/cases/abc/nothing", "/admin/nowhere"])
def test_unknown_console_urls_get_an_html_404_page(app_client: Any, path: str) -> None:
    page = app_client.get(path, headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert 'href="/static/console.css"' in page.text
    assert page.text.count("There is no such page.") == 1  # the heading, not said twice


def test_a_console_url_with_a_bad_parameter_gets_an_html_422(app_client: Any, web_app: Any) -> None:
    web_app.add_staff("ana")
    login(app_client, "ana")
    page = app_client.get("/cases/abc")
    assert page.status_code == 422
    assert page.headers["content-type"].startswith("text/html")
    assert "case_id" in page.text and 'href="/static/console.css"' in page.text


def test_api_paths_keep_json_errors(app_client: Any) -> None:
    missing = app_client.get("/api/v1/nothing-here", headers={"Accept": "text/html"})
    assert missing.status_code == 404 and missing.json() == {"detail": "Not Found"}
    bad = app_client.get("/api/v1/queue", params={"limit": "x"})
    assert bad.status_code in (401, 422)  # auth is checked after validation either way: JSON
    assert bad.headers["content-type"] == "application/json"


def test_an_unexpected_error_is_an_html_500_on_console_paths_and_json_on_the_api(
    web_app: Any,
) -> None:
    boom = APIRouter()

    @boom.get("/boom")
    @boom.get("/api/v1/boom")
    def explode() -> None:
        raise RuntimeError("kaboom")

    web_app.app.include_router(boom)
    with TestClient(web_app.app, raise_server_exceptions=False) as client:
        page = client.get("/boom")
        assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
        assert "Something went wrong" in page.text and "kaboom" not in page.text
        assert page.headers["cache-control"] == "no-store"
        assert "content-security-policy" in page.headers
        api = client.get("/api/v1/boom")
        assert api.status_code == 500 and api.json()["detail"].startswith("internal error")


def test_the_favicon_is_served_and_linked(app_client: Any) -> None:
    icon = app_client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.content[:4] == b"\x00\x00\x01\x00"
    assert icon.headers["content-type"] == "image/vnd.microsoft.icon"
    assert '<link rel="icon" href="/favicon.ico"' in app_client.get("/login").text
