"""Schema-driven fuzzing of the REST API in-process (schemathesis over the ASGI app).

Used by tests/web/test_fuzz.py (small, in the suite) and bench/fuzz.py (larger). Every
operation of ``/openapi.json`` gets up to ``examples`` generated requests, positive
(valid by the schema) and negative (invalid on purpose), sent with a token holding
every scope of a lead, against a database seeded with a case, a promise, a reply, a
webhook and an identity so ids 1.. mostly exist. Each answer is checked for: no 5xx,
a status code the document lists, the documented content type, headers and body schema.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Engine

from monitor.config import LoadedConfig
from monitor.db import make_sessionmaker
from monitor.models import Identity, Reply, Role
from monitor.staff import accounts
from monitor.web.app import create_app
from tests.factories import T0
from tests.factories.cases import make_case
from tests.factories.staff import make_staff
from tests.fixtures.web import SECRET

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
SKIP: set[str] = set()  # paths to leave out (none)


@dataclass
class FuzzReport:
    requests: int = 0
    server_errors: int = 0
    violations: int = 0
    operations: int = 0
    seconds: float = 0.0
    samples: list[str] = field(default_factory=list)
    by_status: Counter[int] = field(default_factory=Counter)

    def line(self, backend: str) -> str:
        return (
            f"{backend}: {self.requests} requests over {self.operations} operations in "
            f"{self.seconds:.1f} s, {self.server_errors} 5xx, {self.violations} schema "
            f"violations; statuses {dict(sorted(self.by_status.items()))}"
        )


def seed(engine: Engine) -> str:
    """A lead with a token of every scope, a case with a reply and an identity."""
    with make_sessionmaker(engine).begin() as s:
        lead = make_staff(s, "fuzz-lead", role=Role.LEAD)
        case = make_case(s)
        s.add(Identity(customer_id=case.customer_id, kind="x", handle="dan", created_at=T0))
        s.add(Reply(case_id=case.id, channel="x", body="Sorry, Dan.", idempotency_key="fz-1",
                    created_at=T0))  # fmt: skip
        scopes = sorted(accounts.SCOPES)
        return accounts.create_token(s, name="fuzz", scopes=scopes, now=T0, staff=lead).secret


def _record(report: FuzzReport, case: Any, headers: dict[str, str]) -> None:
    response = case.call(headers=headers)
    report.requests += 1
    report.by_status[response.status_code] += 1
    if response.status_code >= 500:
        report.server_errors += 1
    try:
        case.validate_response(response, checks=CHECKS, headers=headers)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # a failed check (FailureGroup): count it, keep a few
        report.violations += 1
        if len(report.samples) < 8:
            label = f"{case.method} {case.formatted_path} -> {response.status_code}"
            lines = [x.strip() for x in str(exc).splitlines() if x.strip()]
            report.samples.append(f"{label}: {' | '.join(lines[1:4])[:300]}")


def fuzz(
    loaded: LoadedConfig, engine: Engine, *, examples: int, budget_seconds: float
) -> FuzzReport:
    """Run the bounded campaign; stop starting operations once the budget is spent."""
    token = seed(engine)
    app = create_app(loaded, engine, session_secret=SECRET)
    schema = schemathesis.openapi.from_dict(app.openapi())  # the ops gate keeps
    schema.app = app  # /openapi.json from the test client's address; it is the same document
    headers = {"Authorization": f"Bearer {token}"}
    report = FuzzReport()
    started = time.monotonic()
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in SKIP or time.monotonic() - started > budget_seconds:
            continue
        report.operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)

            @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                      phases=[Phase.generate], suppress_health_check=list(HealthCheck))  # fmt: skip
            @given(case=strategy)
            def run(case: Any) -> None:
                _record(report, case, headers)

            with contextlib.suppress(Unsatisfiable):  # nothing to make invalid (no inputs)
                run()
    report.seconds = time.monotonic() - started
    return report
