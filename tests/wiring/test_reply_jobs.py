"""wiring.reply_jobs: responders built from config; the job reconciles, then delivers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine

from monitor.config import ConfigError, LoadedConfig, parse_settings
from monitor.models import Reply
from monitor.wiring.jobs import reply_jobs
from monitor.wiring.responders import build_responders
from tests.factories import T0
from tests.fakes.x_api import XApiState
from tests.fixtures.smtp import SmtpSink
from tests.replies.test_scheduled import World


def loaded(x_api: XApiState, sink: SmtpSink) -> LoadedConfig:
    settings = parse_settings(
        {
            "sources": {
                "twitter": {
                    "user_id": x_api.brand_id,
                    "api_base_url": x_api.base_url,
                    "consumer_key_env": "CK",
                    "consumer_secret_env": "CS",
                    "access_token_env": "AT",
                    "access_token_secret_env": "ATS",
                }
            },
            "responders": {
                "twitter": {"enabled": True},
                "email": {
                    "enabled": True,
                    "host": sink.host,
                    "port": sink.port,
                    "tls": "none",
                    "from_address": "support@brand.test",
                },
            },
        }
    )
    values = {
        "CK": x_api.consumer_key,
        "CS": x_api.consumer_secret,
        "AT": x_api.access_token,
        "ATS": x_api.access_token_secret,
    }
    return LoadedConfig(settings, {k: SecretStr(v) for k, v in values.items()}, None)


def test_reply_job_sends_queued_replies(
    committed_engine: Engine, x_api: XApiState, smtp_sink: SmtpSink
) -> None:
    cfg = loaded(x_api, smtp_sink)
    assert set(build_responders(cfg)) == {"x", "x_dm", "email"}
    w = World(committed_engine, x_api)
    ids = [w.queue("x_dm", key="a"), w.queue("email", key="b")]
    [job] = reply_jobs(cfg, committed_engine)
    assert job.id == "replies:deliver"
    job.run(T0 + timedelta(seconds=1))
    assert [w.reply(i).state for i in ids] == ["sent", "sent"]
    assert len(x_api.sent_dms) == 1 and len(smtp_sink.messages) == 1
    assert isinstance(w.reply(ids[0]), Reply)


def test_x_replies_need_keys(x_api: XApiState, smtp_sink: SmtpSink) -> None:
    cfg = loaded(x_api, smtp_sink)
    with pytest.raises(ConfigError, match=r"responders\.twitter"):
        build_responders(LoadedConfig(cfg.settings, {}, None))
