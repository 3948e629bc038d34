"""promise_jobs builds the promise clock, alert worker, Slack invites and webhooks jobs."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from monitor.config import ConfigError, LoadedConfig, parse_settings
from monitor.db import make_engine
from monitor.wiring.jobs import promise_jobs, scheduled_jobs
from monitor.wiring.responders import build_alert_senders

SESSION_SECRET = {"COMPLAINT_MONITOR_SECRET": SecretStr("s" * 40)}


def loaded(data: dict, secrets: dict[str, SecretStr] = SESSION_SECRET) -> LoadedConfig:
    return LoadedConfig(
        settings=parse_settings(data),
        secrets={"SLACK_BOT_TOKEN": SecretStr("x"), **secrets},
        path=None,
    )


def test_jobs_from_config(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    cfg = loaded(
        {
            "responders": {
                "slack": {"enabled": True, "default_channel": "C0123456789"},
                "email": {"enabled": True, "host": "smtp.example", "from_address": "a@b.c"},
            },
            "alerts": {"channels": ["slack", "email", "webhook"], "check_seconds": 30},
        }
    )
    ids = [j.id for j in promise_jobs(cfg, engine)]
    assert ids == [
        "promises:clock",
        "sla:clock",
        "promises:alerts",
        "promises:slack_invites",
        "webhooks:fan_out",
        "webhooks:deliver",
    ]
    assert sorted(build_alert_senders(cfg)) == ["email", "slack"]
    # with no sources configured, serve still re-scores waiting cases and runs the
    # promise and reply jobs
    ids = [j.id for j in scheduled_jobs(loaded({}), engine)]
    assert {"queue:rescore", "promises:clock", "promises:alerts", "replies:deliver"} <= set(ids)
    assert "reports:suggest_causes" in ids
    assert not [i for i in ids if i.startswith("poll:")]
    engine.dispose()


def test_webhook_jobs_need_the_key_that_seals_their_secrets(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with pytest.raises(ConfigError, match=r"COMPLAINT_MONITOR_SECRET.*seals webhook"):
        promise_jobs(loaded({}, secrets={}), engine)
    off = loaded({"webhooks": {"enabled": False}}, secrets={})
    assert not [j for j in promise_jobs(off, engine) if j.id.startswith("webhooks:")]
    engine.dispose()
