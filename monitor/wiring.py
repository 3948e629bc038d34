"""The only place that builds concrete sources and responders from the configuration."""

from __future__ import annotations

from sqlalchemy import Engine

from monitor.config import LoadedConfig
from monitor.scheduler import JobSpec


def scheduled_jobs(loaded: LoadedConfig, engine: Engine) -> list[JobSpec]:
    return []


def poll_all(loaded: LoadedConfig, engine: Engine) -> list:  # type: ignore[type-arg]
    return []
