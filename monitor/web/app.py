"""The application factory. No module-level app: each call builds a fresh one."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Protocol

from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import Engine, func, select

from monitor.config import LoadedConfig
from monitor.db import DatabaseUnavailable, check_connection, make_sessionmaker
from monitor.models import Case, CaseStatus, Mention, SourceCursor
from monitor.web.deps import DbSession


class BackgroundService(Protocol):
    def start(self) -> None: ...
    def shutdown(self) -> None: ...


def create_app(
    loaded: LoadedConfig,
    engine: Engine,
    *,
    background: BackgroundService | None = None,
    clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    """Build the console + REST API app around an engine.

    ``background`` (the scheduler) is started and stopped with the app's lifespan, so
    `serve` runs everything in one process while tests can leave it out.
    """

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if background is not None:
            background.start()
        try:
            yield
        finally:
            if background is not None:
                background.shutdown()

    app = FastAPI(
        title="complaint-monitor",
        version="0.1.0",
        description="Service-recovery desk: queue, cases, replies, promises.",
        lifespan=lifespan,
    )
    app.state.config = loaded
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.clock = clock

    @app.get("/healthz", tags=["ops"])
    def healthz() -> JSONResponse:
        """Liveness and readiness: the database answers, and the sources' last state."""
        try:
            check_connection(engine)
        except DatabaseUnavailable as exc:
            return JSONResponse({"status": "error", "database": str(exc)}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

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
        return "\n".join(lines) + "\n"

    return app
