"""`complaint-monitor demo`: the scripted stream through the real ingest, and the real
command end to end: sign in, claim, reply through the composer, see it delivered, see
the preloaded overdue promise alerted."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.cases.queries import list_queue
from monitor.demo.script import STREAM
from monitor.demo.world import DemoSource, ensure_staff, seed
from monitor.events import EventKind
from monitor.ingest.service import IngestOptions, ingest_batch
from monitor.models import Event, Promise
from monitor.priority.service import Scorer
from tests.factories import T0
from tests.fixtures.web import csrf_of


def test_demo_stream_fills_the_queue_with_a_hop_and_an_overdue_promise(
    session: Session, scorer: Scorer
) -> None:
    staff = ensure_staff(session, password="demo-password-1", now=T0)
    seed(session, run="t1", now=T0, scorer=scorer, staff=staff)
    source = DemoSource(run="t1", started_at=T0)
    assert source.fetch(None, now=T0).mentions == []
    early = source.fetch(None, now=T0 + timedelta(seconds=10))
    assert [m.external_id for m in early.mentions] == ["demo-t1-jo-1", "demo-t1-priya-3"]
    end = T0 + timedelta(seconds=STREAM[-1][0] + 60)
    batch = source.fetch(early.next_cursor, now=end)
    assert len(batch.mentions) == len(STREAM) - 2 + 2  # the rest, then two chatter lines
    for b, now in ((early, T0 + timedelta(seconds=10)), (batch, end)):
        ingest_batch(
            session, b, source=source.name, now=now, scorer=scorer, options=IngestOptions()
        )
    session.flush()
    assert source.fetch(batch.next_cursor, now=end).mentions == []
    rows = list_queue(session, now=end).rows
    by_name = {r.customer_name: r for r in rows}
    assert by_name["Priya Natarajan"].hop_from == "email"
    assert by_name["Tom Becker"].overdue_promises == 1
    assert rows[0].score >= rows[-1].score
    hops = session.scalars(select(Event).where(Event.kind == EventKind.CHANNEL_HOP)).all()
    assert len(hops) >= 1
    kinds = {p.kind: p for p in session.scalars(select(Promise))}
    assert kinds["fix"].next_action_at is not None and kinds["fix"].due_at < T0
    invite = kinds["slack_invite"]  # performed by the app, to the address Sam wrote from
    assert invite.target == "sam.okafor@example.com" and invite.perform_next_at is not None


def wait_for(what: str, check: Callable[[], Any], *, within: float = 45.0) -> Any:
    """Poll ``check`` until it returns something truthy (bounded; never a fixed sleep)."""
    deadline = time.monotonic() + within
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@dataclass
class Demo:
    url: str
    user: str
    password: str
    outbox: Path
    lines: list[str] = field(default_factory=list)

    def printed(self) -> str:
        return "".join(self.lines)

    def outbox_entries(self) -> list[dict[str, Any]]:
        if not self.outbox.exists():
            return []
        return [json.loads(x) for x in self.outbox.read_text().splitlines() if x.strip()]


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    """The real `complaint-monitor demo --port 0` in a subprocess, its output drained."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("DATABASE_URL", None)
    env.pop("COMPLAINT_MONITOR_CONFIG", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "demo", "--port", "0", "--db", str(tmp_path / "d.db")],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while not any("Ctrl-C stops the demo" in line for line in lines):
            line = proc.stdout.readline()
            assert line or proc.poll() is None, "".join(lines)
            lines.append(line)
            assert time.monotonic() < deadline, "".join(lines)
        stream = proc.stdout

        def drain() -> None:
            for line in iter(stream.readline, ""):
                lines.append(line)

        threading.Thread(target=drain, daemon=True).start()
        text = "".join(lines)
        url = re.search(r"console:\s+(http://\S+)", text)
        creds = re.search(r"sign in:\s+(\S+) / (\S+)", text)
        outbox = re.search(r"outbox:\s+(\S+)", text)
        assert url and creds and outbox, text
        yield Demo(url.group(1), creds.group(1), creds.group(2), Path(outbox.group(1)), lines)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def sign_in(client: httpx.Client, demo: Demo) -> str:
    page = wait_for("the console", lambda: _get_or_none(client, "/login"), within=20)
    r = client.post(
        "/login",
        data={"username": demo.user, "password": demo.password, "csrf_token": csrf_of(page.text)},
    )
    assert r.status_code == 200, r.text
    assert "set-cookie" not in r.headers or "secure" not in r.headers["set-cookie"].lower()
    return r.text


def _get_or_none(client: httpx.Client, path: str) -> httpx.Response | None:
    try:
        return client.get(path)
    except httpx.ConnectError:
        return None


def case_id_of(queue_html: str, customer: str) -> int | None:
    for row in re.findall(r"<tr class=\"row.*?</tr>", queue_html, re.S):
        if f">{customer}<" in row:
            m = re.search(r'href="/cases/(\d+)"', row)
            return int(m.group(1)) if m else None
    return None


PRIYA_REPLY = (
    "Priya, I'm so sorry you had to chase us twice about the $129.00 refund for order "
    "A-10023. I've asked our finance team to release it today and I'll email you the "
    "confirmation by 5pm."
)


