"""Watching the clock: reminders, overdue alerts, the escalation ladder, follow-ups.

Each promise carries ``next_action_at``: when the clock must look at it again. A tick
claims the promises whose time has come, decides what each needs at ``now``
(:func:`plan`, pure), records the alerts as *pending* rows and moves the promise on,
all in one transaction. Delivery is the alert worker's job (``monitor.alerts.delivery``).

Exactly once across processes, two locks deep:

1. The claim. PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED``, so concurrent ticks take
   disjoint promises and never wait on each other. SQLite: an atomic
   ``UPDATE … RETURNING`` inside the ``BEGIN IMMEDIATE`` transaction the engine opens,
   which holds the database's single write lock until commit.
2. The alert's ``dedupe_key`` is unique per (promise, step, channel, target), and
   alerts are inserted with ``ON CONFLICT DO NOTHING``: a restart, a replayed tick or a
   second process that somehow planned the same step cannot create a second alert.

Steps (keys are derived from the schedule, not from counters): ``remind:k`` for the
k-th reminder slot (from ``due - remind_before`` every ``repeat`` until the deadline),
``step:i`` for the i-th ladder rung (``due + after_minutes``), ``repeat:k`` for the
repeats of the last rung every ``repeat`` afterwards, and ``follow_up`` when a kept
promise's follow-up is late.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from monitor import events
from monitor.alerts.service import alert_row, insert_alerts
from monitor.clocks import Clock, advancing
from monitor.config import AlertsSettings
from monitor.models import Case, CaseStatus, Promise, PromiseState
from monitor.priority.service import Scorer, rescore_and_announce
from monitor.promises.recipients import Targets
from monitor.promises.service import UNKEPT, PromiseEvent
from monitor.promises.text import zone

CLOCKED = (*UNKEPT, PromiseState.FULFILLED)
Row = TypeVar("Row")
CLAIM_LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class ClockPolicy:
    remind_before: timedelta
    repeat: timedelta
    ladder: tuple[tuple[timedelta, str], ...]  # (after the deadline, owner|lead|channel)
    channels: tuple[str, ...]  # alert channels that get Alert rows: slack, email
    alert_channel: str = ""  # Slack channel for "channel" rungs

    @classmethod
    def from_settings(cls, alerts: AlertsSettings, *, alert_channel: str = "") -> ClockPolicy:
        return cls(
            remind_before=timedelta(minutes=alerts.remind_before_minutes),
            repeat=timedelta(minutes=alerts.repeat_minutes),
            ladder=tuple((timedelta(minutes=s.after_minutes), s.notify) for s in alerts.ladder),
            channels=tuple(c for c in alerts.channels if c != "webhook"),
            alert_channel=alert_channel,
        )


@dataclass(frozen=True)
class Step:
    key: str  # remind:0, step:1, repeat:3, follow_up
    kind: str  # the alert kind
    notify: str  # owner | lead | channel


@dataclass
class Plan:
    steps: list[Step] = field(default_factory=list)
    state: str = PromiseState.OPEN
    escalation_step: int = 0
    next_action_at: datetime | None = None
    reminded: bool = False
    became_overdue: bool = False
    escalated_to: list[str] = field(default_factory=list)


def _slot(start: datetime, every: timedelta, now: datetime) -> int:
    return int((now - start) / every)


Ladder = tuple[tuple[timedelta, str], ...]


def climb(
    due: datetime, reached: int, ladder: Ladder, *, now: datetime
) -> tuple[list[tuple[int, timedelta, str]], int]:
    """The rungs of ``ladder`` (after the deadline, who) that are due at ``now`` beyond
    the ``reached`` already climbed, as (index, after, notify), and the new count.
    Shared by every clock that escalates: promises here, response targets (monitor.sla)."""
    rungs = []
    i = reached
    while i < len(ladder) and now >= due + ladder[i][0]:
        rungs.append((i, ladder[i][0], ladder[i][1]))
        i += 1
    return rungs, i


def plan(p: Promise, policy: ClockPolicy, *, now: datetime, followed_up: bool = False) -> Plan:
    """What promise ``p`` needs at ``now`` (pure; reads only the promise's fields)."""
    out = Plan(state=p.state, escalation_step=p.escalation_step)
    if p.state == PromiseState.FULFILLED:
        if not followed_up and p.follow_up_due_at is not None and now >= p.follow_up_due_at:
            out.steps.append(Step("follow_up", "promise.follow_up", "owner"))
        return out  # next_action_at None: the follow-up is checked once
    if p.state not in UNKEPT:
        return out
    due = p.due_at
    if now < due:
        start = due - policy.remind_before
        if policy.remind_before and now >= start:
            k = _slot(start, policy.repeat, now)
            out.steps.append(Step(f"remind:{k}", "promise.reminder", "owner"))
            out.reminded = True
            following = start + (k + 1) * policy.repeat
            out.next_action_at = following if following < due else due
        else:
            out.next_action_at = start if policy.remind_before else due
        return out
    if p.state == PromiseState.OPEN:
        out.state = PromiseState.OVERDUE
        out.became_overdue = True
    ladder = policy.ladder
    rungs, i = climb(due, p.escalation_step, ladder, now=now)
    for step_i, after, notify in rungs:
        kind = (
            "promise.overdue"
            if notify == "owner" and after == ladder[0][0]
            else "promise.escalated"
        )
        out.steps.append(Step(f"step:{step_i}", kind, notify))
        if notify != "owner":
            out.state = PromiseState.ESCALATED
            out.escalated_to.append(notify)
    out.escalation_step = i
    if i < len(ladder):
        out.next_action_at = due + ladder[i][0]
        return out
    last_at, last_notify = ladder[-1] if ladder else (timedelta(0), "owner")
    start = due + last_at
    if p.escalation_step >= len(ladder):  # repeats begin one interval after the last rung
        k = _slot(start, policy.repeat, now)
        if k >= 1:
            out.steps.append(Step(f"repeat:{k}", "promise.repeat", last_notify))
    out.next_action_at = start + (_slot(start, policy.repeat, now) + 1) * policy.repeat
    return out


def claim_rows(
    session: Session,
    model: type[Row],
    *,
    due: ColumnElement[bool],
    order: tuple[Any, ...],
    lease: InstrumentedAttribute[datetime | None],
    now: datetime,
    limit: int,
) -> list[Row]:
    """Take up to ``limit`` rows of ``model`` matching ``due``; concurrent claimers get
    disjoint rows. PostgreSQL: FOR UPDATE SKIP LOCKED, held until commit. SQLite: the
    ``lease`` column is pushed CLAIM_LEASE ahead in one UPDATE … RETURNING (the caller
    sets it to its real next time before commit)."""
    ident = model.id  # type: ignore[attr-defined]
    if session.get_bind().dialect.name == "postgresql":
        stmt = (
            select(model)
            .where(due)
            .order_by(*order)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        return list(session.scalars(stmt))
    ids = select(ident).where(due).order_by(*order).limit(limit).scalar_subquery()
    claimed = session.scalars(
        update(model)
        .where(ident.in_(ids))
        .values({lease.key: now + CLAIM_LEASE})
        .returning(ident)
        .execution_options(synchronize_session=False)
    ).all()
    if not claimed:
        return []
    stmt = select(model).where(ident.in_(claimed)).order_by(*order)
    return list(session.scalars(stmt.execution_options(populate_existing=True)))


def claim_due(session: Session, *, now: datetime, limit: int) -> list[Promise]:
    """Take up to ``limit`` promises whose next action is due; others skip them."""
    return claim_rows(
        session,
        Promise,
        due=(Promise.next_action_at <= now) & Promise.state.in_(CLOCKED),
        order=(Promise.next_action_at, Promise.id),
        lease=Promise.next_action_at,
        now=now,
        limit=limit,
    )


def message(p: Promise, step: Step, *, now: datetime, customer: str = "") -> str:
    local = p.due_at.astimezone(zone(p.owner_timezone))
    due = local.strftime("%a %d %b %H:%M %Z")
    who = f" to {customer}" if customer else ""
    head = f"Promise #{p.id}{who} (case #{p.case_id}, {p.kind}): “{p.wording}”"
    invite = (p.perform or {}).get("state")
    note = " The Slack invite was sent but not accepted yet." if invite == "invited" else ""
    late = now - p.due_at
    hours = f"{late.total_seconds() / 3600:.1f} h"
    text = {
        "promise.reminder": f"{head} is due {due}.{note}",
        "promise.overdue": f"{head} was due {due} and is not kept.{note}",
        "promise.escalated": f"Escalation: {head} is overdue by {hours} (due {due}).{note}",
        "promise.repeat": f"Still overdue ({hours}): {head}.{note}",
        "promise.follow_up": f"{head} was kept; please check in with the customer personally.",
        "promise.perform_failed": f"{head}: the app could not perform it; please do it by hand.",
    }
    return text.get(step.kind, f"{head}: {step.kind}")


def alert_rows(
    p: Promise, step: Step, targets: Targets, *, now: datetime, text: str
) -> list[dict[str, Any]]:
    return [
        alert_row(
            kind=step.kind,
            channel=channel,
            target=target,
            dedupe_key=f"promise:{p.id}:{step.key}:{channel}:{target}",
            message=text,
            now=now,
            case_id=p.case_id,
            promise_id=p.id,
        )
        for channel, target in targets.resolve(p.owner_id, step.notify)
    ]


def _followed_up(session: Session, p: Promise) -> bool:
    case = session.get(Case, p.case_id)
    done = case.followed_up_at if case else None
    return done is not None and p.fulfilled_at is not None and done >= p.fulfilled_at


def _apply(
    session: Session, p: Promise, pl: Plan, targets: Targets, now: datetime
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for step in pl.steps:
        rows.extend(alert_rows(p, step, targets, now=now, text=message(p, step, now=now)))
    base = {
        "promise_id": p.id,
        "kind": p.kind,
        "wording": p.wording,
        "due_at": p.due_at.isoformat(),
    }
    if pl.reminded:
        events.append(session, PromiseEvent.DUE_SOON, now=now, case_id=p.case_id, payload=base)
    if pl.became_overdue:
        events.append(session, PromiseEvent.OVERDUE, now=now, case_id=p.case_id, payload=base)
        _back_on_queue(session, p.case_id, now=now)
    for notify in pl.escalated_to:
        payload = {**base, "to": notify, "step": pl.escalation_step}
        events.append(session, PromiseEvent.ESCALATED, now=now, case_id=p.case_id, payload=payload)
    if any(s.key == "follow_up" for s in pl.steps):
        events.append(
            session, PromiseEvent.FOLLOW_UP_OVERDUE, now=now, case_id=p.case_id, payload=base
        )
    p.state = pl.state
    p.escalation_step = pl.escalation_step
    p.next_action_at = pl.next_action_at
    if pl.reminded:
        p.last_reminded_at = now
    p.updated_at = now
    return rows


def _back_on_queue(session: Session, case_id: int, *, now: datetime) -> None:
    """A broken deadline needs staff now: a case waiting on the customer (we answered)
    goes back on the open queue, where the overdue promise ranks it."""
    case = session.get(Case, case_id)
    if case is not None and case.status == CaseStatus.WAITING:
        case.status = CaseStatus.OPEN
        case.updated_at = now
        events.append(
            session,
            events.EventKind.CASE_UPDATED,
            now=now,
            case_id=case.id,
            payload={"status": case.status, "reason": "promise overdue"},
        )


def rescore_customers(
    session: Session, customer_ids: Iterable[int], *, scorer: Scorer, now: datetime
) -> int:
    """Re-score the open cases of these customers (an overdue promise counts now)."""
    ids = set(customer_ids)
    if not ids:
        return 0
    cases = list(
        session.scalars(
            select(Case).where(Case.customer_id.in_(ids), Case.status != CaseStatus.RESOLVED)
        )
    )
    changed = rescore_and_announce(session, cases, scorer=scorer, now=now)
    session.flush()
    return len(changed)


def tick(
    session: Session,
    *,
    now: datetime,
    policy: ClockPolicy,
    scorer: Scorer | None = None,
    limit: int = 500,
) -> int:
    """One batch in the caller's transaction; returns how many promises were handled."""
    claimed = claim_due(session, now=now, limit=limit)
    targets = Targets(session, policy)
    rows: list[dict[str, Any]] = []
    overdue_customers: set[int] = set()
    for p in claimed:
        followed = p.state == PromiseState.FULFILLED and _followed_up(session, p)
        pl = plan(p, policy, now=now, followed_up=followed)
        rows.extend(_apply(session, p, pl, targets, now))
        if pl.became_overdue:
            overdue_customers.add(p.customer_id)
    session.flush()
    insert_alerts(session, rows)
    if scorer is not None:
        rescore_customers(session, overdue_customers, scorer=scorer, now=now)
    return len(claimed)


def run(
    sessions: sessionmaker[Session],
    *,
    now: datetime,
    policy: ClockPolicy,
    scorer: Scorer | None = None,
    batch: int = 500,
    max_batches: int = 100,
    clock: Clock | None = None,
) -> int:
    """Ticks in separate transactions until nothing is due (the scheduled job).

    Each tick reads the time from ``clock`` (by default ``now`` moved on by the
    monotonic clock): a late batch plans at the time it runs, not the job's start.
    """
    clock = clock or advancing(now)
    total = 0
    for _ in range(max_batches):
        with sessions.begin() as session:
            handled = tick(session, now=clock(), policy=policy, scorer=scorer, limit=batch)
        total += handled
        if handled < batch:
            break
    return total
