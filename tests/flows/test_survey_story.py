"""The loop closed, end to end over HTTP (both databases): a lead resolves a case, a
check-in is due to them in the promise ledger, they make a survey link on the case
page, the customer (not signed in) answers "not at all" through it, the case is back on
top of the queue at high priority, the link cannot be used again, and the answer is in
the reports."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from monitor.db import make_sessionmaker, utcnow
from monitor.models import Case, Promise, Role
from tests.factories.cases import make_case
from tests.fixtures.web import csrf_of, login
from tests.reports.test_service import add_text


def test_resolve_check_in_survey_unhappy_reopens(web_app, app_client) -> None:
    web_app.add_staff("lena", Role.LEAD)
    with make_sessionmaker(web_app.engine).begin() as s:
        case = make_case(s, customer="Dana", score=20, band="low")
        add_text(s, case, "my invoice is wrong")
        cid = case.id
    assert login(app_client, "lena").status_code == 303
    token = csrf_of(app_client.get(f"/cases/{cid}").text)
    done = app_client.post(f"/cases/{cid}/stage", data={"stage": "resolved", "csrf_token": token})
    assert done.status_code == 200  # back on the case page
    with make_sessionmaker(web_app.engine)() as s:
        check = s.scalars(select(Promise).where(Promise.case_id == cid)).one()
        assert check.kind == "check_in" and check.state == "open"
        assert check.due_at - utcnow() > timedelta(hours=47)
    page = app_client.post(f"/cases/{cid}/survey", data={"csrf_token": token})
    assert page.status_code == 200
    link = re.search(r'id="survey-link" value="([^"]+)"', page.text)
    assert link, page.text
    path = link.group(1).removeprefix("http://testserver")
    assert path.startswith("/survey/")

    with TestClient(web_app.app) as customer:  # no sign-in, no cookies
        form = customer.get(path)
        assert form.status_code == 200 and 'id="survey-form"' in form.text
        sent = customer.post(path, data={"rating": "1", "comment": "still wrong, twice"})
        assert sent.status_code == 200 and 'id="survey-thanks"' in sent.text
        again = customer.post(path, data={"rating": "5"})
        assert again.status_code == 410 and "answered already" in again.text
        assert customer.get("/survey/not-a-real-token").status_code == 404

    with make_sessionmaker(web_app.engine)() as s:
        reopened = s.get(Case, cid)
        assert reopened is not None and reopened.status == "open"
        assert reopened.band in ("high", "critical")
    queue = app_client.get("/").text
    first = re.search(r'data-case-id="(\d+)"', queue)
    assert first and int(first.group(1)) == cid and "survey answer 1/5" in queue
    case_page = app_client.get(f"/cases/{cid}").text
    assert 'class="survey-rating">1/5' in case_page and "still wrong, twice" in case_page
    outcome = app_client.get("/reports?report=outcome").text
    assert re.search(r"<td>Unhappy \(reopened\)</td><td>1</td>", outcome)
