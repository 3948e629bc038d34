"""The whole settings tree: ``database``, ``server`` and every section below."""

from __future__ import annotations

from pydantic import Field

from monitor.config.alerts import AlertsSettings, WebhooksSettings
from monitor.config.base import Section
from monitor.config.desk import QueueSettings, ReplySettings, ScoringSettings
from monitor.config.responders import RespondersSettings
from monitor.config.sources import SourcesSettings


class DatabaseSettings(Section):
    url: str = "sqlite:///complaint-monitor.db"
    echo: bool = False


class ServerSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    # Signs session cookies. Required outside demo/development.
    session_secret_env: str = "COMPLAINT_MONITOR_SECRET"
    secure_cookies: bool = True
    run_scheduler: bool = True


class Settings(Section):
    database: DatabaseSettings = DatabaseSettings()
    server: ServerSettings = ServerSettings()
    sources: SourcesSettings = SourcesSettings()
    responders: RespondersSettings = RespondersSettings()
    alerts: AlertsSettings = AlertsSettings()
    webhooks: WebhooksSettings = WebhooksSettings()
    scoring: ScoringSettings = ScoringSettings()
    queue: QueueSettings = QueueSettings()
    replies: ReplySettings = ReplySettings()
