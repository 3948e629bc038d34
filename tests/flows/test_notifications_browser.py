"""Optional notifications (#17): a browser notification and a sound for a critical
arrival and for an alert addressed to me, switched on in the header (permission asked
only then), remembered across pages, driven by the live stream."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from monitor import events
from monitor.db import make_sessionmaker, utcnow
from monitor.models import Case
from monitor.priority.service import Scorer
from tests.factories.mentions import tweet
from tests.fixtures.web import LiveServer
from tests.flows.test_console_browser import WAIT_MS, ingest, sign_in, wait_live

pytestmark = [pytest.mark.browser, pytest.mark.db]

# Wraps the real Notification to record each one made; records each beep's reason.
RECORD = """
window.__notes = []; window.__sounds = [];
const Real = window.Notification;
function Recorded(title, options) {
  window.__notes.push({ title: title, body: (options || {}).body, tag: (options || {}).tag });
  try { return new Real(title, options); } catch (e) { return {}; }
}
Object.defineProperty(Recorded, "permission", { get: () => Real.permission });
Recorded.requestPermission = (...a) => Real.requestPermission(...a);
window.Notification = Recorded;
document.addEventListener("console-sound", (e) => window.__sounds.push(e.detail.reason));
"""
ANGRY = "@acme THIRD time asking!!! charged twice, refund NOW or I go to my bank. Disgusting."


def notes(page: Any) -> list[dict[str, str]]:
    return list(page.evaluate("window.__notes"))


def test_critical_arrival_and_my_alert_notify_and_beep(
    live_server: LiveServer, new_context: Callable[..., Any], scorer: Scorer
) -> None:
    live_server.web.add_staff("alice")  # alice@acme.test
    context = new_context(permissions=["notifications"])
    context.add_init_script(RECORD)
    page = sign_in(lambda: context, live_server, "alice")
    expect(page.locator("#notify-toggle")).to_have_text("Notifications off")
    page.click("#notify-toggle")
    expect(page.locator("#notify-toggle")).to_have_attribute("aria-pressed", "true")
    page.click("#sound-toggle")
    expect(page.locator("#sound-toggle")).to_have_text("Sound on")
    page.reload()  # remembered
    expect(page.locator("#notify-toggle")).to_have_text("Notifications on")
    wait_live(page)

    ingest(live_server, scorer, tweet(801, "@acme where is my parcel?", username="zoe"))
    ingest(live_server, scorer, tweet(802, ANGRY, user_id="2002", username="max", followers=50_000))
    with make_sessionmaker(live_server.web.engine)() as s:
        rows = s.execute(select(Case.id, Case.band).order_by(Case.id)).all()
    (_, calm_band), (critical, band) = rows
    assert calm_band != "critical" and band == "critical", rows  # one notice, not two
    page.wait_for_function("() => window.__notes.length >= 1", timeout=WAIT_MS)
    assert notes(page)[0]["title"] == f"Critical: case #{critical}"
    assert "THIRD" not in notes(page)[0]["body"]  # never the customer's words
    page.wait_for_function("() => window.__sounds.includes('critical')", timeout=WAIT_MS)

    with make_sessionmaker(live_server.web.engine).begin() as s:
        for target in ("bob@acme.test", "Alice@acme.test"):  # someone else's, then mine
            events.append(s, "alert.sent", now=utcnow(), case_id=critical,
                          payload={"kind": "promise_overdue", "channel": "email",
                                   "target": target})  # fmt: skip
    page.wait_for_function("() => window.__notes.length >= 2", timeout=WAIT_MS)
    page.wait_for_function("() => window.__sounds.includes('alert')", timeout=WAIT_MS)
    titles = [n["title"] for n in notes(page)]
    assert titles == [f"Critical: case #{critical}", "Alert for you: promise overdue"]
