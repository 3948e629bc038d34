"""The whole settings tree: ``database``, ``server`` and every section below."""

from __future__ import annotations

import ipaddress

from pydantic import Field, field_validator

from monitor.config.alerts import AlertsSettings, WebhooksSettings
from monitor.config.base import Section
from monitor.config.desk import QueueSettings, ReplySettings, ScoringSettings
from monitor.config.incidents import CompensationSettings, IncidentsSettings
from monitor.config.reports import ReportsSettings
from monitor.config.responders import RespondersSettings
from monitor.config.sla import SlaSettings
from monitor.config.sources import SourcesSettings


class DatabaseSettings(Section):
    url: str = "sqlite:///complaint-monitor.db"
    echo: bool = False


def _check_networks(value: tuple[str, ...]) -> tuple[str, ...]:
    for item in value:
        try:
            ipaddress.ip_network(item.strip(), strict=False)
        except ValueError:
            raise ValueError(
                f"{item!r} is not an IP address or network (e.g. 10.0.0.5, 10.0.0.0/24)"
            ) from None
    return tuple(item.strip() for item in value)


class OpsSettings(Section):
    """Who may read /metrics, /openapi.json, /docs and /redoc (/healthz stays open)."""

    # Client addresses (after server.trusted_proxies) served without a token. The
    # default keeps them off the public listener: only this host (a local Prometheus,
    # an SSH tunnel) reads them.
    allow_networks: tuple[str, ...] = ("127.0.0.0/8", "::1/128")
    # Environment variable holding a bearer token that opens them from anywhere
    # (Authorization: Bearer <token>); unset or empty: no token works.
    token_env: str = "COMPLAINT_MONITOR_OPS_TOKEN"

    @field_validator("allow_networks")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _check_networks(value)


class ServerSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    # Signs session cookies. Required outside demo/development.
    session_secret_env: str = "COMPLAINT_MONITOR_SECRET"
    secure_cookies: bool = True
    run_scheduler: bool = True
    # A console sign-in ends after this long without a request, and in any case this
    # long after it began (a working day: agents sign in once each morning).
    session_idle_minutes: int = Field(default=240, ge=1, le=7 * 24 * 60)
    session_max_hours: int = Field(default=12, ge=1, le=30 * 24)
    # Addresses or networks of the reverse proxies whose X-Forwarded-For /
    # X-Forwarded-Proto headers are believed. Empty: nobody's (the peer address is
    # the client's, and the sign-in limit counts per peer).
    trusted_proxies: tuple[str, ...] = ()
    ops: OpsSettings = OpsSettings()

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _check_networks(value)


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
    reports: ReportsSettings = ReportsSettings()
    incidents: IncidentsSettings = IncidentsSettings()
    compensation: CompensationSettings = CompensationSettings()
    sla: SlaSettings = SlaSettings()
