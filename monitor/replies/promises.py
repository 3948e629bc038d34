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

from monitor.models import Case, Promise, Staff
from monitor.promises import service as promises
from monitor.promises.text import PromiseKind, Suggestion, suggest, zone
from monitor.replies import service as replies

MAX_PROMISES_PER_REPLY = 20


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
) -> list[SuggestionView]:
    """The promises in a draft reply, due times parsed and shown in the sender's zone."""
    tz = zone(staff.timezone).key
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
        return local_due(draft.due_local, draft.timezone or sender.timezone)
    raise promises.PromiseError(f"the promise “{draft.wording[:60]}” needs a due time")


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
) -> Sent:
    """Queue the reply, then create its confirmed promises (all or nothing).

    Raises ``replies.ReplyError`` (and subclasses), ``queue.ClaimConflict`` or
    ``promises.PromiseError``; the caller rolls the transaction back on any of them.
    """
    if len(drafts) > MAX_PROMISES_PER_REPLY:
        raise promises.PromiseError(f"at most {MAX_PROMISES_PER_REPLY} promises per reply")
    # Check every draft before anything is written, so a bad one refuses the whole send.
    checked = [(_kind(d), d, _owner(session, d.owner_id, staff), _due(d, staff)) for d in drafts]
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
        promises.create(
            session,
            case=case,
            kind=kind,
            wording=draft.wording,
            due_at=due,
            owner=owner,
            now=now,
            timing=timing,
            owner_timezone=zone(owner.timezone).key,  # an unknown zone falls back to UTC
            reply_id=queued.reply.id,
            target=draft.target or None,
            actor=staff.name,
        )
        for kind, draft, owner, due in checked
    ]
    return Sent(queued, made)
