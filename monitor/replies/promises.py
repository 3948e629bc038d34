"""A reply and the promises it makes, recorded together.

The composer shows the promises :func:`monitor.promises.text.suggest` finds in the draft;
staff confirm, edit (kind, wording, due time, owner) or drop each one, and on send the
confirmed ones are created here in the same transaction that queues the reply, linked
to it by ``reply_id``, owned by the sender unless another owner was chosen. A reply
that is refused (guard, claim, key) creates no promise; the same idempotency key again
returns the reply already queued and creates nothing new.

Caller owns the transaction (the web layer commits before it answers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor import events
from monitor.config import CompensationSettings
from monitor.models import Case, Promise, Reply, ReplyState, Staff
from monitor.promises import compensation
from monitor.promises import service as promises
from monitor.promises.compensation import Approval, Compensation, CompensationError
from monitor.promises.compensation import attach as attach_compensation
from monitor.promises.text import PromiseKind, Suggestion, suggest, zone
from monitor.replies import service as replies

MAX_PROMISES_PER_REPLY = 20
DEFAULT_COMPENSATION = CompensationSettings()
HELD = "reply.held"
RELEASED = "reply.released"


@dataclass(frozen=True)
class PromiseDraft:
    """One promise staff confirmed in the composer (or a tool sent with the reply)."""

    kind: str
    wording: str
    due_at: datetime | None = None  # aware; or
    due_local: str | None = None  # "2026-11-02T17:00" in ``timezone``
    timezone: str | None = None  # of due_local; default: the sender's
    owner_id: int | None = None  # default: the sender
    target: str | None = None  # slack_invite: whom to invite; default: customer's email
    # Compensation it gives (monitor.promises.compensation): kind, amount, currency, reason.
    compensation_kind: str | None = None
    compensation_amount: str | None = None
    compensation_currency: str | None = None
    compensation_reason: str = ""


@dataclass(frozen=True)
class SuggestionView:
    """A suggestion as the composer shows it: due time in the sender's zone."""

    suggestion: Suggestion
    due_local: str  # for <input type=datetime-local>
    timezone: str
    target: str | None  # slack_invite: the customer's email, when we know one


@dataclass(frozen=True)
class Sent:
    queued: replies.Queued
    promises: list[Promise]


def local_due(value: str, timezone: str) -> datetime:
    """A wall-clock time ("YYYY-MM-DDTHH:MM") in ``timezone`` as an aware datetime."""
    try:
        naive = datetime.fromisoformat(value.strip())
    except ValueError:
        raise promises.PromiseError(f"not a date and time: {value!r}") from None
    if naive.tzinfo is not None:
        return naive
    return naive.replace(tzinfo=zone(timezone))


def suggestions(
    session: Session,
    case: Case,
    text: str,
    *,
    staff: Staff,
    now: datetime,
    workday_end_hour: int = 17,
    timezone: str | None = None,
) -> list[SuggestionView]:
    """The promises in a draft reply, due times parsed and shown in the sender's zone
    (``timezone``: the zone they view the console in; default their own setting)."""
    tz = zone(timezone or staff.timezone).key
    email: str | None = None
    out: list[SuggestionView] = []
    for s in suggest(text, now=now, timezone=tz, workday_end_hour=workday_end_hour):
        if s.kind == PromiseKind.SLACK_INVITE and email is None:
            email = promises.customer_email(session, case.customer_id) or ""
        local = s.due_at.astimezone(zone(tz)).strftime("%Y-%m-%dT%H:%M")
        target = (email or None) if s.kind == PromiseKind.SLACK_INVITE else None
        out.append(SuggestionView(s, local, tz, target))
    return out


def _owner(session: Session, owner_id: int | None, sender: Staff) -> Staff:
    if owner_id is None or owner_id == sender.id:
        return sender
    owner = session.get(Staff, owner_id)
    if owner is None or not owner.active:
        raise promises.PromiseError(f"no active staff member {owner_id} to own the promise")
    return owner


def _kind(draft: PromiseDraft) -> PromiseKind:
    try:
        kind = PromiseKind(draft.kind)
    except ValueError:
        names = ", ".join(k.value for k in PromiseKind)
        raise promises.PromiseError(
            f"unknown promise kind {draft.kind!r}; use one of: {names}"
        ) from None
    if not draft.wording.strip():
        raise promises.PromiseError("a promise needs the wording the customer saw")
    return kind


def _due(draft: PromiseDraft, sender: Staff) -> datetime:
    if draft.due_at is not None:
        if draft.due_at.tzinfo is None:
            raise promises.PromiseError("due_at needs a time zone")
        return draft.due_at
    if draft.due_local:
        return local_due(draft.due_local, draft.timezone or sender.timezone or "UTC")
    raise promises.PromiseError(f"the promise “{draft.wording[:60]}” needs a due time")


def _compensation(draft: PromiseDraft, settings: CompensationSettings) -> Compensation | None:
    if not draft.compensation_kind:
        return None
    try:
        return Compensation.parse(
            draft.compensation_kind,
            draft.compensation_amount,
            draft.compensation_currency,
            draft.compensation_reason,
            default_currency=settings.currency,
        )
    except CompensationError as exc:
        raise promises.PromiseError(str(exc)) from None


