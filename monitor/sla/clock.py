"""The SLA clock: a warning before each response-time target, the alert ladder after it.

It is the promise clock's machinery (:mod:`monitor.promises.clock`) pointed at cases:
the same claim (:func:`~monitor.promises.clock.claim_rows` on ``sla_next_action_at``:
``SKIP LOCKED`` on PostgreSQL, ``UPDATE … RETURNING`` on SQLite), the same walk up the
configured ladder (:func:`~monitor.promises.clock.climb`), the same recipients
(:class:`~monitor.promises.recipients.Targets`, the case's assignee as the owner) and the
same pending alert rows with unique dedupe keys, so each step alerts exactly once
however many processes run. Keys: ``sla:{case}:{wait}:{step}:{channel}:{target}``,
where ``wait`` is when the wait began (a new wait is a new target) and ``step`` is
``warn``, ``step:i`` for the i-th rung, or ``risk`` for a public risk (to the lead).
A breach re-scores the case, so its priority shows the overdue target.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor import events
from monitor.alerts.service import alert_row, insert_alerts
from monitor.models import Case, CaseStatus, Customer
from monitor.priority.service import Scorer, rescore_and_announce
from monitor.promises.clock import ClockPolicy, Step, claim_rows, climb
from monitor.promises.recipients import Targets
from monitor.sla.policy import SlaPolicy, SlaState
from monitor.sla.service import fix_target

WARNING, BREACHED, ESCALATED, PUBLIC_RISK = (
    "case.sla_warning",
    "case.sla_breached",
    "case.sla_escalated",
    "case.public_risk",
)


@dataclass
class SlaPlan:
    steps: list[Step] = field(default_factory=list)
    state: str | None = None
    step: int = 0
    next_action_at: datetime | None = None
    warned: bool = False
    breached: bool = False


def plan(case: Case, policy: ClockPolicy, *, now: datetime) -> SlaPlan:
    """What the case's target needs at ``now`` (pure; reads only the case's fields)."""
    out = SlaPlan(state=case.sla_state, step=case.sla_step)
    due = case.sla_due_at
    if due is None:
        return out
    owner = "owner" if case.assignee_id is not None else "team"
    if case.public_risk:
        out.steps.append(Step("risk", PUBLIC_RISK, "lead"))
    if now < due:
        warn = case.sla_warn_at or due
        if case.sla_state == SlaState.RUNNING and now < warn:
            out.next_action_at = warn
            return out
        if case.sla_state == SlaState.RUNNING:
            out.steps.append(Step("warn", WARNING, owner))
            out.state, out.warned = SlaState.WARNED, True
        out.next_action_at = due
        return out
    if case.sla_state != SlaState.BREACHED:
        out.state, out.breached = SlaState.BREACHED, True
    rungs, out.step = climb(due, case.sla_step, policy.ladder, now=now)
    for i, _, notify in rungs:
        who = owner if notify == "owner" else notify
        out.steps.append(Step(f"step:{i}", BREACHED if i == 0 else ESCALATED, who))
    if out.step < len(policy.ladder):
        out.next_action_at = due + policy.ladder[out.step][0]
    return out  # past the last rung: nothing more until the next wait


def message(case: Case, step: Step, *, now: datetime, customer: str = "") -> str:
    due = case.sla_due_at or now
    what = f"{(case.sla_kind or 'first').capitalize()} response"
    head = f"Case #{case.id}" + (f" ({customer}, {case.channel})" if customer else "")
    risk = " PUBLIC RISK: unanswered in private, the customer has now posted publicly." * bool(
        case.public_risk
    )
    late = (now - due).total_seconds() / 3600
    text = {
        WARNING: f"{head}: {what} due {due:%H:%M} UTC, nobody has answered yet.{risk}",
        BREACHED: f"{head}: {what} target missed (due {due:%H:%M} UTC).{risk}",
        ESCALATED: f"Escalation: {head}: {what} overdue by {late:.1f} h.{risk}",
        PUBLIC_RISK: f"{head}:{risk}",
    }
    return text.get(step.kind, f"{head}: {step.kind}")


def alert_rows(
    case: Case, step: Step, targets: Targets, *, now: datetime, text: str
) -> list[dict[str, Any]]:
    wait = int((case.sla_started_at or case.sla_due_at or now).timestamp())
    return [
        alert_row(
            kind=step.kind,
            channel=channel,
            target=target,
            dedupe_key=f"sla:{case.id}:{wait}:{step.key}:{channel}:{target}",
            message=text,
            now=now,
            case_id=case.id,
        )
        for channel, target in targets.resolve(case.assignee_id, step.notify)
    ]


def _apply(
    session: Session, case: Case, pl: SlaPlan, targets: Targets, *, now: datetime, customer: str
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for step in pl.steps:
        text = message(case, step, now=now, customer=customer)
        rows.extend(alert_rows(case, step, targets, now=now, text=text))
    base = {
        "kind": case.sla_kind,
        "due_at": case.sla_due_at.isoformat() if case.sla_due_at else None,
        "started_at": case.sla_started_at.isoformat() if case.sla_started_at else None,
        "public_risk": case.public_risk,
        "assignee_id": case.assignee_id,
    }
    if pl.warned:
        events.append(session, events.EventKind.SLA_WARNING, now=now, case_id=case.id,
                      payload=base)  # fmt: skip
    if pl.breached:
        events.append(session, events.EventKind.SLA_BREACHED, now=now, case_id=case.id,
                      payload=base)  # fmt: skip
    case.sla_state, case.sla_step = pl.state, pl.step
    case.sla_next_action_at = pl.next_action_at
    return rows


def claim_due(session: Session, *, now: datetime, limit: int) -> list[Case]:
    """Take up to ``limit`` cases whose target needs a look; other processes skip them."""
    return claim_rows(
        session,
        Case,
        due=(Case.sla_next_action_at <= now) & (Case.status != CaseStatus.RESOLVED),
        order=(Case.sla_next_action_at, Case.id),
        lease=Case.sla_next_action_at,
        now=now,
        limit=limit,
    )


def tick(
    session: Session,
    *,
    now: datetime,
    policy: ClockPolicy,
    scorer: Scorer | None = None,
    limit: int = 500,
) -> int:
    """One batch in the caller's transaction; returns how many cases were handled."""
    claimed = claim_due(session, now=now, limit=limit)
    if not claimed:
        return 0
    names = dict(
        session.execute(
            select(Customer.id, Customer.display_name).where(
                Customer.id.in_({c.customer_id for c in claimed})
            )
        )
        .tuples()
        .all()
    )
    targets = Targets(session, policy)
    rows: list[dict[str, Any]] = []
    breached: list[Case] = []
    for case in claimed:
        pl = plan(case, policy, now=now)
        customer = names.get(case.customer_id, "")
        rows.extend(_apply(session, case, pl, targets, now=now, customer=customer))
        if pl.breached:
            breached.append(case)
    session.flush()
    insert_alerts(session, rows)
    if scorer is not None and breached:
        rescore_and_announce(session, breached, scorer=scorer, now=now)
    return len(claimed)


def backfill(session: Session, sla: SlaPolicy, *, limit: int = 1000) -> int:
    """Fix targets for unanswered open cases that have none (cases from before the
    targets existed, or written by other means than ingestion); idempotent."""
    cases = list(
        session.scalars(
            select(Case)
            .where(
                Case.status == CaseStatus.OPEN,
                Case.first_unanswered_at.is_not(None),
                Case.sla_started_at.is_(None),
            )
            .order_by(Case.id)
            .limit(limit)
        )
    )
    return sum(fix_target(c, sla) for c in cases)
