"""Bulk actions on the queue in real headless Chromium: tick two rows with "x", keep
them ticked through a live refresh, resolve them in one go, attach one to an incident
and tag both from the resolved filter (select-all), and read it all in the history."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect

from monitor.db import make_sessionmaker, utcnow
from monitor.incidents import service as incidents
from monitor.priority.service import Scorer
from tests.factories.mentions import tweet
from tests.fixtures.web import LiveServer
from tests.flows.test_console_browser import WAIT_MS, ingest, sign_in, wait_live

pytestmark = [pytest.mark.browser, pytest.mark.db]
TICKED = (
    "Array.from(document.querySelectorAll('#queue-rows input.bulk-pick:checked'), b => +b.value)"
)


def test_tick_with_x_resolve_attach_and_tag_in_bulk(
    live_server: LiveServer, new_context: Callable[[], Any], scorer: Scorer
) -> None:
    live_server.web.add_staff("alice")
    with make_sessionmaker(live_server.web.engine).begin() as s:
        incidents.declare(s, title="Login fails", staff=None, now=utcnow())
    ingest(
        live_server,
        scorer,
        tweet(901, "@acme I cannot log in since this morning", username="ana", user_id="91"),
        tweet(902, "@acme login page says error 503", username="ben", user_id="92"),
    )
    page = sign_in(new_context, live_server, "alice")
    expect(page.locator("#queue-rows tr.row")).to_have_count(2, timeout=WAIT_MS)
    wait_live(page)
    page.keyboard.press("?")
    expect(page.locator("#shortcut-help")).to_contain_text("tick or untick the selected case")
    page.keyboard.press("Escape")
    for key in ("j", "x", "j", "x"):
        page.keyboard.press(key)
    expect(page.locator("#bulk-count")).to_have_text("2 cases selected")
    chosen = sorted(page.evaluate(TICKED))
    assert len(chosen) == 2
    # A new complaint arrives: the rows are swapped in live, the ticks stay.
    ingest(live_server, scorer, tweet(903, "@acme where is my parcel", username="cy", user_id="93"))
    expect(page.locator("#queue-rows tr.row")).to_have_count(3, timeout=WAIT_MS)
    assert sorted(page.evaluate(TICKED)) == chosen
    assert page.evaluate("document.getElementById('pick-all').indeterminate") is True

    page.click("#bulk-resolve-button")
    expect(page.locator("#queue-notice")).to_have_text("2 cases resolved")
    expect(page.locator("#queue-rows tr.row")).to_have_count(1)
    assert "where is my parcel" in page.inner_text("#queue-rows")

    page.select_option("#filters select[name=status]", "resolved")  # applies at once
    page.wait_for_url("**/?*status=resolved*")
    expect(page.locator("#queue-rows tr.row")).to_have_count(2)
    page.keyboard.press("j")
    page.keyboard.press("x")
    first = page.evaluate(TICKED)
    page.select_option("#bulk-incident", label="Login fails (investigating)")
    page.click("#bulk-attach-button")
    expect(page.locator("#queue-notice")).to_have_text("1 case attached to Login fails")
    assert "status=resolved" in page.url  # back to the same filtered queue

    page.check("#pick-all")
    expect(page.locator("#bulk-count")).to_have_text("2 cases selected")
    page.fill("#bulk-tags", "login, ios-17")
    page.select_option("#bulk-cause", "account")
    page.click("#bulk-tag-button")
    expect(page.locator("#queue-notice")).to_have_text("2 cases tagged")

    for case_id in chosen:
        page.goto(f"{live_server.url}/cases/{case_id}")
        history = page.locator("section.timeline").text_content() or ""
        assert "stage: resolved" in history and "tags +login +ios-17" in history
        assert "cause: account" in history
        attached = "attached to incident: Login fails" in history
        assert attached == (case_id in first)