def queue_reply_with_promises(
    session: Session,
    *,
    case: Case,
    staff: Staff,
    body: str,
    channel: str,
    idempotency_key: str,
    now: datetime,
    policy: replies.ReplyPolicy,
    drafts: Sequence[PromiseDraft] = (),
    timing: promises.Timing = promises.Timing(),
    override_reason: str | None = None,
    compensation_settings: CompensationSettings = DEFAULT_COMPENSATION,
) -> Sent:
    """Queue the reply, then create its confirmed promises (all or nothing).

    Compensation above its limit that the sender may not approve holds the reply
    (``held``) until a lead approves it (:func:`approve_compensation`).

    Raises ``replies.ReplyError`` (and subclasses), ``queue.ClaimConflict`` or
    ``promises.PromiseError``; the caller rolls the transaction back on any of them.
    """
    if len(drafts) > MAX_PROMISES_PER_REPLY:
        raise promises.PromiseError(f"at most {MAX_PROMISES_PER_REPLY} promises per reply")
    # Check every draft before anything is written, so a bad one refuses the whole send.
    checked = [(_kind(d), d, _owner(session, d.owner_id, staff), _due(d, staff)) for d in drafts]
    comps = [_compensation(d, compensation_settings) for d in drafts]
    queued = replies.queue_reply(
        session,
        case=case,
        staff=staff,
        body=body,
        channel=channel,
        idempotency_key=idempotency_key,
        now=now,
        policy=policy,
        override_reason=override_reason,
    )
    if not queued.created:  # the same send again: its promises exist already
        existing = session.scalars(
            select(Promise).where(Promise.reply_id == queued.reply.id).order_by(Promise.id)
        )
        return Sent(queued, list(existing))
    made = [
        _create_promise(session, case, staff, queued.reply.id, kind, draft, owner, due, now, timing)
        for kind, draft, owner, due in checked
    ]
    for promise, comp in zip(made, comps, strict=True):
        if comp is not None:
            attach_compensation(
                session, promise, comp, staff=staff, settings=compensation_settings, now=now
            )
    if any(p.approval == Approval.PENDING for p in made):
        _hold(session, queued.reply, staff=staff, now=now)
    return Sent(queued, made)


def _create_promise(
    session: Session,
    case: Case,
    staff: Staff,
    reply_id: int,
    kind: PromiseKind,
    draft: PromiseDraft,
    owner: Staff,
    due: datetime,
    now: datetime,
    timing: promises.Timing,
) -> Promise:
    return promises.create(
        session,
        case=case,
        kind=kind,
        wording=draft.wording,
        due_at=due,
        owner=owner,
        now=now,
        timing=timing,
        # the owner's zone; one who chose none: the zone the due time was typed in
        owner_timezone=zone(owner.timezone or draft.timezone).key,
        reply_id=reply_id,
        target=draft.target or None,
        actor=staff.name,
    )


def _hold(session: Session, reply: Reply, *, staff: Staff, now: datetime) -> None:
    reply.state, reply.next_attempt_at = ReplyState.HELD, None
    events.append(
        session, HELD, now=now, case_id=reply.case_id, actor=staff.name,
        payload={"reply_id": reply.id, "why": "compensation above the limit: a lead must approve"},
    )  # fmt: skip


def _pending(session: Session, reply_id: int) -> int:
    return len(
        session.scalars(
            select(Promise.id).where(
                Promise.reply_id == reply_id, Promise.approval == Approval.PENDING
            )
        ).all()
    )


def approve_compensation(
    session: Session, promise: Promise, *, lead: Staff, now: datetime
) -> Reply | None:
    """A lead approves; the reply holding it is released once nothing else waits."""
    compensation.approve(session, promise, lead=lead, now=now)
    reply = session.get(Reply, promise.reply_id) if promise.reply_id else None
    if reply is not None and reply.state == ReplyState.HELD and not _pending(session, reply.id):
        reply.state, reply.next_attempt_at = ReplyState.QUEUED, now
        events.append(
            session, RELEASED, now=now, case_id=reply.case_id, actor=lead.name,
            payload={"reply_id": reply.id, "promise_id": promise.id},
        )  # fmt: skip
    return reply


def refuse_compensation(
    session: Session, promise: Promise, *, lead: Staff, reason: str, now: datetime
) -> Reply | None:
    """A lead refuses: the promise is withdrawn and the reply promising it is not sent."""
    if len(reason.strip()) < 5:
        raise promises.PromiseError("say why the compensation is refused")
    compensation.refuse(session, promise, lead=lead, reason=reason, now=now)
    promises.cancel(session, promise, reason=f"compensation refused: {reason}", now=now,
                    actor=lead.name)  # fmt: skip
    reply = session.get(Reply, promise.reply_id) if promise.reply_id else None
    if reply is not None and reply.state == ReplyState.HELD:
        reply.state, reply.error = (
            ReplyState.FAILED,
            f"not sent: {lead.name} refused the compensation ({reason})",
        )
        for other in session.scalars(select(Promise).where(Promise.reply_id == reply.id)):
            if other.state in promises.UNKEPT:
                promises.cancel(session, other, reason="its reply was not sent", now=now,
                                actor=lead.name)  # fmt: skip
        events.append(
            session, "reply.failed", now=now, case_id=reply.case_id, actor=lead.name,
            payload={"reply_id": reply.id, "error": reply.error},
        )  # fmt: skip
    return reply
