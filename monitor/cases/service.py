"""The case state machine: how a case moves once it is on the queue.

Which case a new message joins is decided at ingestion (:mod:`monitor.customers.placement`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from monitor import events
from monitor.models import (
    Case,
    CaseStatus,
    Event,
    Promise,
    Reply,
    Role,
    Staff,
    Stage,
)
from monitor.promises import service as promises
from monitor.promises.text import PromiseKind
from monitor.sla.service import clear_target
from monitor.storage.sql_lists import INT64_MAX, INT64_MIN


def stamp_first_reply(case: Case, reply: Reply, *, sent_at: datetime) -> None:
    """Keep the case's first reply (the earliest sent, for the reports): a reply
    reconciled as sent before the one on record takes its place."""
    if case.first_reply_at is None or sent_at < case.first_reply_at:
        case.first_reply_at, case.first_reply_by_id = sent_at, reply.staff_id


def record_staff_reply(case: Case, *, now: datetime, reply: Reply | None = None) -> None:
    """Staff answered (by ``reply``, sent at ``now``): nothing the customer said before
    now is unanswered any more. The reply keeps the target it ended, for the reports."""
    if reply is not None and case.sla_due_at is not None:
        reply.sla_kind = case.sla_kind
        reply.sla_started_at, reply.sla_due_at = case.sla_started_at, case.sla_due_at
    if reply is not None:
        stamp_first_reply(case, reply, sent_at=reply.sent_at or now)
    case.last_staff_reply_at = now
    case.first_unanswered_at = None
    case.unanswered_count = 0
    case.hop_from = None
    case.text_score = None
    case.status = CaseStatus.WAITING
    case.updated_at = now
    # The wait is over: no target until the customer writes again (then a next-response
    # target from that message; monitor.sla.service.fix_target).
    clear_target(case)
    case.public_risk = False


# --- Staff side: claims, recovery stages, notes, the live queue -------------------------
#
# Errors the staff-side functions raise (the web layer maps them to HTTP statuses):
#
#     QueueError            any refusal; the message is user-facing
#     ├── CaseNotFound      no such case (404)
#     ├── ClaimConflict     held by someone else whose claim has not expired (409)
#     └── NotAllowed        the actor's role may not do this, e.g. take over (403)
#
# A claim is a lease on the case row: ``claimed_by_id`` until ``claim_expires_at``, which
# every action of the holder pushes forward (``touch``). Taking a claim is one conditional
# UPDATE, so two staff racing for the same case cannot both win, on any backend.


class QueueError(ValueError):
    """A staff action on a case that cannot be honoured (message is user-facing)."""


class CaseNotFound(QueueError):
    pass


class NotAllowed(QueueError):
    pass


class ClaimConflict(QueueError):
    def __init__(
        self, case_id: int, holder_id: int, holder_name: str, until: datetime, action: str = ""
    ) -> None:
        message = f"case {case_id} is claimed by {holder_name} until {until.isoformat()}"
        if action:
            message += f"; only they may {action} while they hold it (a lead may take it over)"
        super().__init__(message)
        self.case_id = case_id
        self.holder_id = holder_id
        self.holder_name = holder_name
        self.until = until


class Action(StrEnum):
    """What staff do on a case, for :data:`CLAIM_COVERS`."""

    REPLY = "reply"
    PROMISE = "promise"
    STAGE = "stage"
    LINK = "link"
    NOTE = "note"


# What the composing lock (the claim) covers: while one member of staff holds a case,
# these actions are theirs alone (409 for anyone else, a lead included until they take
# the case over). Replies, promises and stage changes speak for the desk to the customer
# or change the case's course; an identity link changes whose history the holder is
# reading. Internal notes are not covered: they never reach the customer, and a
# colleague or lead should be able to leave one for the holder. Fulfilling or cancelling
# an existing promise follows the promise's owner instead (promises.ensure_may_act).
CLAIM_COVERS: dict[Action, bool] = {
    Action.REPLY: True,
    Action.PROMISE: True,
    Action.STAGE: True,
    Action.LINK: True,
    Action.NOTE: False,
}
ACTION_WORDS = {
    Action.REPLY: "reply",
    Action.PROMISE: "record promises",
    Action.STAGE: "change its stage",
    Action.LINK: "link identities",
    Action.NOTE: "add notes",
}
LEAD_ROLES = frozenset({Role.LEAD, Role.ADMIN})
STAGE_COLUMNS: dict[Stage, str] = {s: f"{s.value}_at" for s in Stage}


def can_take_over(staff: Staff) -> bool:
    return staff.role in LEAD_ROLES


def claim_active(case: Case, now: datetime) -> bool:
    return (
        case.claimed_by_id is not None
        and case.claim_expires_at is not None
        and case.claim_expires_at > now
    )


def held_by_other(case: Case, staff: Staff, now: datetime) -> bool:
    return claim_active(case, now) and case.claimed_by_id != staff.id


def get_case(session: Session, case_id: int, *, for_update: bool = False) -> Case:
    if not INT64_MIN <= case_id <= INT64_MAX:  # no row holds it, no driver binds it
        raise CaseNotFound(f"no case with id {case_id}")
    stmt = select(Case).where(Case.id == case_id).execution_options(populate_existing=True)
    if for_update:
        stmt = stmt.with_for_update()
    case = session.scalar(stmt)
    if case is None:
        raise CaseNotFound(f"no case with id {case_id}")
    return case


def _conflict(session: Session, case: Case, action: Action | None = None) -> ClaimConflict:
    holder = session.get(Staff, case.claimed_by_id) if case.claimed_by_id else None
    assert case.claim_expires_at is not None
    name = (holder.display_name or holder.name) if holder else "someone"
    words = ACTION_WORDS[action] if action else ""
    return ClaimConflict(case.id, case.claimed_by_id or 0, name, case.claim_expires_at, words)


def ensure_may_act(
    session: Session, case: Case, *, staff: Staff, action: Action, now: datetime
) -> None:
    """The one check of :data:`CLAIM_COVERS`, called by every service path that acts on a
    case: raise ClaimConflict when the action is covered and someone else holds the case."""
    if CLAIM_COVERS[action] and held_by_other(case, staff, now):
        raise _conflict(session, case, action)


def claim(
    session: Session,
    case_id: int,
    *,
    staff: Staff,
    now: datetime,
    timeout: timedelta,
    take_over: bool = False,
) -> Case:
    """Claim a case for ``staff`` until ``now + timeout``; renewing one's own claim is fine."""
    expires = now + timeout
    free = or_(
        Case.claimed_by_id.is_(None),
        Case.claimed_by_id == staff.id,
        Case.claim_expires_at.is_(None),
        Case.claim_expires_at <= now,
    )
    result = session.execute(
        update(Case)
        .where(Case.id == case_id, free)
        .values(claimed_by_id=staff.id, claimed_at=now, claim_expires_at=expires)
        .execution_options(synchronize_session=False)
    )
    won = isinstance(result, CursorResult) and result.rowcount == 1
    case = get_case(session, case_id, for_update=not won)
    previous: int | None = None
    if not won:
        if not take_over:
            raise _conflict(session, case)
        if not can_take_over(staff):
            raise NotAllowed("only a lead or admin can take over a case claimed by someone else")
        previous = case.claimed_by_id
        case.claimed_by_id, case.claimed_at, case.claim_expires_at = staff.id, now, expires
    kind = events.EventKind.CLAIM_TAKEN_OVER if previous is not None else events.EventKind.CLAIMED
    events.append(
        session,
        kind,
        now=now,
        case_id=case.id,
        actor=staff.name,
        payload={"staff_id": staff.id, "until": expires.isoformat(), "from_staff_id": previous},
    )
    return case


