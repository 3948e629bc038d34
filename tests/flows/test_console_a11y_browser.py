"""The console in headless Chromium as a support team uses it all day: every page passes
axe-core (WCAG 2.2 A/AA rules) with no serious or critical violation, in the light and the
dark theme; at 390 px nothing scrolls sideways; search from the header box; keyboard
shortcuts (j/k, Enter, /, ?); filters apply on change and an empty filtered queue offers
"clear filters". Screenshots of the queue, case, promises and admin pages go to
``COMPLAINT_MONITOR_SCREENS`` when it is set.

axe-core comes from npm, test-only: ``npm ci --prefix tests/a11y`` (.ci/run does it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from monitor.db import make_sessionmaker, utcnow
from monitor.incidents import service as incidents
from monitor.models import Alert, Case, Promise, PromiseState, Role
from tests.factories.replies import seed
from tests.factories.staff import make_staff
from tests.fixtures.web import PASSWORD, LiveServer
from tests.support import missing_service

pytestmark = [pytest.mark.browser, pytest.mark.db]
AXE = Path(__file__).resolve().parents[1] / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
WAIT_MS = 8000
OFFENDERS = """Array.from(document.querySelectorAll('body *'))
  .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .slice(-5).map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' +
    Math.round(e.getBoundingClientRect().right))"""
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.exists():
        missing_service("axe-core is not installed: npm ci --prefix tests/a11y")
    return AXE.read_text(encoding="utf-8")


def seeded(live: LiveServer) -> dict[str, int]:
    now = utcnow()
    with make_sessionmaker(live.web.engine).begin() as s:
        found = seed(s)
        case = s.get(Case, found.case_id)
        assert case is not None
        admin = make_staff(s, "ada", role=Role.ADMIN)
        incidents.declare(s, title="Slack invites fail", staff=admin, now=now)  # the toolbar's
        promise = Promise(
            case_id=found.case_id,
            customer_id=case.customer_id,
            kind="slack_invite",
            wording="We'll add you to our Slack channel today.",
            owner_id=found.agent_id,
            due_at=now - timedelta(hours=3),
            state=PromiseState.OVERDUE,
            created_at=now - timedelta(days=1),
            updated_at=now,
        )
        s.add(promise)
        s.flush()
        s.add(
            Alert(
                promise_id=promise.id,
                case_id=found.case_id,
                kind="promise.overdue",
                channel="email",
                target="priya@example.org",
                dedupe_key="a11y-1",
                state="failed",
                error="mailbox unavailable",
                created_at=now,
            )
        )
        return {"case": found.case_id, "customer": case.customer_id, "admin": admin.id}


@pytest.fixture
def contexts(browser: Any) -> Iterator[Any]:
    made: list[Any] = []

    def make(**options: Any) -> Any:
        ctx = browser.new_context(**options)
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.close()


def signed_in(make: Any, live: LiveServer, name: str, **options: Any) -> Any:
    page = make(**options).new_page()
    page.goto(live.url + "/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live.url + "/")
    return page


def pages(ids: dict[str, int]) -> list[str]:
    return [
        "/",
        f"/cases/{ids['case']}",
        "/promises",
        "/alerts",
        "/search?q=Slack",
        f"/customers/{ids['customer']}",
        "/admin/staff",
        "/admin/webhooks",
        "/settings",
    ]


def serious(page: Any, axe: str) -> list[str]:
    page.add_script_tag(content=axe)
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", RULES
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def screens() -> Path | None:
    where = os.environ.get("COMPLAINT_MONITOR_SCREENS")
    if not where:
        return None
    path = Path(where)
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_passes_axe(
    live_server: LiveServer, contexts: Any, axe_source: str, scheme: str
) -> None:
    ids = seeded(live_server)
    # bypass_csp: only so that axe itself can be injected (the console allows no inline script)
    page = signed_in(contexts, live_server, "ada", color_scheme=scheme, bypass_csp=True)
    found: dict[str, list[str]] = {}
    for path in pages(ids):
        page.goto(live_server.url + path)
        problems = serious(page, axe_source)
        if problems:
            found[path] = problems
    login = contexts(color_scheme=scheme, bypass_csp=True).new_page()
    login.goto(live_server.url + "/login")
    if problems := serious(login, axe_source):
        found["/login"] = problems
    assert found == {}


def test_phones_390px_and_screenshots(live_server: LiveServer, contexts: Any) -> None:
    ids = seeded(live_server)
    out = screens()
    for scheme, width in (("light", 390), ("dark", 390), ("light", 1280)):
        page = signed_in(
            contexts,
            live_server,
            "ada",
            viewport={"width": width, "height": 844},
            color_scheme=scheme,
        )
        for path in pages(ids):
            page.goto(live_server.url + path)
            wide = page.evaluate("document.documentElement.scrollWidth")
            assert wide <= width, (
                f"{path} is {wide} px wide at {width} px ({scheme}): {page.evaluate(OFFENDERS)}"
            )
            if path in ("/", f"/cases/{ids['case']}", "/promises", "/admin/staff") and out:
                name = path.strip("/").split("?")[0].replace("/", "-") or "queue"
                name = "case" if name.startswith("cases") else name
                page.screenshot(path=str(out / f"{name}-{width}-{scheme}.png"), full_page=True)
        if width == 390:
            page.goto(live_server.url + f"/cases/{ids['case']}")
            box = page.locator("section.timeline").bounding_box()
            assert box is not None and box["width"] > 300  # the history gets the width
    dark = signed_in(contexts, live_server, "ada", color_scheme="dark")
    background = dark.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(22, 26, 34)"


def test_search_shortcuts_and_filters(live_server: LiveServer, contexts: Any) -> None:
    ids = seeded(live_server)
    page = signed_in(contexts, live_server, "priya")
    page.keyboard.press("/")
    expect(page.locator("#top-search-q")).to_be_focused()
    page.keyboard.type("4411")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=4411")
    expect(page.locator("#search-summary")).to_contain_text("found for")
    page.locator("#search-mentions .search-hit a").first.click()
    page.wait_for_url(f"**/cases/{ids['case']}#mention-*")

    page.goto(live_server.url + "/")
    page.keyboard.press("?")
    expect(page.locator("#shortcut-help")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#shortcut-help")).to_be_hidden()
    page.keyboard.press("j")
    expect(page.locator("#queue-rows tr.selected")).to_have_count(1)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/cases/{ids['case']}")
    page.keyboard.press("r")
    expect(page.locator("#reply-body")).to_be_focused()

    page.goto(live_server.url + "/")
    page.select_option("#filters select[name=channel]", "email")  # applies at once
    page.wait_for_url("**/?*channel=email*")
    expect(page.locator("#clear-filters")).to_be_visible()
    page.click("#clear-filters")
    page.wait_for_url(live_server.url + "/")
    expect(page.locator("#queue-rows tr[data-case-id]")).to_have_count(1)
    expect(page.locator("#live-status .live-label")).to_have_text("live", timeout=WAIT_MS)
