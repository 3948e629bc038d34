"""The configured targets as a policy: which target a case has, and when it falls due."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from monitor.config.sla import SlaSettings, Target
from monitor.sla.hours import BusinessHours


class TargetKind(StrEnum):
    FIRST = "first"  # nobody has answered the case yet
    NEXT = "next"  # the customer wrote again after a staff reply


class SlaState(StrEnum):
    RUNNING = "running"
    WARNED = "warned"
    BREACHED = "breached"


@dataclass(frozen=True)
class Due:
    kind: TargetKind
    target: timedelta
    due_at: datetime
    warn_at: datetime


@dataclass(frozen=True)
class SlaPolicy:
    targets: Mapping[str, Mapping[str, Target]]  # channel -> band -> target
    hours: Mapping[str, BusinessHours]  # channel -> its team's hours
    teams: Mapping[str, str] = field(default_factory=dict)  # channel -> team name
    warn_before: timedelta = timedelta(minutes=30)
    enabled: bool = True
    soon: timedelta = timedelta(minutes=60)

    @classmethod
    def from_settings(cls, s: SlaSettings) -> SlaPolicy:
        hours: dict[str, BusinessHours] = {}
        teams: dict[str, str] = {}
        for name, team in s.teams.items():
            for channel in team.channels:
                if channel not in hours:  # the first team that lists a channel has it
                    hours[channel] = BusinessHours.from_team(team)
                    teams[channel] = name
        first = next(iter(s.teams))
        for channel in s.targets:
            if channel not in hours:
                hours[channel] = BusinessHours.from_team(s.teams[first])
                teams[channel] = first
        return cls(
            targets={
                ch: {b: getattr(t, b) for b in ("critical", "high", "medium", "low")}
                for ch, t in s.targets.items()
            },
            hours=hours,
            teams=teams,
            warn_before=timedelta(minutes=s.warn_before_minutes),
            enabled=s.enabled,
            soon=timedelta(minutes=s.soon_minutes),
        )

    def hours_for(self, channel: str) -> BusinessHours:
        return self.hours.get(channel) or BusinessHours.always()

    def target(self, channel: str, band: str, kind: TargetKind) -> timedelta:
        bands = self.targets.get(channel) or self.targets.get("email") or {}
        t = bands.get(band) or bands.get("low")
        if t is None:
            return timedelta(hours=24)
        minutes = t.first_minutes if kind == TargetKind.FIRST else t.next_minutes
        return timedelta(minutes=minutes)

    def due(self, channel: str, band: str, kind: TargetKind, start: datetime) -> Due:
        """When the target that started at ``start`` falls due, and when to warn."""
        target = self.target(channel, band, kind)
        hours = self.hours_for(channel)
        warn_lead = min(self.warn_before, target / 2)
        return Due(
            kind=kind,
            target=target,
            due_at=hours.add(start, target),
            warn_at=hours.add(start, target - warn_lead),
        )


def default_policy() -> SlaPolicy:
    """The targets of the default settings (what a desk gets without an ``sla`` section)."""
    return SlaPolicy.from_settings(SlaSettings())
