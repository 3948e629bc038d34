"""The reports page over HTTP: every report renders its tables with an inline SVG chart
beside each, filters narrow it, and each CSV link returns that table's cells."""

from __future__ import annotations

import csv
import io
import re
from html import unescape

from monitor.db import make_sessionmaker
from monitor.models import Role
from tests.fixtures.web import login
from tests.reports.fixture import build

Q = "from=2026-03-02&to=2026-03-04&tz=Europe/Berlin"


def cells(html: str, table: str) -> list[list[str]]:
    m = re.search(rf'<table class="figures" data-table="{table}">(.*?)</table>', html, re.S)
    assert m, f"no table {table}"
    head = re.findall(r"<th data-key=\"[^\"]*\">(.*?)</th>", m.group(1), re.S)
    body = [
        [unescape(c) for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", m.group(1).split("<tbody>")[1], re.S)
    ]
    return [[unescape(h) for h in head], *body]


def test_every_report_renders_charts_tables_and_matching_csv(web_app, app_client) -> None:
    with make_sessionmaker(web_app.engine).begin() as s:
        build(s)
    web_app.add_staff("lena", Role.LEAD)
    assert login(app_client, "lena").status_code == 303
    for report in ("volume", "promises", "recovery", "agents", "outcome"):
        page = app_client.get(f"/reports?report={report}&{Q}")
        assert page.status_code == 200, page.text
        assert "<svg" in page.text and "http://" not in page.text.replace(
            'xmlns="http://www.w3.org/2000/svg"', ""
        )
        for name in re.findall(r'<table class="figures" data-table="([a-z_]+)"', page.text):
            got = app_client.get(f"/reports/{report}/{name}.csv?{Q}")
            assert got.status_code == 200
            assert list(csv.reader(io.StringIO(got.text))) == cells(page.text, name), name
    # the filter form sends its empty fields too: they mean "all"
    page = app_client.get(f"/reports?report=volume&{Q}&channel=&cause=billing&tag=&agent=&team=")
    assert page.status_code == 200, page.text
    page = page.text
    assert cells(page, "recurrence")[1] == ["Cases opened", "2", ""]
    assert 'option value="billing" selected' in page


def test_reports_need_a_sign_in(web_app, app_client) -> None:
    got = app_client.get("/reports", follow_redirects=False)
    assert got.status_code == 303 and got.headers["location"].startswith("/login")
