"""The reports page in headless Chromium with every off-host request refused: the SVG
charts render (nothing loaded from elsewhere, no console errors), the filters narrow
the figures and carry over between reports, and each downloaded CSV holds exactly the
cells of the table beside its chart."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from monitor.db import make_sessionmaker
from monitor.models import Role
from tests.fixtures.web import PASSWORD, LiveServer
from tests.flows.test_docs_browser import offline_page
from tests.reports.fixture import build

pytestmark = [pytest.mark.browser, pytest.mark.db]
Q = "from=2026-03-02&to=2026-03-04&tz=Europe/Berlin"


def table_cells(page: Any, name: str) -> list[list[str]]:
    table = page.locator(f'table.figures[data-table="{name}"]')
    head = [t.strip() for t in table.locator("thead th").all_inner_texts()]
    rows = [
        [c.strip() for c in r.locator("td").all_inner_texts()]
        for r in table.locator("tbody tr").all()
    ]
    return [head, *rows]


def downloaded(page: Any, name: str) -> list[list[str]]:
    with page.expect_download() as info:
        page.locator(f"#table-{name} a.csv").click()
    text = Path(info.value.path()).read_text(encoding="utf-8")
    return list(csv.reader(io.StringIO(text)))


def test_reports_page_offline_filters_and_csv(
    live_server: LiveServer, new_context: Callable[[], Any]
) -> None:
    with make_sessionmaker(live_server.web.engine).begin() as s:
        build(s)
    live_server.web.add_staff("lena", Role.LEAD)
    page, problems = offline_page(new_context, live_server)
    page.goto(f"{live_server.url}/reports?report=volume&{Q}")
    page.wait_for_url("**/login?next=*")
    page.fill("input[name=username]", "lena")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/reports\?report=volume"))
    charts = page.locator("svg.chart")
    expect(charts.first).to_be_visible()
    assert charts.count() == 3  # over time, by cause, rising (recurrence is a table only)
    box = charts.first.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 100
    assert page.locator("svg.chart-line polyline").count() == 2  # billing, delivery
    assert table_cells(page, "recurrence")[1] == ["Cases opened", "3", ""]
    for name in ("over_time", "by_cause", "recurrence"):
        assert downloaded(page, name) == table_cells(page, name), name

    page.select_option("select[name=cause]", "billing")
    page.click("#report-filters button[type=submit]")
    page.wait_for_url("**cause=billing**")
    assert table_cells(page, "recurrence")[1] == ["Cases opened", "2", ""]
    page.click('a[data-report="promises"]')
    page.wait_for_url("**report=promises**")
    assert "cause=billing" in page.url
    expect(page.locator("svg.chart-stacked").first).to_be_visible()
    assert table_cells(page, "by_kind")[1:] == [
        ["refund", "2", "1", "1", "0", "0", "0", "4.0"],
        ["callback", "1", "0", "0", "0", "1", "0", ""],
        ["fix", "1", "0", "0", "1", "0", "0", ""],
    ]
    assert downloaded(page, "by_kind") == table_cells(page, "by_kind")
    assert problems == []
