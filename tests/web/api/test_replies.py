"""REST: POST /api/v1/cases/{id}/replies, GET /api/v1/replies/{id}, POST /api/v1/replies/check."""

from __future__ import annotations

from typing import Any

from tests.factories.replies import APOLOGY, seed
from tests.fixtures.web import WebApp

FORM = "We apologise for any inconvenience. Your satisfaction is our priority."


def setup(web_app: WebApp) -> tuple[Any, dict[str, str], dict[str, str], dict[str, str]]:
    with web_app.session() as s, s.begin():
        seeded = seed(s)
        names = {"agent": "priya", "lead": "lena", "other": "omar"}
    tokens = {
        role: web_app.add_token(["replies:write", "queue:read", "cases:write"], staff=name)
        for role, name in names.items()
    }
    headers = {role: {"Authorization": f"Bearer {t}"} for role, t in tokens.items()}
    return seeded, headers["agent"], headers["lead"], headers["other"]


def post(client: Any, case_id: int, headers: dict[str, str], key: str | None, **body: Any) -> Any:
    h = dict(headers)
    if key is not None:
        h["Idempotency-Key"] = key
    payload = {"body": APOLOGY, "channel": "email", **body}
    return client.post(f"/api/v1/cases/{case_id}/replies", json=payload, headers=h)


def test_create_reply_is_202_and_idempotent(web_app: WebApp, app_client: Any) -> None:
    s, agent, _, _ = setup(web_app)
    first = post(app_client, s.case_id, agent, "key-1")
    assert first.status_code == 202, first.text
    body = first.json()
    assert (
        body["state"] == "queued" and body["channel"] == "email" and body["personal_score"] == 100
    )
    again = post(app_client, s.case_id, agent, "key-1")
    assert again.status_code == 202 and again.json()["id"] == body["id"]
    other = post(app_client, s.case_id, agent, "key-1", body=APOLOGY + " Thanks.")
    assert other.status_code == 409
    status = app_client.get(f"/api/v1/replies/{body['id']}", headers=agent)
    assert status.status_code == 200 and status.json()["state"] == "queued"
    assert app_client.get("/api/v1/replies/999999", headers=agent).status_code == 404


def test_key_is_required_and_scopes_are_checked(web_app: WebApp, app_client: Any) -> None:
    s, agent, _, _ = setup(web_app)
    assert post(app_client, s.case_id, agent, None).status_code == 422
    assert post(app_client, s.case_id, {}, "k").status_code == 401
    reader = web_app.add_token(["queue:read"], staff="priya")
    assert (
        post(app_client, s.case_id, {"Authorization": f"Bearer {reader}"}, "k").status_code == 403
    )


def test_claimed_by_someone_else_is_409(web_app: WebApp, app_client: Any) -> None:
    s, agent, _, other = setup(web_app)
    assert app_client.post(f"/api/v1/cases/{s.case_id}/claim", headers=other).status_code == 200
    response = post(app_client, s.case_id, agent, "key-2")
    assert response.status_code == 409 and response.json()["holder"] == "omar"


def test_guard_block_is_422_with_the_check_and_a_lead_overrides(
    web_app: WebApp, app_client: Any
) -> None:
    s, agent, lead, _ = setup(web_app)
    blocked = post(app_client, s.case_id, agent, "key-3", body=FORM)
    assert blocked.status_code == 422
    check = blocked.json()["check"]
    assert check["blocked"] and {h["kind"] for h in check["highlights"]} == {"boilerplate"}
    agent_override = post(
        app_client,
        s.case_id,
        agent,
        "key-3",
        body=FORM,
        override_reason="the customer asked for formal wording",
    )
    assert agent_override.status_code == 403
    app_client.post(f"/api/v1/cases/{s.case_id}/release", headers=agent)
    ok = post(
        app_client,
        s.case_id,
        lead,
        "key-4",
        body=FORM,
        override_reason="the customer asked for formal wording",
    )
    assert ok.status_code == 202 and ok.json()["override_reason"]


def test_check_endpoint(web_app: WebApp, app_client: Any) -> None:
    s, agent, _, _ = setup(web_app)
    alone = app_client.post("/api/v1/replies/check", json={"text": FORM}, headers=agent)
    assert alone.status_code == 200 and alone.json()["reasons"]
    on_case = app_client.post(
        "/api/v1/replies/check",
        json={"text": APOLOGY, "channel": "x", "case_id": s.case_id},
        headers=agent,
    ).json()
    assert on_case["score"] == 0 and on_case["x_limit"] == 280 and 0 < on_case["x_length"] <= 280
    schema = app_client.get("/openapi.json").json()
    assert "/api/v1/cases/{case_id}/replies" in schema["paths"]
    assert "/api/v1/replies/check" in schema["paths"]


def test_case_page_shows_reply_state_and_the_composer(web_app: WebApp, app_client: Any) -> None:
    from tests.fixtures.web import login

    s, agent, _, _ = setup(web_app)
    assert post(app_client, s.case_id, agent, "key-5").status_code == 202
    assert login(app_client, "priya").status_code in (302, 303)
    page = app_client.get(f"/cases/{s.case_id}")
    assert page.status_code == 200
    assert 'class="reply-state state-queued"' in page.text
    assert 'id="reply-composer"' in page.text and "/static/composer.js" in page.text
    assert "canned" not in page.text.lower()


def test_get_reply_lists_the_promises_it_made(web_app: WebApp, app_client: Any) -> None:
    s, agent, _, _ = setup(web_app)
    draft = {"kind": "callback", "wording": "I'll call you back.", "due_at": "2030-01-01T12:00Z"}
    made = post(app_client, s.case_id, agent, "key-p", promises=[draft])
    assert made.status_code == 202, made.text
    ids = made.json()["promise_ids"]
    assert len(ids) == 1
    got = app_client.get(f"/api/v1/replies/{made.json()['id']}", headers=agent)
    assert got.json()["promise_ids"] == ids
