"""Where replies and promises meet in the console, over HTTP (both databases):

- the composer's check lists the promises found in the draft, due in the sender's zone;
- sending creates the confirmed promises with the reply, in one transaction;
- the case page lists promises (owner, due in the owner's zone, alerts, history) with
  "Mark fulfilled" and cancel forms, by role; fulfilling stamps the "acted" stage and
  shows the follow-up prompt;
- a reply that permanently failed is on the queue row and the case, and alerts its sender;
- every route's database session commits before the response.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.routing import APIRoute
from sqlalchemy import select

from monitor.config import ReplySettings
from monitor.db import make_sessionmaker, utcnow
from monitor.models import Alert, AlertState, Case, Event, Promise, Reply, Staff
from monitor.promises import service as promises
from monitor.replies.failures import FailureAlerts
from monitor.replies.scheduled import deliver_due
from monitor.web.deps import get_db
from responders.base import Delivery, Outbound, PermanentError
from tests.factories.replies import APOLOGY, Seeded, seed
from tests.fixtures.web import WebApp, login
from tests.flows.test_compensation_story import REBATE, REBATE_REPLY

SLACK = "Dan, I'm sorry we dropped this. We'll add you to our Slack channel today."
CALL = "I'll call you back tomorrow morning to check it works."


def setup(web_app: WebApp, *, tz: str = "Europe/Berlin") -> Seeded:
    with web_app.session() as s, s.begin():
        seeded = seed(s)
        for sid in (seeded.agent_id, seeded.lead_id, seeded.other_id):
            member = s.get(Staff, sid)
            assert member is not None
            member.timezone = tz
            member.email = f"{member.name}@acme.test"
    return seeded


def csrf(page: str) -> str:
    m = re.search(r'data-csrf="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    assert m, "no CSRF token on the page"
    return m.group(1)


def open_case(client: Any, name: str, case_id: int) -> str:
    assert login(client, name).status_code == 303
    page = client.get(f"/cases/{case_id}")
    assert page.status_code == 200, page.text
    return csrf(page.text)


def add_promise(web_app: WebApp, seeded: Seeded, owner_id: int, kind: str = "callback") -> int:
    with web_app.session() as s, s.begin():
        case = s.get(Case, seeded.case_id)
        owner = s.get(Staff, owner_id)
        assert case is not None and owner is not None
        return promises.create(
            s,
            case=case,
            kind=kind,
            wording=CALL if kind == "callback" else SLACK,
            due_at=utcnow() + timedelta(hours=3),
            owner=owner,
            now=utcnow(),
        ).id


# --- the composer --------------------------------------------------------------------


def test_the_check_lists_promises_due_in_the_senders_zone(web_app: WebApp, app_client) -> None:
    seeded = setup(web_app)
    # a Monday, 09:00 in Berlin: "today" is the end of the working day, whatever the
    # wall clock says when the test runs
    web_app.app.state.clock = lambda: datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    token = open_case(app_client, "priya", seeded.case_id)
    got = app_client.post(
        f"/cases/{seeded.case_id}/composer/check",
        json={"text": SLACK + " " + CALL, "channel": "email"},
        headers={"X-CSRF-Token": token},
    )
    assert got.status_code == 200, got.text
    body = got.json()
    assert "personal" in body  # still the guard's answer
    slack, call = body["promises"]
    assert slack["kind"] == "slack_invite" and slack["wording"].startswith("We'll add you")
    assert slack["target"] == "dan@example.org"  # the customer's known email
    assert slack["timezone"] == "Europe/Berlin" and slack["due_local"].endswith("T17:00")
    assert call["kind"] == "callback" and call["due_local"].endswith("T10:00")
    assert call["target"] is None and call["due_guessed"] is False
    # without the CSRF header: refused
    refused = app_client.post(
        f"/cases/{seeded.case_id}/composer/check", json={"text": SLACK, "channel": "email"}
    )
    assert refused.status_code == 403


def send(client: Any, seeded: Seeded, token: str, key: str, promises_: list[dict], **kw: Any):
    payload = {
        "body": APOLOGY + " " + SLACK,
        "channel": "email",
        "idempotency_key": key,
        "promises": promises_,
        **kw,
    }
    return client.post(
        f"/cases/{seeded.case_id}/composer/send", json=payload, headers={"X-CSRF-Token": token}
    )


def test_send_creates_the_confirmed_promises_with_the_reply(web_app: WebApp, app_client) -> None:
    seeded = setup(web_app)
    token = open_case(app_client, "priya", seeded.case_id)
    drafts = [
        {
            "kind": "slack_invite",
            "wording": "We'll add you to our Slack channel today.",
            "due_local": "2031-03-03T17:00",
            "timezone": "Europe/Berlin",
        },
        {
            "kind": "callback",
            "wording": "I'll call you back tomorrow morning.",
            "due_local": "2031-03-04T10:00",
            "owner_id": seeded.other_id,
        },
    ]
    first = send(app_client, seeded, token, "k-1", drafts)
    assert first.status_code == 202, first.text
    reply_id, ids = first.json()["id"], first.json()["promise_ids"]
    assert len(ids) == 2
    again = send(app_client, seeded, token, "k-1", drafts)  # a double click
    assert again.status_code == 202 and again.json()["promise_ids"] == ids
    with web_app.session() as s:
        made = s.scalars(select(Promise).order_by(Promise.id)).all()
        assert [p.id for p in made] == ids
        invite, call = made
        assert invite.reply_id == call.reply_id == reply_id
        assert invite.owner_id == seeded.agent_id  # the sender by default
        assert invite.target == "dan@example.org" and invite.perform is not None
        assert invite.due_at.isoformat().startswith("2031-03-03T16:00")  # 17:00 CET
        assert call.owner_id == seeded.other_id and call.owner_timezone == "Europe/Berlin"
        kinds = s.scalars(select(Event.kind).where(Event.case_id == seeded.case_id)).all()
        assert kinds.count("promise.created") == 2 and "reply.queued" in kinds


def test_a_refused_send_records_neither_reply_nor_promises(web_app: WebApp, app_client) -> None:
    seeded = setup(web_app)
    token = open_case(app_client, "priya", seeded.case_id)
    good = {"kind": "callback", "wording": CALL, "due_local": "2031-03-04T10:00"}
    bad_owner = send(app_client, seeded, token, "k-2", [{**good, "owner_id": 999_999}])
    assert bad_owner.status_code == 422 and "999999" in bad_owner.json()["detail"]
    no_due = send(app_client, seeded, token, "k-3", [{"kind": "fix", "wording": "We'll fix it."}])
    assert no_due.status_code == 422 and "due time" in no_due.json()["detail"]
    boiler = "We apologise for any inconvenience. Your satisfaction is our priority."
    blocked = send(app_client, seeded, token, "k-4", [good], body=boiler)
    assert blocked.status_code == 422 and blocked.json()["check"]["blocked"]
    with web_app.session() as s:
        assert s.scalars(select(Reply)).all() == []
        assert s.scalars(select(Promise)).all() == []


def test_the_rest_api_takes_promises_with_a_reply(web_app: WebApp, app_client) -> None:
    seeded = setup(web_app)
    token = web_app.add_token(["replies:write"], staff="priya")
    got = app_client.post(
        f"/api/v1/cases/{seeded.case_id}/replies",
        json={
            "body": APOLOGY,
            "channel": "email",
            "promises": [
                {"kind": "callback", "wording": CALL, "due_at": "2031-03-04T10:00:00+01:00"}
            ],
        },
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "api-1"},
    )
    assert got.status_code == 202, got.text
    with web_app.session() as s:
        [p] = s.scalars(select(Promise)).all()
        assert p.reply_id == got.json()["id"] and p.owner_id == seeded.agent_id


# --- promises on the case page -------------------------------------------------------


def test_case_page_lists_promises_and_fulfilling_stamps_acted(web_app: WebApp, app_client) -> None:
    seeded = setup(web_app)
    pid = add_promise(web_app, seeded, seeded.agent_id)
    with web_app.session() as s, s.begin():  # an alert about it, with its delivery state
        s.add(
            Alert(
                promise_id=pid,
                case_id=seeded.case_id,
                kind="promise.reminder",
                channel="email",
                target="priya@acme.test",
                dedupe_key=f"t:{pid}",
                state=AlertState.FAILED,
                attempts=6,
                error="mailbox full",
                created_at=utcnow(),
            )
        )
    token = open_case(app_client, "priya", seeded.case_id)
    page = app_client.get(f"/cases/{seeded.case_id}").text
    block = page[page.index(f'id="promise-{pid}"') :]
    block = block[: block.index("</article>")]
    assert "I&#39;ll call you back tomorrow morning" in block
    assert "priya" in block and "(Europe/Berlin)" in block
    assert re.search(r"\d\d:\d\d CES?T", block)  # the due time in the owner's zone
    assert "Mark fulfilled" in block and "mailbox full" in block and "promise.created" in block
    # CSRF is required
    assert app_client.post(f"/promises/{pid}/fulfil", data={"evidence": "x"}).status_code == 403
    empty = app_client.post(f"/promises/{pid}/fulfil", data={"evidence": " ", "csrf_token": token})
    assert empty.status_code == 422
    done = app_client.post(
        f"/promises/{pid}/fulfil",
        data={"evidence": "called Dan at 10:05, all good", "csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"].startswith(
        f"/cases/{seeded.case_id}"
    )
    with web_app.session() as s:
        p = s.get(Promise, pid)
        case = s.get(Case, seeded.case_id)
        assert p is not None and case is not None
        assert p.state == "fulfilled" and p.evidence["note"] == "called Dan at 10:05, all good"
        assert case.acted_at is not None  # the domain stamps the "acted" stage
    after = app_client.get(f"/cases/{seeded.case_id}").text
    assert "check with the customer personally" in after
    assert "called Dan at 10:05" in after and "Mark fulfilled" not in after


def test_agents_act_on_their_own_promises_leads_on_anyones(web_app: WebApp, app_client) -> None:
    seeded = setup(web_app)
    theirs = add_promise(web_app, seeded, seeded.other_id)
    token = open_case(app_client, "priya", seeded.case_id)
    page = app_client.get(f"/cases/{seeded.case_id}").text
    assert f'action="/promises/{theirs}/fulfil"' not in page
    refused = app_client.post(
        f"/promises/{theirs}/fulfil", data={"evidence": "done", "csrf_token": token}
    )
    assert refused.status_code == 403 and "someone else" in refused.text
    # the REST API applies the same rule
    api = web_app.add_token(["promises:write"], staff="priya")
    got = app_client.post(
        f"/api/v1/promises/{theirs}/cancel",
        json={"reason": "not mine"},
        headers={"Authorization": f"Bearer {api}"},
    )
    assert got.status_code == 403
    app_client.post("/logout", data={"csrf_token": token})
    lead_token = open_case(app_client, "lena", seeded.case_id)
    cancelled = app_client.post(
        f"/promises/{theirs}/cancel",
        data={"reason": "made in error", "csrf_token": lead_token},
        follow_redirects=False,
    )
    assert cancelled.status_code == 303
    with web_app.session() as s:
        p = s.get(Promise, theirs)
        assert p is not None and p.state == "cancelled"
    again = app_client.post(
        f"/promises/{theirs}/fulfil", data={"evidence": "x", "csrf_token": lead_token}
    )
    assert again.status_code == 409


def test_slack_invites_have_no_mark_fulfilled_form(web_app: WebApp, app_client) -> None:
    seeded = setup(web_app)
    pid = add_promise(web_app, seeded, seeded.agent_id, kind="slack_invite")
    open_case(app_client, "priya", seeded.case_id)
    page = app_client.get(f"/cases/{seeded.case_id}").text
    assert f'action="/promises/{pid}/fulfil"' not in page
    assert f'action="/promises/{pid}/cancel"' in page
    assert "dan@example.org" in page and "performs and verifies" in page


# --- failed replies ------------------------------------------------------------------


class Refusing:
    def send(self, outbound: Outbound) -> Delivery:
        raise PermanentError("550 mailbox unavailable")

    def find_sent(self, outbound: Outbound) -> Delivery | None:
        return None


def test_a_failed_reply_shows_in_the_queue_and_case_and_alerts_the_sender(
    web_app: WebApp, app_client
) -> None:
    seeded = setup(web_app)
    token = open_case(app_client, "priya", seeded.case_id)
    sent = send(app_client, seeded, token, "k-f", [])
    assert sent.status_code == 202, sent.text
    report = deliver_due(
        make_sessionmaker(web_app.engine),
        {"email": Refusing()},
        now=utcnow(),
        holder="test",
        settings=ReplySettings(),
        alerts=FailureAlerts(channels=("email", "slack")),
    )
    assert report.failed == [sent.json()["id"]]
    with web_app.session() as s:
        rows = s.scalars(select(Alert).order_by(Alert.id)).all()
        got = {(a.kind, a.channel, a.target, a.state) for a in rows}
    assert got == {
        ("reply.failed", "console", "priya", "sent"),
        ("reply.failed", "email", "priya@acme.test", "pending"),
        ("reply.failed", "slack", "priya@acme.test", "pending"),
    }
    queue = app_client.get("/?status=open").text
    row = queue[queue.index(f'data-case-id="{seeded.case_id}"') :]
    row = row[: row.index("</tr>")]
    assert "reply-failed-badge" in row and "550 mailbox unavailable" in row
    case = app_client.get(f"/cases/{seeded.case_id}").text
    assert 'id="reply-failed"' in case and "550 mailbox unavailable" in case
    assert 'reply.failed via console to <bdi class="ut">priya</bdi>' in case  # isolated
    api = web_app.add_token(["queue:read"], staff="priya")
    items = app_client.get("/api/v1/queue", headers={"Authorization": f"Bearer {api}"}).json()[
        "items"
    ]
    [item] = [i for i in items if i["case_id"] == seeded.case_id]
    assert item["reply_failed"] is True and "550" in item["reply_error"]


# --- the request session -------------------------------------------------------------


def test_every_route_commits_its_session_before_the_response(web_app: WebApp) -> None:
    def sessions(dependant: Any) -> list[Any]:
        found = [d for d in dependant.dependencies if d.call is get_db]
        for d in dependant.dependencies:
            found += sessions(d)
        return found

    def routes(items: list[Any]) -> list[APIRoute]:
        found: list[APIRoute] = []
        for r in items:
            if isinstance(r, APIRoute):
                found.append(r)
            elif hasattr(r, "original_router"):  # an included router (FastAPI >= 0.16x)
                found += routes(r.original_router.routes)
            elif hasattr(r, "routes") and not hasattr(r, "app"):
                found += routes(r.routes)
        return found

    checked = 0
    for route in routes(web_app.app.routes):
        for dep in sessions(route.dependant):
            assert dep.scope == "function", f"{route.path} commits after responding"
            checked += 1
    assert checked > 30


def test_a_lead_approves_held_compensation_on_the_case_page(
    web_app: WebApp, app_client: Any
) -> None:
    seeded = setup(web_app)
    token = web_app.add_token(["replies:write", "queue:read", "promises:write"], staff="priya")
    sent = app_client.post(
        f"/api/v1/cases/{seeded.case_id}/replies",
        json={"body": REBATE_REPLY, "channel": "email", "promises": [REBATE]},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "held-1"},
    )
    assert sent.json()["state"] == "held", sent.text
    (pid,) = sent.json()["promise_ids"]
    open_case(app_client, "priya", seeded.case_id)
    page = app_client.get(f"/cases/{seeded.case_id}")
    assert "waits for a lead to approve" in page.text and "Approve compensation" not in page.text
    assert "rebate 29.00 EUR" in page.text
    app_client.post("/logout", data={"csrf_token": csrf(page.text)})
    token_ = open_case(app_client, "lena", seeded.case_id)
    refused = app_client.post(f"/promises/{pid}/refuse", data={"csrf_token": token_})
    assert refused.status_code == 422  # no reason given: nothing changed
    done = app_client.post(
        f"/promises/{pid}/approve", data={"csrf_token": token_}, follow_redirects=False
    )
    assert done.status_code == 303
    with web_app.session() as s:
        assert s.get(Reply, sent.json()["id"]).state == "queued"
        assert s.get(Promise, pid).approval == "approved"
