"""Issue 14's story end to end: the desk no longer lets an ignored customer go public.

Two emails from Dan sit unanswered in a real Dovecot. The desk's own jobs (the poll
jobs and the SLA check job of ``serve``, built from a config file by
:func:`monitor.wiring.jobs.scheduled_jobs`) run at controlled times: the warning reaches
Maria (his case's assignee, round robin) before the first-response target, the breach
reaches her at the target, the next rung of the ladder reaches her lead Lena an hour
later. Dan then tweets (fake X, real tweepy): the case is flagged public risk, the hop
from email is recorded, Lena hears of it at once, and the case tops the queue. Every
check runs twice at the same ``now``; each alert reaches the fake Slack exactly once.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from monitor.config import load_config
from monitor.db import make_sessionmaker
from monitor.models import Case, Event, Role
from monitor.scheduler import JobSpec
from monitor.wiring.jobs import scheduled_jobs
from tests.factories.staff import make_staff, make_token
from tests.fakes.slack_api import SlackState
from tests.fixtures.slack_server import *  # noqa: F403
from tests.fixtures.web import SECRET, web_settings

# The fake X stamps its posts from 2024-05-01 12:00 UTC on; Dan's emails came that morning.
DAY = datetime(2024, 5, 1, tzinfo=UTC)
FIRST_EMAIL, SECOND_EMAIL = DAY.replace(hour=6), DAY.replace(hour=6, minute=40)
DUE = FIRST_EMAIL + timedelta(hours=4)  # email, first response: 4 h (every band, below)
WARN = DUE - timedelta(minutes=30)


def email(n: int, at: datetime, body: str) -> bytes:
    return (
        "From: Dan Devlin <dan@example.org>\r\n"
        "To: support@acme.test\r\n"
        f"Subject: {'Re: ' if n > 1 else ''}Slack invite\r\n"
        f"Message-ID: <invite-{n}@example.org>\r\n"
        f"Date: {at:%a, %d %b %Y %H:%M:%S} +0000\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}\r\n"
    ).encode()


def targets(minutes: int) -> str:
    band = f"{{first_minutes: {minutes}, next_minutes: {minutes}}}"
    bands = ", ".join(f"{b}: {band}" for b in ("critical", "high", "medium", "low"))
    return f"{{{bands}}}"


def write_config(
    tmp_path: Path, url: str, x_api: Any, imap: Any, slack_url: str, chan: str
) -> Path:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        f"""
database: {{url: "{url}"}}
sources:
  twitter:
    enabled: true
    user_id: "{x_api.brand_id}"
    bearer_token_env: CM_TEST_X_BEARER
    api_base_url: {x_api.base_url}
    timeout_seconds: 5
    first_poll: {{start: all}}
  email:
    enabled: true
    host: {imap.server.host}
    port: {imap.server.port}
    tls: none
    username: {imap.username}
    password_env: CM_TEST_IMAP_PASSWORD
    folders: [INBOX]
    own_addresses: [support@acme.test]
responders:
  slack: {{enabled: true, token_env: CM_TEST_SLACK, api_base_url: "{slack_url}",
          alert_channel: {chan}}}
alerts:
  channels: [slack]
  ladder: [{{after_minutes: 0, notify: owner}}, {{after_minutes: 60, notify: lead}},
           {{after_minutes: 240, notify: channel}}]
webhooks: {{enabled: false}}
queue: {{auto_assign: round_robin}}
sla:
  warn_before_minutes: 30
  targets: {{email: {targets(240)}, x: {targets(30)}, x_dm: {targets(60)}}}
