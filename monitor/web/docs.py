"""The API docs pages (``/docs`` Swagger UI, ``/redoc`` ReDoc), served with no network.

FastAPI's own pages load their scripts from a CDN, so on an offline or firewalled host
``/docs`` is blank. The ``fastapi-offline`` package ships the same Swagger UI and ReDoc
bundles (kept current with their releases); they are served here from
``/docs/assets/``, and each page carries a Content-Security-Policy that allows only this
origin, plus the one inline script FastAPI's Swagger page has, by its hash.
"""

from __future__ import annotations

import base64
import hashlib
import re
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs/assets"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def assets_dir() -> Path:
    """The folder of Swagger UI and ReDoc files inside the ``fastapi-offline`` package."""
    folder = files("fastapi_offline").joinpath("static")
    if not isinstance(folder, Path) or not (folder / "swagger-ui-bundle.js").is_file():
        raise RuntimeError(f"fastapi-offline has no Swagger UI files at {folder}: reinstall it")
    return folder


def page_csp(html: str) -> str:
    """Only this origin; inline scripts only by the hash of the ones the page holds."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in _INLINE_SCRIPT.findall(html)
    )
    return (
        f"default-src 'self'; script-src 'self' {hashes}; "
        # both UIs set styles at run time (ReDoc through <style> elements)
        "style-src 'self' 'unsafe-inline'; img-src 'self' data:; worker-src 'self' blob:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    )


def _page(response: HTMLResponse) -> HTMLResponse:
    html = bytes(response.body).decode()
    return HTMLResponse(html, headers={"Content-Security-Policy": page_csp(html)})


def install(app: FastAPI) -> None:
    """Add ``/docs``, ``/redoc`` and their assets; build the app with docs_url=None."""
    openapi_url = app.openapi_url or "/openapi.json"
    app.mount(ASSETS, StaticFiles(directory=assets_dir()), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return _page(
            get_swagger_ui_html(
                openapi_url=openapi_url,
                title=f"{app.title} - API docs",
                swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
                swagger_css_url=f"{ASSETS}/swagger-ui.css",
                swagger_favicon_url=f"{ASSETS}/favicon.png",
                oauth2_redirect_url=None,
                swagger_ui_parameters=app.swagger_ui_parameters,
            )
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return _page(
            get_redoc_html(
                openapi_url=openapi_url,
                title=f"{app.title} - API reference",
                redoc_js_url=f"{ASSETS}/redoc.standalone.js",
                redoc_favicon_url=f"{ASSETS}/favicon.png",
                with_google_fonts=False,
            )
        )
