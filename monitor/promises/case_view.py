"""What the case page shows about promises and alerts (read-only, batched look-ups).

For each promise of the customer: wording, kind, owner, the deadline in the owner's
time zone, state (overdue computed at ``now``), evidence, the follow-up prompt once it
was kept, its alerts with their delivery state and its history. For the case itself:
the alerts not tied to a promise (a reply that failed), newest first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from monitor.models import Alert, Case, Event, Promise, PromiseState, Staff
from monitor.promises.text import PromiseKind, zone

UNKEPT = (PromiseState.OPEN, PromiseState.OVERDUE, PromiseState.ESCALATED)
AUTOMATIC = (PromiseKind.SLACK_INVITE.value,)
EVENT_LIMIT = 2000
ALERT_LIMIT = 500


@dataclass(frozen=True)
class AlertView:
    id: int
    kind: str
    channel: str
    target: str
    state: str  # pending | sent | failed
    attempts: int
    error: str | None
    message: str
    created_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True)
class HistoryItem:
    at: datetime
    kind: str
    actor: str
    detail: str = ""


@dataclass(frozen=True)
class PromiseView:
    id: int
    kind: str
    wording: str
    due_at: datetime
    state: str
    overdue: bool
    case_id: int = 0
    owner_id: int | None = None
    owner_name: str = ""
    owner_timezone: str = "UTC"
    due_local: str = ""  # the deadline in the owner's zone, e.g. "Mon 02 Nov 17:00 CET"
    automatic: bool = False  # performed by the app (Slack invite): no "mark fulfilled"
    target: str | None = None
    perform_state: str | None = None
    evidence: dict[str, Any] | None = None
    fulfilled_at: datetime | None = None
    follow_up_due_at: datetime | None = None
    follow_up_local: str = ""
    followed_up: bool = False
    reply_id: int | None = None
    # Compensation (monitor.promises.compensation): "rebate 29.00 EUR", and its approval.
    compensation: str | None = None
    compensation_reason: str | None = None
    approval: str | None = None
    alerts: list[AlertView] = field(default_factory=list)
    history: list[HistoryItem] = field(default_factory=list)

    @property
    def unkept(self) -> bool:
        return self.state in UNKEPT

    @property
    def follow_up_pending(self) -> bool:
        return self.state == PromiseState.FULFILLED and not self.followed_up


def _compensation(p: Promise) -> str | None:
    if p.compensation_kind is None:
        return None
    amount = f" {p.compensation_amount} {p.compensation_currency or ''}".rstrip()
    return f"{p.compensation_kind}{amount if p.compensation_amount is not None else ''}"


def local(at: datetime | None, tz: str) -> str:
    return at.astimezone(zone(tz)).strftime("%a %d %b %Y %H:%M %Z") if at else ""


def alert_view(a: Alert) -> AlertView:
    return AlertView(
        a.id,
        a.kind,
        a.channel,
        a.target,
        a.state,
        a.attempts,
        a.error,
        a.message,
        a.created_at,
        a.sent_at,
    )


def _detail(e: Event) -> str:
    p = e.payload or {}
    if e.kind.startswith("alert."):
        text = f"{p.get('kind', '')} via {p.get('channel', '')} to {p.get('target', '')}"
        return text + (f": {p['error']}" if p.get("error") else "")
    if p.get("to"):
        return f"escalated to {p['to']}"
    for key in ("reason", "error", "prompt"):
        if p.get(key):
            return str(p[key])
    evidence = p.get("evidence")
    if isinstance(evidence, dict):
        shown = {k: v for k, v in evidence.items() if k not in ("by", "at")}
        return ", ".join(f"{k}: {v}" for k, v in shown.items())
    return ""


def _history(session: Session, case_ids: Iterable[int]) -> dict[int, list[HistoryItem]]:
    ids = set(case_ids)
    out: dict[int, list[HistoryItem]] = {}
    if not ids:
        return out
    rows = session.scalars(
        select(Event)
        .where(
            Event.case_id.in_(ids),
            or_(Event.kind.like("promise.%"), Event.kind.like("alert.%")),
        )
        .order_by(Event.id.desc())
        .limit(EVENT_LIMIT)
    )
    for e in reversed(list(rows)):
        pid = (e.payload or {}).get("promise_id")
        if isinstance(pid, int):
            out.setdefault(pid, []).append(HistoryItem(e.created_at, e.kind, e.actor, _detail(e)))
    return out


def promise_views(session: Session, customer_id: int, *, now: datetime) -> list[PromiseView]:
    """Every promise made to the customer, soonest deadline first."""
    rows = list(
        session.scalars(
            select(Promise)
            .where(Promise.customer_id == customer_id)
            .order_by(Promise.due_at, Promise.id)
        )
    )
    if not rows:
        return []
    alerts = _alerts_by_promise(session, [p.id for p in rows])
    owners = _owner_names(session, {p.owner_id for p in rows if p.owner_id})
    case_ids = {p.case_id for p in rows}
    followed = dict(
        session.execute(select(Case.id, Case.followed_up_at).where(Case.id.in_(case_ids)))
        .tuples()
        .all()
    )
    history = _history(session, case_ids)
    return [
        _view(
            p,
            now=now,
            owner_name=owners.get(p.owner_id or 0, "nobody"),
            followed_up_at=followed.get(p.case_id),
            alerts=alerts.get(p.id, []),
            history=history.get(p.id, []),
        )
        for p in rows
    ]


def _alerts_by_promise(session: Session, pids: list[int]) -> dict[int, list[AlertView]]:
    alerts: dict[int, list[AlertView]] = {}
    for a in session.scalars(
        select(Alert).where(Alert.promise_id.in_(pids)).order_by(Alert.id).limit(ALERT_LIMIT)
    ):
        alerts.setdefault(a.promise_id or 0, []).append(alert_view(a))
    return alerts


def _owner_names(session: Session, owner_ids: set[int]) -> dict[int, str]:
    if not owner_ids:
        return {}
    rows = session.execute(
        select(Staff.id, Staff.name, Staff.display_name).where(Staff.id.in_(owner_ids))
    )
    return {sid: display or name for sid, name, display in rows}


def _view(
    p: Promise,
    *,
    now: datetime,
    owner_name: str,
    followed_up_at: datetime | None,
    alerts: list[AlertView],
    history: list[HistoryItem],
) -> PromiseView:
    return PromiseView(
        id=p.id,
        kind=p.kind,
        wording=p.wording,
        due_at=p.due_at,
        state=p.state,
        overdue=p.state in UNKEPT and p.due_at < now,
        case_id=p.case_id,
        owner_id=p.owner_id,
        owner_name=owner_name,
        owner_timezone=p.owner_timezone,
        due_local=local(p.due_at, p.owner_timezone),
        automatic=p.kind in AUTOMATIC,
        target=p.target,
        perform_state=(p.perform or {}).get("state"),
        evidence=p.evidence,
        fulfilled_at=p.fulfilled_at,
        follow_up_due_at=p.follow_up_due_at,
        follow_up_local=local(p.follow_up_due_at, p.owner_timezone),
        followed_up=bool(followed_up_at and p.fulfilled_at and followed_up_at >= p.fulfilled_at),
        reply_id=p.reply_id,
        compensation=_compensation(p),
        compensation_reason=p.compensation_reason,
        approval=p.approval,
        alerts=alerts,
        history=history,
    )


def case_alerts(session: Session, case_id: int) -> list[AlertView]:
    """Alerts about the case that are not about a promise (e.g. a reply that failed)."""
    rows = session.scalars(
        select(Alert)
        .where(Alert.case_id == case_id, Alert.promise_id.is_(None))
        .order_by(Alert.id.desc())
        .limit(50)
    )
    return [alert_view(a) for a in rows]
