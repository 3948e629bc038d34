"""Issue 19's outage story over HTTP, on both databases.

Fifty customers complain about one login crash, on X and by email, each in their own
words. A lead declares an incident and attaches one case; suggestions (near-duplicate
text) find the rest, and attaching them brings in more, until all fifty are in and
nothing else is. An agent answers each of them personally, using the incident's shared
paragraph: all fifty pass the template guard, while a copy-paste reply to everyone is
blocked. A status change gives every customer not yet told a follow-up task, which the
delivered replies keep; resolution gives every case a check-in.
"""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import select

from monitor.config import ReplySettings
from monitor.db import make_sessionmaker, utcnow
from monitor.ingest.service import ingest_batch
from monitor.models import Case, Promise, Role
from monitor.priority.service import Scorer
from monitor.replies.scheduled import deliver_due
from monitor.sources.base import Batch
from tests.factories.cases import OPTS
from tests.factories.mentions import tweet
from tests.fixtures.web import WebApp
from tests.flows.test_compensation_story import Recorder
from tests.incidents.support import UNRELATED, outage_mention, outage_text
from tests.replies.test_guard_shared import PARAGRAPH, personal

N = 50
COPY_PASTE = (
    "Hello, we are sorry for any inconvenience.\n"
    + PARAGRAPH
    + "\nThank you for your patience, we will update you."
)


def ingest_outage(web_app: WebApp, scorer: Scorer) -> tuple[list[int], list[int]]:
    rng = random.Random(7)
    now = utcnow()
    mentions = [outage_mention(i, outage_text(i, rng), at=now) for i in range(N)]
    others = [tweet(f"8{i:06d}", t, user_id=f"o{i}", username=f"o{i}", at=now)
              for i, t in enumerate(UNRELATED)]  # fmt: skip
    with make_sessionmaker(web_app.engine).begin() as s:
        batch = Batch(mentions=mentions + others, next_cursor={"n": 1}, quarantined=[])
        ingest_batch(s, batch, source="test", now=now, scorer=scorer, options=OPTS)
    with make_sessionmaker(web_app.engine)() as s:
        ids = list(s.scalars(select(Case.id).order_by(Case.id)))
    return ids[:N], ids[N:]


def test_fifty_customers_one_incident_personal_replies_follow_ups_check_ins(
    web_app: WebApp, app_client: Any, scorer: Scorer
) -> None:
    web_app.add_staff("lena", Role.LEAD)
    web_app.add_staff("priya", Role.AGENT)
    scopes = ["queue:read", "cases:write", "replies:write", "promises:write"]
    lead = {"Authorization": f"Bearer {web_app.add_token(scopes, staff='lena')}"}
    agent = {"Authorization": f"Bearer {web_app.add_token(scopes, staff='priya')}"}
    outage, unrelated = ingest_outage(web_app, scorer)
    assert len(outage) == N

    inc = app_client.post(
        "/api/v1/incidents",
        json={"title": "App crashes at login (E503)", "status_text": PARAGRAPH.split("\n")[0],
              "workaround": PARAGRAPH.split("\n")[1], "asks": ["app_version"]},
        headers=lead,
    ).json()  # fmt: skip
    assert inc["paragraph"] == PARAGRAPH
    url = f"/api/v1/incidents/{inc['id']}"
    app_client.post(f"{url}/cases", json={"case_ids": [outage[0]]}, headers=lead)
    for _ in range(5):  # attach what is suggested, until nothing more is
        found = [s["case_id"] for s in app_client.get(f"{url}/suggestions", headers=lead).json()]
        if not found:
            break
        assert not set(found) & set(unrelated)
        app_client.post(f"{url}/cases", json={"case_ids": found, "how": "suggestion"}, headers=lead)
    view = app_client.get(url, headers=lead).json()
    assert view["affected"] == N and view["never_heard"] == N
    assert set(view["by_channel"]) == {"x", "email"}

    # The status moves on before anyone was told: everyone gets one follow-up task.
    changed = app_client.patch(url, json={"state": "identified"}, headers=lead).json()
    assert changed["tasks"] == N

    # Fifty personal replies using the paragraph pass the guard.
    for i, case_id in enumerate(outage):
        r = app_client.post(
            f"/api/v1/cases/{case_id}/replies",
            json={"body": personal(i), "channel": "email" if i % 3 == 2 else "x_dm"},
            headers={**agent, "Idempotency-Key": f"outage-{i}"},
        )
        assert r.status_code == 202, (i, r.text)
        assert r.json()["personal_score"] >= 50
    # The same text to everyone is blocked (here on cases already answered, new keys).
    for i, case_id in enumerate(outage[:5]):
        r = app_client.post(
            f"/api/v1/cases/{case_id}/replies",
            json={"body": COPY_PASTE, "channel": "email" if i % 3 == 2 else "x_dm"},
            headers={**agent, "Idempotency-Key": f"copy-{i}"},
        )
        assert r.status_code == 422, (i, r.text)
        assert r.json()["check"]["blocked"]

    # Delivered replies keep the follow-ups; the view shows everyone heard from us.
    sessions = make_sessionmaker(web_app.engine)
    sent = Recorder()
    responders = {"x": sent, "x_dm": sent, "email": sent}
    for _ in range(4):
        deliver_due(
            sessions, responders, now=utcnow(), holder="w", settings=ReplySettings(batch_size=20)
        )
    assert len(sent.sent) == N
    view = app_client.get(url, headers=lead).json()
    assert view["never_heard"] == 0 and view["replies_pending"] == 0 and view["open_tasks"] == 0

    # Resolution: every attached case gets a check-in.
    resolved = app_client.patch(url, json={"state": "resolved"}, headers=lead).json()
    assert resolved["tasks"] == N and resolved["resolved_at"] is not None
    with sessions() as s:
        checks = s.scalars(
            select(Promise.case_id).where(Promise.kind == "check_in", Promise.state == "open")
        ).all()
        assert sorted(checks) == sorted(outage)
