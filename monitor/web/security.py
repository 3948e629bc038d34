"""Response headers and the gate in front of the operators' endpoints.

Every answer carries the console's Content-Security-Policy (the API docs pages set
their own, :mod:`monitor.web.docs`), ``nosniff``, ``same-origin`` referrers and no
framing. Answers that can hold customer data (every page and API answer: all but the
static assets) carry ``Cache-Control: no-store``, so no browser or proxy keeps a copy.
Over https (the scheme after ``server.trusted_proxies``: uvicorn believes
``X-Forwarded-Proto`` only from them) answers carry HSTS.

``/metrics``, ``/openapi.json``, ``/docs`` and ``/redoc`` answer only clients in
``server.ops.allow_networks`` (default: this host) or presenting the ops bearer token
(``server.ops.token_env``); others get 404, as if they were not served at all, and a
wrong token gets 401. ``/healthz`` stays open for load balancers.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from collections.abc import Iterable

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
HSTS = "max-age=31536000; includeSubDomains"
CACHEABLE = ("/static/", "/docs/assets/", "/favicon.ico")
OPS_PATHS = ("/metrics", "/openapi.json", "/docs", "/redoc")

BASE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def headers_for(path: str, scheme: str) -> dict[str, str]:
    """The headers an answer to ``path`` gets (where the handler did not set them)."""
    out = dict(BASE_HEADERS)
    if not path.startswith(CACHEABLE):
        out["Cache-Control"] = "no-store"
    if scheme == "https":
        out["Strict-Transport-Security"] = HSTS
    return out


class SecurityHeaders:
    """Pure ASGI middleware: adds :func:`headers_for` to every http answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = headers_for(scope.get("path", ""), scope.get("scheme", "http"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def is_ops_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in OPS_PATHS)


def address_allowed(host: str | None, networks: Iterable[str]) -> bool:
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(n, strict=False) for n in networks)


class OpsGate:
    """Pure ASGI middleware: the operators' endpoints only for allowed clients."""

    def __init__(self, app: ASGIApp, *, networks: tuple[str, ...], token: str | None) -> None:
        self.app = app
        self.networks = networks
        self.token = token or None

    def _verdict(self, scope: Scope) -> int:
        """200 (let through), 401 (wrong token) or 404 (not for this client)."""
        presented = Headers(scope=scope).get("authorization", "")
        scheme, _, value = presented.partition(" ")
        if self.token and scheme.lower() == "bearer" and value:
            return 200 if hmac.compare_digest(value.encode(), self.token.encode()) else 401
        client = scope.get("client")
        return 200 if address_allowed(client[0] if client else None, self.networks) else 404

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_ops_path(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        status = self._verdict(scope)
        if status == 200:
            await self.app(scope, receive, send)
            return
        detail = "Not Found" if status == 404 else "wrong ops token"
        body = json.dumps({"detail": detail}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        if status == 401:
            headers.append((b"www-authenticate", b"Bearer"))
        for name, value in headers_for(scope.get("path", ""), scope.get("scheme", "http")).items():
            headers.append((name.lower().encode(), value.encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
