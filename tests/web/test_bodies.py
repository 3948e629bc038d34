"""A lone surrogate in any JSON body is a 422 that renders (it was a 500 everywhere)."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.db import make_sessionmaker
from monitor.models import Role
from tests.factories.cases import make_case

pytestmark = pytest.mark.db
SURROGATE_BODY = b'{"text": "sorry \\ud800", "wording": "x\\udfff", "evidence": {"\\ud83d": 1}}'


def _json_operations(spec: dict[str, Any]) -> list[tuple[str, str]]:
    ops = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                ops.append((method, path.replace("{case_id}", "1").replace("{promise_id}", "1")
                            .replace("{sub_id}", "1").replace("{identity_id}", "1")
                            .replace("{staff_id}", "1")))  # fmt: skip
    return ops


def test_every_json_operation_answers_a_lone_surrogate_with_a_422(app_client: Any) -> None:
    operations = _json_operations(app_client.get("/openapi.json").json())
    assert len(operations) >= 10
    for method, path in operations:
        answer = app_client.request(
            method, path, content=SURROGATE_BODY, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 422, (method, path, answer.text)
        (error,) = answer.json()["detail"]
        assert error["type"] == "string_unicode" and error["loc"][0] == "body"
        assert "U+D800" in error["msg"] or "U+DFFF" in error["msg"] or "U+D83D" in error["msg"]


def test_with_a_valid_token_the_surrogate_never_reaches_the_database(
    app_client: Any, web_app: Any
) -> None:
    web_app.add_staff("omar", Role.AGENT)
    token = web_app.add_token(["cases:write", "queue:read"], staff="omar")
    with make_sessionmaker(web_app.engine).begin() as s:
        case_id = make_case(s).id
    answer = app_client.post(
        f"/api/v1/cases/{case_id}/notes",
        content=b'{"text": "note \\udc00 here"}',
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", "text"]
    assert answer.headers["cache-control"] == "no-store"  # the usual headers on it too
    paired = app_client.post(  # a proper pair (an emoji) is fine
        f"/api/v1/cases/{case_id}/notes",
        content=b'{"text": "thanks \\ud83d\\ude00"}',
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert paired.status_code == 201 and paired.json()["text"] == "thanks \U0001f600"


def test_a_validation_error_quoting_a_surrogate_still_renders(app_client: Any) -> None:
    from monitor.web.errors import SafeJSONResponse

    body = SafeJSONResponse({"detail": [{"input": "\ud800"}]}).body
    assert body == b'{"detail":[{"input":"\\ud800"}]}'
