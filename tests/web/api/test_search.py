"""REST: GET /api/v1/search over the real indexes, with its scope."""

from __future__ import annotations

from typing import Any

from monitor.db import make_sessionmaker
from monitor.priority.service import Scorer
from tests.fixtures.web import WebApp
from tests.search.test_queries import ingest


def test_search_finds_messages_and_customers_with_console_links(
    web_app: WebApp, app_client: Any, scorer: Scorer
) -> None:
    with make_sessionmaker(web_app.engine).begin() as s:
        ingest(s, scorer)
    web_app.add_staff("omar")
    reader = {"Authorization": "Bearer " + web_app.add_token(["queue:read"], staff="omar")}
    assert app_client.get("/api/v1/search?q=refund").status_code == 401
    got = app_client.get("/api/v1/search", params={"q": "A-10023"}, headers=reader)
    assert got.status_code == 200, got.text
    body = got.json()
    [hit] = body["mentions"]
    assert body["terms"] == ["A-10023"] and "A-10023" in hit["snippet"]
    assert hit["url"] == f"/cases/{hit['case_id']}#mention-{hit['id']}"
    people = app_client.get("/api/v1/search", params={"q": "ana@"}, headers=reader).json()
    assert [c["url"] for c in people["customers"]] == [f"/customers/{people['customers'][0]['id']}"]
    assert (
        app_client.get("/api/v1/search", params={"q": "x" * 201}, headers=reader).status_code == 422
    )
    limited = app_client.get("/api/v1/search", params={"q": "acme", "limit": 1}, headers=reader)
    assert len(limited.json()["mentions"]) == 1
