"""Helpers shared by tests: skipping that CI turns into failure."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest
from sqlalchemy import Engine

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