def test_demo_command_delivers_a_reply_and_alerts_the_overdue_promise(demo: Demo) -> None:
    welcome = demo.printed()
    for must in ("What to try", "Priya Natarajan", "Tom Becker", "Slack", "no credentials"):
        assert must in welcome, welcome
    with httpx.Client(base_url=demo.url, follow_redirects=True, timeout=10) as client:
        queue_page = sign_in(client, demo)
        assert "Priya Natarajan" in queue_page, queue_page
        case_id = case_id_of(queue_page, "Priya Natarajan")
        assert case_id is not None, queue_page

        # claim it, then write through the composer's own endpoints (session + CSRF header)
        case_page = client.get(f"/cases/{case_id}").text
        r = client.post(f"/cases/{case_id}/claim", data={"csrf_token": csrf_of(case_page)})
        assert r.status_code == 200 and "A-10023" in r.text, r.text
        csrf = re.search(r'data-csrf="([^"]+)"', r.text)
        assert csrf, "the case page has no reply composer"
        headers = {"X-CSRF-Token": csrf.group(1)}
        check = client.post(
            f"/cases/{case_id}/composer/check",
            json={"text": PRIYA_REPLY, "channel": "email"},
            headers=headers,
        )
        assert check.status_code == 200 and not check.json()["blocked"], check.text
        sent = client.post(
            f"/cases/{case_id}/composer/send",
            json={"body": PRIYA_REPLY, "channel": "email", "idempotency_key": "demo-test-1"},
            headers=headers,
        )
        assert sent.status_code == 202, sent.text
        reply_id = sent.json()["id"]

        def delivered() -> dict[str, Any] | None:
            reply: dict[str, Any] = client.get(f"/composer/replies/{reply_id}").json()
            assert reply["state"] != "failed", reply
            return reply if reply["state"] == "sent" else None

        reply = wait_for("the reply to be delivered", delivered)
        assert reply["external_id"], reply
        out = [e for e in demo.outbox_entries() if e.get("idempotency_key") == "demo-test-1"]
        assert len(out) == 1 and out[0]["channel"] == "email", out
        assert out[0]["recipient"] == "priya.n@example.com"
        assert out[0]["external_id"] == reply["external_id"]
        assert "state-sent" in client.get(f"/cases/{case_id}").text
        printed = f"[simulated email to Priya Natarajan: “{PRIYA_REPLY[:20]}"
        wait_for("the delivery in the terminal", lambda: printed in demo.printed(), within=10)

        # the preloaded overdue promise (Tom's charger) has alerted its owner over Slack
        def overdue_alert() -> list[dict[str, Any]]:
            return [e for e in demo.outbox_entries() if e.get("alert_kind") == "promise.overdue"]

        alert = wait_for("the overdue-promise alert", overdue_alert)[0]
        assert alert["kind"] == "slack_message" and alert["target"] == "demo@acme.example"
        assert "replacement charger" in alert["text"]
        tom = client.get(f"/cases/{alert['case_id']}").text
        assert "Tom Becker" in tom and re.search(r"promise[. ]overdue", tom), tom
        # four weeks of simulated past fill the reports page
        volume = client.get("/reports").text
        opened = re.search(r"<td>Cases opened</td><td>(\d+)</td>", volume)
        assert opened and int(opened.group(1)) >= 25, volume
        assert volume.count("<svg") >= 3
        kept = client.get("/reports?report=promises").text
        assert re.search(r"<td>Kept</td>|data-key=\"kept\"", kept)


def test_demo_command_shows_a_breached_email_and_its_escalation(demo: Demo) -> None:
    """Issue 14: without any setup, Priya's first email (27 h old, hours past its target)
    shows as breached, and the alerts of its breach and escalation went out over Slack."""
    with httpx.Client(base_url=demo.url, follow_redirects=True, timeout=10) as client:
        queue_page = sign_in(client, demo)
        case_id = case_id_of(queue_page, "Priya Natarajan")
        assert case_id is not None, queue_page
        row = next(r for r in re.findall(r"<tr class=\"row.*?</tr>", queue_page, re.S)
                   if f'href="/cases/{case_id}"' in r)  # fmt: skip
        assert re.search(r'class="sla breached".*breached \d+ h ago', row, re.S), row

        def sla_alerts() -> list[tuple[str, str, str]] | None:
            mine = [e for e in demo.outbox_entries() if e.get("case_id") == case_id]
            found = [(e["alert_kind"], e["target"], e["text"]) for e in mine
                     if e.get("kind") == "slack_message"]  # fmt: skip
            return found if len(found) >= 3 else None  # one tick records all three

        alerts = wait_for("the breach and escalation alerts", sla_alerts)
        # Nobody is assigned: the breach goes to the team's channel; the next rungs (the
        # lead, then the channel) follow at once, as the email is hours past its target.
        assert sorted((k, t) for k, t, _ in alerts) == [
            ("case.sla_breached", "#support-alerts"),
            ("case.sla_escalated", "#support-alerts"),
            ("case.sla_escalated", "demo@acme.example"),
        ], alerts
        texts = {k: text for k, _, text in alerts}
        assert "target missed" in texts["case.sla_breached"]
        assert "Priya Natarajan" in texts["case.sla_breached"]
        assert re.match(r"Escalation: .* overdue by \d+\.\d h", texts["case.sla_escalated"])
        page = client.get(f"/cases/{case_id}").text
        assert re.search(r"response target: <strong>breached \d+ h ago</strong>", page), page
        assert re.search(r"escalated \d step", page), page
