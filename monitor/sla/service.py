"""Fixing a case's response-time target as contacts arrive (no commits, no I/O).

The target is fixed when an unanswered contact starts a wait (``sla_started_at``) and
re-fixed on each new contact of that wait: a new contact can only bring the due time
*forward* (a higher band has a shorter target), never push it back, so more waiting
never lowers a case's urgency. A staff reply ends the wait
(:func:`monitor.cases.service.record_staff_reply` clears the target), and the
customer's next message starts a *next-response* target from that message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from monitor.models import CaseStatus
from monitor.sla.policy import SlaPolicy, SlaState, TargetKind


class SlaCase(Protocol):
    """The part of a case the target reads and writes: an ORM Case or an ingest CaseRow."""

    status: str
    channel: str
    band: str
    first_unanswered_at: datetime | None
    last_staff_reply_at: datetime | None
    sla_kind: str | None
    sla_started_at: datetime | None
    sla_due_at: datetime | None
    sla_warn_at: datetime | None
    sla_state: str | None
    sla_step: int
    sla_next_action_at: datetime | None
    public_risk: bool


def clear_target(case: SlaCase) -> None:
    case.sla_kind = case.sla_state = None
    case.sla_started_at = case.sla_due_at = case.sla_warn_at = case.sla_next_action_at = None
    case.sla_step = 0


def fix_target(case: SlaCase, policy: SlaPolicy) -> bool:
    """(Re)fix the target of an unanswered case; True when its due time changed."""
    start = case.first_unanswered_at
    if not policy.enabled or start is None or case.status == CaseStatus.RESOLVED:
        had = case.sla_due_at is not None
        clear_target(case)
        return had
    if case.sla_started_at is None or case.sla_due_at is None:
        kind = TargetKind.FIRST if case.last_staff_reply_at is None else TargetKind.NEXT
        due = policy.due(case.channel, case.band, kind, start)
        case.sla_kind, case.sla_started_at = kind.value, start
        case.sla_due_at, case.sla_warn_at = due.due_at, due.warn_at
        case.sla_state, case.sla_step = SlaState.RUNNING.value, 0
        case.sla_next_action_at = due.warn_at
        return True
    kind = TargetKind(case.sla_kind or TargetKind.FIRST)
    due = policy.due(case.channel, case.band, kind, case.sla_started_at)
    if due.due_at >= case.sla_due_at:
        return False
    case.sla_due_at = due.due_at
    if case.sla_warn_at is None or due.warn_at < case.sla_warn_at:
        case.sla_warn_at = due.warn_at
    if case.sla_state == SlaState.RUNNING.value:
        case.sla_next_action_at = case.sla_warn_at
    elif case.sla_state == SlaState.WARNED.value:
        case.sla_next_action_at = case.sla_due_at
    return True


@dataclass(frozen=True)
class ClockView:
    """What the queue and the case page show of a case's target at ``now``."""

    kind: str
    due_at: datetime
    breached: bool
    soon: bool
    label: str  # "due in 12 min", "breached 2 h ago"
    remaining_seconds: float  # negative once breached: the urgency order


def _span(delta: timedelta) -> str:
    seconds = abs(delta.total_seconds())
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))} min"
    if seconds < 48 * 3600:
        return f"{round(seconds / 3600)} h"
    return f"{round(seconds / 86400)} days"


def clock_view(
    kind: str | None, due_at: datetime | None, *, now: datetime, soon: timedelta
) -> ClockView | None:
    if due_at is None or kind is None:
        return None
    left = due_at - now
    breached = left <= timedelta(0)
    label = f"breached {_span(left)} ago" if breached else f"due in {_span(left)}"
    return ClockView(
        kind=kind,
        due_at=due_at,
        breached=breached,
        soon=left <= soon,
        label=label,
        remaining_seconds=left.total_seconds(),
    )
