"""Promises and failed replies in headless Chromium, against the app under uvicorn.

1. The composer lists the promises in the draft as staff type; one is unticked, the
   other sent; only the ticked one is tracked, linked to the reply, owned by the sender.
2. On the case page staff mark a promise fulfilled with evidence; the follow-up prompt
   and the "acted" stage appear.
3. The live queue shows a reply that permanently failed, and a promise kept, without
   a reload (reply.failed and promise.* events refresh the rows).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from monitor.config import ReplySettings
from monitor.db import make_sessionmaker, utcnow
from monitor.models import Case, Promise, Reply, Staff
from monitor.promises import service as promises
from monitor.replies.scheduled import deliver_due
from responders.base import Delivery, Outbound, PermanentError
from tests.factories.replies import Seeded, seed
from tests.fixtures.web import PASSWORD, LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.db]
WAIT_MS = 8000
PERSONAL = "Dan, you're right, the Slack invite for order 4411 never went out. I'm sorry. "
PROMISES = "We'll add you to our Slack channel today. I'll call you back tomorrow morning."


def seeded(live: LiveServer) -> Seeded:
    with make_sessionmaker(live.web.engine).begin() as s:
        found = seed(s)
        for sid in (found.agent_id, found.lead_id, found.other_id):
            member = s.get(Staff, sid)
            assert member is not None
            member.timezone = "Europe/Berlin"
        return found


def sign_in(new_context: Callable[[], Any], live: LiveServer, path: str, name: str) -> Any:
    page = new_context().new_page()
    page.goto(live.url + path)
    page.wait_for_url("**/login?next=*")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    return page


def test_composer_promises_are_confirmed_and_created_with_the_reply(
    live_server: LiveServer, new_context: Callable[[], Any]
) -> None:
    s = seeded(live_server)
    page = sign_in(new_context, live_server, f"/cases/{s.case_id}", "priya")
    page.wait_for_selector("#reply-composer textarea#reply-body")
    expect(page.locator("#reply-promises")).to_be_hidden()
    page.locator("#reply-body").press_sequentially(PERSONAL + PROMISES, delay=2)
    items = page.locator("#reply-promise-list li.reply-promise")
    expect(items).to_have_count(2, timeout=WAIT_MS)
    expect(page.locator("#reply-promises")).to_be_visible()
    slack, call = items.nth(0), items.nth(1)
    assert slack.locator("select.promise-kind").input_value() == "slack_invite"
    assert slack.locator("input.promise-target").input_value() == "dan@example.org"
    assert slack.locator("input.promise-due").input_value()  # parsed, editable
    expect(slack).to_contain_text("Europe/Berlin")
    assert slack.locator("select.promise-owner").input_value() == str(s.agent_id)
    assert call.locator("select.promise-kind").input_value() == "callback"
    assert call.locator("input.promise-confirm").is_checked()
    call.locator("input.promise-confirm").uncheck()  # not one we mean to track
    slack.locator("input.promise-due").fill("2031-03-03T16:30")

    page.click("#reply-send")
    expect(page.locator("#reply-status")).to_contain_text("1 promise now tracked", timeout=WAIT_MS)
    with make_sessionmaker(live_server.web.engine)() as db:
        [reply] = db.scalars(select(Reply)).all()
        [p] = db.scalars(select(Promise)).all()
        assert p.kind == "slack_invite" and p.reply_id == reply.id
        assert p.owner_id == s.agent_id and p.target == "dan@example.org"
        assert p.due_at.isoformat().startswith("2031-03-03T15:30")  # 16:30 in Berlin
    page.reload()
    promise = page.locator(f"#promise-{p.id}")
    expect(promise).to_contain_text("We'll add you to our Slack channel today.")
    expect(promise).to_contain_text("Europe/Berlin")


def test_mark_fulfilled_shows_the_follow_up_prompt(
    live_server: LiveServer, new_context: Callable[[], Any]
) -> None:
    s = seeded(live_server)
    with make_sessionmaker(live_server.web.engine).begin() as db:
        case, owner = db.get(Case, s.case_id), db.get(Staff, s.agent_id)
        assert case is not None and owner is not None
        pid = promises.create(
            db,
            case=case,
            kind="callback",
            wording="I'll call you back tomorrow morning.",
            due_at=utcnow() - timedelta(hours=1),  # already late
            owner=owner,
            now=utcnow() - timedelta(hours=5),
        ).id
    page = sign_in(new_context, live_server, f"/cases/{s.case_id}", "priya")
    card = page.locator(f"#promise-{pid}")
    expect(card).to_have_class("promise state-open overdue")
    expect(card.locator(".overdue-flag")).to_have_text("OVERDUE")
    card.locator("input[name=evidence]").fill("called Dan at 10:05; invite works")
    card.locator("form.promise-fulfil button").click()
    card = page.locator(f"#promise-{pid}")
    expect(card.locator(".follow-up-prompt")).to_contain_text(
        "check with the customer personally", timeout=WAIT_MS
    )
    expect(card.locator(".evidence")).to_contain_text("called Dan at 10:05")
    expect(card.locator("form.promise-fulfil")).to_have_count(0)
    acted = page.locator(".stages li:has(.stage:text-is('acted'))")
    expect(acted).to_have_class("done")


class Refusing:
    def send(self, outbound: Outbound) -> Delivery:
        raise PermanentError("550 mailbox unavailable")

    def find_sent(self, outbound: Outbound) -> Delivery | None:
        return None


def test_the_live_queue_shows_failed_replies_and_kept_promises(
    live_server: LiveServer, new_context: Callable[[], Any]
) -> None:
    s = seeded(live_server)
    sessions = make_sessionmaker(live_server.web.engine)
    with sessions.begin() as db:
        case, owner = db.get(Case, s.case_id), db.get(Staff, s.agent_id)
        assert case is not None and owner is not None
        pid = promises.create(
            db,
            case=case,
            kind="refund",
            wording="We'll refund you by Friday.",
            due_at=utcnow() + timedelta(days=2),
            owner=owner,
            now=utcnow(),
        ).id
        db.add(
            Reply(
                case_id=s.case_id,
                staff_id=s.agent_id,
                channel="email",
                body="Dan, sorry: refund by Friday.",
                idempotency_key="live-1",
                state="queued",
                attempts=0,
                next_attempt_at=utcnow(),
                recipient="dan@example.org",
                created_at=utcnow(),
            )
        )
    page = sign_in(new_context, live_server, "/", "priya")
    page.wait_for_selector("#live-status.on", timeout=WAIT_MS)
    page.evaluate("window.__sameDocument = 'yes'")
    row = page.locator(f"#queue-rows tr[data-case-id='{s.case_id}']")
    expect(row.locator("td.promises")).to_have_text("1 open")
    expect(row.locator(".reply-failed-badge")).to_have_count(0)

    report = deliver_due(
        sessions, {"email": Refusing()}, now=utcnow(), holder="t", settings=ReplySettings()
    )
    assert len(report.failed) == 1
    badge = page.locator(f"#queue-rows tr[data-case-id='{s.case_id}'] .reply-failed-badge")
    expect(badge).to_have_text("reply failed", timeout=WAIT_MS)
    assert "550 mailbox unavailable" in (badge.get_attribute("title") or "")

    with sessions.begin() as db:
        promise = promises.get(db, pid)
        promises.fulfil(db, promise, evidence={"refund": "R-1"}, now=utcnow(), actor="priya")
    cell = page.locator(f"#queue-rows tr[data-case-id='{s.case_id}'] td.promises")
    expect(cell).to_have_text("—", timeout=WAIT_MS)
    assert page.evaluate("window.__sameDocument") == "yes"  # no reload happened
