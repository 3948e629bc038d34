"""The API docs render in real headless Chromium with every off-host request refused.

A desk must work on an offline or firewalled host: ``/docs`` (Swagger UI) and
``/redoc`` load nothing but this origin, and their pages' CSP holds (no violations).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.fixtures.web import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.db]


def offline_page(new_context: Callable[[], Any], live: LiveServer) -> tuple[Any, list[str]]:
    """A page whose requests to anywhere but the live server are aborted and recorded."""
    here = urlsplit(live.url).netloc
    problems: list[str] = []
    ctx = new_context()

    def route(r: Any) -> None:
        if urlsplit(r.request.url).netloc == here or r.request.url.startswith(("data:", "blob:")):
            r.continue_()
        else:
            problems.append(f"off-host request: {r.request.url}")
            r.abort()

    ctx.route("**/*", route)
    page = ctx.new_page()
    page.on(
        "console",
        lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    return page, problems


def test_swagger_ui_renders_offline(
    live_server: LiveServer, new_context: Callable[[], Any]
) -> None:
    page, problems = offline_page(new_context, live_server)
    page.goto(live_server.url + "/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=15000)
    assert "complaint-monitor" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector(".opblock-summary-path[data-path='/healthz']", timeout=15000)
    assert page.locator(".opblock").count() > 10  # the API's operations are listed
    assert problems == []


def test_redoc_renders_offline(live_server: LiveServer, new_context: Callable[[], Any]) -> None:
    page, problems = offline_page(new_context, live_server)
    page.goto(live_server.url + "/redoc")
    page.wait_for_selector("h1:has-text('complaint-monitor')", timeout=15000)
    page.wait_for_selector("text=/healthz", timeout=15000)
    # ReDoc's "API docs by Redocly" footer links its logo from their CDN: the page's CSP
    # refuses it before any request is made, which is exactly the offline behaviour.
    logo = "https://cdn.redoc.ly/redoc/logo-mini.svg"
    assert [p for p in problems if logo not in p or "Content Security Policy" not in p] == []
