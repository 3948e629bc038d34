"""The application factory. No module-level app: each call builds a fresh one."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlencode

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import DataError
from starlette.middleware.sessions import SessionMiddleware

from monitor.cases import service as queue
from monitor.config import LoadedConfig
from monitor.customers import linking
from monitor.db import DatabaseUnavailable, check_connection, make_sessionmaker, utcnow
from monitor.ingest.health import source_health
from monitor.models import Case, CaseStatus, Mention, SourceCursor
from monitor.resources import data_dir
from monitor.staff.sign_in_limits import SignInLimits
from monitor.storage.secret_box import SecretBox
from monitor.usage.report import x_cost_gauges, x_costs
from monitor.web import auth, docs, filters
from monitor.web.api import cases as api
from monitor.web.api import causes as causes_api
from monitor.web.api import promises as promises_api
from monitor.web.api import reports as reports_api
from monitor.web.api.replies import install as install_replies
from monitor.web.api.staff import router as staff_api
from monitor.web.console import cause_forms, promise_forms
from monitor.web.console import connections as console_connections
from monitor.web.console import pages as console
from monitor.web.console import reports as console_reports
from monitor.web.console.texts import router as console_texts
from monitor.web.deps import DbSession
from monitor.web.sse import Broadcaster

log = logging.getLogger(__name__)
# Content from customers is only ever text in escaped HTML; on top of that, no inline
# script or style runs, and nothing loads from elsewhere. The API docs pages set their
# own (monitor.web.docs).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)


def _security_headers(app: FastAPI) -> None:
    @app.middleware("http")
    async def headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response


def _holds_nul(exc: Exception) -> bool:
    """A PostgreSQL refusal of U+0000 (text: "cannot contain NUL", jsonb: "\\u0000")."""
    message = str(getattr(exc, "orig", exc))
    return "NUL (0x00)" in message or "\\u0000" in message


def _error_handlers(app: FastAPI) -> None:
    async def domain_error(request: Request, exc: Exception) -> Response:
        return JSONResponse(api.error_body(exc), status_code=api.error_status(exc))

    async def login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, auth.LoginRequired)
        return RedirectResponse("/login?" + urlencode({"next": exc.next_url}), status_code=303)

    async def out_of_range(request: Request, exc: Exception) -> Response:
        if _holds_nul(exc):  # PostgreSQL text and jsonb cannot store U+0000
            detail = "text must not contain NUL characters (U+0000)"
            return JSONResponse({"detail": detail}, status_code=422)
        # an id no column can hold (SQLite: OverflowError; PostgreSQL: DataError)
        return JSONResponse({"detail": "no such record (value out of range)"}, status_code=404)

    app.add_exception_handler(queue.QueueError, domain_error)
    app.add_exception_handler(linking.LinkError, domain_error)
    app.add_exception_handler(auth.LoginRequired, login_required)
    app.add_exception_handler(OverflowError, out_of_range)
    app.add_exception_handler(DataError, out_of_range)


class BackgroundService(Protocol):
    def start(self) -> None: ...
    def shutdown(self) -> None: ...


def create_app(
    loaded: LoadedConfig,
    engine: Engine,
    *,
    background: BackgroundService | None = None,
    clock: Callable[[], datetime] | None = None,
    session_secret: str | None = None,
    broadcaster: Broadcaster | None = None,
) -> FastAPI:
    """Build the console + REST API app around an engine.

    ``background`` (the scheduler) is started and stopped with the app's lifespan, so
    `serve` runs everything in one process while tests can leave it out. The live-update
    broadcaster is started and stopped the same way. ``session_secret`` signs the session
    cookies (default: the variable named by ``server.session_secret_env``; without one,
    a random per-process key, so sign-ins do not survive a restart).
    """
    server = loaded.settings.server
    secret = session_secret or loaded.secret(server.session_secret_env)
    if not secret:
        log.warning("no session secret configured: using a random one for this process")
        secret = secrets.token_urlsafe(48)
    live = broadcaster or Broadcaster(engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await live.start()
        if background is not None:
            background.start()
        try:
            yield
        finally:
            if background is not None:
                background.shutdown()
            await live.stop()

    app = FastAPI(
        title="complaint-monitor",
        version="0.1.0",
        description="Service-recovery desk: queue, cases, replies, promises.",
        lifespan=lifespan,
        docs_url=None,  # served by monitor.web.docs, without a CDN
        redoc_url=None,
    )
    app.state.config = loaded
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.clock = clock
    app.state.secret_box = SecretBox(secret)  # webhook signing secrets, sealed at rest
    app.state.broadcaster = live
    app.state.sign_in_limits = SignInLimits()
    templates = Jinja2Templates(directory=str(data_dir("templates")))
    filters.install(templates.env)
    app.state.templates = templates
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie=auth.SESSION_COOKIE,
        max_age=server.session_max_hours * 3600,
        same_site="lax",
        https_only=server.secure_cookies,
    )
    _security_headers(app)
    _error_handlers(app)
    app.mount("/static", StaticFiles(directory=str(data_dir("static"))), name="static")
    docs.install(app)
    app.include_router(api.router)
    app.include_router(causes_api.router)
    app.include_router(reports_api.router)
    install_replies(app, loaded)
    app.include_router(promises_api.router)
    app.include_router(staff_api)
    app.include_router(console.router)
    app.include_router(promise_forms.router)
    app.include_router(cause_forms.router)
    app.include_router(console_reports.router)
    app.include_router(console_connections.router)
    app.include_router(console_texts)

    @app.get("/healthz", tags=["ops"])
    def healthz() -> JSONResponse:
        """Liveness and readiness: the database answers, and the sources' last state."""
        try:
            check_connection(engine)
        except DatabaseUnavailable as exc:
            return JSONResponse({"status": "error", "database": str(exc)}, status_code=503)
        with app.state.sessionmaker() as session:
            sources = source_health(session)
            costs = x_costs(session, loaded.settings, now=(clock or utcnow)())
        degraded = any(src["consecutive_failures"] for src in sources)
        return JSONResponse(
            {
                "status": "degraded" if degraded else "ok",
                "database": "ok",
                "sources": sources,
                "x_costs": costs,
            }
        )

    @app.get("/metrics", tags=["ops"], response_class=PlainTextResponse)
    def metrics(session: DbSession) -> str:
        """Prometheus text exposition of queue and source gauges."""
        lines: list[str] = []

        def gauge(name: str, help_: str, samples: list[tuple[dict[str, Any], float]]) -> None:
            lines.append(f"# HELP {name} {help_}")
            lines.append(f"# TYPE {name} gauge")
            for labels, value in samples:
                rendered = ",".join(f'{k}="{v}"' for k, v in labels.items())
                lines.append(f"{name}{{{rendered}}} {value}" if rendered else f"{name} {value}")

        by_status = session.execute(select(Case.status, func.count()).group_by(Case.status)).all()
        gauge(
            "complaint_monitor_cases",
            "Cases by status.",
            [({"status": s}, float(n)) for s, n in by_status]
            or [({"status": CaseStatus.OPEN.value}, 0.0)],
        )
        gauge(
            "complaint_monitor_mentions_total",
            "Mentions stored.",
            [({}, float(session.scalar(select(func.count()).select_from(Mention)) or 0))],
        )
        cursors = session.scalars(select(SourceCursor)).all()
        gauge(
            "complaint_monitor_source_rate_limit_remaining",
            "x-rate-limit-remaining of the last response, per source.",
            [
                ({"source": c.source}, float(c.rate_limit_remaining))
                for c in cursors
                if c.rate_limit_remaining is not None
            ],
        )
        gauge(
            "complaint_monitor_source_consecutive_failures",
            "Failed polls in a row, per source.",
            [({"source": c.source}, float(c.consecutive_failures)) for c in cursors],
        )
        gauge(
            "complaint_monitor_source_last_success_timestamp_seconds",
            "When the source last polled without an error (Unix time), per source.",
            [
                ({"source": c.source}, c.last_success_at.timestamp())
                for c in cursors
                if c.last_success_at is not None
            ],
        )
        gauge(
            "complaint_monitor_source_quarantined_total",
            "Items kept aside because they could not be stored, per source.",
            [({"source": c.source}, float(c.quarantined_total or 0)) for c in cursors],
        )
        for name, help_, samples in x_cost_gauges(
            session, loaded.settings, now=(clock or utcnow)()
        ):
            gauge(name, help_, samples)
        return "\n".join(lines) + "\n"

    return app
