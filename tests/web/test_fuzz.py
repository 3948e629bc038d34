"""Schema-driven fuzzing (schemathesis) of every operation in /openapi.json, in-process,
bounded (6 positive and 6 negative examples per operation, a 60 s budget), on both
databases: any 5xx, undocumented status, content type, header or body fails the test.
bench/fuzz.py runs a larger campaign and prints its figures."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from monitor.config import LoadedConfig
from tests.web.fuzz_support import fuzz

pytestmark = [pytest.mark.db, pytest.mark.timeout(240)]


def test_the_api_answers_generated_requests_as_its_document_says(
    committed_engine: Engine, web_config: LoadedConfig
) -> None:
    report = fuzz(web_config, committed_engine, examples=6, budget_seconds=60)
    print(report.line(committed_engine.dialect.name))
    assert report.operations >= 40 and report.requests >= 300
    assert report.server_errors == 0, report.samples
    assert report.violations == 0, report.samples
