"""REST: /api/v1/reports for a period and filters, and each table as CSV (both databases)."""

from __future__ import annotations

import csv
import io

from monitor.db import make_sessionmaker
from tests.reports.fixture import build

Q = {"from": "2026-03-02", "to": "2026-03-04", "tz": "Europe/Berlin"}


def setup(web_app) -> dict[str, str]:
    with make_sessionmaker(web_app.engine).begin() as s:
        build(s)
    token = web_app.add_token(["queue:read"])
    return {"Authorization": f"Bearer {token}"}


def test_reports_as_json_and_csv(web_app, app_client) -> None:
    auth = setup(web_app)
    names = [r["name"] for r in app_client.get("/api/v1/reports", headers=auth).json()]
    assert names == ["volume", "promises", "recovery", "agents", "outcome"]
    got = app_client.get("/api/v1/reports/volume", params=Q, headers=auth)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["period"]["start"].startswith("2026-03-01T23:00:00")
    assert body["period"]["unit"] == "day"
    by_cause = next(t for t in body["tables"] if t["name"] == "by_cause")
    assert by_cause["rows"][0] == {"cause": "Billing", "cases": 2, "previous": 0, "change": 2}
    filtered = app_client.get(
        "/api/v1/reports/volume", params={**Q, "channel": "email"}, headers=auth
    ).json()
    assert filtered["filters"] == {"channel": "email"}
    recurrence = next(t for t in filtered["tables"] if t["name"] == "recurrence")
    assert recurrence["rows"][0]["value"] == 1
    csv_got = app_client.get("/api/v1/reports/promises/by_kind.csv", params=Q, headers=auth)
    assert csv_got.status_code == 200
    assert csv_got.headers["content-type"].startswith("text/csv")
    assert "promises-by_kind-2026-03-02-2026-03-04.csv" in csv_got.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(csv_got.text)))
    assert rows[0][:3] == ["Kind", "Made", "Kept"]
    assert rows[1:] == [
        ["callback", "2", "0", "0", "0", "1", "1", ""],
        ["refund", "2", "1", "1", "0", "0", "0", "4.0"],
        ["fix", "1", "0", "0", "1", "0", "0", ""],
    ]


def test_bad_asks_are_refused(web_app, app_client) -> None:
    auth = setup(web_app)
    assert app_client.get("/api/v1/reports/volume").status_code == 401
    assert app_client.get("/api/v1/reports/nope", headers=auth).status_code == 404
    assert app_client.get("/api/v1/reports/volume/nope.csv", headers=auth).status_code == 404
    bad = app_client.get("/api/v1/reports/volume", params={"tz": "Moon/Base"}, headers=auth)
    assert bad.status_code == 422 and "time zone" in bad.json()["detail"]
    late = app_client.get(
        "/api/v1/reports/volume", params={"from": "2026-03-05", "to": "2026-03-01"}, headers=auth
    )
    assert late.status_code == 422
