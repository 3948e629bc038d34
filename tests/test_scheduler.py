"""The scheduler: jobs run under their own names, routine runs log at DEBUG only."""

from __future__ import annotations

import logging
import threading
from datetime import datetime

import pytest

from monitor.scheduler import JobSpec, Scheduler


def run_once(job_id: str) -> None:
    ran = threading.Event()

    def job(_now: datetime) -> None:
        ran.set()

    scheduler = Scheduler([JobSpec(job_id, 3600, job)])
    scheduler.start()
    try:
        assert ran.wait(10), "the job did not run"
    finally:
        scheduler.shutdown()


def test_routine_runs_are_not_info_lines(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    run_once("promise-clock")
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("apscheduler")]
    assert not [m for m in lines if "Running job" in m or "executed successfully" in m]
    assert not [m for m in lines if "_guarded" in m]


def test_at_debug_the_runs_are_logged_under_the_jobs_name(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    run_once("promise-clock")
    runs = [
        r
        for r in caplog.records
        if r.name == "apscheduler.executors.default" and "Running job" in r.getMessage()
    ]
    assert runs and all(r.levelno == logging.DEBUG for r in runs)
    assert '"promise-clock (trigger' in runs[0].getMessage()
    assert "_guarded" not in runs[0].getMessage()
