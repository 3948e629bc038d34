"""REST: /api/v1 promises, suggestions and webhook subscriptions, with scopes."""

from __future__ import annotations

from datetime import datetime

from monitor.db import make_sessionmaker, utcnow
from monitor.models import Alert, Role, WebhookSubscription
from monitor.storage.secret_box import SecretBox
from tests.factories.cases import make_case
from tests.fixtures.web import SECRET


def setup(web_app, scopes: list[str]) -> tuple[int, dict[str, str]]:
    web_app.add_staff("omar", Role.AGENT)
    token = web_app.add_token(scopes, staff="omar")
    with make_sessionmaker(web_app.engine).begin() as s:
        case_id = make_case(s).id
    return case_id, {"Authorization": f"Bearer {token}"}


def test_promise_lifecycle_over_the_api(web_app, app_client) -> None:
    case_id, auth = setup(web_app, ["queue:read", "promises:write"])
    body = {"kind": "callback", "wording": "I'll call you back tomorrow morning."}
    assert app_client.post(f"/api/v1/cases/{case_id}/promises", json=body).status_code == 401
    made = app_client.post(f"/api/v1/cases/{case_id}/promises", json=body, headers=auth)
    assert made.status_code == 201, made.text
    p = made.json()
    assert p["state"] == "open" and p["kind"] == "callback"
    assert datetime.fromisoformat(p["due_at"]).hour == 10  # 10:00 tomorrow, owner's zone (UTC)
    second = app_client.post(
        f"/api/v1/cases/{case_id}/promises",
        json={
            "kind": "refund",
            "wording": "We'll refund you.",
            "due_at": "2030-01-01T12:00:00+01:00",
        },
        headers=auth,
    ).json()
    listed = app_client.get("/api/v1/promises?state=open", headers=auth).json()
    assert [x["id"] for x in listed] == [p["id"], second["id"]]
    done = app_client.post(
        f"/api/v1/promises/{p['id']}/fulfil",
        json={"evidence": {"call": "spoke to Dan"}, "note": "happy now"},
        headers=auth,
    )
    assert done.status_code == 200, done.text
    got = done.json()
    assert got["state"] == "fulfilled" and got["evidence"]["call"] == "spoke to Dan"
    assert got["follow_up_due_at"] is not None
    assert [h["kind"] for h in got["history"]] == [
        "promise.created",
        "promise.fulfilled",
        "promise.follow_up_due",
    ]
    cancelled = app_client.post(
        f"/api/v1/promises/{second['id']}/cancel", json={"reason": "made in error"}, headers=auth
    )
    assert cancelled.json()["state"] == "cancelled"
    again = app_client.post(
        f"/api/v1/promises/{second['id']}/fulfil", json={"evidence": {}}, headers=auth
    )
    assert again.status_code == 409
    assert app_client.get("/api/v1/promises/999999", headers=auth).status_code == 404
    bad = app_client.post(
        f"/api/v1/cases/{case_id}/promises",
        json={"kind": "custom", "wording": "Thanks!"},
        headers=auth,
    )
    assert bad.status_code == 422  # no due time given or found


def test_promise_wording_without_i_will_is_parsed_for_its_due_time(web_app, app_client) -> None:
    case_id, auth = setup(web_app, ["queue:read", "promises:write"])
    body = {"kind": "refund", "wording": "refund the second charge by Thursday"}
    made = app_client.post(f"/api/v1/cases/{case_id}/promises", json=body, headers=auth)
    assert made.status_code == 201, made.text
    assert datetime.fromisoformat(made.json()["due_at"]).weekday() == 3  # Thursday


def test_the_promise_list_carries_each_promises_alerts(web_app, app_client) -> None:
    case_id, auth = setup(web_app, ["queue:read", "promises:write"])
    body = {"kind": "fix", "wording": "We'll fix it today.", "due_at": "2030-01-01T12:00Z"}
    first = app_client.post(f"/api/v1/cases/{case_id}/promises", json=body, headers=auth).json()
    other = app_client.post(f"/api/v1/cases/{case_id}/promises", json=body, headers=auth).json()
    with make_sessionmaker(web_app.engine).begin() as s:
        for i in range(3):
            s.add(
                Alert(
                    promise_id=first["id"],
                    case_id=case_id,
                    kind="promise.overdue",
                    channel="email",
                    target="omar@example.org",
                    dedupe_key=f"test-{i}",
                    created_at=utcnow(),
                )
            )
    detail = app_client.get(f"/api/v1/promises/{first['id']}", headers=auth).json()
    listed = {p["id"]: p for p in app_client.get("/api/v1/promises", headers=auth).json()}
    assert len(detail["alerts"]) == 3
    assert listed[first["id"]]["alerts"] == detail["alerts"]
    assert listed[other["id"]]["alerts"] == []


