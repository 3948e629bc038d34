"""Times in the viewer's zone (#17): the browser's zone for staff who chose none, their
own setting once they choose one on /settings, with relative forms beside."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from monitor.db import make_sessionmaker
from monitor.models import Case, Staff
from monitor.priority.service import Scorer
from tests.factories.mentions import tweet
from tests.fixtures.web import PASSWORD, LiveServer
from tests.flows.test_console_browser import ingest

pytestmark = [pytest.mark.browser, pytest.mark.db]
AT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def test_times_follow_the_browser_zone_until_the_staff_member_picks_one(
    live_server: LiveServer, new_context: Callable[..., Any], scorer: Scorer
) -> None:
    live_server.web.add_staff("kei")
    with make_sessionmaker(live_server.web.engine).begin() as s:
        s.scalars(select(Staff).where(Staff.name == "kei")).one().timezone = None  # never chose
    ingest(live_server, scorer, tweet(701, "@acme my order never arrived", username="zoe", at=AT))
    with make_sessionmaker(live_server.web.engine)() as s:
        case_id = s.scalars(select(Case.id)).one()
    page = new_context(timezone_id="Asia/Tokyo").new_page()
    page.goto(live_server.url + "/login")
    page.fill("input[name=username]", "kei")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("table#queue")
    expect(page.locator("#zone-link")).to_have_text("Asia/Tokyo")  # from the browser

    page.goto(f"{live_server.url}/cases/{case_id}")
    meta = page.locator("li.entry.kind-mention .meta").first
    expect(meta.locator("time")).to_have_text("2026-11-02 18:30 JST")  # 09:30 UTC
    assert "ago" in meta.locator("small.relative").inner_text()

    page.click("#zone-link")
    page.wait_for_url("**/settings")
    expect(page.locator("#current-zone")).to_have_text("Asia/Tokyo")
    page.select_option("#zone-choice", "America/New_York")
    page.click("#settings-zone button[type=submit]")
    expect(page.locator("#settings-notice")).to_be_visible()
    with make_sessionmaker(live_server.web.engine)() as s:
        kei = s.scalars(select(Staff).where(Staff.name == "kei")).one()
        assert kei.timezone == "America/New_York"
    page.goto(f"{live_server.url}/cases/{case_id}")
    expect(meta.locator("time")).to_have_text("2026-11-02 04:30 EST")  # the setting wins
    # Back to "follow my browser".
    page.goto(f"{live_server.url}/settings")
    page.select_option("#zone-choice", "")
    page.click("#settings-zone button[type=submit]")
    expect(page.locator("#current-zone")).to_have_text("Asia/Tokyo")
