"""REST API: each endpoint, with 401/403 by scope and role, and 409 on a claimed case."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from monitor.db import make_sessionmaker
from monitor.ingest.service import IngestOptions, ingest_batch
from monitor.models import Identity, Role
from monitor.priority.service import Scorer
from monitor.sources.base import Batch
from tests.factories import later
from tests.factories.cases import make_case
from tests.factories.mentions import email, tweet
from tests.fixtures.web import WebApp

pytestmark = pytest.mark.db


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def people(web_app: WebApp) -> dict[str, str]:
    """Tokens: agent alice and bob, lead lena (read+write), a read-only and a staffless one."""
    web_app.add_staff("alice")
    web_app.add_staff("bob")
    web_app.add_staff("lena", Role.LEAD)
    return {
        "alice": web_app.add_token(["queue:read", "cases:write"], staff="alice"),
        "bob": web_app.add_token(["queue:read", "cases:write"], staff="bob"),
        "lena": web_app.add_token(["queue:read", "cases:write"], staff="lena"),
        "reader": web_app.add_token(["queue:read"], staff="bob"),
        "robot": web_app.add_token(["queue:read", "cases:write"]),
        "admin": web_app.add_token(["admin"], staff="lena"),
    }


def seed(web_app: WebApp, scorer: Scorer) -> int:
    with make_sessionmaker(web_app.engine).begin() as s:
        batch = Batch(
            mentions=[
                email(
                    "m1@x", "Order #A-10023 never arrived, I paid $49.99", sender="dan@example.org"
                ),
                tweet(7, "@acme two emails, no answer! dan@example.org", at=later(30)),
            ],
            next_cursor={"n": 2},
        )
        ingest_batch(s, batch, source="t", now=later(40), scorer=scorer, options=IngestOptions())
        s.flush()
        return make_case(s, score=5, customer="Quiet").id


def first_case(client: Any, token: str) -> dict[str, Any]:
    r = client.get("/api/v1/queue", headers=bearer(token))
    assert r.status_code == 200, r.text
    return r.json()["items"][0]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/v1/queue", None),
        ("get", "/api/v1/cases/1", None),
        ("post", "/api/v1/cases/1/claim", {}),
        ("post", "/api/v1/cases/1/release", None),
        ("post", "/api/v1/cases/1/notes", {"text": "x"}),
        ("post", "/api/v1/cases/1/stage", {"stage": "apologised"}),
        ("post", "/api/v1/identities/1/link", {"customer_id": 1}),
    ],
)
def test_401_without_or_with_a_bad_token(
    app_client: Any, people: dict[str, str], method: str, path: str, body: Any
) -> None:
    for headers in ({}, bearer("cm_not-a-real-token"), {"Authorization": "Basic Zm9vOmJhcg=="}):
        r = app_client.request(method, path, json=body, headers=headers)
        assert r.status_code == 401, (headers, r.text)
        assert r.headers["www-authenticate"] == "Bearer"


def test_queue_lists_by_priority_with_pages(
    app_client: Any, people: dict[str, str], web_app: WebApp, scorer: Scorer
) -> None:
    quiet = seed(web_app, scorer)
    r = app_client.get("/api/v1/queue", headers=bearer(people["reader"]))
    items = r.json()["items"]
    assert [i["case_id"] for i in items][-1] == quiet
    top = items[0]
    assert top["channel"] == "x" and top["hop_from"] == "email" and top["reasons"]
    assert top["customer_name"] and top["first_words"].startswith("@acme two emails")
    page1 = app_client.get("/api/v1/queue?limit=1", headers=bearer(people["reader"])).json()
    assert len(page1["items"]) == 1 and page1["next"]
    page2 = app_client.get(
        "/api/v1/queue",
        params={"limit": 1, "after": page1["next"]},
        headers=bearer(people["reader"]),
    ).json()
    assert page2["items"][0]["case_id"] == quiet and page2["next"] is None
    bad = app_client.get("/api/v1/queue?after=garbage", headers=bearer(people["reader"]))
    assert bad.status_code == 422
    email_only = app_client.get("/api/v1/queue?channel=email", headers=bearer(people["reader"]))
    assert email_only.json()["items"] == []


def test_get_case_has_history_identities_and_facts(
    app_client: Any, people: dict[str, str], web_app: WebApp, scorer: Scorer
) -> None:
    seed(web_app, scorer)
    case_id = first_case(app_client, people["reader"])["case_id"]
    r = app_client.get(f"/api/v1/cases/{case_id}", headers=bearer(people["reader"]))
    assert r.status_code == 200
    body = r.json()
    assert [h["kind"] for h in body["history"] if h["kind"] == "mention"] == ["mention"] * 2
    assert any(h["hop"] for h in body["history"])
    assert {i["kind"] for i in body["identities"]} == {"x", "email"}
    facts = {(f["kind"], f["value"]) for f in body["facts"]}
    assert ("order", "A-10023") in facts and ("amount", "$49.99") in facts
    assert body["stages"][0]["stage"] == "listened"
    assert (
        app_client.get("/api/v1/cases/999999", headers=bearer(people["reader"])).status_code == 404
    )


def test_claim_409_takeover_403_and_release(
    app_client: Any, people: dict[str, str], web_app: WebApp, scorer: Scorer
) -> None:
    seed(web_app, scorer)
    case_id = first_case(app_client, people["alice"])["case_id"]
    url = f"/api/v1/cases/{case_id}"
    r = app_client.post(f"{url}/claim", headers=bearer(people["alice"]))
    assert r.status_code == 200 and r.json()["claimed_by"] == "alice"
    # Someone else: 409 with who holds it, for claim, stage change and release.
    r = app_client.post(f"{url}/claim", json={}, headers=bearer(people["bob"]))
    assert r.status_code == 409 and r.json()["holder"] == "alice" and r.json()["until"]
    r = app_client.post(f"{url}/stage", json={"stage": "agreed"}, headers=bearer(people["bob"]))
    assert r.status_code == 409
    assert app_client.post(f"{url}/release", headers=bearer(people["bob"])).status_code == 409
    # Take-over is for leads only.
    r = app_client.post(f"{url}/claim", json={"take_over": True}, headers=bearer(people["bob"]))
    assert r.status_code == 403
    r = app_client.post(f"{url}/claim", json={"take_over": True}, headers=bearer(people["lena"]))
    assert r.status_code == 200 and r.json()["claimed_by"] == "lena"
    queue_row = first_case(app_client, people["reader"])
    assert queue_row["claimed_by"] == "lena"
    r = app_client.post(f"{url}/release", headers=bearer(people["lena"]))
    assert r.status_code == 200 and r.json()["claimed_by_id"] is None
    assert app_client.post(f"{url}/claim", headers=bearer(people["bob"])).status_code == 200


def test_scopes_and_staffless_tokens(
    app_client: Any, people: dict[str, str], web_app: WebApp, scorer: Scorer
) -> None:
    seed(web_app, scorer)
    case_id = first_case(app_client, people["reader"])["case_id"]
    url = f"/api/v1/cases/{case_id}"
    for path, body in (
        ("claim", {}),
        ("release", None),
        ("notes", {"text": "hi"}),
        ("stage", {"stage": "acted"}),
    ):
        r = app_client.post(f"{url}/{path}", json=body, headers=bearer(people["reader"]))
        assert r.status_code == 403 and "cases:write" in r.json()["detail"], path
        r = app_client.post(f"{url}/{path}", json=body, headers=bearer(people["robot"]))
        assert r.status_code == 403 and "staff member" in r.json()["detail"], path
    # The admin scope includes everything.
    assert app_client.post(f"{url}/claim", headers=bearer(people["admin"])).status_code == 200


def test_notes_and_stages(
    app_client: Any, people: dict[str, str], web_app: WebApp, scorer: Scorer
) -> None:
    seed(web_app, scorer)
    case_id = first_case(app_client, people["alice"])["case_id"]
    url = f"/api/v1/cases/{case_id}"
    h = bearer(people["alice"])
    r = app_client.post(f"{url}/notes", json={"text": "Refund approved by finance"}, headers=h)
    assert r.status_code == 201 and r.json()["text"] == "Refund approved by finance"
    assert app_client.post(f"{url}/notes", json={"text": ""}, headers=h).status_code == 422
    nul = app_client.post(f"{url}/notes", json={"text": "before\u0000after"}, headers=h)
    if web_app.engine.dialect.name == "postgresql":  # cannot store U+0000: say so, clearly
        assert nul.status_code == 422 and "NUL" in nul.json()["detail"]
    else:  # SQLite stores it as given
        assert nul.status_code == 201 and nul.json()["text"] == "before\x00after"
    r = app_client.post(f"{url}/stage", json={"stage": "apologised"}, headers=h)
    assert r.status_code == 200
    stages = {s["stage"]: s["at"] for s in r.json()["stages"]}
    assert stages["apologised"] and not stages["agreed"]
    assert app_client.post(f"{url}/stage", json={"stage": "nope"}, headers=h).status_code == 422
    r = app_client.post(f"{url}/stage", json={"stage": "resolved"}, headers=h)
    assert r.json()["status"] == "resolved"
    history = app_client.get(url, headers=h).json()["history"]
    assert any(e["kind"] == "note" and "finance" in e["text"] for e in history)
    assert app_client.get("/api/v1/queue", headers=h).json()["items"][0]["case_id"] != case_id


def test_link_identity(
    app_client: Any, people: dict[str, str], web_app: WebApp, scorer: Scorer
) -> None:
    seed(web_app, scorer)
    with make_sessionmaker(web_app.engine).begin() as s:
        batch = Batch(
            mentions=[tweet(99, "@acme hi", user_id="555", username="other")], next_cursor={}
        )
        ingest_batch(s, batch, source="t2", now=later(50), scorer=scorer, options=IngestOptions())
        s.flush()
        other = _identity(s, "555")
    case = first_case(app_client, people["alice"])
    h = bearer(people["alice"])
    r = app_client.post(
        f"/api/v1/identities/{other}/link", json={"customer_id": case["customer_id"]}, headers=h
    )
    assert r.status_code == 200 and r.json()["customer_id"] == case["customer_id"]
    ids = app_client.get(f"/api/v1/cases/{case['case_id']}", headers=h).json()["identities"]
    assert other in [i["id"] for i in ids]
    r = app_client.post("/api/v1/identities/999999/link", json={"customer_id": 1}, headers=h)
    assert r.status_code == 404
    r = app_client.post(f"/api/v1/identities/{other}/link", json={}, headers=h)
    assert r.status_code == 422


def _identity(s: Session, handle: str) -> int:
    from sqlalchemy import select

    found = s.scalar(select(Identity.id).where(Identity.handle == handle))
    assert found is not None
    return found


def test_openapi_documents_every_endpoint(app_client: Any) -> None:
    spec = app_client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/api/v1/queue",
        "/api/v1/cases/{case_id}",
        "/api/v1/cases/{case_id}/claim",
        "/api/v1/cases/{case_id}/release",
        "/api/v1/cases/{case_id}/notes",
        "/api/v1/cases/{case_id}/stage",
        "/api/v1/identities/{identity_id}/link",
    ):
        assert path in paths, path
        for op in paths[path].values():
            assert {"401", "403"} <= set(op["responses"]), path
    assert "409" in paths["/api/v1/cases/{case_id}/claim"]["post"]["responses"]
    assert "QueuePageOut" in spec["components"]["schemas"]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert not any(p.startswith("/cases") or p == "/login" for p in paths)
    assert app_client.get("/healthz").json()["status"] == "ok"
    assert "complaint_monitor_cases" in app_client.get("/metrics").text


def test_ids_no_column_can_hold_are_404_not_500(
    app_client: Any, people: dict[str, str], web_app: WebApp, scorer: Scorer
) -> None:
    huge = "99999999999999999999999"
    for path in (f"/api/v1/cases/{huge}", f"/api/v1/promises?case_id={huge}"):
        r = app_client.get(path, headers=bearer(people["reader"]))
        assert r.status_code == 404, (path, r.status_code, r.text)


def test_sla_state_on_the_queue_and_the_case(
    app_client: Any, people: dict[str, str], web_app: WebApp, scorer: Scorer
) -> None:
    quiet = seed(web_app, scorer)
    r = app_client.get("/api/v1/queue?sort=due", headers=bearer(people["reader"]))
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert quiet not in [i["case_id"] for i in items]  # no target: not in this view
    top = items[0]
    assert top["sla_kind"] == "first" and top["sla_due_at"] and top["public_risk"]
    breached = app_client.get("/api/v1/queue?sla=breached", headers=bearer(people["reader"]))
    assert [i["case_id"] for i in breached.json()["items"]] == [top["case_id"]]
    case = app_client.get(f"/api/v1/cases/{top['case_id']}", headers=bearer(people["reader"]))
    body = case.json()
    assert body["sla"]["kind"] == "first" and body["sla"]["breached"]
    assert body["sla"]["label"].startswith("breached") and body["public_risk"]
    assert any(h["kind"] == "sla" for h in body["history"])
    url = f"/api/v1/cases/{top['case_id']}/stage"
    r = app_client.post(url, json={"stage": "agreed"}, headers=bearer(people["alice"]))
    assert r.status_code == 422 and "what was agreed" in r.json()["detail"]
    r = app_client.post(
        url, json={"stage": "agreed", "text": "a refund"}, headers=bearer(people["alice"])
    )
    assert r.status_code == 200 and r.json()["agreed_text"] == "a refund"
    stages = {s["stage"]: s for s in r.json()["stages"]}
    assert stages["agreed"]["seconds_after_first_contact"] > 0


def test_assign_one_and_many_through_the_api(
    app_client: Any, people: dict[str, str], web_app: WebApp, scorer: Scorer
) -> None:
    quiet = seed(web_app, scorer)
    case_id = first_case(app_client, people["alice"])["case_id"]
    with make_sessionmaker(web_app.engine)() as s:
        from sqlalchemy import select

        from monitor.models import Staff

        ids = dict(s.execute(select(Staff.name, Staff.id)).tuples().all())
    url = f"/api/v1/cases/{case_id}/assign"
    r = app_client.post(url, json={"staff_id": ids["alice"]}, headers=bearer(people["alice"]))
    assert r.status_code == 200 and r.json()["assignee"] == "alice"
    r = app_client.post(url, json={"staff_id": ids["alice"]}, headers=bearer(people["bob"]))
    assert r.status_code == 200  # no change: nothing refused
    r = app_client.post(url, json={"staff_id": ids["bob"]}, headers=bearer(people["bob"]))
    assert r.status_code == 403 and "only they or a lead" in r.json()["detail"]
    r = app_client.post(
        url, json={"staff_id": ids["bob"], "note": "over to you"}, headers=bearer(people["lena"])
    )
    assert r.status_code == 200 and r.json()["assignee"] == "bob"
    assert any("over to you" in h["text"] for h in r.json()["history"])
    r = app_client.post(
        "/api/v1/cases/assign",
        json={"case_ids": [quiet], "staff_id": ids["bob"]},
        headers=bearer(people["bob"]),
    )
    assert r.status_code == 200 and r.json()["case_ids"] == [quiet]
    mine = app_client.get("/api/v1/queue?claimed=mine", headers=bearer(people["bob"])).json()
    assert {i["case_id"] for i in mine["items"]} == {case_id, quiet}
    r = app_client.post(url, json={"staff_id": 99999}, headers=bearer(people["lena"]))
    assert r.status_code == 404
    r = app_client.post(url, json={"staff_id": None}, headers=bearer(people["reader"]))
    assert r.status_code == 403  # read-only token