def test_scopes_are_enforced(web_app, app_client) -> None:
    case_id, auth = setup(web_app, ["queue:read"])
    body = {"kind": "fix", "wording": "We'll fix it today."}
    assert (
        app_client.post(f"/api/v1/cases/{case_id}/promises", json=body, headers=auth).status_code
        == 403
    )
    assert app_client.get("/api/v1/webhooks", headers=auth).status_code == 403
    assert app_client.get("/api/v1/promises", headers=auth).status_code == 200


def test_suggest_promises(web_app, app_client) -> None:
    _, auth = setup(web_app, ["queue:read"])
    text = (
        "So sorry, Dan. We'll add you to our Slack channel today, and you'll get a "
        "one-month rebate on your next bill. We'll investigate and get back to you by Friday."
    )
    got = app_client.post(
        "/api/v1/replies/suggest-promises",
        json={"text": text, "timezone": "Europe/Berlin"},
        headers=auth,
    )
    assert got.status_code == 200, got.text
    # "..., and you'll get a rebate" is a second commitment: a promise of its own
    assert [s["kind"] for s in got.json()] == ["slack_invite", "rebate", "investigate"]
    text2 = "You'll get a one-month rebate on your next bill."
    one = app_client.post("/api/v1/replies/suggest-promises", json={"text": text2}, headers=auth)
    assert one.json()[0]["kind"] == "rebate" and one.json()[0]["due_guessed"] is True


def test_webhook_subscriptions_for_admins(web_app, app_client) -> None:
    _, auth = setup(web_app, ["webhooks:admin"])
    refused = app_client.post(
        "/api/v1/webhooks", json={"url": "http://hooks.example/x"}, headers=auth
    )
    assert refused.status_code == 422  # https only outside tests
    unknown = app_client.post(
        "/api/v1/webhooks",
        json={"url": "https://hooks.example/x", "events": ["nope"]},
        headers=auth,
    )
    assert unknown.status_code == 422
    made = app_client.post(
        "/api/v1/webhooks",
        json={"url": "https://hooks.example/x", "events": ["promise.overdue"]},
        headers=auth,
    )
    assert made.status_code == 201, made.text
    sub = made.json()
    assert sub["secret"].startswith("whsec_")
    with make_sessionmaker(web_app.engine)() as s:  # stored sealed, not as given out
        stored = s.get(WebhookSubscription, sub["id"]).secret
    assert stored.startswith("sealed:v1:") and sub["secret"] not in stored
    assert SecretBox(SECRET).open(stored) == sub["secret"]
    listed = app_client.get("/api/v1/webhooks", headers=auth).json()
    assert [s["secret"] for s in listed] == [None]  # never shown again
    assert app_client.get(f"/api/v1/webhooks/{sub['id']}", headers=auth).json()["secret"] is None
    patched = app_client.patch(
        f"/api/v1/webhooks/{sub['id']}", json={"active": False}, headers=auth
    )
    assert patched.json()["active"] is False
    log = app_client.get(f"/api/v1/webhooks/{sub['id']}/deliveries", headers=auth)
    assert log.status_code == 200 and log.json() == []
    assert app_client.delete(f"/api/v1/webhooks/{sub['id']}", headers=auth).status_code == 204
    assert app_client.get(f"/api/v1/webhooks/{sub['id']}", headers=auth).status_code == 404


def _reply_on(web_app, case_id: int, key: str) -> int:
    from monitor.models import Reply
    from tests.factories import T0

    with make_sessionmaker(web_app.engine).begin() as s:
        reply = Reply(case_id=case_id, channel="x", body="Sorry, Dan.", idempotency_key=key,
                      created_at=T0)  # fmt: skip
        s.add(reply)
        s.flush()
        return reply.id


def test_a_promise_names_only_a_reply_of_its_own_case(web_app, app_client) -> None:
    case_id, auth = setup(web_app, ["queue:read", "promises:write"])
    with make_sessionmaker(web_app.engine).begin() as s:
        other_case = make_case(s, customer="Eve").id
    own, foreign = _reply_on(web_app, case_id, "k-own"), _reply_on(web_app, other_case, "k-other")
    url = f"/api/v1/cases/{case_id}/promises"
    body = {"kind": "refund", "wording": "We'll refund you.", "due_at": "2030-01-01T12:00:00Z"}
    missing = app_client.post(url, json=body | {"reply_id": 987654}, headers=auth)
    assert missing.status_code == 422 and "no reply 987654" in missing.json()["detail"]
    other = app_client.post(url, json=body | {"reply_id": foreign}, headers=auth)
    assert other.status_code == 422 and "another case" in other.json()["detail"]
    huge = app_client.post(url, json=body | {"reply_id": 2**64}, headers=auth)
    assert huge.status_code == 422
    made = app_client.post(url, json=body | {"reply_id": own}, headers=auth)
    assert made.status_code == 201 and made.json()["case_id"] == case_id


