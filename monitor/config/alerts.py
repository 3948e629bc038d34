"""``alerts`` (the escalation ladder) and ``webhooks``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from monitor.config.base import Section


class EscalationStep(Section):
    after_minutes: int = Field(ge=0)
    notify: Literal["owner", "lead", "channel"]


class AlertsSettings(Section):
    channels: tuple[Literal["slack", "email", "webhook"], ...] = ()
    remind_before_minutes: int = Field(default=60, ge=0)
    repeat_minutes: int = Field(default=240, ge=1)
    ladder: tuple[EscalationStep, ...] = (
        EscalationStep(after_minutes=0, notify="owner"),
        EscalationStep(after_minutes=60, notify="lead"),
        EscalationStep(after_minutes=240, notify="channel"),
    )
    # The promise clock and the alert worker run this often (seconds).
    check_seconds: int = Field(default=60, ge=1)
    # Delivery of one alert: attempts before it is marked failed, first retry delay
    # (doubling each time, capped at retry_max_seconds).
    max_attempts: int = Field(default=6, ge=1)
    retry_seconds: int = Field(default=30, ge=1)
    retry_max_seconds: int = Field(default=3600, ge=1)
    # Alerts sent in parallel per process (each sender call is one HTTP/SMTP request).
    send_workers: int = Field(default=8, ge=1, le=64)
    # After a promise is fulfilled, staff check with the customer within this time.
    follow_up_hours: int = Field(default=24, ge=0)
    # "today" in a promise means the end of the owner's working day (local hour).
    workday_end_hour: int = Field(default=17, ge=1, le=24)
    # Email alerts to staff go through responders.email (SMTP).


class WebhooksSettings(Section):
    """Outbound webhooks (Standard Webhooks signatures); subscriptions live in the database."""

    enabled: bool = True
    poll_seconds: int = Field(default=5, ge=1)
    timeout_seconds: float = Field(default=10.0, gt=0)
    # Retry schedule after a failed attempt, in seconds; the delivery fails after the last.
    retry_seconds: tuple[int, ...] = (5, 300, 1800, 7200, 18000, 36000)
    # Refuse http:// endpoints (allow them for local tests only).
    require_https: bool = True
