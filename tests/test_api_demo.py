"""`complaint-monitor demo`: the scripted stream through the real ingest, and the command."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.demo import STREAM, DemoSource, ensure_staff, seed
from monitor.events import EventKind
from monitor.ingest import IngestOptions, ingest_batch
from monitor.models import Event
from monitor.priority import Scorer
from monitor.queue_list import list_queue
from tests.factories import T0
from tests.fixtures.web import csrf_of

REPO = Path(__file__).resolve().parents[1]


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


def test_demo_command_serves_a_console_with_a_login(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "demo", "--port", "0", "--db", str(tmp_path / "d.db")],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while not any("sign in:" in line for line in lines):
            line = proc.stdout.readline()
            assert line or proc.poll() is None, "".join(lines)
            lines.append(line)
            assert time.monotonic() < deadline, "".join(lines)
        text = "".join(lines)
        url = re.search(r"console:\s+(http://\S+)", text)
        creds = re.search(r"sign in:\s+(\S+) / (\S+)", text)
        assert url and creds, text
        with httpx.Client(base_url=url.group(1), follow_redirects=True, timeout=10) as client:
            for _ in range(100):
                try:
                    page = client.get("/login")
                    break
                except httpx.ConnectError:
                    time.sleep(0.1)
            r = client.post(
                "/login",
                data={
                    "username": creds.group(1),
                    "password": creds.group(2),
                    "csrf_token": csrf_of(page.text),
                },
            )
            assert r.status_code == 200 and "Priya Natarajan" in r.text, r.text
            assert "set-cookie" not in r.headers or "secure" not in r.headers["set-cookie"].lower()
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