""",
        encoding="utf-8",
    )
    return cfg


class Desk:
    """The jobs of one `serve` process, run by hand at the time the test chooses."""

    def __init__(self, jobs: list[JobSpec], slack: SlackState, people: dict[str, str]) -> None:
        self.jobs = {j.id: j for j in jobs}
        self.slack = slack
        self.people = people  # Slack user id -> name

    def poll(self, source: str, now: datetime) -> Any:
        polled = self.jobs[f"poll:{source}"].run(now)
        assert polled.status == "ok" and polled.result is not None, polled
        return polled.result

    def check(self, now: datetime) -> None:
        """The SLA check, twice at the same ``now`` (as two processes would)."""
        self.jobs["sla:clock"].run(now)
        self.jobs["sla:clock"].run(now)
        self.jobs["promises:alerts"].run(now)

    def sent(self, case_id: int) -> Counter[tuple[str, str]]:
        """(recipient, kind of alert) -> how many Slack messages about the case."""
        out: Counter[tuple[str, str]] = Counter()
        for m in self.slack.messages:
            if re.search(rf"Case #{case_id}\b", m["text"]):
                out[(self.people.get(m["to"], m["to"]), kind_of(m["text"]))] += 1
        return out


def kind_of(text: str) -> str:
    if "PUBLIC RISK" in text and "target" not in text and "overdue" not in text:
        return "public risk"
    if text.startswith("Escalation:"):
        return "escalated"
    if "target missed" in text:
        return "breached"
    if "nobody has answered yet" in text:
        return "warning"
    return text


@pytest.mark.slow
def test_ignored_emails_then_a_tweet(
    tmp_path: Path,
    committed_engine: Engine,
    x_api: Any,
    imap_account: Any,
    slack_api: SlackState,
    slack_api_url: str,
    scorer: Any,
) -> None:
    chan = slack_api.add_channel("support-alerts")
    people = {
        slack_api.add_user("maria@acme.test", "maria"): "maria",
        slack_api.add_user("lena@acme.test", "lena"): "lena",
    }
    sessions = make_sessionmaker(committed_engine)
    with sessions.begin() as s:
        maria = make_staff(s, "maria")  # the rotation's first pick (the lowest id)
        lena = make_staff(s, "lena", role=Role.LEAD)
        maria.lead_id, maria_id = lena.id, maria.id
        token = make_token(s, ["queue:read"], staff=lena)
    url = committed_engine.url.render_as_string(hide_password=False)
    cfg = write_config(tmp_path, url, x_api, imap_account, slack_api_url, chan)
    env = {
        "CM_TEST_X_BEARER": x_api.bearer_token,
        "CM_TEST_IMAP_PASSWORD": imap_account.password,
        "CM_TEST_SLACK": slack_api.token,
    }
    loaded = load_config(cfg, environ=env)
    desk = Desk(scheduled_jobs(loaded, committed_engine), slack_api, people)

    imap_account.deliver(email(1, FIRST_EMAIL, "On the call you promised me a Slack invite."))
    assert desk.poll("email:INBOX", FIRST_EMAIL + timedelta(minutes=2)).new == 1
    imap_account.deliver(email(2, SECOND_EMAIL, "Still no Slack invite. Anyone there?"))
    assert desk.poll("email:INBOX", SECOND_EMAIL + timedelta(minutes=2)).new == 1
    with sessions() as s:
        case = s.scalars(select(Case)).one()
        case_id = case.id
        assert case.unanswered_count == 2 and case.assignee_id == maria_id
        assert (case.sla_kind, case.sla_due_at, case.sla_warn_at) == ("first", DUE, WARN)

    desk.check(WARN - timedelta(minutes=1))  # a check interval before (the job's clock
    # moves on with real time from the now it is given, so not a second before)
    assert slack_api.messages == []
    assert desk.sent(case_id) == Counter()  # nothing before the warning time
    desk.check(WARN)
    assert desk.sent(case_id) == Counter({("maria", "warning"): 1})
    desk.check(DUE)
    assert desk.sent(case_id) == Counter({("maria", "warning"): 1, ("maria", "breached"): 1})
    desk.check(DUE + timedelta(minutes=59))  # the lead's rung is an hour after the target
    assert ("lena", "escalated") not in desk.sent(case_id)
    desk.check(DUE + timedelta(minutes=60))
    before_tweet = Counter(
        {("maria", "warning"): 1, ("maria", "breached"): 1, ("lena", "escalated"): 1}
    )
    assert desk.sent(case_id) == before_tweet
    with sessions() as s:
        case = s.get(Case, case_id)
        assert case is not None and case.sla_state == "breached" and case.sla_step == 2
        assert any(r.startswith("first response overdue") for r in case.reasons)

    # Dan goes public. Another customer asks something at the same time.
    dan = x_api.add_user("devdan", followers=12_000)
    zoe = x_api.add_user("zoe", followers=40)
    x_api.mention(zoe, "@brand hi, is there a dark mode in the app?")
    x_api.mention(
        dan,
        "@brand I emailed you twice from dan@example.org about the Slack invite you "
        "promised. No answer. Ignored.",
    )
    tweeted = DAY.replace(hour=12, minute=30)
    result = desk.poll("x:mentions", tweeted)
    assert (result.new, result.hops) == (2, 1)
    with sessions() as s:
        case = s.get(Case, case_id)
        assert case is not None and case.public_risk and case.hop_from == "email"
        assert case.channel == "x" and case.unanswered_count == 3
        hop = s.scalars(select(Event).where(Event.kind == "case.channel_hop")).one()
        assert hop.case_id == case_id and hop.payload["from"] == "email"
        # The wait now counts against X's 30-minute target from the first email (a new
        # contact only ever brings the target forward): due 06:30, past the last rung.
        assert case.sla_due_at == FIRST_EMAIL + timedelta(minutes=30)
        assert case.sla_next_action_at == tweeted  # the lead hears of it at once
    desk.check(tweeted)
    desk.check(tweeted + timedelta(minutes=5))
    after = {("lena", "public risk"): 1, (chan, "escalated"): 1}
    assert desk.sent(case_id) == before_tweet + Counter(after)
    public = [m for m in slack_api.messages if kind_of(m["text"]) == "public risk"]
    assert [people.get(m["to"]) for m in public] == ["lena"]  # straight to the lead

    app = _app(committed_engine, now=tweeted)
    with TestClient(app, client=("127.0.0.1", 50000)) as client:
        headers = {"Authorization": f"Bearer {token}"}
        for sort in ("priority", "due"):
            page = client.get("/api/v1/queue", params={"sort": sort}, headers=headers)
            assert page.status_code == 200, page.text
            items = page.json()["items"]
            assert len(items) == 2, items
            top = items[0]
            assert top["case_id"] == case_id, (sort, items)
            assert top["public_risk"] and top["hop_from"] == "email"
        reasons = top["reasons"]
        assert any("overdue" in r for r in reasons), reasons


def _app(engine: Engine, *, now: datetime) -> Any:
    from monitor.web.app import create_app

    return create_app(web_settings(), engine, clock=lambda: now, session_secret=SECRET)
