"""REST: the causes taxonomy, a case's cause (suggested, confirmed) and bulk tags."""

from __future__ import annotations

from monitor.db import make_sessionmaker
from monitor.models import Role
from tests.factories.cases import make_case
from tests.reports.test_service import add_text


def setup(web_app, scopes):
    web_app.add_staff("omar", Role.AGENT)
    token = web_app.add_token(scopes, staff="omar")
    with make_sessionmaker(web_app.engine).begin() as s:
        a = make_case(s)
        add_text(s, a, "The app crashes on start, error 42")
        b = make_case(s)
        ids = a.id, b.id
    return ids, {"Authorization": f"Bearer {token}"}


def test_cause_suggested_then_confirmed_then_bulk_tagged(web_app, app_client) -> None:
    (a, b), auth = setup(web_app, ["queue:read", "cases:write"])
    causes = app_client.get("/api/v1/causes", headers=auth).json()
    assert [c["name"] for c in causes][:2] == ["billing", "delivery"]
    got = app_client.get(f"/api/v1/cases/{a}/cause", headers=auth).json()
    assert got["cause"] is None and got["confirmed"] is False
    assert got["suggestion"]["cause"] == "app_crash"
    assert got["suggestion"]["matched"] == ["crashes", "error", "app"]
    bad = app_client.put(f"/api/v1/cases/{a}/cause", json={"cause": "weather"}, headers=auth)
    assert bad.status_code == 422 and "use one of" in bad.json()["detail"]
    put = app_client.put(f"/api/v1/cases/{a}/cause", json={"cause": "app_crash"}, headers=auth)
    assert put.status_code == 200, put.text
    assert put.json()["confirmed"] is True and put.json()["label"] == "App crash"
    tagged = app_client.post(
        "/api/v1/cases/tags",
        json={"case_ids": [a, b], "add": ["ios-17"], "cause": "billing"},
        headers=auth,
    )
    assert tagged.status_code == 200 and tagged.json() == {"changed": 2}
    got_b = app_client.get(f"/api/v1/cases/{b}/cause", headers=auth).json()
    assert got_b["tags"] == ["ios-17"] and got_b["cause"] == "billing"
    missing = app_client.post(
        "/api/v1/cases/tags", json={"case_ids": [a, 10**9], "add": ["zzz"]}, headers=auth
    )
    assert missing.status_code == 404, missing.text  # as bulk resolve and assign answer
    assert missing.json()["detail"] == f"no case with id {10**9}"
    # all or nothing: the existing case did not get the tag
    assert app_client.get(f"/api/v1/cases/{a}/cause", headers=auth).json()["tags"] == ["ios-17"]
    assert app_client.get("/api/v1/cases/999999/cause", headers=auth).status_code == 404


def test_reading_needs_queue_read_and_writing_cases_write(web_app, app_client) -> None:
    (a, _), auth = setup(web_app, ["queue:read"])
    assert app_client.get(f"/api/v1/cases/{a}/cause").status_code == 401
    assert app_client.get(f"/api/v1/cases/{a}/cause", headers=auth).status_code == 200
    put = app_client.put(f"/api/v1/cases/{a}/cause", json={"cause": "billing"}, headers=auth)
    assert put.status_code == 403


def test_survey_link_over_the_api(web_app, app_client) -> None:
    (a, _), auth = setup(web_app, ["queue:read", "cases:write"])
    made = app_client.post(f"/api/v1/cases/{a}/survey", headers=auth)
    assert made.status_code == 201, made.text
    url = made.json()["url"]
    assert url.startswith("http://testserver/survey/")
    assert app_client.get(url.removeprefix("http://testserver")).status_code == 200
    assert app_client.post("/api/v1/cases/999999/survey", headers=auth).status_code == 404
