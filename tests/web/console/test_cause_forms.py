"""The case page's cause box: the suggestion shows with its words, staff confirm or
change it, tags are saved as a list (both databases, over HTTP)."""

from __future__ import annotations

from monitor.db import make_sessionmaker
from monitor.models import Case, Role
from monitor.reports.service import tags_of
from tests.factories.cases import make_case
from tests.fixtures.web import csrf_of, login
from tests.reports.test_service import add_text


def test_confirm_suggested_cause_and_save_tags(web_app, app_client) -> None:
    web_app.add_staff("ana", Role.AGENT)
    with make_sessionmaker(web_app.engine).begin() as s:
        case = make_case(s)
        add_text(s, case, "my parcel never arrived and tracking is stuck")
        cid = case.id
    assert login(app_client, "ana").status_code == 303
    page = app_client.get(f"/cases/{cid}")
    assert page.status_code == 200
    assert 'data-suggested="delivery"' in page.text and "parcel, tracking, arrived" in page.text
    token = csrf_of(page.text)
    done = app_client.post(
        f"/cases/{cid}/cause",
        data={"cause": "delivery", "csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    page = app_client.get(f"/cases/{cid}")
    assert 'data-cause="delivery"' in page.text and "confirmed" in page.text
    bad = app_client.post(f"/cases/{cid}/cause", data={"cause": "nope", "csrf_token": token})
    assert bad.status_code == 422 and "unknown cause" in bad.text
    app_client.post(f"/cases/{cid}/tags", data={"tags": "Courier-X, late", "csrf_token": token})
    app_client.post(f"/cases/{cid}/tags", data={"tags": "courier-x", "csrf_token": token})
    with make_sessionmaker(web_app.engine)() as s:
        assert tags_of(s, cid) == ["courier-x"]
        stored = s.get(Case, cid)
        assert stored is not None and stored.cause_confirmed
    no_csrf = app_client.post(f"/cases/{cid}/cause", data={"cause": "billing"})
    assert no_csrf.status_code == 403
