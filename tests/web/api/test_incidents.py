"""REST: /api/v1/incidents, with scopes."""

from __future__ import annotations

from typing import Any

from monitor.db import make_sessionmaker
from monitor.models import Role
from tests.factories.cases import make_case
from tests.fixtures.web import WebApp


def setup(web_app: WebApp) -> tuple[list[int], dict[str, str], dict[str, str]]:
    web_app.add_staff("lena", Role.LEAD)
    writer = web_app.add_token(["queue:read", "cases:write"], staff="lena")
    reader = web_app.add_token(["queue:read"], staff="lena")
    with make_sessionmaker(web_app.engine).begin() as s:
        ids = [make_case(s, customer=n, channel=ch).id for n, ch in
               (("Ana", "x"), ("Ben", "email"), ("Chloe", "x"))]  # fmt: skip
    return ids, {"Authorization": f"Bearer {writer}"}, {"Authorization": f"Bearer {reader}"}


def test_declare_attach_view_and_change_status_over_the_api(
    web_app: WebApp, app_client: Any
) -> None:
    ids, w, r = setup(web_app)
    body = {
        "title": "Login crash (E503)",
        "status_text": "Logins fail on the mobile app.",
        "workaround": "Log in on the website meanwhile.",
        "terms": ["E503"],
        "asks": ["error_code", "app_version"],
    }
    assert app_client.post("/api/v1/incidents", json=body, headers=r).status_code == 403
    made = app_client.post("/api/v1/incidents", json=body, headers=w)
    assert made.status_code == 201, made.text
    inc = made.json()
    assert inc["paragraph"] == "Logins fail on the mobile app.\nLog in on the website meanwhile."
    url = f"/api/v1/incidents/{inc['id']}"
    att = app_client.post(f"{url}/cases", json={"case_ids": ids, "how": "bulk"}, headers=w)
    assert att.json() == {"attached": ids}
    view = app_client.get(url, headers=r).json()
    assert view["affected"] == 3 and view["by_channel"] == {"x": 2, "email": 1}
    assert view["never_heard"] == 3 and view["replies_pending"] == 0
    assert {c["seconds_since_heard"] for c in view["cases"]} == {None}
    changed = app_client.patch(url, json={"state": "identified"}, headers=w).json()
    assert changed["status_changed"] and changed["tasks"] == 3
    view = app_client.get(url, headers=r).json()
    assert view["open_tasks"] == 3 and {c["task"] for c in view["cases"]} == {"incident_update"}
    assert app_client.patch(url, json={"state": "fixed"}, headers=w).status_code == 422
    assert app_client.delete(f"{url}/cases/{ids[0]}", headers=w).status_code == 204
    assert app_client.delete(f"{url}/cases/{ids[0]}", headers=w).status_code == 404
    assert app_client.get("/api/v1/incidents/999999", headers=r).status_code == 404
    listed = app_client.get("/api/v1/incidents?open_only=true", headers=r).json()
    assert [i["id"] for i in listed] == [inc["id"]]
    assert app_client.get(f"{url}/suggestions", headers=r).status_code == 200
    sugg = app_client.get(f"/api/v1/cases/{ids[0]}/incident-suggestions", headers=r)
    assert sugg.status_code == 200


def test_attaching_a_case_id_beyond_64_bits_is_not_found(web_app: WebApp, app_client: Any) -> None:
    ids, w, _r = setup(web_app)
    body = {"title": "Outage", "status_text": "Down.", "workaround": "", "terms": []}
    made = app_client.post("/api/v1/incidents", json=body, headers=w).json()
    url = f"/api/v1/incidents/{made['id']}"
    got = app_client.post(f"{url}/cases", json={"case_ids": [ids[0], 2**64]}, headers=w)
    assert got.status_code == 404, got.text
    assert str(2**64) in got.json()["detail"]
    assert app_client.get(url, headers=w).json()["affected"] == 0  # all or nothing
