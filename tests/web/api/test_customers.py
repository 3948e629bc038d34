"""REST: GET and PATCH /api/v1/customers/{id} (the value the score reads)."""

from __future__ import annotations

from typing import Any

from monitor.db import make_sessionmaker
from tests.factories.cases import make_case
from tests.fixtures.web import WebApp


def test_read_and_set_a_customers_value(web_app: WebApp, app_client: Any) -> None:
    web_app.add_staff("omar")
    reader = {"Authorization": "Bearer " + web_app.add_token(["queue:read"], staff="omar")}
    writer = {"Authorization": "Bearer " + web_app.add_token(["cases:write"], staff="omar")}
    with make_sessionmaker(web_app.engine).begin() as s:
        case = make_case(s, customer="Priya")
        cid, case_id = case.customer_id, case.id
    got = app_client.get(f"/api/v1/customers/{cid}", headers=reader).json()
    assert got["value"] == 0 and got["case_ids"] == [case_id] and got["display_name"] == "Priya"
    path = f"/api/v1/customers/{cid}"
    assert app_client.patch(path, json={"value": 1}, headers=reader).status_code == 403
    assert app_client.patch(path, json={"value": -1}, headers=writer).status_code == 422
    done = app_client.patch(path, json={"value": 1.0}, headers=writer)
    assert done.status_code == 200 and done.json()["value"] == 1.0
    assert app_client.get("/api/v1/customers/999999", headers=reader).status_code == 404
