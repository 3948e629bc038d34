"""Prometheus metrics with ``prometheus-client``: one registry per app, never the global one.

:class:`Metrics` holds the histograms that are observed as things happen: request
latency (per method, route template and status), scheduled job durations (per job and
outcome) and poll durations (per source, from the ``poll:<source>`` jobs). `serve`
builds one and hands it to both the app and the scheduler. The gauges read from the
database (cases, mentions, source state, X costs) are built per scrape
(:func:`database_gauges`), in a registry of their own, so nothing is cached between
scrapes and no state is shared between apps.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.config import Settings
from monitor.models import Case, CaseStatus, Mention, SourceCursor
from monitor.usage.report import x_cost_gauges

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
JOB_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
Samples = list[tuple[dict[str, Any], float]]


class Metrics:
    """The app's own registry and the histograms observed into it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Histogram(
            "complaint_monitor_http_request_duration_seconds",
            "Time to answer an HTTP request, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
            buckets=REQUEST_BUCKETS,
        )
        self.jobs = Histogram(
            "complaint_monitor_job_duration_seconds",
            "Time a scheduled job took, by job id and outcome (ok, error).",
            ["job", "outcome"],
            registry=self.registry,
            buckets=JOB_BUCKETS,
        )
        self.polls = Histogram(
            "complaint_monitor_poll_duration_seconds",
            "Time one polling cycle of a source took (the poll:<source> jobs).",
            ["source", "outcome"],
            registry=self.registry,
            buckets=JOB_BUCKETS,
        )

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).observe(seconds)

    def observe_job(self, job_id: str, seconds: float, ok: bool) -> None:
        """The scheduler's hook: called after every run of every job."""
        outcome = "ok" if ok else "error"
        self.jobs.labels(job_id, outcome).observe(seconds)
        if job_id.startswith("poll:"):
            self.polls.labels(job_id.removeprefix("poll:"), outcome).observe(seconds)

    def exposition(self, *extra: CollectorRegistry) -> bytes:
        """The text format of this registry followed by ``extra`` ones."""
        return b"".join(generate_latest(r) for r in (self.registry, *extra))


class _Gauges(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        yield from self._families


def _gauge(name: str, help_: str, samples: Iterable[tuple[dict[str, Any], float]]) -> Metric:
    rows = list(samples)
    keys = list(rows[0][0]) if rows else []
    family = GaugeMetricFamily(name, help_, labels=keys)
    for labels, value in rows:
        family.add_metric([str(labels[k]) for k in keys], float(value))
    return family


def database_gauges(session: Session, settings: Settings, *, now: datetime) -> CollectorRegistry:
    """The gauges read from the database now, in a registry made for this scrape."""
    by_status = session.execute(select(Case.status, func.count()).group_by(Case.status)).all()
    cursors = session.scalars(select(SourceCursor)).all()
    families = [
        _gauge(
            "complaint_monitor_cases",
            "Cases by status.",
            [({"status": s}, float(n)) for s, n in by_status]
            or [({"status": CaseStatus.OPEN.value}, 0.0)],
        ),
        _gauge(
            "complaint_monitor_mentions_total",
            "Mentions stored.",
            [({}, float(session.scalar(select(func.count()).select_from(Mention)) or 0))],
        ),
        _gauge(
            "complaint_monitor_source_rate_limit_remaining",
            "x-rate-limit-remaining of the last response, per source.",
            [
                ({"source": c.source}, float(c.rate_limit_remaining))
                for c in cursors
                if c.rate_limit_remaining is not None
            ],
        ),
        _gauge(
            "complaint_monitor_source_consecutive_failures",
            "Failed polls in a row, per source.",
            [({"source": c.source}, float(c.consecutive_failures)) for c in cursors],
        ),
        _gauge(
            "complaint_monitor_source_last_success_timestamp_seconds",
            "When the source last polled without an error (Unix time), per source.",
            [
                ({"source": c.source}, c.last_success_at.timestamp())
                for c in cursors
                if c.last_success_at is not None
            ],
        ),
        _gauge(
            "complaint_monitor_source_quarantined_total",
            "Items kept aside because they could not be stored, per source.",
            [({"source": c.source}, float(c.quarantined_total or 0)) for c in cursors],
        ),
    ]
    families += [_gauge(n, h, s) for n, h, s in x_cost_gauges(session, settings, now=now)]
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Gauges(families))
    return registry
