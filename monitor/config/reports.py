"""``reports``: the causes taxonomy, the check-in after resolution, the survey, the digest."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from monitor.config.base import Section, Timezone

CAUSE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class CauseSettings(Section):
    """One cause: a short name (stored on cases), a label, and the words that suggest it."""

    name: str
    label: str = ""
    keywords: tuple[str, ...] = ()

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not CAUSE_NAME.match(value):
            raise ValueError(f"{value!r}: use lower-case letters, digits and _ (at most 40)")
        return value

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()


DEFAULT_CAUSES = (
    CauseSettings(
        name="billing",
        label="Billing",
        keywords=(
            "bill",
            "billed",
            "charge",
            "charged",
            "invoice",
            "refund",
            "payment",
            "overcharged",
            "subscription",
            "price",
            "paid",
            "card",
        ),
    ),
    CauseSettings(
        name="delivery",
        label="Delivery",
        keywords=(
            "delivery",
            "delivered",
            "parcel",
            "package",
            "shipping",
            "shipped",
            "courier",
            "tracking",
            "arrived",
            "order",
        ),
    ),
    CauseSettings(
        name="app_crash",
        label="App crash",
        keywords=(
            "crash",
            "crashes",
            "crashed",
            "freezes",
            "frozen",
            "bug",
            "error",
            "broken",
            "won't open",
            "doesn't load",
            "not loading",
            "app",
        ),
    ),
    CauseSettings(
        name="onboarding",
        label="Onboarding",
        keywords=(
            "sign up",
            "signup",
            "onboarding",
            "invite",
            "slack",
            "setup",
            "set up",
            "getting started",
            "welcome",
            "activate",
            "activation",
        ),
    ),
    CauseSettings(
        name="account",
        label="Account access",
        keywords=("password", "login", "log in", "locked", "account", "2fa", "reset"),
    ),
    CauseSettings(name="other", label="Other"),
)


class SurveySettings(Section):
    enabled: bool = True
    # A link works once, for this long after it was made.
    expires_hours: int = Field(default=7 * 24, ge=1, le=90 * 24)
    # Answers 1 (very unhappy) .. 5 (very happy); at or below this the case reopens.
    unhappy_at_or_below: int = Field(default=2, ge=1, le=4)
    # The address customers open the link at (default: the console's own address).
    public_base_url: str = ""


class DigestSettings(Section):
    """A weekly summary through the alert channels (``alerts.channels``: slack, email)."""

    enabled: bool = False
    weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    hour: int = Field(default=8, ge=0, le=23)  # local hour in ``reports.timezone``
    # Who gets it: email addresses, and/or the Slack alert channel when empty.
    recipients: tuple[str, ...] = ()


class ReportsSettings(Section):
    causes: tuple[CauseSettings, ...] = DEFAULT_CAUSES
    # A suggestion below this confidence is not stored on the case.
    suggest_min_confidence: float = Field(default=0.35, ge=0, le=1)
    # Days, weeks and "today" of a report are counted in this zone.
    timezone: Timezone = "UTC"
    # On resolution, a personal check-in is due to the case's owner this many hours later.
    check_in_hours: int = Field(default=48, ge=1, le=60 * 24)
    survey: SurveySettings = SurveySettings()
    digest: DigestSettings = DigestSettings()

    @model_validator(mode="after")
    def _unique(self) -> ReportsSettings:
        names = [c.name for c in self.causes]
        if len(set(names)) != len(names):
            raise ValueError("reports.causes: each name once")
        return self

    def cause(self, name: str) -> CauseSettings | None:
        return next((c for c in self.causes if c.name == name), None)
