"""Alert emails over real SMTP (aiosmtpd sink), through the scheduled alert job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, insert, select

from monitor.alerts import delivery
from monitor.config import LoadedConfig, parse_settings
from monitor.db import make_sessionmaker
from monitor.models import Alert, AlertState, Event
from monitor.wiring.jobs import promise_jobs
from tests.fixtures.smtp import SmtpSink

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def alert_job(engine: Engine, sink: SmtpSink):
    settings = parse_settings(
        {
            "responders": {
                "email": {"enabled": True, "host": sink.host, "port": sink.port, "tls": "none",
                          "from_address": "desk@acme.test"},
            },
            "alerts": {"channels": ["email"]},
            "webhooks": {"enabled": False},
        }
    )  # fmt: skip
    loaded = LoadedConfig(settings, {"COMPLAINT_MONITOR_SECRET": SecretStr("s" * 40)}, None)
    (job,) = [j for j in promise_jobs(loaded, engine) if j.id == "promises:alerts"]
    return job.run


def pending_email(engine: Engine) -> int:
    row = {
        "kind": "promise.overdue", "channel": "email", "target": "lead@acme.test",
        "dedupe_key": "promise:7:overdue:email:lead@acme.test", "state": AlertState.PENDING,
        "attempts": 0, "message": "Promise #7 to Dan is overdue", "created_at": T0,
        "next_attempt_at": T0,
    }  # fmt: skip
    with make_sessionmaker(engine).begin() as s:
        return s.scalar(insert(Alert).returning(Alert.id), row)


def test_a_crash_after_smtp_accepted_resends_with_the_same_message_id(
    committed_engine: Engine, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 12 item 10: 4 of 400 alert emails arrived again ~300 s after a crash, each
    with a new Message-ID, so mail clients could not fold them."""
    alert_id = pending_email(committed_engine)
    run = alert_job(committed_engine, smtp_sink)

    def killed(*args, **kwargs):
        raise SystemExit("killed after the SMTP server accepted, before the row was marked")

    monkeypatch.setattr(delivery, "record", killed)
    with pytest.raises(SystemExit):
        run(T0)
    assert len(smtp_sink.messages) == 1
    monkeypatch.undo()

    assert run(T0 + timedelta(minutes=1)).sent == 0  # its claim still stands: not yet
    stats = run(T0 + delivery.SEND_LEASE + timedelta(seconds=1))  # the claim lapsed

    assert stats.sent == 1
    first, again = (m.message for m in smtp_sink.messages)
    assert again["Message-ID"] == first["Message-ID"]  # mail clients fold the two
    assert first["Message-ID"].startswith(f"<alert.{alert_id}.")
    assert first["Message-ID"].endswith("@acme.test>")
    with make_sessionmaker(committed_engine)() as s:
        alert = s.get(Alert, alert_id)
        (logged,) = s.scalars(select(Event).where(Event.kind == "alert.sent"))
    assert alert.state == AlertState.SENT and alert.attempts == 2
    assert logged.payload["attempt"] == 2
    assert logged.payload["previous_outcome"] == "unknown"  # the delivery log says why


def test_each_alert_has_its_own_message_id_on_every_attempt(
    committed_engine: Engine, smtp_sink: SmtpSink
) -> None:
    first = pending_email(committed_engine)
    with make_sessionmaker(committed_engine).begin() as s:
        second = s.scalar(
            insert(Alert).returning(Alert.id),
            {"kind": "promise.overdue", "channel": "email", "target": "lead@acme.test",
             "dedupe_key": "promise:8:overdue:email:lead@acme.test",
             "state": AlertState.PENDING, "attempts": 0, "message": "Promise #8 is overdue",
             "created_at": T0, "next_attempt_at": T0},
        )  # fmt: skip
    assert alert_job(committed_engine, smtp_sink)(T0).sent == 2
    ids = {m.message["Message-ID"] for m in smtp_sink.messages}
    assert len(ids) == 2 and all(i.startswith(("<alert.",)) for i in ids)
    assert {i.split(".")[1] for i in ids} == {str(first), str(second)}
