"""Incidents: declare one, attach its cases, move its status; the tasks that follow.

An incident is one fault many customers share. Staff declare it (title, public status
text, workaround, the terms its complaints use, what to ask each customer) and attach
cases by hand, in bulk or from suggestions (:mod:`monitor.incidents.queries`). States::

    investigating -> identified -> monitoring -> resolved   (any move is allowed;
                                                             resolved may be reopened)

When its status changes (state or status text), every attached customer who has not
heard from us since gets a follow-up task: an ``incident_update`` promise on their case,
due within ``IncidentPolicy.update_within``, so the promise clock reminds and escalates
it like any other. One such task per case: a later change re-words the open one. On
resolution every attached case gets a ``check_in`` task instead. A reply sent on the
case (:func:`heard_from_us`, from the delivery worker) keeps them. Nothing is ever sent
automatically: the composer drafts, a person writes.

Functions take ``now`` and leave the transaction to the caller; each change appends an
Event (``incident.*``) for the case history, live updates and webhooks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor import events
from monitor.config import AlertsSettings, IncidentsSettings
from monitor.incidents.queries import attached_case_ids
from monitor.incidents.similar import clean_terms
from monitor.models import (
    Case,
    Incident,
    IncidentCase,
    IncidentState,
    Promise,
    Reply,
    Staff,
)
from monitor.promises import service as promises
from monitor.promises.text import PromiseKind
from monitor.storage.sql_lists import one_of

TASK_KINDS = (PromiseKind.INCIDENT_UPDATE.value, PromiseKind.CHECK_IN.value)
ATTACH_HOW = ("hand", "bulk", "suggestion")
MAX_TITLE = 200
MAX_TEXT = 4000


class IncidentEvent(StrEnum):
    DECLARED = "incident.declared"
    UPDATED = "incident.updated"
    RESOLVED = "incident.resolved"
    CASE_ATTACHED = "incident.case_attached"
    CASE_DETACHED = "incident.case_detached"


class IncidentError(ValueError):
    """A request about an incident that cannot be honoured (message is user-facing)."""


class IncidentNotFound(IncidentError):
    pass


@dataclass(frozen=True)
class IncidentPolicy:
    """How long the follow-up tasks get (``incidents`` in config.yaml)."""

    update_within: timedelta = timedelta(hours=4)
    check_in_after: timedelta = timedelta(hours=24)
    timing: promises.Timing = field(default_factory=promises.Timing)

    @classmethod
    def from_settings(cls, incidents: IncidentsSettings, alerts: AlertsSettings) -> IncidentPolicy:
        return cls(
            update_within=timedelta(hours=incidents.update_within_hours),
            check_in_after=timedelta(hours=incidents.check_in_hours),
            timing=promises.Timing.from_settings(alerts),
        )


def _state(value: str) -> IncidentState:
    try:
        return IncidentState(value)
    except ValueError:
        names = ", ".join(s.value for s in IncidentState)
        raise IncidentError(f"unknown incident state {value!r}; use one of: {names}") from None


def _text(value: str, what: str, limit: int = MAX_TEXT) -> str:
    value = value.strip()
    if len(value) > limit:
        raise IncidentError(f"the {what} is limited to {limit} characters")
    return value


def payload(incident: Incident, **extra: Any) -> dict[str, Any]:
    return {
        "incident_id": incident.id,
        "title": incident.title,
        "state": incident.state,
        "status_text": incident.status_text,
        "workaround": incident.workaround,
        **extra,
    }


def get(session: Session, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise IncidentNotFound(f"no incident {incident_id}")
    return incident


def declare(
    session: Session,
    *,
    title: str,
    status_text: str = "",
    workaround: str = "",
    terms: Sequence[str] = (),
    asks: Sequence[str] = (),
    state: str = IncidentState.INVESTIGATING,
    staff: Staff | None,
    now: datetime,
) -> Incident:
    """Record a new incident (no case attached yet)."""
    title = _text(title, "title", MAX_TITLE)
    if not title:
        raise IncidentError("an incident needs a title")
    incident = Incident(
        title=title,
        status_text=_text(status_text, "status text"),
        workaround=_text(workaround, "workaround"),
        state=_state(state).value,
        terms=clean_terms(terms),
        asks=clean_terms(asks),
        declared_by_id=staff.id if staff else None,
        created_at=now,
        updated_at=now,
        state_changed_at=now,
        resolved_at=now if state == IncidentState.RESOLVED else None,
    )
    session.add(incident)
    session.flush()
    actor = staff.name if staff else "system"
    events.append(session, IncidentEvent.DECLARED, now=now, actor=actor, payload=payload(incident))
    return incident


def attach(
    session: Session,
    incident: Incident,
    case_ids: Iterable[int],
    *,
    staff: Staff | None,
    now: datetime,
    how: str = "hand",
) -> list[int]:
    """Attach cases (idempotent: already attached ones are skipped); returns the new ones."""
    if how not in ATTACH_HOW:
        raise IncidentError(f"how must be one of {', '.join(ATTACH_HOW)}")
    if incident.state == IncidentState.RESOLVED:
        raise IncidentError(f"incident {incident.id} is resolved; reopen it to attach cases")
    wanted = list(dict.fromkeys(int(c) for c in case_ids))
    if not wanted:
        return []
    dialect = session.get_bind().dialect
    known = set(session.scalars(select(Case.id).where(one_of(Case.id, wanted, dialect))))
    missing = [c for c in wanted if c not in known]
    if missing:
        raise IncidentNotFound(f"no case {', '.join(map(str, missing[:10]))}")
    already = set(
        session.scalars(
            select(IncidentCase.case_id).where(
                IncidentCase.incident_id == incident.id,
                one_of(IncidentCase.case_id, wanted, dialect),
            )
        )
    )
    new = [c for c in wanted if c not in already]
    actor = staff.name if staff else "system"
    for case_id in new:
        session.add(
            IncidentCase(
                incident_id=incident.id,
                case_id=case_id,
                attached_at=now,
                attached_by=actor,
                how=how,
            )
        )
        events.append(
            session,
            IncidentEvent.CASE_ATTACHED,
            now=now,
            case_id=case_id,
            actor=actor,
            payload=payload(incident, how=how),
        )
    session.flush()
    return new


def detach(
    session: Session, incident: Incident, case_id: int, *, staff: Staff | None, now: datetime
) -> bool:
    link = session.get(IncidentCase, (incident.id, case_id))
    if link is None:
        return False
    session.delete(link)
    events.append(
        session,
        IncidentEvent.CASE_DETACHED,
        now=now,
        case_id=case_id,
        actor=staff.name if staff else "system",
        payload=payload(incident),
    )
    session.flush()
    return True


@dataclass(frozen=True)
class Change:
    incident: Incident
    status_changed: bool
    tasks: list[Promise]  # follow-ups (or check-ins on resolution) created or re-worded


def update(
    session: Session,
    incident: Incident,
    *,
    staff: Staff | None,
    now: datetime,
    state: str | None = None,
    status_text: str | None = None,
    workaround: str | None = None,
    title: str | None = None,
    terms: Sequence[str] | None = None,
    asks: Sequence[str] | None = None,
    policy: IncidentPolicy = IncidentPolicy(),
) -> Change:
    """Edit an incident; a new state or status text sets the follow-up tasks."""
    new_state = _state(state) if state is not None else IncidentState(incident.state)
    new_status = _text(status_text, "status text") if status_text is not None else None
    status_changed = new_state != incident.state or (
        new_status is not None and new_status != incident.status_text
    )
    if title is not None:
        incident.title = _text(title, "title", MAX_TITLE) or incident.title
    if workaround is not None:
        incident.workaround = _text(workaround, "workaround")
    if terms is not None:
        incident.terms = clean_terms(terms)
    if asks is not None:
        incident.asks = clean_terms(asks)
    if new_status is not None:
        incident.status_text = new_status
    was = incident.state
    if new_state != was:
        incident.state = new_state.value
        incident.state_changed_at = now
        incident.resolved_at = now if new_state == IncidentState.RESOLVED else None
    incident.updated_at = now
    session.flush()
    actor = staff.name if staff else "system"
    resolved = new_state == IncidentState.RESOLVED and was != IncidentState.RESOLVED
    kind = IncidentEvent.RESOLVED if resolved else IncidentEvent.UPDATED
    tasks: list[Promise] = []
    if resolved:
        tasks = _set_tasks(session, incident, PromiseKind.CHECK_IN, staff, now, policy)
    elif status_changed and new_state != IncidentState.RESOLVED:
        tasks = _set_tasks(session, incident, PromiseKind.INCIDENT_UPDATE, staff, now, policy)
    events.append(
        session,
        kind,
        now=now,
        actor=actor,
        payload=payload(incident, previous_state=was, status_changed=status_changed,
                        tasks=len(tasks)),
    )  # fmt: skip
    return Change(incident, status_changed, tasks)


def _wording(incident: Incident, kind: PromiseKind) -> str:
    if kind == PromiseKind.CHECK_IN:
        return f"Check in personally: is it working again for them? ({incident.title}, resolved)"
    status = f": {incident.status_text}" if incident.status_text else ""
    return f"Update them personally on {incident.title} (now {incident.state}{status})"


def _owners(session: Session, case_ids: Sequence[int]) -> dict[int, int]:
    """Who should write to each case: whoever last replied on it, else its claimer."""
    dialect = session.get_bind().dialect
    owners: dict[int, int] = {}
    for case_id, claimed in session.execute(
        select(Case.id, Case.claimed_by_id).where(one_of(Case.id, case_ids, dialect))
    ).tuples():
        if claimed is not None:
            owners[case_id] = claimed
    for case_id, staff_id in session.execute(
        select(Reply.case_id, Reply.staff_id)
        .where(one_of(Reply.case_id, case_ids, dialect))
        .order_by(Reply.id)
    ).tuples():
        if staff_id is not None:
            owners[case_id] = staff_id
    return owners


def _set_tasks(
    session: Session,
    incident: Incident,
    kind: PromiseKind,
    actor: Staff | None,
    now: datetime,
    policy: IncidentPolicy,
) -> list[Promise]:
    case_ids = attached_case_ids(session, incident.id)
    if not case_ids:
        return []
    dialect = session.get_bind().dialect
    open_tasks = {
        p.case_id: p
        for p in session.scalars(
            select(Promise).where(
                one_of(Promise.case_id, case_ids, dialect),
                Promise.kind.in_(TASK_KINDS),
                Promise.state.in_(promises.UNKEPT),
            )
        )
    }
    owners = _owners(session, case_ids)
    wording = _wording(incident, kind)
    due = now + (policy.check_in_after if kind == PromiseKind.CHECK_IN else policy.update_within)
    staff_by_id = {s.id: s for s in session.scalars(select(Staff).where(
        one_of(Staff.id, {*owners.values()}, dialect)))} if owners else {}  # fmt: skip
    tasks = []
    for case_id in case_ids:
        existing = open_tasks.get(case_id)
        if existing is not None and existing.kind == kind.value:
            existing.wording, existing.updated_at = wording, now  # one task per case
            tasks.append(existing)
            continue
        if existing is not None:  # an update task superseded by the check-in
            promises.cancel(session, existing, reason="incident resolved", now=now)
        case = session.get(Case, case_id)
        assert case is not None
        owner = staff_by_id.get(owners.get(case_id, -1)) or actor
        tasks.append(
            promises.create(
                session,
                case=case,
                kind=kind,
                wording=wording,
                due_at=due,
                owner=owner,
                now=now,
                timing=policy.timing,
                actor=actor.name if actor else "system",
            )
        )
    return tasks


def heard_from_us(session: Session, *, case_id: int, reply_id: int, now: datetime) -> list[Promise]:
    """A reply went out on the case: its open incident tasks are kept (the reply is evidence)."""
    kept = []
    for task in session.scalars(
        select(Promise).where(
            Promise.case_id == case_id,
            Promise.kind.in_(TASK_KINDS),
            Promise.state.in_(promises.UNKEPT),
            Promise.created_at <= now,
        )
    ):
        evidence = {"reply_id": reply_id}
        kept.append(promises.fulfil(session, task, evidence=evidence, now=now, follow_up=False))
    return kept
