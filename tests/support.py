"""Helpers shared by tests: skipping that CI turns into failure, and reading rows back."""

from __future__ import annotations

import os
from typing import Any, NoReturn

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from monitor.models import Alert, Event

REQUIRE_ENV = "COMPLAINT_MONITOR_REQUIRE_SERVICES"


def services_required() -> bool:
    return os.environ.get(REQUIRE_ENV, "").strip().lower() in {"1", "true", "yes"}


def missing_service(reason: str) -> NoReturn:
    """Skip with a visible reason on a dev machine; fail when CI requires the service."""
    if services_required():
        pytest.fail(f"{reason} ({REQUIRE_ENV} is set, so this is a failure, not a skip)")
    pytest.skip(reason)


def wipe(engine: Engine) -> None:
    """Empty every table (children first), for tests that commit for real."""
    from monitor.db import Base

    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


def alert_keys(session: Session) -> list[str]:
    return list(session.scalars(select(Alert.dedupe_key).order_by(Alert.id)))


def event_kinds(session: Session, case_id: int) -> list[str]:
    rows = session.scalars(select(Event.kind).where(Event.case_id == case_id).order_by(Event.id))
    return list(rows)


def count(session: Session, model: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)
