"""The pages across cases over HTTP: promises (mine, overdue, due today, by kind), alerts,
the admin's staff and webhook pages, and the customer page with its value."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from monitor.db import make_sessionmaker, utcnow
from monitor.models import Alert, Customer, Promise, PromiseState, Role, SignInFailure, Staff
from monitor.staff import accounts, sign_in_limits
from tests.factories.cases import make_case
from tests.fixtures.web import PASSWORD, WebApp, csrf_of, login

pytestmark = pytest.mark.db


def seed_promises(web_app: WebApp) -> dict[str, int]:
    omar = web_app.add_staff("omar")
    lena = web_app.add_staff("lena", Role.LEAD)
    now = utcnow()
    out: dict[str, int] = {"omar": omar, "lena": lena}
    with make_sessionmaker(web_app.engine).begin() as s:
        case = make_case(s, customer="Priya")
        for name, kind, owner, due in (
            ("late", "refund", omar, now - timedelta(hours=2)),
            ("today", "callback", lena, now + timedelta(minutes=30)),
            ("later", "fix", omar, now + timedelta(days=9, hours=1)),
        ):
            p = Promise(
                case_id=case.id,
                customer_id=case.customer_id,
                kind=kind,
                wording=f"promise {name}",
                owner_id=owner,
                due_at=due,
                state=PromiseState.OPEN,
                created_at=now,
                updated_at=now,
            )
            s.add(p)
            s.flush()
            out[name] = p.id
        s.add(
            Alert(
                promise_id=out["late"],
                case_id=case.id,
                kind="promise.overdue",
                channel="email",
                target="omar@example.org",
                dedupe_key="t-1",
                state="failed",
                error="SMTP said no",
                created_at=now,
            )
        )
        out["case"], out["customer"] = case.id, case.customer_id
    return out


def rows(html: str) -> list[str]:
    import re

    return re.findall(r'id="board-promise-(\d+)"', html)


def test_promises_board_views(web_app: WebApp, app_client: Any) -> None:
    ids = seed_promises(web_app)
    login(app_client, "omar")
    page = app_client.get("/promises")
    assert page.status_code == 200 and "<caption>" in page.text and 'scope="col"' in page.text
    assert rows(page.text) == [str(ids[k]) for k in ("late", "today", "later")]
    assert rows(app_client.get("/promises?view=overdue").text) == [str(ids["late"])]
    assert rows(app_client.get("/promises?view=today").text) == [
        str(ids["late"]),
        str(ids["today"]),
    ]
    assert rows(app_client.get("/promises?mine=true").text) == [str(ids["late"]), str(ids["later"])]
    assert rows(app_client.get("/promises?kind=fix").text) == [str(ids["later"])]
    empty = app_client.get("/promises?view=kept")
    assert "No promises here" in empty.text and 'href="/promises">Clear filters' in empty.text
    assert "ago" in page.text and "in 9 days" in page.text  # relative times


def test_alerts_page_lists_failures(web_app: WebApp, app_client: Any) -> None:
    seed_promises(web_app)
    login(app_client, "omar")
    page = app_client.get("/alerts?state=failed")
    assert "promise.overdue" in page.text and "SMTP said no" in page.text
    assert "No alerts sent" in app_client.get("/alerts?state=sent").text


def test_staff_admin_add_role_deactivate_reset_unlock(web_app: WebApp, app_client: Any) -> None:
    web_app.add_staff("ada", Role.ADMIN)
    agent = web_app.add_staff("bo")
    login(app_client, "bo")
    assert app_client.get("/admin/staff").status_code == 403
    app_client.cookies.clear()
    login(app_client, "ada")
    page = app_client.get("/admin/staff")
    token = csrf_of(page.text)

    def post(path: str, **data: str) -> Any:
        return app_client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)

    short = post("/admin/staff", name="cy", password="x")
    assert short.status_code == 422 and "at least" in short.text
    added = post(
        "/admin/staff", name="cy", password=PASSWORD, role="lead", timezone="Europe/Berlin"
    )
    assert added.status_code == 303
    bad_zone = post("/admin/staff", name="dee", password=PASSWORD, timezone="Mars/Base")
    assert bad_zone.status_code == 422 and "unknown time zone" in bad_zone.text
    assert post(f"/admin/staff/{agent}/role", role="lead").status_code == 303
    me = app_client.get("/admin/staff")
    assert "Role changed" in app_client.get("/admin/staff?notice=role").text
    assert (
        post(f"/admin/staff/{agent}/password", password="a whole new password").status_code == 303
    )
    with make_sessionmaker(web_app.engine).begin() as s:
        s.add(SignInFailure(key=sign_in_limits.account_key("bo"), at=utcnow()))
    assert post(f"/admin/staff/{agent}/unlock").status_code == 303
    assert post(f"/admin/staff/{agent}/deactivate").status_code == 303
    with make_sessionmaker(web_app.engine)() as s:
        bo = s.get(Staff, agent)
        assert bo is not None and bo.role == "lead" and not bo.active
        assert accounts.verify_password(bo.password_hash, "a whole new password")
        assert s.scalars(select(SignInFailure)).all() == []
        cy = accounts.by_name(s, "cy")
        assert cy.role == "lead" and cy.timezone == "Europe/Berlin"
        ada = accounts.by_name(s, "ada")
    own = post(f"/admin/staff/{ada.id}/deactivate")
    assert own.status_code == 422 and "your own account" in own.text
    assert "(you)" in me.text


def test_webhooks_page_shows_subscriptions(web_app: WebApp, app_client: Any) -> None:
    web_app.add_staff("ada", Role.ADMIN)
    login(app_client, "ada")
    assert "No webhook subscriptions yet" in app_client.get("/admin/webhooks").text


def test_customer_page_and_value(web_app: WebApp, app_client: Any) -> None:
    ids = seed_promises(web_app)
    login(app_client, "omar")
    page = app_client.get(f"/customers/{ids['customer']}")
    assert page.status_code == 200 and "Priya" in page.text
    assert f'href="/cases/{ids["case"]}"' in page.text and "promise late" in page.text
    assert 'action="/customers/' not in page.text  # agents do not set the value
    token = csrf_of(page.text)
    assert (
        app_client.post(
            f"/customers/{ids['customer']}/value", data={"csrf_token": token, "value": "1"}
        ).status_code
        == 403
    )
    app_client.cookies.clear()
    login(app_client, "lena")
    token = csrf_of(app_client.get(f"/customers/{ids['customer']}").text)
    path = f"/customers/{ids['customer']}/value"
    assert app_client.post(path, data={"csrf_token": token, "value": "-1"}).status_code == 422
    ok = app_client.post(path, data={"csrf_token": token, "value": "1.5"}, follow_redirects=False)
    assert ok.status_code == 303
    with make_sessionmaker(web_app.engine)() as s:
        customer = s.get(Customer, ids["customer"])
        assert customer is not None and customer.value == 1.5
    assert app_client.get("/customers/999999").status_code == 404


def test_case_history_reads_as_a_conversation(web_app: WebApp, app_client: Any) -> None:
    from monitor.cases import service as queue

    web_app.add_staff("omar")
    with make_sessionmaker(web_app.engine).begin() as s:
        case = make_case(s, customer="Priya")
        omar = s.scalars(select(Staff).where(Staff.name == "omar")).one()
        now = utcnow()
        queue.claim(s, case.id, staff=omar, now=now, timeout=timedelta(minutes=15))
        queue.add_note(s, case, staff=omar, text="Called the warehouse", now=now)
        case_id = case.id
    login(app_client, "omar")
    html = app_client.get(f"/cases/{case_id}").text
    group = html.index('class="entry system-group"')
    note = html.index("Called the warehouse")
    assert " system event" in html[group : group + 200] and "kind-claim" in html[group:note]
    assert 'class="entry kind-note' in html[note - 600 : note]
    assert html.index("kind-claim") > group  # the claim is inside the collapsed group