def release(session: Session, case_id: int, *, staff: Staff, now: datetime) -> Case:
    """Give a claim back. Someone else's live claim may only be released by a lead."""
    case = get_case(session, case_id)
    if case.claimed_by_id is None:
        return case
    if held_by_other(case, staff, now) and not can_take_over(staff):
        raise _conflict(session, case)
    previous = case.claimed_by_id
    case.claimed_by_id = case.claimed_at = case.claim_expires_at = None
    events.append(
        session,
        events.EventKind.RELEASED,
        now=now,
        case_id=case.id,
        actor=staff.name,
        payload={"staff_id": previous},
    )
    return case


def touch(session: Session, case: Case, *, staff: Staff, now: datetime, timeout: timedelta) -> bool:
    """Extend the holder's claim on activity; True when ``staff`` holds the case."""
    if case.claimed_by_id != staff.id or not claim_active(case, now):
        return False
    case.claim_expires_at = max(case.claim_expires_at or now, now + timeout)
    return True


def advance_stage(
    session: Session,
    case: Case,
    stage: Stage | str,
    *,
    actor: Staff,
    now: datetime,
    check_in_after: timedelta | None = None,
    text: str | None = None,
) -> bool:
    """Record that a recovery stage was reached; True when it was new.

    Stages are timestamps, not a strict sequence (a fix can be agreed before the
    apology is sent), and the first time counts. "Agreed" records what was agreed, in
    words (``text``). Resolving closes the case, frees it and ends its owner's hold
    and the response-time target; with ``check_in_after`` it also gives the resolver a
    check-in with the customer due that much later (:func:`start_check_in`).
    """
    stage = Stage(stage)
    ensure_may_act(session, case, staff=actor, action=Action.STAGE, now=now)
    words = (text or "").strip()
    if stage == Stage.AGREED and not words:
        raise QueueError("say what was agreed with the customer, in a few words")
    if len(words) > MAX_NOTE:
        raise QueueError(f"what was agreed is limited to {MAX_NOTE} characters")
    column = STAGE_COLUMNS[stage]
    if getattr(case, column) is not None and stage != Stage.RESOLVED:
        return False
    if stage == Stage.RESOLVED and case.status == CaseStatus.RESOLVED:
        return False
    setattr(case, column, now)
    payload: dict[str, object] = {"stage": stage.value, "status": ""}
    if stage == Stage.AGREED:
        case.agreed_text = words
        payload["text"] = words
    if stage == Stage.RESOLVED:
        case.status = CaseStatus.RESOLVED
        case.claimed_by_id = case.claimed_at = case.claim_expires_at = None
        clear_target(case)
        if case.assignee_id is not None:
            payload["unassigned_staff_id"] = case.assignee_id
        case.assignee_id = case.assigned_at = None
    case.updated_at = now
    payload["status"] = case.status
    events.append(
        session, events.EventKind.STAGE_CHANGED, now=now, case_id=case.id, actor=actor.name,
        payload=payload,
    )  # fmt: skip
    if stage == Stage.RESOLVED and check_in_after is not None:
        start_check_in(session, case, owner=actor, now=now, after=check_in_after)
    return True


