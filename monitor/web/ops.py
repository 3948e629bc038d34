"""The operators' endpoints: ``/healthz`` (open) and ``/metrics`` (behind the ops gate,
:mod:`monitor.web.security`), and the middleware that times every request."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitor.db import DatabaseUnavailable, check_connection
from monitor.ingest.health import source_health
from monitor.usage.report import x_costs
from monitor.web import metrics as prom
from monitor.web.deps import Config, DbTx, Now

router = APIRouter(tags=["ops"])


@router.get("/healthz")
def healthz(request: Request, cfg: Config, now: Now) -> JSONResponse:
    """Liveness and readiness: the database answers, and the sources' last state."""
    try:
        check_connection(request.app.state.engine)
    except DatabaseUnavailable as exc:
        return JSONResponse(
            {"status": "error", "database": str(exc)},
            status_code=503,
            headers={"Retry-After": "5"},
        )
    with request.app.state.sessionmaker() as session:
        sources = source_health(session)
        costs = x_costs(session, cfg.settings, now=now)
    degraded = any(src["consecutive_failures"] for src in sources)
    return JSONResponse(
        {
            "status": "degraded" if degraded else "ok",
            "database": "ok",
            "sources": sources,
            "x_costs": costs,
        }
    )


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {prom.CONTENT_TYPE: {"schema": {"type": "string"}}}}},
)
def metrics(request: Request, session: DbTx, cfg: Config, now: Now) -> Response:
    """Prometheus text exposition: request, job and poll histograms; queue and source gauges."""
    app_metrics: prom.Metrics = request.app.state.metrics
    gauges = prom.database_gauges(session, cfg.settings, now=now)
    return Response(app_metrics.exposition(gauges), media_type=prom.CONTENT_TYPE)


class RequestTimer:
    """Pure ASGI middleware: each request's latency into the app's histogram, labelled by
    the route template it matched (``/api/v1/cases/{case_id}``), not the raw path."""

    def __init__(self, app: ASGIApp, *, metrics: prom.Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.observe_request(
                scope.get("method", ""), template, status, time.perf_counter() - started
            )
