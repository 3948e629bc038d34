"""The composer in headless Chromium: write, see a pasted boilerplate sentence flagged,
send, see it delivered (the outbox worker runs here, against the fake X API)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from monitor.config import ReplySettings
from monitor.db import make_sessionmaker, utcnow
from monitor.replies.scheduled import deliver_due
from tests.factories.replies import seed
from tests.fakes.x_api import XApiState
from tests.fixtures.web import PASSWORD, LiveServer
from tests.replies.test_scheduled import x_responder

pytestmark = [pytest.mark.browser, pytest.mark.db]
WAIT_MS = 8000
PERSONAL = "Dan, you're right, the Slack invite for order 4411 never went out. I'm sorry. "
PASTED = "We apologise for any inconvenience."


def test_write_flag_send_delivered(
    live_server: LiveServer, new_context: Callable[[], Any], x_api: XApiState
) -> None:
    sessions = make_sessionmaker(live_server.web.engine)
    dan = x_api.add_user("devdan", name="Dan Devlin")
    tweet = x_api.mention(dan, "@brand second time asking about my Slack invite, order 4411")
    with sessions.begin() as s:
        seeded = seed(s, x_user_id=dan, tweet_id=tweet)
    page = new_context().new_page()
    page.goto(live_server.url + f"/cases/{seeded.case_id}")
    page.wait_for_url("**/login?next=*")
    page.fill("input[name=username]", "priya")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#reply-composer textarea#reply-body")
    # The composer shows who, their words, the facts, the checklist; no canned replies.
    side = page.locator(".composer-side")
    expect(side).to_contain_text("@devdan")
    expect(side).to_contain_text("4411")
    expect(side).to_contain_text("Apologise sincerely")
    assert page.locator("#reply-composer select#reply-channel").input_value() == "x"

    page.locator("#reply-body").press_sequentially(PERSONAL + "I've sent it now.", delay=2)
    expect(page.locator("#reply-personal")).to_contain_text("personal 100/100", timeout=WAIT_MS)
    expect(page.locator("#reply-x-count")).to_contain_text("/280")
    page.locator("#reply-body").press("End")
    page.locator("#reply-body").type(" " + PASTED)  # pasted boilerplate
    flagged = page.locator("#reply-preview mark[data-kind=boilerplate]")
    expect(flagged).to_have_text("We apologise for any inconvenience", timeout=WAIT_MS)
    expect(page.locator("#reply-reasons")).to_contain_text("boilerplate")

    page.click("#reply-send")
    expect(page.locator("#reply-status")).to_contain_text("Queued", timeout=WAIT_MS)
    report = deliver_due(
        sessions,
        {"x": x_responder(x_api)},
        now=utcnow(),
        holder="browser-test",
        settings=ReplySettings(),
    )
    assert len(report.sent) == 1
    expect(page.locator("#reply-status")).to_contain_text("Delivered", timeout=WAIT_MS)
    [posted] = x_api.posted_tweets
    assert posted["text"].startswith("Dan, you're right") and PASTED in posted["text"]
    assert posted["request"]["reply"]["in_reply_to_tweet_id"] == tweet


def test_the_composer_warns_when_an_x_reply_contains_a_link(
    live_server: LiveServer, new_context: Callable[[], Any], x_api: XApiState
) -> None:
    sessions = make_sessionmaker(live_server.web.engine)
    dan = x_api.add_user("devdan", name="Dan Devlin")
    tweet = x_api.mention(dan, "@brand where is order 4411")
    with sessions.begin() as s:
        seeded = seed(s, x_user_id=dan, tweet_id=tweet)
    page = new_context().new_page()
    page.goto(live_server.url + f"/cases/{seeded.case_id}")
    page.wait_for_url("**/login?next=*")
    page.fill("input[name=username]", "priya")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#reply-composer textarea#reply-body")
    page.locator("#reply-body").press_sequentially(
        "Dan, order 4411 ships today: track it at https://shop.example/t/4411", delay=2
    )
    link = page.locator("#reply-preview mark[data-kind=costly_url]")
    expect(link).to_have_text("https://shop.example/t/4411", timeout=WAIT_MS)
    expect(page.locator("#reply-notes")).to_contain_text("a link makes this post cost more")
    expect(page.locator("#reply-x-count")).to_have_class("x-count costly")


FORM_LETTER = (
    "Thank you for reaching out. We apologise for any inconvenience caused. "
    "Your satisfaction is our priority and we value your feedback."
)


def test_a_blocked_send_error_goes_once_the_draft_is_personal(
    live_server: LiveServer, new_context: Callable[[], Any], x_api: XApiState
) -> None:
    sessions = make_sessionmaker(live_server.web.engine)
    dan = x_api.add_user("devdan", name="Dan Devlin")
    tweet = x_api.mention(dan, "@brand second time asking about my Slack invite, order 4411")
    with sessions.begin() as s:
        seeded = seed(s, x_user_id=dan, tweet_id=tweet)
    page = new_context().new_page()
    page.goto(live_server.url + f"/cases/{seeded.case_id}")
    page.fill("input[name=username]", "priya")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    body = page.locator("#reply-body")
    body.fill(FORM_LETTER)
    expect(page.locator("#reply-personal")).to_contain_text("template", timeout=WAIT_MS)
    page.click("#reply-send")
    status = page.locator("#reply-status")
    expect(status).to_have_class("reply-status failed", timeout=WAIT_MS)
    blocked = status.text_content() or ""
    assert blocked.strip()
    body.fill(PERSONAL + "I've sent it now.")
    expect(page.locator("#reply-personal")).to_contain_text("personal 100/100", timeout=WAIT_MS)
    expect(status).not_to_have_class("reply-status failed")
    expect(status).to_have_text("")
    assert x_api.posted_tweets == []
