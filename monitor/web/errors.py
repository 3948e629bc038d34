"""How failures answer: JSON for the API, HTML pages in the console's style for people.

The error hierarchy, as the handlers see it::

    HTTPException (404 route, 401/403 auth, ...)    -> its status
    RequestValidationError                           -> 422 (FastAPI's array of errors)
    QueueError / LinkError (domain refusals)         -> 404 / 409 / 403 / 422
    OverflowError, DataError (value no column holds) -> 404 (an id) / 422 (a NUL)
    OperationalError, DatabaseUnavailable, ...       -> 503 with Retry-After
    anything else                                    -> 500

API paths (``/api/``, the ops endpoints, JSON requests, JSON endpoints of the console)
get JSON; console pages get ``error.html``. Every JSON error body is written with ASCII
escapes, so one that quotes a lone surrogate (``"\\ud800"``) still renders.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from monitor.cases import service as queue
from monitor.customers import linking
from monitor.db import DatabaseUnavailable
from monitor.web import auth
from monitor.web.api.cases import error_body, error_status
from monitor.web.security import headers_for

log = logging.getLogger(__name__)
JSON_PREFIXES = ("/api/", "/openapi.json", "/docs", "/redoc", "/healthz", "/metrics", "/static/")
JSON_CONSOLE = ("/composer/", "/notices.json")
RETRY_AFTER = "5"
TITLES = {
    400: "That request could not be read.",
    401: "Please sign in.",
    403: "You may not do that.",
    404: "There is no such page.",
    405: "That page does not take that kind of request.",
    422: "Some of what was sent is not valid.",
    500: "Something went wrong on our side. It has been logged.",
    503: "The database is not answering. Try again in a few seconds.",
}


class SafeJSONResponse(JSONResponse):
    """JSON with ASCII escapes: a lone surrogate quoted back cannot break the encoder."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def wants_json(request: Request) -> bool:
    path = request.url.path
    if path.startswith(JSON_PREFIXES) or "/composer/" in path or path.endswith(".json"):
        return True
    if "json" in request.headers.get("content-type", ""):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def html_error(
    request: Request, status: int, message: str, headers: dict[str, str] | None = None
) -> HTMLResponse:
    """``error.html`` in the console's layout (signed in or not: no staff is looked up)."""
    templates = request.app.state.templates
    csrf = auth.csrf_token(request) if "session" in request.scope else ""
    context = {"message": message, "title": TITLES.get(status, "Sorry."), "status": status}
    response: HTMLResponse = templates.TemplateResponse(
        request, "error.html", {**context, "csrf_token": csrf}, status_code=status
    )
    response.headers.update(headers or {})
    return response


def answer(
    request: Request, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response:
    if wants_json(request):
        return SafeJSONResponse(jsonable_encoder(body), status_code=status, headers=headers)
    detail = body.get("detail")
    message = detail if isinstance(detail, str) else TITLES.get(status, "Sorry.")
    return html_error(request, status, message, headers)


def _validation_message(errors: list[Any]) -> str:
    parts = []
    for err in errors[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{where}: {err.get('msg', 'invalid')}" if where else err.get("msg", ""))
    return "; ".join(parts) or TITLES[422]


def _strip_inputs(errors: list[Any]) -> list[dict[str, Any]]:
    """FastAPI's error objects, minus ``ctx`` values that are not JSON (exceptions)."""
    out = []
    for err in errors:
        item = {k: v for k, v in err.items() if k in ("type", "loc", "msg", "input")}
        if "ctx" in err:
            item["ctx"] = {k: str(v) for k, v in err["ctx"].items()}
        out.append(item)
    return out


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if wants_json(request):
        return SafeJSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=headers
        )
    message = exc.detail if exc.status_code != 404 else TITLES[404]
    return html_error(request, exc.status_code, str(message), headers)


async def validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = _strip_inputs(list(exc.errors()))
    if wants_json(request):
        return SafeJSONResponse(jsonable_encoder({"detail": errors}), status_code=422)
    return html_error(request, 422, _validation_message(errors))


async def domain_error(request: Request, exc: Exception) -> Response:
    return answer(request, error_status(exc), error_body(exc))


async def login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, auth.LoginRequired)
    return RedirectResponse("/login?" + urlencode({"next": exc.next_url}), status_code=303)


def _holds_nul(exc: Exception) -> bool:
    """A PostgreSQL refusal of U+0000 (text: "cannot contain NUL", jsonb: "\\u0000")."""
    message = str(getattr(exc, "orig", exc))
    return "NUL (0x00)" in message or "\\u0000" in message


async def out_of_range(request: Request, exc: Exception) -> Response:
    if _holds_nul(exc):  # PostgreSQL text and jsonb cannot store U+0000
        return answer(request, 422, {"detail": "text must not contain NUL characters (U+0000)"})
    # a number no column can hold (SQLite: OverflowError; PostgreSQL: DataError): an id in
    # the path or the query names no record (404); one in the body is invalid input (422)
    named = [*request.path_params.values(), *request.query_params.values()]
    if any(_beyond_64_bits(v) for v in named):
        return answer(request, 404, {"detail": "no such record (value out of range)"})
    return answer(request, 422, {"detail": "a number is out of range (64-bit integers only)"})


def _beyond_64_bits(value: object) -> bool:
    try:
        return abs(int(str(value))) >= 2**63
    except ValueError:
        return False


async def unavailable(request: Request, exc: Exception) -> Response:
    """The database is down or the connection died: 503, try again (not a 500)."""
    log.warning("database unavailable for %s %s: %s", request.method, request.url.path, exc)
    body = {"detail": "the database is unavailable; try again shortly"}
    return answer(request, 503, body, {"Retry-After": RETRY_AFTER})


async def server_error(request: Request, exc: Exception) -> Response:
    """Last resort (Starlette runs it outside the other middleware): logged, then a 500
    that carries the same security headers as every other answer."""
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    headers = headers_for(request.url.path, request.url.scheme)
    if wants_json(request):
        return SafeJSONResponse(
            {"detail": "internal error; it has been logged"}, status_code=500, headers=headers
        )
    return html_error(request, 500, TITLES[500], headers)


Handler = Callable[[Request, Exception], Awaitable[Response]]


def install(app: FastAPI) -> None:
    handlers: list[tuple[type[Exception] | int, Handler]] = [
        (StarletteHTTPException, http_error),
        (RequestValidationError, validation_error),
        (queue.QueueError, domain_error),
        (linking.LinkError, domain_error),
        (auth.LoginRequired, login_required),
        (OverflowError, out_of_range),
        (DataError, out_of_range),
        (DatabaseUnavailable, unavailable),
        (OperationalError, unavailable),
        (InterfaceError, unavailable),
        (Exception, server_error),
    ]
    for kind, handler in handlers:
        app.add_exception_handler(kind, handler)
