"""The application factory. No module-level app: each call builds a fresh one."""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import Protocol

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from starlette.middleware.sessions import SessionMiddleware

from monitor.config import LoadedConfig
from monitor.db import make_sessionmaker
from monitor.incidents.queries import ReferenceCache
from monitor.resources import data_dir
from monitor.staff.sign_in_limits import SignInLimits
from monitor.storage.secret_box import SecretBox
from monitor.web import auth, docs, errors, filters, openapi, ops
from monitor.web.api import cases as api
from monitor.web.api import causes as causes_api
from monitor.web.api import compensation as compensation_api
from monitor.web.api import incidents as incidents_api
from monitor.web.api import promises as promises_api
from monitor.web.api import reports as reports_api
from monitor.web.api.customers import router as customers_api
from monitor.web.api.replies import install as install_replies
from monitor.web.api.search import router as search_api
from monitor.web.api.staff import router as staff_api
from monitor.web.bodies import RejectLoneSurrogates
from monitor.web.console import (
    assign_forms,
    bulk_forms,
    cause_forms,
    promise_forms,
    queue_page,
    survey_pages,
)
from monitor.web.console import connections as console_connections
from monitor.web.console import incidents as console_incidents
from monitor.web.console import pages as console
from monitor.web.console import reports as console_reports
from monitor.web.console.admin import router as console_admin
from monitor.web.console.customers import router as console_customers
from monitor.web.console.desk import router as console_desk
from monitor.web.console.live_notices import router as console_live_notices
from monitor.web.console.search import router as console_search
from monitor.web.console.settings import router as console_settings
from monitor.web.console.texts import router as console_texts
from monitor.web.metrics import Metrics
from monitor.web.ops import RequestTimer
from monitor.web.security import OpsGate, SecurityHeaders
from monitor.web.sse import Broadcaster

log = logging.getLogger(__name__)
FAVICON_TYPE = "image/vnd.microsoft.icon"


def favicon() -> FileResponse:
    return FileResponse(data_dir("static") / "favicon.ico", media_type=FAVICON_TYPE)


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
    metrics: Metrics | None = None,
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

    app = FastAPI(
        title="complaint-monitor",
        version="0.1.0",
        description="Service-recovery desk: queue, cases, replies, promises.",
        lifespan=_lifespan(live, background),
        docs_url=None,  # served by monitor.web.docs, without a CDN
        redoc_url=None,
    )
    app.state.config = loaded
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.clock = clock
    app.state.secret_box = SecretBox(secret)  # webhook signing secrets, sealed at rest
    app.state.link_secret = secret  # signs survey links (monitor.reports.surveys)
    app.state.broadcaster = live
    app.state.metrics = metrics or Metrics()  # its own registry, never the global one
    app.state.sign_in_limits = SignInLimits()
    app.state.incident_refs = ReferenceCache()  # monitor.incidents.queries
    templates = Jinja2Templates(directory=str(data_dir("templates")))
    filters.install(templates.env)
    app.state.templates = templates
    _install_middleware(app, loaded, secret)
    errors.install(app)
    openapi.install(app)  # the document lists every answer the app can give
    app.mount("/static", StaticFiles(directory=str(data_dir("static"))), name="static")
    docs.install(app)
    app.add_api_route("/favicon.ico", favicon, methods=["GET"], include_in_schema=False)
    _include_routers(app, loaded)
    return app


def _lifespan(
    live: Broadcaster, background: BackgroundService | None
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Start the live-update broadcaster and the scheduler with the app; stop them after."""

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

    return lifespan


def _install_middleware(app: FastAPI, loaded: LoadedConfig, secret: str) -> None:
    """Sessions, OPTIONS, lone-surrogate rejection, security headers, the ops gate, timing."""
    server = loaded.settings.server
    app.add_middleware(
        SessionMiddleware,
        secret_key=secret,
        session_cookie=auth.SESSION_COOKIE,
        max_age=server.session_max_hours * 3600,
        same_site="lax",
        https_only=server.secure_cookies,
    )
    app.add_middleware(openapi.Options, routes=lambda: app.router.routes)
    app.add_middleware(RejectLoneSurrogates)  # 422, inside the security headers
    app.add_middleware(SecurityHeaders)
    ops_settings = server.ops
    app.add_middleware(
        OpsGate, networks=ops_settings.allow_networks, token=loaded.secret(ops_settings.token_env)
    )
    app.add_middleware(RequestTimer, metrics=app.state.metrics)


def _include_routers(app: FastAPI, loaded: LoadedConfig) -> None:
    """Every router: operations, the REST API, then the console pages."""
    app.include_router(ops.router)
    app.include_router(api.router)
    app.include_router(causes_api.router)
    app.include_router(reports_api.router)
    install_replies(app, loaded)
    app.include_router(promises_api.router)
    app.include_router(compensation_api.router)
    app.include_router(incidents_api.router)
    app.include_router(staff_api)
    app.include_router(console.router)
    app.include_router(queue_page.router)
    app.include_router(bulk_forms.router)
    app.include_router(promise_forms.router)
    app.include_router(cause_forms.router)
    app.include_router(assign_forms.router)
    app.include_router(console_incidents.router)
    app.include_router(console_reports.router)
    app.include_router(survey_pages.router)
    app.include_router(console_connections.router)
    app.include_router(console_texts)
    app.include_router(console_settings)
    app.include_router(console_live_notices)
    app.include_router(search_api)
    app.include_router(console_search)
    app.include_router(console_desk)
    app.include_router(console_admin)
    app.include_router(console_customers)
    app.include_router(customers_api)
