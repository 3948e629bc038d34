"""The API docs pages are served from this origin only (no CDN), under a strict CSP."""

from __future__ import annotations

import re
from typing import Any

import pytest

from monitor.web.docs import page_csp

pytestmark = pytest.mark.db

REFERENCE = re.compile(r'(?:src|href)="([^"]+)"')


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_page_loads_only_local_assets(app_client: Any, path: str) -> None:
    page = app_client.get(path)
    assert page.status_code == 200
    refs = REFERENCE.findall(page.text)
    assert refs, page.text
    for ref in refs:
        assert ref.startswith("/") and not ref.startswith("//"), ref
        asset = app_client.get(ref)
        assert asset.status_code == 200, ref
        assert len(asset.content) > 1000, ref
    assert "https://" not in page.text and "http://" not in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "http" not in csp
    script_src = csp.split("script-src", 1)[1].split(";", 1)[0]
    assert "'unsafe-inline'" not in script_src


def test_swagger_page_allows_its_inline_script_by_hash_only(app_client: Any) -> None:
    page = app_client.get("/docs")
    assert "SwaggerUIBundle(" in page.text  # FastAPI's inline initialiser is there
    assert "'sha256-" in page.headers["content-security-policy"]
    # the hash is of that exact script: a changed script would not be allowed
    assert page_csp(page.text) == page.headers["content-security-policy"]
    assert page_csp(page.text.replace("SwaggerUIBundle(", "SwaggerUIBundle (")) != page_csp(
        page.text
    )


def test_console_pages_keep_the_strict_csp(app_client: Any) -> None:
    csp = app_client.get("/login").headers["content-security-policy"]
    assert "script-src 'self';" in csp and "sha256" not in csp
