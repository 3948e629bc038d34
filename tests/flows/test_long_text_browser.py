"""Customer text in real headless Chromium: a 1 MB unbroken word does not freeze the
case page, and bidirectional overrides cannot disguise a file name.

A case holding one unbroken 1 MB word never finished loading (over 120 s; the server
answered in 0.4 s): the whole text sat in a `pre-wrap` + `overflow-wrap: anywhere`
box inside the case page's grid. Now long bodies arrive cut, with "Show all".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from monitor.priority.service import Scorer
from tests.factories.mentions import email, tweet
from tests.fixtures.web import LiveServer
from tests.flows.test_console_browser import ingest, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.db]
WORD = "x" * 1_000_000
LOAD_MS = 30_000  # the page loads in about a second; 30 s only bounds a hang


def _open_case(page: Any, live: LiveServer, text: str) -> None:
    page.goto(live.url + "/")
    page.click(f"#queue-rows tr.row:has-text('{text}') td.words a", timeout=LOAD_MS)
    page.wait_for_selector("#case", timeout=LOAD_MS)


def test_a_case_with_a_one_megabyte_word_loads_and_shows_all_on_demand(
    live_server: LiveServer, new_context: Callable[[], Any], scorer: Scorer
) -> None:
    live_server.web.add_staff("alice")
    ingest(live_server, scorer, email("huge@example.org", "Look at this: " + WORD))
    page = sign_in(new_context, live_server, "alice")
    page.set_default_timeout(LOAD_MS)
    page.goto(live_server.url + "/")
    link = page.locator("#queue-rows tr.row td.words a").first
    href = link.get_attribute("href")
    page.goto(live_server.url + href, wait_until="load", timeout=LOAD_MS)
    entry = page.locator(".entry.kind-mention .text").first
    shown = entry.evaluate("e => e.textContent.length")
    assert shown < 10_000  # cut on the server, with a way to the rest
    # The page has a sane height: a full-page screenshot works (with the whole word on
    # the page, about 250,000 px tall, Chromium refused: "Unable to capture screenshot").
    assert page.evaluate("document.documentElement.scrollHeight") < 20_000
    page.screenshot(full_page=True)
    button = entry.locator("button.show-all")
    assert "Show all" in button.inner_text()
    button.click()
    page.wait_for_function(
        "() => !document.querySelector('.entry.kind-mention .text button.show-all')"
    )
    full = entry.evaluate("e => e.innerText.replace(/\\s/g, '').length")
    assert full == len("Lookatthis:" + WORD)
    assert page.evaluate("document.body.scrollWidth <= window.innerWidth + 1")  # wrapped
    assert page.evaluate("document.documentElement.scrollHeight") < 20_000  # in a box
    page.screenshot(full_page=True)


def test_a_right_to_left_override_cannot_disguise_a_file_name(
    live_server: LiveServer, new_context: Callable[[], Any], scorer: Scorer
) -> None:
    """U+202E before "gnp.exe" displays as "exe.png"; the console shows the character
    as a visible marker instead, isolated, so the name reads in stored order."""
    live_server.web.add_staff("alice")
    text = "@acme invoice attached: photo_\u202egnp.exe please check"
    ingest(live_server, scorer, tweet(7001, text, username="mallory\u202e"))
    page = sign_in(new_context, live_server, "alice")
    row = page.locator("#queue-rows tr.row td.words").first
    assert "photo_⟨U+202E⟩gnp.exe" in row.inner_text()
    assert row.locator("bdi").count() >= 1
    page.click("#queue-rows tr.row td.words a")
    page.wait_for_selector("#case")
    entry = page.locator(".entry.kind-mention .text").first
    assert "\u202e" not in entry.inner_text()
    marker = entry.locator(".ctl")
    assert marker.inner_text() == "⟨U+202E⟩" and marker.get_attribute("title") == (
        "U+202E RIGHT-TO-LEFT OVERRIDE"
    )
    # In layout order (left to right on screen), "gnp" comes before "exe": nothing
    # after the marker was reversed.
    order = entry.evaluate(
        """e => {
        const t = e.textContent, r = document.createRange(), n = e.querySelector('bdi');
        const x = (s) => { const w = document.createTreeWalker(n, NodeFilter.SHOW_TEXT);
          let node; while ((node = w.nextNode())) { const i = node.data.indexOf(s);
            if (i >= 0) { r.setStart(node, i); r.setEnd(node, i + s.length);
              return r.getBoundingClientRect().left; } } return null; };
        return [x('gnp'), x('exe')]; }"""
    )
    assert order[0] is not None and order[1] is not None and order[0] < order[1]
    actor = page.locator(".entry.kind-mention .actor").first
    assert "⟨U+202E⟩" in actor.inner_text()
