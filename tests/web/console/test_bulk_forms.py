"""The queue's bulk toolbar over HTTP, no browser (forms as a browser without script
posts them): resolve, tag and cause, attach to an open incident, assign; each comes
back to the same filtered queue with a one-line notice, or refuses the lot naming the
case, changing nothing and keeping the same cases selected."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from typing import Any

import pytest
from sqlalchemy import func, select

from monitor.cases import service as queue
from monitor.db import make_sessionmaker, utcnow
from monitor.incidents import service as incidents
from monitor.models import Case, CaseStatus, CaseTag, Event, IncidentCase, Staff
from tests.factories.cases import make_case
from tests.fixtures.web import WebApp, csrf_of, login

pytestmark = pytest.mark.db


def picked(html: str) -> set[int]:
    return {int(v) for v in re.findall(r'value="(\d+)" form="bulk"[^>]*checked', html)}


def notice(html: str) -> str:
    found = re.search(r'<p class="notice" role="status" id="queue-notice">([^<]*)</p>', html)
    return found.group(1) if found else ""


def refusal(html: str) -> str:
    found = re.search(r'<p class="error" role="alert" id="queue-error">([^<]*)</p>', html)
    return unescape(found.group(1)) if found else ""


def count(web_app: WebApp, stmt: Any) -> int:
    with make_sessionmaker(web_app.engine)() as s:
        return int(s.scalar(stmt) or 0)


@pytest.fixture
def desk(web_app: WebApp, app_client: Any) -> dict[str, Any]:
    """alice signed in; three open X cases, the second claimed by bob; an open incident."""
    web_app.add_staff("alice")
    web_app.add_staff("bob")
    with make_sessionmaker(web_app.engine).begin() as s:
        ids = [
            make_case(s, score=90 - i, customer=n).id for i, n in enumerate(("Dana", "Eli", "Fay"))
        ]
        bob = s.scalars(select(Staff).where(Staff.name == "bob")).one()
        queue.claim(s, ids[1], staff=bob, now=utcnow(), timeout=timedelta(minutes=30))
        inc = incidents.declare(s, title="Login fails", staff=bob, now=utcnow())
        incident_id = inc.id
    login(app_client, "alice")
    page = app_client.get("/?channel=x").text
    return {"ids": ids, "incident": incident_id, "token": csrf_of(page), "page": page}


def post(client: Any, action: str, desk: dict[str, Any], cases: list[int], **form: Any) -> Any:
    data = {"csrf_token": desk["token"], "case_ids": [str(c) for c in cases], "back": "/?channel=x"}
    return client.post(f"/queue/{action}", data={**data, **form}, follow_redirects=False)


def test_the_toolbar_has_a_labelled_control_per_action(desk: dict[str, Any]) -> None:
    page = desk["page"]
    for button in ("assign", "resolve", "tag", "attach"):
        assert f'id="bulk-{button}-button" formaction="/queue/{button}"' in page
    assert f'<option value="{desk["incident"]}">Login fails (investigating)</option>' in page
    assert '<option value="billing">Billing</option>' in page
    assert 'id="pick-all" aria-label="select every case on this page" hidden' in page
    assert 'name="back" value="/?channel=x&amp;status=open"' in page
    assert picked(page) == set()


def test_resolve_refuses_the_lot_naming_the_claimed_case_then_resolves(
    app_client: Any, web_app: WebApp, desk: dict[str, Any]
) -> None:
    one, two, three = desk["ids"]
    r = post(app_client, "resolve", desk, [one, two])
    assert r.status_code == 409
    assert refusal(r.text).startswith(f"Nothing was changed: case {two} is claimed by bob until")
    assert picked(r.text) == {one, two}  # the selection is kept to act again
    assert count(web_app, select(func.count()).where(Case.status == CaseStatus.RESOLVED)) == 0
    r = post(app_client, "resolve", desk, [one, three])
    assert r.status_code == 303
    assert r.headers["location"] == "/?channel=x&done=resolved&n=2&of=2"
    page = app_client.get(r.headers["location"]).text
    assert notice(page) == "2 cases resolved" and "Eli" in page and "Dana" not in page
    stages = count(web_app, select(func.count()).where(Event.kind == "case.stage"))
    assert stages == 2  # one history event per case
    again = post(app_client, "resolve", desk, [one])
    assert (
        notice(app_client.get(again.headers["location"]).text) == "0 cases resolved (1 already was)"
    )
    r = post(app_client, "resolve", desk, [])
    assert (
        r.status_code == 422 and refusal(r.text) == "Nothing was changed: choose at least one case"
    )


def test_tag_and_cause_then_attach_to_an_incident(
    app_client: Any, web_app: WebApp, desk: dict[str, Any]
) -> None:
    one, two, three = desk["ids"]
    r = post(app_client, "tag", desk, [one, three], tags="bad tag!", cause="billing")
    assert r.status_code == 422
    assert refusal(r.text).startswith("Nothing was changed: tag 'bad tag!': letters, digits")
    r = post(app_client, "tag", desk, [one, 999999], tags="ios-17")
    assert r.status_code == 404 and refusal(r.text) == "Nothing was changed: no case with id 999999"
    assert count(web_app, select(func.count()).select_from(CaseTag)) == 0
    r = post(app_client, "tag", desk, [one, three], tags="ios-17, Invoice-v2", cause="billing")
    assert notice(app_client.get(r.headers["location"]).text) == "2 cases tagged"
    with make_sessionmaker(web_app.engine)() as s:
        tags = s.execute(
            select(CaseTag.case_id, CaseTag.tag).order_by(CaseTag.case_id, CaseTag.tag)
        )
        assert tags.tuples().all() == [
            (one, "invoice-v2"), (one, "ios-17"), (three, "invoice-v2"), (three, "ios-17")
        ]  # fmt: skip
        causes = s.scalars(select(Case.cause).where(Case.id.in_([one, three]))).all()
        assert causes == ["billing", "billing"]
    assert post(app_client, "tag", desk, [one]).status_code == 422  # nothing to do
    case_page = app_client.get(f"/cases/{one}").text
    assert "tags +ios-17 +invoice-v2" in case_page and "cause: billing" in case_page

    inc = desk["incident"]
    r = post(app_client, "attach", desk, [one, 999999], incident_id=str(inc))
    assert r.status_code == 404 and refusal(r.text) == "Nothing was changed: no case 999999"
    assert count(web_app, select(func.count()).select_from(IncidentCase)) == 0
    assert post(app_client, "attach", desk, [one], incident_id="").status_code == 422
    r = post(app_client, "attach", desk, [one], incident_id=str(inc))
    assert r.headers["location"] == f"/?channel=x&done=attached&n=1&of=1&incident={inc}"
    assert notice(app_client.get(r.headers["location"]).text) == "1 case attached to Login fails"
    r = post(app_client, "attach", desk, [one, two], incident_id=str(inc))
    page = app_client.get(r.headers["location"]).text
    assert notice(page) == "1 case attached to Login fails (1 already was)"
    assert "attached to incident: Login fails" in app_client.get(f"/cases/{two}").text


def test_assign_comes_back_with_a_notice_and_only_to_the_queue(
    app_client: Any, desk: dict[str, Any]
) -> None:
    one, _, three = desk["ids"]
    r = post(app_client, "assign", desk, [one, three], assignee="me")
    assert notice(app_client.get(r.headers["location"]).text) == "2 cases assigned"
    r = post(app_client, "assign", desk, [one], assignee="", back="//evil.example/?channel=x")
    assert r.headers["location"] == "/?done=unassigned&n=1&of=1"
    assert notice(app_client.get("/?done=resolved&n=%C2%B2").text) == ""  # not a count
