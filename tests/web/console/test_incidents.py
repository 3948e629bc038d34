"""The incident pages and the case page's incident panel, over HTTP on both databases."""

from __future__ import annotations

import re

from monitor.db import make_sessionmaker
from monitor.models import Promise, Reply, Role
from tests.factories.cases import make_case
from tests.fixtures.web import csrf_of, login
from tests.reports.test_service import add_text

TEXTS = (
    "The app crashes as soon as I log in, error E503 on my Pixel 8",
    "App keeps crashing at the login screen, it shows error E503",
    "Since this morning the app crashes when I log in. E503 every time",
    "Where is my refund for order 88213?",
)


def test_declare_attach_from_suggestions_change_status_and_compose(web_app, app_client) -> None:
    web_app.add_staff("lena", Role.LEAD)
    with make_sessionmaker(web_app.engine).begin() as s:
        ids = []
        for i, text in enumerate(TEXTS):
            case = make_case(s, customer=f"Customer {i}")
            add_text(s, case, text)
            ids.append(case.id)
    assert login(app_client, "lena").status_code == 303
    page = app_client.get("/incidents")
    token = csrf_of(page.text)
    made = app_client.post(
        "/incidents",
        data={"title": "Login crash", "status_text": "Logins fail on the app since 08:10.",
              "workaround": "The website works meanwhile.", "terms": "E503",
              "asks": ["app_version", "device"], "csrf_token": token},
        follow_redirects=False,
    )  # fmt: skip
    assert made.status_code == 303
    url = made.headers["location"]
    inc_id = int(url.rsplit("/", 1)[1])
    # The first case, from its own page: "part of Login crash?" (by the term E503).
    case_page = app_client.get(f"/cases/{ids[0]}")
    assert f'class="incident-offer" data-incident-id="{inc_id}"' in case_page.text
    app_client.post(
        f"{url}/attach",
        data={"case_ids": ids[0], "how": "suggestion", "next": f"/cases/{ids[0]}",
              "csrf_token": token},
        follow_redirects=False,
    )  # fmt: skip
    view = app_client.get(url)
    suggested = set(map(int, re.findall(r'name="case_ids" value="(\d+)"', view.text)))
    assert suggested == set(ids[1:3])  # the refund question is not offered
    app_client.post(
        f"{url}/attach",
        data={"case_ids": sorted(suggested), "how": "suggestion", "csrf_token": token},
        follow_redirects=False,
    )
    view = app_client.get(url)
    assert '<strong id="affected">3</strong>' in view.text
    assert '<strong id="never-heard">3</strong>' in view.text
    changed = app_client.post(
        url,
        data={"state": "identified", "status_text": "Found: a bad certificate. Fix today.",
              "workaround": "The website works meanwhile.", "terms": "E503",
              "asks": ["app_version", "device"], "csrf_token": token},
    )  # fmt: skip
    assert changed.status_code == 200 and "3 follow-up tasks set" in changed.text
    with make_sessionmaker(web_app.engine)() as s:
        kinds = [p.kind for p in s.query(Promise).filter(Promise.case_id.in_(ids))]
        assert kinds.count("incident_update") == 3
    case_page = app_client.get(f"/cases/{ids[0]}")
    assert 'class="incident-state">identified<' in case_page.text
    assert "Found: a bad certificate. Fix today.\nThe website works meanwhile." in case_page.text
    assert "Insert shared paragraph" in case_page.text
    # It asks for the app version (not given); the device (Pixel 8) it already knows.
    assert "the version of the app" in case_page.text
    assert "the phone, tablet or computer you use" not in case_page.text
    assert "Lifetime value" in case_page.text and "No compensation given before." in case_page.text


def _textarea(page: str) -> str:
    found = re.search(r'<textarea id="reply-body"[^>]*>(.*?)</textarea>', page, re.S)
    assert found is not None
    return found.group(1)


def test_a_status_change_drafts_a_personal_update_never_sent(web_app, app_client) -> None:
    web_app.add_staff("lena", Role.LEAD)
    with make_sessionmaker(web_app.engine).begin() as s:
        case = make_case(s, customer="Ana Novak")
        add_text(s, case, TEXTS[0])
        other = make_case(s, customer="ben@example.org")
        add_text(s, other, TEXTS[1])
        ids = [case.id, other.id]
    assert login(app_client, "lena").status_code == 303
    token = csrf_of(app_client.get("/incidents").text)
    form = {"title": "Login crash", "status_text": "Logins fail on the app since 08:10.",
            "workaround": "The website works meanwhile.", "terms": "E503",
            "csrf_token": token}  # fmt: skip
    url = app_client.post("/incidents", data=form, follow_redirects=False).headers["location"]
    app_client.post(f"{url}/attach", data={"case_ids": ids, "how": "bulk", "csrf_token": token})
    before = app_client.get(f"/cases/{ids[0]}").text
    assert _textarea(before) == "" and "incident-draft-hint" not in before  # no task yet
    app_client.post(url, data={**form, "state": "identified",
                               "status_text": "Found: a bad certificate. Fix today."})  # fmt: skip
    page = app_client.get(f"/cases/{ids[0]}").text
    draft = _textarea(page)
    assert draft.startswith("Hi Ana,\nan update on the Login crash problem you told us about")
    assert "(error E503 on your Pixel 8)" in draft
    assert "it is identified: we know the cause and are fixing it." in draft
    assert "Found: a bad certificate. Fix today.\nThe website works meanwhile." in draft
    assert 'id="incident-draft-hint"' in page and "Draft the personal update again" in page
    # An address is no name to greet with.
    assert _textarea(app_client.get(f"/cases/{ids[1]}").text).startswith("Hello,\nan update")
    with make_sessionmaker(web_app.engine)() as s:
        assert s.query(Reply).filter(Reply.case_id.in_(ids)).count() == 0  # drafted, not sent
    app_client.post(url, data={**form, "state": "resolved", "status_text": "Fixed at 14:00."})
    resolved = _textarea(app_client.get(f"/cases/{ids[0]}").text)
    assert resolved.startswith("Hi Ana,\nthe Login crash problem you told us about")
    assert "is resolved now. Could you check that it works for you again" in resolved
