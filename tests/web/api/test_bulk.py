"""REST: bulk actions on cases. Resolving many is all or none (409 naming the case
someone else holds, 404 naming a missing one), one history event and check-in per case,
the single-case rules and scopes; tags with the cause, and attaching, over the same
batch, refuse the lot likewise."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from monitor.cases import service as queue
from monitor.db import make_sessionmaker, utcnow
from monitor.models import Case as CaseRow
from monitor.models import CaseStatus, CaseTag, Event, Promise, Role, Staff
from tests.factories.cases import make_case
from tests.fixtures.web import WebApp

pytestmark = pytest.mark.db


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def batch(web_app: WebApp) -> dict[str, Any]:
    """Three open cases, the second claimed by bob; tokens for alice, lena (lead), a reader."""
    web_app.add_staff("alice")
    web_app.add_staff("bob")
    web_app.add_staff("lena", Role.LEAD)
    with make_sessionmaker(web_app.engine).begin() as s:
        ids = [make_case(s, customer=n).id for n in ("Dana", "Eli", "Fay")]
        bob = s.scalars(select(Staff).where(Staff.name == "bob")).one()
        queue.claim(s, ids[1], staff=bob, now=utcnow(), timeout=timedelta(minutes=30))
    return {
        "ids": ids,
        "alice": bearer(web_app.add_token(["queue:read", "cases:write"], staff="alice")),
        "lena": bearer(web_app.add_token(["queue:read", "cases:write"], staff="lena")),
        "reader": bearer(web_app.add_token(["queue:read"], staff="alice")),
        "robot": bearer(web_app.add_token(["queue:read", "cases:write"])),
    }


def scalar(web_app: WebApp, stmt: Any) -> Any:
    with make_sessionmaker(web_app.engine)() as s:
        return s.scalar(stmt)


def test_resolve_many_all_or_none_with_history_and_check_ins(
    app_client: Any, web_app: WebApp, batch: dict[str, Any]
) -> None:
    one, two, three = batch["ids"]
    url = "/api/v1/cases/resolve"
    for who in ("alice", "lena"):  # a lead too, as for one case
        r = app_client.post(url, json={"case_ids": [one, two, three]}, headers=batch[who])
        assert r.status_code == 409 and r.json()["holder"] == "bob"
        assert r.json()["detail"].startswith(f"case {two} is claimed by bob")
    r = app_client.post(url, json={"case_ids": [one, 10**6]}, headers=batch["alice"])
    assert r.status_code == 404 and r.json()["detail"] == f"no case with id {10**6}"
    resolved = select(func.count()).where(CaseRow.status == CaseStatus.RESOLVED)
    assert scalar(web_app, resolved) == 0  # every refusal changed nothing
    for who in ("reader", "robot"):
        r = app_client.post(url, json={"case_ids": [one]}, headers=batch[who])
        assert r.status_code == 403
    assert app_client.post(url, json={"case_ids": []}, headers=batch["alice"]).status_code == 422
    r = app_client.post(url, json={"case_ids": [three, one, three]}, headers=batch["alice"])
    assert r.status_code == 200 and r.json() == {"case_ids": [three, one]}
    r = app_client.post(url, json={"case_ids": [one]}, headers=batch["alice"])
    assert r.status_code == 200 and r.json() == {"case_ids": []}  # already resolved
    assert scalar(web_app, resolved) == 2
    events = select(func.count()).where(Event.kind == "case.stage", Event.actor == "alice")
    assert scalar(web_app, events) == 2
    check_ins = select(func.count()).where(Promise.kind == "check_in")
    assert scalar(web_app, check_ins) == 2
    history = app_client.get(f"/api/v1/cases/{one}", headers=batch["alice"]).json()["history"]
    assert [h["text"] for h in history if h["kind"] == "stage"] == ["stage: resolved"]


def test_tags_and_attach_refuse_the_whole_batch(
    app_client: Any, web_app: WebApp, batch: dict[str, Any]
) -> None:
    one, two, _ = batch["ids"]
    tags = {"case_ids": [one, two], "add": ["ios-17"], "cause": "no-such-cause"}
    r = app_client.post("/api/v1/cases/tags", json=tags, headers=batch["alice"])
    assert r.status_code == 422 and "unknown cause" in r.json()["detail"]
    assert scalar(web_app, select(func.count()).select_from(CaseTag)) == 0
    r = app_client.post(
        "/api/v1/cases/tags", json={**tags, "cause": "billing"}, headers=batch["alice"]
    )
    assert r.status_code == 200 and r.json() == {"changed": 2}
    inc = app_client.post(
        "/api/v1/incidents", json={"title": "Login fails"}, headers=batch["alice"]
    )
    attach = f"/api/v1/incidents/{inc.json()['id']}/cases"
    r = app_client.post(
        attach, json={"case_ids": [one, 10**6], "how": "bulk"}, headers=batch["alice"]
    )
    assert r.status_code == 404 and r.json()["detail"] == f"no case {10**6}"
    r = app_client.post(
        attach, json={"case_ids": [one, two], "how": "bulk"}, headers=batch["alice"]
    )
    assert r.status_code == 200 and r.json() == {"attached": [one, two]}
