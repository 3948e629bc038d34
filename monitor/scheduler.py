"""APScheduler wiring only: each job owns its session and one failure never stops the rest.

Jobs are plain callables ``job(now)`` built elsewhere (``runtime``); here they
get an interval trigger with ``max_instances=1, coalesce=True`` so a slow run is never
overlapped or replayed in a burst. Cross-process exclusivity is the job's own business
(leases), because several `serve` processes may share one PostgreSQL.

Each job is named by its id, and APScheduler's "Running job" / "executed successfully"
lines for routine runs are logged at DEBUG (a job's own failure is still an ERROR).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from apscheduler.schedulers.background import BackgroundScheduler

from monitor.db import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobSpec:
    id: str
    seconds: float
    run: Callable[[datetime], object]


# Told after every run: (job id, seconds it took, whether it ended without raising).
RunObserver = Callable[[str, float, bool], None]


def _guarded(spec: JobSpec, observe: RunObserver | None = None) -> Callable[[], None]:
    def run() -> None:
        started, ok = time.perf_counter(), False
        try:
            spec.run(utcnow())
            ok = True
        except Exception:  # one failing job must not take the scheduler down
            log.exception("scheduled job %s failed", spec.id)
        finally:
            if observe is not None:
                observe(spec.id, time.perf_counter() - started, ok)

    return run


_ROUTINE = ("Running job ", "executed successfully")
EXECUTOR_LOGGER = "apscheduler.executors.default"


class RoutineRunsAtDebug(logging.Filter):
    """Turns APScheduler's per-run INFO lines into DEBUG lines (dropped unless enabled)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or not any(p in str(record.msg) for p in _ROUTINE):
            return True
        if not logging.getLogger(record.name).isEnabledFor(logging.DEBUG):
            return False
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


def _quiet_routine_runs() -> None:
    executor_log = logging.getLogger(EXECUTOR_LOGGER)
    if not any(isinstance(f, RoutineRunsAtDebug) for f in executor_log.filters):
        executor_log.addFilter(RoutineRunsAtDebug())


class Scheduler:
    """Starts and stops a background APScheduler running the given jobs."""

    def __init__(self, jobs: list[JobSpec], *, observe: RunObserver | None = None) -> None:
        self._jobs = jobs
        self._observe = observe  # e.g. the /metrics job and poll duration histograms
        self._scheduler: BackgroundScheduler | None = None

    @property
    def job_ids(self) -> list[str]:
        return [j.id for j in self._jobs]

    def start(self) -> None:
        _quiet_routine_runs()
        scheduler = BackgroundScheduler(timezone="UTC")
        for spec in self._jobs:
            scheduler.add_job(
                _guarded(spec, self._observe),
                "interval",
                seconds=spec.seconds,
                id=spec.id,
                name=spec.id,
                max_instances=1,
                coalesce=True,
                next_run_time=utcnow(),
                misfire_grace_time=max(1, int(spec.seconds)),
            )
        scheduler.start()
        self._scheduler = scheduler

    def shutdown(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None


class Service(Protocol):
    def start(self) -> None: ...
    def shutdown(self) -> None: ...


class Services:
    """Several background services started in order and shut down in reverse."""

    def __init__(self, *services: Service) -> None:
        self._services = services

    def start(self) -> None:
        for service in self._services:
            service.start()

    def shutdown(self) -> None:
        for service in reversed(self._services):
            service.shutdown()
