"""Lasting ownership: who a case is assigned to, until it is handed over or resolved.

Separate from the short composing lock (:func:`monitor.cases.service.claim`), which only
stops two people replying at once. Reading a case takes neither. Rules:

- anyone may take an unassigned case or give it to an active colleague;
- a case assigned to someone may be handed over (reassigned or unassigned) by its
  assignee or a lead; anyone else gets :class:`NotAllowed`;
- every change is a ``case.assigned`` event with who, from whom and the optional note,
  so handovers are in the case history;
- optional auto-assignment of new cases (``queue.auto_assign: round_robin``) takes the
  active agent with the fewest open assigned cases, the longest since their last one
  first, so work goes round evenly without a stored pointer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor import events
from monitor.cases.bulk import chosen
from monitor.cases.service import CaseNotFound, NotAllowed, QueueError, can_take_over, get_case
from monitor.models import Case, CaseStatus, Role, Staff

MAX_NOTE = 2000


def _name(staff: Staff | None) -> str | None:
    return (staff.display_name or staff.name) if staff is not None else None


def check(session: Session, case: Case, *, to: Staff | None, by: Staff, note: str = "") -> bool:
    """Raise unless ``by`` may make this change; False when it changes nothing."""
    if len(note) > MAX_NOTE:
        raise QueueError(f"a handover note is limited to {MAX_NOTE} characters")
    if to is not None and not to.active:
        raise QueueError(f"{to.name} is deactivated and cannot own cases")
    if to is not None and case.status == CaseStatus.RESOLVED:
        raise QueueError("the case is resolved; it has no owner any more")
    previous = case.assignee_id
    if previous == (to.id if to else None):
        return False
    if previous is not None and previous != by.id and not can_take_over(by):
        holder = session.get(Staff, previous)
        raise NotAllowed(
            f"case {case.id} is assigned to {_name(holder) or 'someone'}: only they or a lead "
            "can hand it over"
        )
    return True


def assign(
    session: Session,
    case: Case,
    *,
    to: Staff | None,
    by: Staff,
    now: datetime,
    note: str = "",
) -> bool:
    """Assign ``case`` to ``to`` (None: unassign); True when the assignee changed."""
    note = note.strip()
    if not check(session, case, to=to, by=by, note=note):
        return False
    previous = case.assignee_id
    case.assignee_id = to.id if to else None
    case.assigned_at = now if to else None
    case.updated_at = now
    events.append(
        session,
        events.EventKind.ASSIGNED,
        now=now,
        case_id=case.id,
        actor=by.name,
        payload={
            "staff_id": to.id if to else None,
            "to": _name(to),
            "from_staff_id": previous,
            "from": _name(session.get(Staff, previous)) if previous else None,
            "note": note or None,
        },
    )
    return True


def assign_many(
    session: Session,
    case_ids: Sequence[int],
    *,
    to: Staff | None,
    by: Staff,
    now: datetime,
    note: str = "",
) -> list[int]:
    """The queue's bulk action: all or nothing (one refusal refuses the batch)."""
    cases = [get_case(session, case_id) for case_id in chosen(case_ids)]
    for case in cases:  # every check before any change
        check(session, case, to=to, by=by, note=note.strip())
    return [c.id for c in cases if assign(session, c, to=to, by=by, now=now, note=note)]


def staff_by_id(session: Session, staff_id: int) -> Staff:
    staff = session.get(Staff, staff_id)
    if staff is None:
        raise CaseNotFound(f"no staff member with id {staff_id}")
    return staff


def next_in_rotation(session: Session) -> Staff | None:
    """The active agent with the fewest open assigned cases (then the longest idle)."""
    load = (
        select(
            Case.assignee_id,
            func.count().label("n"),
            func.max(Case.assigned_at).label("last"),
        )
        .where(Case.status != CaseStatus.RESOLVED, Case.assignee_id.is_not(None))
        .group_by(Case.assignee_id)
        .subquery()
    )
    stmt = (
        select(Staff)
        .outerjoin(load, load.c.assignee_id == Staff.id)
        .where(Staff.active.is_(True), Staff.role.in_((Role.AGENT, Role.LEAD)))
        .order_by(func.coalesce(load.c.n, 0), load.c.last.is_not(None), load.c.last, Staff.id)
        .limit(1)
    )
    return session.scalars(stmt).first()


def auto_assign(session: Session, case_ids: Sequence[int], *, now: datetime) -> int:
    """Give each new, unassigned case the next agent in the rotation."""
    done = 0
    for case_id in case_ids:
        case = get_case(session, case_id)
        if case.assignee_id is not None or case.status == CaseStatus.RESOLVED:
            continue
        agent = next_in_rotation(session)
        if agent is None:
            return done
        case.assignee_id, case.assigned_at = agent.id, now
        events.append(
            session,
            events.EventKind.ASSIGNED,
            now=now,
            case_id=case.id,
            payload={"staff_id": agent.id, "to": _name(agent), "from_staff_id": None,
                     "from": None, "note": "auto-assigned (round robin)"},
        )  # fmt: skip
        session.flush()
        done += 1
    return done
