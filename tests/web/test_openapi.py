"""The OpenAPI document matches behaviour: both 422 shapes, 400, 404, 409, 503 listed;
OPTIONS answers what a path allows; booleans in bodies are strict."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.db import make_sessionmaker
from monitor.models import Role
from tests.factories.cases import make_case

pytestmark = pytest.mark.db


def test_every_operation_documents_the_answers_it_can_give(app_client: Any) -> None:
    spec = app_client.get("/openapi.json").json()
    assert spec["components"]["schemas"]["ErrorOut"]["properties"]["detail"]["type"] == "string"
    ops = [(p, m, op) for p, item in spec["paths"].items() for m, op in item.items()]
    assert len(ops) >= 40
    for path, method, op in ops:
        codes = op["responses"]
        if "requestBody" in op:
            assert "400" in codes, (method, path)
        if op.get("parameters") or "requestBody" in op:
            shapes = codes["422"]["content"]["application/json"]["schema"]["anyOf"]
            refs = {s.get("$ref", "").rsplit("/", 1)[-1] for s in shapes}
            assert {"HTTPValidationError", "ErrorOut"} <= refs, (method, path)
        if "{" in path:
            assert "404" in codes, (method, path)
        if path != "/healthz":
            assert "Retry-After" in codes["503"]["headers"]
    claim = spec["paths"]["/api/v1/cases/{case_id}/promises"]["post"]["responses"]
    assert "409" in claim  # held by someone else, or a reused Idempotency-Key


def test_a_domain_422_matches_the_documented_union(app_client: Any, web_app: Any) -> None:
    web_app.add_staff("omar", Role.AGENT)
    token = web_app.add_token(["cases:write"], staff="omar")
    with make_sessionmaker(web_app.engine).begin() as s:
        case_id = make_case(s).id
    answer = app_client.post(
        f"/api/v1/cases/{case_id}/notes",
        json={"text": "   "},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 422 and isinstance(answer.json()["detail"], str)
    unreadable = app_client.post(
        f"/api/v1/cases/{case_id}/notes",
        content=b'{"text": "\xff\xfe"}',
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert unreadable.status_code in (400, 422)


@pytest.mark.parametrize(
    "path", ["/api/v1/cases/1/claim", "/api/v1/replies/check", "/api/v1/cases/1/promises"]
)
def test_options_lists_the_methods_of_a_post_only_path(app_client: Any, path: str) -> None:
    answer = app_client.options(path)
    assert answer.status_code == 204
    allowed = {m.strip() for m in answer.headers["allow"].split(",")}
    assert "POST" in allowed and "OPTIONS" in allowed
    if path.endswith("/claim"):
        assert allowed == {"POST", "OPTIONS"}  # it was 405 with "Allow: GET"
    assert app_client.options("/api/v1/no-such-thing").status_code == 404


def test_booleans_in_bodies_are_strict(app_client: Any, web_app: Any) -> None:
    web_app.add_staff("lee", Role.LEAD)
    token = web_app.add_token(["cases:write"], staff="lee")
    with make_sessionmaker(web_app.engine).begin() as s:
        case_id = make_case(s).id
    auth = {"Authorization": f"Bearer {token}"}
    for coerced in ("FALSE", 0, "true", 1):
        answer = app_client.post(
            f"/api/v1/cases/{case_id}/claim", json={"take_over": coerced}, headers=auth
        )
        assert answer.status_code == 422, (coerced, answer.text)
        assert answer.json()["detail"][0]["type"] == "bool_type"
    ok = app_client.post(f"/api/v1/cases/{case_id}/claim", json={"take_over": False}, headers=auth)
    assert ok.status_code == 200
