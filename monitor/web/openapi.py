"""The OpenAPI document says what the app does, and OPTIONS answers what a path allows.

FastAPI documents only the answers a route declares. Every operation here can also
answer, whatever its route says:

- 422 in two shapes: FastAPI's validation errors (``detail`` an array) and the domain's
  refusals (``detail`` a string, maybe with more fields);
- 400 when it takes a body that cannot be read at all (not UTF-8, say);
- 404 when it has path parameters (no such record, or an id no column can hold);
- 503 with ``Retry-After`` when the database is unavailable;
- 404 on the operators' endpoints for clients the ops gate turns away.

:func:`document` adds those to the generated document (built once per app, on first
use); :class:`Options` answers ``OPTIONS`` on any known path with 204 and the methods
it allows (Starlette's router answered 405 with another route's ``Allow``).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.routing import Match, Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from monitor.web.security import headers_for, is_ops_path

ERROR_SCHEMA = {
    "title": "ErrorOut",
    "type": "object",
    "properties": {"detail": {"type": "string", "title": "Detail"}},
    "required": ["detail"],
}
JSON = "application/json"
PROBED = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema or _ref("ErrorOut")}}}


def _fill(path: str, method: str, op: dict[str, Any]) -> None:
    responses: dict[str, Any] = op.setdefault("responses", {})
    params = op.get("parameters", [])
    has_input = bool(params) or "requestBody" in op
    if has_input:
        refusal = responses.get("422", {}).get("content", {}).get(JSON, {}).get("schema")
        shapes = [_ref("HTTPValidationError"), _ref("ErrorOut")]
        if refusal and refusal not in shapes:
            shapes.append(refusal)
        responses["422"] = {
            "description": responses.get("422", {}).get("description")
            or "invalid input: FastAPI's list of errors, or the domain's refusal",
            "content": {JSON: {"schema": {"anyOf": shapes}}},
        }
    if "requestBody" in op:
        responses.setdefault("400", _error("the body could not be read (not UTF-8 JSON)"))
    if any(p.get("in") == "path" for p in params):
        responses.setdefault("404", _error("no such record"))
    if is_ops_path(path):
        responses.setdefault("404", _error("not served to this client (server.ops)"))
    if path != "/healthz":
        responses.setdefault(
            "503",
            _error("the database is unavailable; try again after Retry-After seconds")
            | {"headers": {"Retry-After": {"schema": {"type": "integer"}}}},
        )


def document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document with every answer it can give (cached on the app)."""
    if app.openapi_schema:
        return app.openapi_schema
    spec = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("ErrorOut", ERROR_SCHEMA)
    if "HTTPValidationError" not in schemas:  # pragma: no cover - every app has bodies
        schemas["HTTPValidationError"] = {"type": "object"}
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            _fill(path, method, op)
    app.openapi_schema = spec
    return spec


def install(app: FastAPI) -> None:
    app.openapi = lambda: document(app)  # type: ignore[method-assign]


class Options:
    """Pure ASGI middleware: ``OPTIONS`` on a path some route serves is 204 with
    ``Allow`` listing that path's methods; elsewhere it falls through (404)."""

    def __init__(self, app: ASGIApp, *, routes: Any) -> None:
        self.app = app
        self.routes = routes

    def allowed(self, scope: Scope) -> set[str]:
        """The methods some route answers on this path (probed: routers nest routes)."""
        methods: set[str] = set()
        for route in self.routes():
            probe = ("GET",) if isinstance(route, Mount) else PROBED  # static files: GET
            for method in probe:
                if route.matches({**scope, "method": method})[0] == Match.FULL:
                    methods.add(method)
        if "GET" in methods:
            methods.add("HEAD")
        return methods

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "OPTIONS":
            await self.app(scope, receive, send)
            return
        methods = self.allowed(scope)
        if not methods:
            await self.app(scope, receive, send)
            return
        allow = ", ".join(sorted(methods | {"OPTIONS"}))
        headers = [(b"allow", allow.encode()), (b"content-length", b"0")]
        for name, value in headers_for(scope.get("path", ""), scope.get("scheme", "http")).items():
            headers.append((name.lower().encode(), value.encode()))
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