def start_check_in(
    session: Session, case: Case, *, owner: Staff, now: datetime, after: timedelta
) -> Promise:
    """After the fix, a personal check-in is due to the owner: a task in the promise
    ledger (reminded and escalated by the promise clock like any promise), never an
    automatic message. Keeping it is the case's "followed up" stage."""
    name = case.customer.display_name if case.customer else ""
    wording = f"Check in personally with {name or 'the customer'}: is it working for them now?"
    return promises.create(
        session,
        case=case,
        kind=PromiseKind.CHECK_IN,
        wording=wording,
        due_at=now + after,
        owner=owner,
        now=now,
        actor=owner.name,
    )


def mark_listened(session: Session, case: Case, *, actor: Staff, now: datetime) -> bool:
    """A staff action that shows the customer was heard (a note, the first reply).
    Not for a colleague's note while someone else holds the case: the stage is theirs."""
    if case.listened_at is not None or held_by_other(case, actor, now):
        return False
    return advance_stage(session, case, Stage.LISTENED, actor=actor, now=now)


# Reopening keeps what staff did for the customer (listened, apologised) and clears
# what described the outcome, which no longer holds: agreed (and its words), acted,
# followed up, resolved. The history keeps the old values (case.reopened event).
CLEARED_ON_REOPEN = (Stage.AGREED, Stage.ACTED, Stage.FOLLOWED_UP, Stage.RESOLVED)


def clear_on_reopen(session: Session, case_ids: list[int]) -> None:
    """Clear the later stages of cases the customer has just reopened (one UPDATE)."""
    if not case_ids:
        return
    values: dict[str, None] = {STAGE_COLUMNS[s]: None for s in CLEARED_ON_REOPEN}
    session.execute(
        update(Case)
        .where(Case.id.in_(case_ids))
        .values(agreed_text=None, **values)
        .execution_options(synchronize_session=False)
    )


def stage_durations(
    case: Case, *, first_contact: datetime | None = None
) -> list[tuple[Stage, datetime | None, timedelta | None]]:
    """Each stage: when it was reached and how long after the first contact (the
    earliest message on the case; its creation when not given)."""
    first = first_contact or case.created_at
    out: list[tuple[Stage, datetime | None, timedelta | None]] = []
    for stage, column in STAGE_COLUMNS.items():
        at: datetime | None = getattr(case, column)
        out.append((stage, at, max(timedelta(0), at - first) if at else None))
    return out


MAX_NOTE = 10_000


def add_note(session: Session, case: Case, *, staff: Staff, text: str, now: datetime) -> Event:
    """An internal note on the case (never sent to the customer); kept in the history."""
    ensure_may_act(session, case, staff=staff, action=Action.NOTE, now=now)  # not covered
    body = text.strip()
    if not body:
        raise QueueError("a note needs some text")
    if len(body) > MAX_NOTE:
        raise QueueError(f"a note is limited to {MAX_NOTE} characters")
    mark_listened(session, case, actor=staff, now=now)
    return events.append(
        session,
        events.EventKind.NOTE_ADDED,
        now=now,
        case_id=case.id,
        actor=staff.name,
        payload={"text": body, "staff_id": staff.id},
    )
