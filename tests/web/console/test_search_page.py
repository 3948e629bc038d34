"""The search box on every page and the results page, over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.db import make_sessionmaker
from monitor.priority.service import Scorer
from tests.fixtures.web import WebApp, login
from tests.search.test_queries import ingest

pytestmark = pytest.mark.db


def test_box_on_every_page_and_results_linking_to_cases(
    web_app: WebApp, app_client: Any, scorer: Scorer
) -> None:
    with make_sessionmaker(web_app.engine).begin() as s:
        ingest(s, scorer)
    web_app.add_staff("alice")
    login(app_client, "alice")
    queue = app_client.get("/")
    assert 'role="search"' in queue.text and 'name="q"' in queue.text
    page = app_client.get("/search", params={"q": "refund"})
    assert page.status_code == 200
    assert "2 found" in page.text or "3 found" in page.text
    assert 'href="/cases/' in page.text and "#mention-" in page.text
    empty = app_client.get("/search", params={"q": "<script>nothing</script>"})
    assert "Nothing found" in empty.text and "<script>nothing" not in empty.text
    assert app_client.get("/search").status_code == 200
