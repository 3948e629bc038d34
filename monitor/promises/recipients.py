"""Who hears about a step of the ladder: the owner, their lead, the team, per channel.

Shared by the promise clock and the response-time clock (:mod:`monitor.sla.clock`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.models import Role, Staff

if TYPE_CHECKING:
    from monitor.promises.clock import ClockPolicy


class Targets:
    """Who hears about a step, per channel; staff rows are read once per tick."""

    def __init__(self, session: Session, policy: ClockPolicy) -> None:
        self.session = session
        self.policy = policy
        self._any_lead: Staff | bool | None = False
        self._staff: dict[int, Staff | None] = {}  # strong refs: no reload, no autoflush

    def staff(self, staff_id: int | None) -> Staff | None:
        if staff_id is None:
            return None
        if staff_id not in self._staff:
            self._staff[staff_id] = self.session.get(Staff, staff_id)
        return self._staff[staff_id]

    def any_lead(self) -> Staff | None:
        if self._any_lead is False:
            self._any_lead = self.session.scalars(
                select(Staff)
                .where(Staff.role.in_((Role.LEAD, Role.ADMIN)), Staff.active.is_(True))
                .order_by(Staff.role.desc(), Staff.id)  # "lead" sorts after "admin"
                .limit(1)
            ).first()
        return self._any_lead if isinstance(self._any_lead, Staff) else None

    def people(self, owner_id: int | None, notify: str) -> list[Staff]:
        owner = self.staff(owner_id)
        if notify == "owner":
            return [owner] if owner else self.people(owner_id, "lead")
        if notify == "lead":
            lead = self.staff(owner.lead_id) if owner else None
            lead = lead or self.any_lead()
            return [lead] if lead else []
        return []

    def resolve(self, owner_id: int | None, notify: str) -> list[tuple[str, str]]:
        """(channel, target) pairs: Slack user by email or the alert channel; email.

        ``team`` (nobody owns it yet): the Slack alert channel, and by email the lead."""
        if notify == "team":
            lead = self.resolve(None, "lead")
            if "slack" not in self.policy.channels or not self.policy.alert_channel:
                return lead  # no team channel: the lead hears of it
            return [("slack", self.policy.alert_channel), *(t for t in lead if t[0] == "email")]
        found: list[tuple[str, str]] = []
        people = self.people(owner_id, notify)
        for channel in self.policy.channels:
            if channel == "slack":
                emails = [s.email for s in people if s.email]
                if emails:
                    found.extend(("slack", e) for e in emails)
                elif self.policy.alert_channel:
                    found.append(("slack", self.policy.alert_channel))
            elif channel == "email":
                found.extend(("email", s.email) for s in people if s.email)
        return found
