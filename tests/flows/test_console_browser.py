"""The console in real headless Chromium against the app under uvicorn.

Screenshots of every open page land in artifacts/ when a test fails.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from monitor.db import make_sessionmaker, utcnow
from monitor.ingest.service import IngestOptions, ingest_batch
from monitor.mentions import MentionIn
from monitor.models import Role
from monitor.priority.service import Scorer
from monitor.sources.base import Batch
from monitor.sources.email.mime import to_mention
from tests.factories.mentions import tweet
from tests.fixtures.web import PASSWORD, LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.db]
WAIT_MS = 5000


def ingest(live: LiveServer, scorer: Scorer, *mentions: MentionIn) -> None:
    """Through the real ingest path, committed, as a poller would."""
    with make_sessionmaker(live.web.engine).begin() as s:
        batch = Batch(mentions=list(mentions), next_cursor={"n": len(mentions)})
        ingest_batch(
            s, batch, source="browser-test", now=utcnow(), scorer=scorer, options=IngestOptions()
        )


def sign_in(new_context: Callable[[], Any], live: LiveServer, name: str) -> Any:
    page = new_context().new_page()
    page.goto(live.url + "/")
    page.wait_for_url("**/login?next=*")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("table#queue")
    return page


def wait_live(page: Any) -> None:
    page.wait_for_selector("#live-status.on", timeout=WAIT_MS)


def test_sign_in_then_new_mention_appears_without_reload(
    live_server: LiveServer, new_context: Callable[[], Any], scorer: Scorer
) -> None:
    live_server.web.add_staff("alice")
    page = sign_in(new_context, live_server, "alice")
    assert page.url == live_server.url + "/"
    wait_live(page)
    page.evaluate("window.__sameDocument = 'yes'")
    ingest(
        live_server,
        scorer,
        tweet(501, "@acme my parcel is lost and nobody answers", username="zoe"),
    )
    row = page.wait_for_selector("tr.row:has-text('my parcel is lost')", timeout=WAIT_MS)
    assert row is not None
    assert page.evaluate("window.__sameDocument") == "yes"  # no reload happened
    # A second, angrier customer arrives and the queue re-orders live.
    ingest(
        live_server,
        scorer,
        tweet(
            502,
            "@acme THIRD time asking!!! charged twice, refund NOW or I go to my bank. Disgusting.",
            user_id="2002",
            username="max",
            followers=50_000,
        ),
    )
    expect(page.locator("#queue-rows tr.row")).to_have_count(2, timeout=WAIT_MS)
    first = page.inner_text("#queue-rows tr.row:first-child td.words")
    assert "THIRD time" in first
    assert page.evaluate("window.__sameDocument") == "yes"


def test_claim_in_one_context_refused_in_another(
    live_server: LiveServer, new_context: Callable[[], Any], scorer: Scorer
) -> None:
    live_server.web.add_staff("alice")
    live_server.web.add_staff("bob")
    ingest(live_server, scorer, tweet(601, "@acme the app deletes my notes", username="nia"))
    alice = sign_in(new_context, live_server, "alice")
    bob = sign_in(new_context, live_server, "bob")
    wait_live(bob)
    alice.click("td.words a")
    alice.wait_for_selector("text=Nobody is replying")  # reading takes no lock
    alice.click("#claim-button")
    alice.wait_for_selector("text=You hold this case")
    # Bob's queue shows the claim live, without a reload.
    bob.wait_for_selector("#queue-rows td.claim:has-text('alice')", timeout=WAIT_MS)
    bob.click("td.words a")
    bob.wait_for_selector("text=Claimed by")
    assert "alice" in bob.inner_text("#claim-bar")
    # the claim's answer, not the page's presence heartbeat (also a POST, every 5 s)
    claimed = re.compile(r"/cases/\d+/claim$")
    with bob.expect_response(
        lambda r: r.request.method == "POST" and claimed.search(r.url) is not None
    ) as response:
        bob.click("#claim-button")
    assert response.value.status == 409
    bob.wait_for_selector("#case-error")
    assert "Refused: alice holds this case" in bob.inner_text("#case-error")
    alice.reload()
    assert "You hold this case" in alice.content()


def test_lead_can_take_over(
    live_server: LiveServer, new_context: Callable[[], Any], scorer: Scorer
) -> None:
    live_server.web.add_staff("alice")
    live_server.web.add_staff("lena", Role.LEAD)
    ingest(live_server, scorer, tweet(651, "@acme still broken", username="ola"))
    alice = sign_in(new_context, live_server, "alice")
    alice.click("td.words a")
    alice.click("#claim-button")
    alice.wait_for_selector("text=You hold this case")
    lena = sign_in(new_context, live_server, "lena")
    lena.click("td.words a")
    lena.click("#take-over-button")
    lena.wait_for_selector("text=You hold this case")


def test_expand_score_reasons(
    live_server: LiveServer, new_context: Callable[[], Any], scorer: Scorer
) -> None:
    live_server.web.add_staff("alice")
    ingest(
        live_server, scorer, tweet(701, "@acme worst service ever, waited 3 weeks for a refund!!")
    )
    page = sign_in(new_context, live_server, "alice")
    reasons = page.locator("#queue-rows tr.row").first.locator("details.reasons")
    assert not reasons.locator("ul").is_visible()
    reasons.locator("summary").click()
    assert reasons.locator("ul li").first.is_visible()
    assert reasons.locator("ul li").count() >= 1


XSS_EMAIL = b"""\
Message-ID: <xss-1@mailer.example.net>
Date: Wed, 05 Jun 2024 18:02:11 +0000
From: "Mallory" <mallory@example.net>
To: support@shop.example
Subject: <img src=x onerror="window.__pwned='subject'"> refund
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<html><head><script>window.__pwned = 'head script'; alert('head');</script></head>
<body onload="window.__pwned='onload'">
<p>Hello &lt;script&gt;window.__pwned='escaped script';alert(1)&lt;/script&gt;</p>
<img src="x" onerror="window.__pwned='img'; alert(2)">
<a href="javascript:window.__pwned='link'">click</a>
<script>window.__pwned = 'body script'; alert(3);</script>
<p>order #A-99999</p>
</body></html>
"""


def test_user_supplied_script_never_runs(
    live_server: LiveServer, new_context: Callable[[], Any], scorer: Scorer
) -> None:
    live_server.web.add_staff("alice")
    page = sign_in(new_context, live_server, "alice")
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    wait_live(page)
    payload = (
        "@acme <script>window.__pwned='tweet';alert('x')</script>"
        "<img src=x onerror=\"window.__pwned='tweet img';alert('y')\"> fix it"
    )
    email = to_mention(XSS_EMAIL, folder="INBOX", uid=1, now=utcnow())
    ingest(live_server, scorer, tweet(801, payload, username="mallory_x"), email)
    # Arrives through the live fragment path (DOMParser), then through a full page load.
    expect(page.locator("#queue-rows tr.row")).to_have_count(2, timeout=WAIT_MS)
    assert "<script>window.__pwned='tweet'" in page.inner_text("#queue-rows")
    page.reload()
    for link in page.locator("td.words a").all():
        href = link.get_attribute("href")
        case = page.context.new_page()
        case.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        case.goto(live_server.url + href)
        case.wait_for_selector("#case")
        text = case.inner_text("ol.entries")
        assert "__pwned" in text  # shown, as text
        assert case.evaluate("typeof window.__pwned") == "undefined"
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert dialogs == []


def test_typing_shows_is_replying_to_a_colleague_within_a_second_and_who_is_viewing(
    live_server: LiveServer, new_context: Callable[[], Any], scorer: Scorer
) -> None:
    live_server.web.add_staff("maria")
    live_server.web.add_staff("bob")
    ingest(live_server, scorer, tweet(701, "@acme my order is lost", username="kim"))
    maria = sign_in(new_context, live_server, "maria")
    bob = sign_in(new_context, live_server, "bob")
    maria.click("td.words a")
    bob.click("td.words a")
    wait_live(bob)
    bob.wait_for_selector("text=Nobody is replying")
    # who else has it open: each page's heartbeat (every 5 s) renews its presence row,
    # so within two beats on a loaded machine
    bob.wait_for_selector("#viewers .viewer:has-text('maria')", timeout=12_000)
    maria.wait_for_selector("#viewers .viewer:has-text('bob')", timeout=12_000)
    maria.fill("#reply-body", "Kim, I am so sorry")  # the first keystrokes take the lock
    bob.wait_for_selector("#claim-bar .replying:has-text('maria is replying')", timeout=1000)
    expect(bob.locator("#reply-body")).to_be_disabled(timeout=1000)
    expect(bob.locator("#reply-send")).to_be_disabled()
    assert "cannot send now" in bob.inner_text("#reply-status")
    bob.goto(live_server.url + "/")  # leaving the page says so at once
    maria.wait_for_selector("#viewers .alone", timeout=12_000)
    assert "bob" not in maria.inner_text("#viewers")


def test_assign_cases_from_the_queue(
    live_server: LiveServer, new_context: Callable[[], Any], scorer: Scorer
) -> None:
    live_server.web.add_staff("alice")
    live_server.web.add_staff("bob")
    ingest(
        live_server,
        scorer,
        tweet(801, "@acme the app crashes", username="lee", user_id="81"),
        tweet(802, "@acme billing is wrong", username="max", user_id="82"),
    )
    alice = sign_in(new_context, live_server, "alice")
    expect(alice.locator("#queue-rows tr.row")).to_have_count(2, timeout=WAIT_MS)
    alice.check("#queue-rows tr.row:nth-child(1) input[name=case_ids]")
    alice.check("#queue-rows tr.row:nth-child(2) input[name=case_ids]")
    alice.select_option("#bulk-assignee", label="bob")
    alice.fill("#bulk-note", "bob is on billing this week")
    alice.click("#bulk-assign-button")
    expect(alice.locator("#queue-rows td.owner .assignee:has-text('bob')")).to_have_count(2)
    bob = sign_in(new_context, live_server, "bob")
    bob.select_option("select[name=claimed]", "mine")
    bob.click("#filters button[type=submit]")
    expect(bob.locator("#queue-rows tr.row.owned")).to_have_count(2, timeout=WAIT_MS)
