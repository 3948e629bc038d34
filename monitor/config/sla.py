"""``sla``: response-time targets per channel and band, business hours per team.

A target is the time within which staff should answer an unanswered customer: *first*
response on a case nobody has answered yet, *next* response after each later customer
message. Each team's business hours decide whether the clock runs outside them.
"""

from __future__ import annotations

from datetime import date, time
from typing import Literal

from pydantic import Field, model_validator

from monitor.config.base import Section, Timezone

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ChannelName = Literal["x", "x_dm", "email"]
CHANNELS: tuple[ChannelName, ...] = ("x", "x_dm", "email")


def parse_clock(value: str) -> time | None:
    """``HH:MM`` as a time; ``24:00`` (the end of the day) as None."""
    if value == "24:00":
        return None
    hours, _, minutes = value.partition(":")
    return time(int(hours), int(minutes))


class Team(Section):
    """Who answers which channels, and when the response clock runs for them."""

    channels: tuple[ChannelName, ...] = CHANNELS
    timezone: Timezone = "UTC"
    weekdays: tuple[Weekday, ...] = WEEKDAYS
    # Opening hours on each working day, local time ("24:00" = end of day).
    opens: str = Field(default="00:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    closes: str = Field(default="24:00", pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$")
    holidays: tuple[date, ...] = ()
    # True: the clock stops outside the hours above (weekends, nights, holidays);
    # False: targets count wall-clock time.
    pause_outside_hours: bool = False

    @model_validator(mode="after")
    def _hours(self) -> Team:
        opens, closes = parse_clock(self.opens), parse_clock(self.closes)
        if closes is not None and opens is not None and closes <= opens:
            raise ValueError("closes must be after opens (hours across midnight: two teams)")
        if not self.weekdays:
            raise ValueError("a team needs at least one working weekday")
        return self


class Target(Section):
    first_minutes: int = Field(ge=1)
    next_minutes: int = Field(ge=1)


class ChannelTargets(Section):
    """Targets of one channel, per band of the case's score."""

    critical: Target
    high: Target
    medium: Target
    low: Target


def _targets(critical: int, high: int, medium: int, low: int) -> ChannelTargets:
    def t(m: int) -> Target:
        return Target(first_minutes=m, next_minutes=m)

    return ChannelTargets(critical=t(critical), high=t(high), medium=t(medium), low=t(low))


def _default_targets() -> dict[ChannelName, ChannelTargets]:
    return {
        "x": _targets(30, 60, 120, 240),
        "x_dm": _targets(60, 120, 240, 480),
        "email": _targets(240, 480, 1440, 2880),
    }


class SlaSettings(Section):
    enabled: bool = True
    targets: dict[ChannelName, ChannelTargets] = Field(default_factory=_default_targets)
    teams: dict[str, Team] = Field(default_factory=lambda: {"desk": Team()})
    # The warning goes out this long before a target (at most half the target).
    warn_before_minutes: int = Field(default=30, ge=0)
    # "breaching soon" in the queue: due within this many minutes, or already breached.
    soon_minutes: int = Field(default=60, ge=1)

    @model_validator(mode="after")
    def _complete(self) -> SlaSettings:
        missing = [c for c in CHANNELS if c not in self.targets]
        if missing:
            raise ValueError(f"targets missing for channel(s): {', '.join(missing)}")
        if not self.teams:
            raise ValueError("at least one team is needed")
        return self