def test_fulfil_evidence_with_an_integer_beyond_64_bits_is_a_422(web_app, app_client) -> None:
    case_id, auth = setup(web_app, ["queue:read", "promises:write"])
    body = {"kind": "refund", "wording": "We'll refund you.", "due_at": "2030-01-01T12:00:00Z"}
    pid = app_client.post(f"/api/v1/cases/{case_id}/promises", json=body, headers=auth).json()["id"]
    url = f"/api/v1/promises/{pid}/fulfil"
    for evidence in ({"refund": 2**64}, {"ids": [1, -(2**63) - 1]}, {"a": {"b": 2**70}}):
        answer = app_client.post(url, json={"evidence": evidence}, headers=auth)
        assert answer.status_code == 422, (evidence, answer.text)
        assert "64 bits" in answer.json()["detail"][0]["msg"]
    deep: dict = {}
    for _ in range(40):
        deep = {"x": deep}
    assert app_client.post(url, json={"evidence": deep}, headers=auth).status_code == 422
    ok = app_client.post(url, json={"evidence": {"refund": 2**63 - 1}}, headers=auth)
    assert ok.status_code == 200 and ok.json()["evidence"]["refund"] == 2**63 - 1


def _held_by_lead(web_app, app_client) -> tuple[int, dict[str, str], dict[str, str]]:
    """A case claimed by lead Lee; an agent's and the lead's headers."""
    case_id, agent = setup(web_app, ["queue:read", "promises:write", "cases:write"])
    web_app.add_staff("lee", Role.LEAD)
    lead = {"Authorization": "Bearer " + web_app.add_token(["cases:write"], staff="lee")}
    assert app_client.post(f"/api/v1/cases/{case_id}/claim", headers=lead).status_code == 200
    return case_id, agent, lead


def test_an_agents_promise_on_a_case_a_lead_holds_is_refused_with_409(web_app, app_client) -> None:
    case_id, agent, _lead = _held_by_lead(web_app, app_client)
    body = {"kind": "refund", "wording": "We'll refund you.", "due_at": "2030-01-01T12:00:00Z"}
    refused = app_client.post(f"/api/v1/cases/{case_id}/promises", json=body, headers=agent)
    assert refused.status_code == 409, refused.text
    out = refused.json()
    assert out["holder"] == "lee" and "only they may record promises" in out["detail"]
    assert app_client.get(f"/api/v1/promises?case_id={case_id}", headers=agent).json() == []
    # notes are not covered by the claim: a colleague may leave one for the holder
    note = app_client.post(f"/api/v1/cases/{case_id}/notes", json={"text": "fyi"}, headers=agent)
    assert note.status_code == 201
    stage = app_client.post(
        f"/api/v1/cases/{case_id}/stage", json={"stage": "apologised"}, headers=agent
    )
    assert stage.status_code == 409


def test_an_identity_link_touching_a_held_case_is_refused(web_app, app_client) -> None:
    from monitor.models import Case, Identity

    case_id, agent, lead = _held_by_lead(web_app, app_client)
    with make_sessionmaker(web_app.engine).begin() as s:
        held = s.get(Case, case_id)
        other = make_case(s, customer="Dan on email")
        ident = Identity(customer_id=other.customer_id, kind="email", handle="dan@example.com",
                         created_at=held.created_at)  # fmt: skip
        s.add(ident)
        s.flush()
        ident_id, target = ident.id, held.customer_id
    url = f"/api/v1/identities/{ident_id}/link"
    refused = app_client.post(url, json={"customer_id": target}, headers=agent)
    assert refused.status_code == 409 and "link identities" in refused.json()["detail"]
    assert app_client.post(url, json={"customer_id": target}, headers=lead).status_code == 200


def test_an_idempotency_key_makes_one_promise_however_often_it_is_sent(web_app, app_client) -> None:
    case_id, auth = setup(web_app, ["queue:read", "promises:write"])
    url = f"/api/v1/cases/{case_id}/promises"
    body = {"kind": "refund", "wording": "We'll refund you.", "due_at": "2030-01-01T12:00:00Z"}
    keyed = auth | {"Idempotency-Key": "retry-7"}
    first = app_client.post(url, json=body, headers=keyed)
    again = app_client.post(url, json=body, headers=keyed)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    other = app_client.post(url, json=body | {"wording": "A voucher."}, headers=keyed)
    assert other.status_code == 409 and "retry-7" in other.json()["detail"]
    assert len(app_client.get(f"/api/v1/promises?case_id={case_id}", headers=auth).json()) == 1
    unkeyed = [app_client.post(url, json=body, headers=auth).json()["id"] for _ in range(2)]
    assert len(set(unkeyed)) == 2  # without the header: as before, each POST is a promise
