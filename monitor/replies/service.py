"""Replies: compose checks and the outbox (recorded before it is sent, sent once).

Composing (:func:`queue_reply`, caller owns the transaction)
    The idempotency key from the form makes a double click, a retry or a second browser
    tab return the reply already recorded. The case must be free or held by the sender
    (a free case is claimed for them); the guard (:mod:`monitor.replies.guard`) must pass,
    or a lead overrides it with a written reason, recorded on the case. The reply is
    stored ``queued`` with its recipient, the message it answers and, for email, our
    ``Message-ID``, all fixed before the first attempt.

Delivering: see :mod:`monitor.replies.scheduled` (``deliver_due``, ``reconcile``).

Errors (the web layer maps them to HTTP statuses)::

    ReplyError                 any refusal; the message is user-facing (422)
    ├── ReplyBlocked           the guard blocked it; carries the check (422)
    ├── IdempotencyMismatch    the key was used for a different reply (409)
    └── OverrideNotAllowed     only a lead may override the guard (403)
    queue.ClaimConflict        held by someone else (409)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import make_msgid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monitor import events
from monitor.cases import service as queue
from monitor.config import ReplySettings
from monitor.customers import facts
from monitor.incidents import queries as incident_queries
from monitor.mentions import Channel
from monitor.models import Case, Customer, Identity, Mention, Promise, Reply, ReplyState, Staff
from monitor.replies.guard import CaseContext, PersonalCheck, check_personal
from monitor.replies.index import ReplyIndex

__all__ = [
    "CHANNELS",
    "IdempotencyMismatch",
    "OverrideNotAllowed",
    "Queued",
    "ReplyBlocked",
    "ReplyError",
    "ReplyPolicy",
    "Target",
    "case_context",
    "check_personal",
    "find_target",
    "queue_reply",
]

CHANNELS = ("x", "x_dm", "email")
MAX_BODY = 20_000
MIN_OVERRIDE_REASON = 10
UNKEPT = ("open", "overdue", "escalated")


class ReplyEventKind:
    QUEUED = "reply.queued"
    OVERRIDDEN = "reply.guard_overridden"
    SENT = "reply.sent"
    RETRYING = "reply.retrying"
    FAILED = "reply.failed"
    RECONCILED = "reply.reconciled"


class ReplyError(ValueError):
    """A reply that cannot be accepted (message is user-facing)."""


class ReplyBlocked(ReplyError):
    def __init__(self, message: str, check: PersonalCheck) -> None:
        super().__init__(message)
        self.check = check


class IdempotencyMismatch(ReplyError):
    pass


class OverrideNotAllowed(ReplyError):
    pass


@dataclass(frozen=True)
class ReplyPolicy:
    """What composing needs from the configuration and the process."""

    settings: ReplySettings
    claim_timeout: timedelta
    x_limit: int = 280
    index: ReplyIndex | None = None
    message_id_domain: str | None = None  # default: this host's name


@dataclass(frozen=True)
class Queued:
    reply: Reply
    created: bool  # False when the idempotency key returned an existing reply
    check: PersonalCheck | None


@dataclass(frozen=True)
class Target:
    recipient: str
    mention: Mention | None
    in_reply_to: str | None


def _first_name(name: str) -> str:
    parts = re.split(r"[\s,]+", name.strip())
    return parts[0] if parts else ""


def case_context(session: Session, case: Case, *, channel: str) -> CaseContext:
    """The customer's names, their words, the facts they gave, promises not yet kept."""
    customer = session.get(Customer, case.customer_id)
    names: list[str] = []
    if customer is not None and customer.display_name:
        names += [customer.display_name, _first_name(customer.display_name)]
    for ident in session.scalars(select(Identity).where(Identity.customer_id == case.customer_id)):
        if ident.name:
            names += [ident.name, _first_name(ident.name)]
        if ident.kind == "x" and ident.username:
            names.append(ident.username)
    mentions = list(
        session.scalars(
            select(Mention)
            .where(Mention.case_id == case.id)
            .order_by(Mention.created_at.desc())
            .limit(10)
        )
    )
    texts = [m.text_for_scoring or m.text for m in mentions]
    found = facts.collect([(m.id, t) for m, t in zip(mentions, texts, strict=True)])
    promises = session.scalars(
        select(Promise.wording).where(
            Promise.customer_id == case.customer_id, Promise.state.in_(UNKEPT)
        )
    )
    return CaseContext(
        channel=channel,
        names=tuple(dict.fromkeys(n for n in names if n)),
        customer_texts=tuple(texts),
        facts=tuple(f.value for f in found),
        promises=tuple(promises),
        shared=incident_queries.shared_paragraphs(session, case.id),
    )


def find_target(session: Session, case: Case, channel: str) -> Target:
    """Whom a reply on ``channel`` goes to and which message it answers."""
    kinds = {"x": ("x",), "x_dm": ("x", "x_dm"), "email": ("email",)}[channel]
    mention = session.scalars(
        select(Mention)
        .where(Mention.case_id == case.id, Mention.channel.in_(kinds))
        .order_by(Mention.created_at.desc(), Mention.id.desc())
        .limit(1)
    ).first()
    if mention is not None:
        ident = session.get(Identity, mention.identity_id)
        recipient = ident.handle if ident else mention.author
        answers = mention.external_id if channel in ("x", "email") else None
        return Target(recipient, mention, answers)
    if channel != "x":  # a DM or an email can start from an identity alone
        kind = "x" if channel == "x_dm" else "email"
        ident = session.scalars(
            select(Identity)
            .where(Identity.customer_id == case.customer_id, Identity.kind == kind)
            .order_by(Identity.id.desc())
            .limit(1)
        ).first()
        if ident is not None:
            return Target(ident.handle, None, None)
    what = {"x": "an X post", "x_dm": "an X account", "email": "an email address"}[channel]
    raise ReplyError(f"cannot reply on {channel}: the customer has no {what} on this case")


def _existing(session: Session, key: str) -> Reply | None:
    return session.scalars(select(Reply).where(Reply.idempotency_key == key)).first()


def _same(reply: Reply, case: Case, body: str, channel: str) -> Reply:
    if reply.case_id != case.id or reply.body != body or reply.channel != channel:
        raise IdempotencyMismatch(
            "this Idempotency-Key was already used for a different reply; use a new key"
        )
    return reply


def queue_reply(
    session: Session,
    *,
    case: Case,
    staff: Staff,
    body: str,
    channel: str,
    idempotency_key: str,
    now: datetime,
    policy: ReplyPolicy,
    override_reason: str | None = None,
) -> Queued:
    """Record a reply for the worker to send (see the module docstring)."""
    body, key = body.strip(), idempotency_key.strip()
    _check_request(key, channel)
    found = _existing(session, key)
    if found is not None:
        return Queued(_same(found, case, body, channel), False, None)
    _check_body(body)
    queue.ensure_may_act(session, case, staff=staff, action=queue.Action.REPLY, now=now)
    if not queue.touch(session, case, staff=staff, now=now, timeout=policy.claim_timeout):
        queue.claim(session, case.id, staff=staff, now=now, timeout=policy.claim_timeout)
    target = find_target(session, case, channel)
    context = case_context(session, case, channel=channel)
    check = check_personal(
        body,
        case_context=context,
        previous_replies_index=policy.index,
        settings=policy.settings,
        x_limit=policy.x_limit,
    )
    reason = _allowed_through_guard(check, staff=staff, override_reason=override_reason)
    reply = Reply(
        case_id=case.id,
        mention_id=target.mention.id if target.mention else None,
        staff_id=staff.id,
        channel=channel,
        body=body,
        idempotency_key=key,
        state=ReplyState.QUEUED,
        attempts=0,
        next_attempt_at=now,
        personal_score=check.personal,
        override_reason=reason,
        shared_text="\n\n".join(context.shared) or None,
        recipient=target.recipient,
        in_reply_to=target.in_reply_to,
        message_id=make_msgid(domain=policy.message_id_domain)
        if channel == Channel.EMAIL
        else None,
        created_at=now,
    )
    winner = _insert_once(session, reply)
    if winner is not reply:
        return Queued(_same(winner, case, body, channel), False, None)
    _record_queued(session, reply, check, staff=staff, now=now)
    queue.mark_listened(session, case, actor=staff, now=now)  # the first reply listens
    return Queued(reply, True, check)


def _check_request(key: str, channel: str) -> None:
    if not key or len(key) > 200:
        raise ReplyError("an Idempotency-Key of 1 to 200 characters is required")
    if channel not in CHANNELS:
        raise ReplyError(f"channel must be one of {', '.join(CHANNELS)}")


def _check_body(body: str) -> None:
    if not body:
        raise ReplyError("the reply is empty")
    if len(body) > MAX_BODY:
        raise ReplyError(f"a reply is limited to {MAX_BODY} characters")


def _allowed_through_guard(
    check: PersonalCheck, *, staff: Staff, override_reason: str | None
) -> str | None:
    """Refuse what the guard blocks unless a lead overrides in writing; the reason kept."""
    if check.too_long:
        raise ReplyBlocked(f"too long for X ({check.x_length}/{check.x_limit}); use a DM", check)
    if not check.blocked:
        return None
    reason = (override_reason or "").strip()
    if not reason:
        raise ReplyBlocked("this reply reads like a template: " + "; ".join(check.reasons), check)
    if not queue.can_take_over(staff):
        raise OverrideNotAllowed("only a lead can send a reply the guard blocked")
    if len(reason) < MIN_OVERRIDE_REASON:
        raise ReplyError(f"an override needs a written reason ({MIN_OVERRIDE_REASON}+ chars)")
    return reason


def _insert_once(session: Session, reply: Reply) -> Reply:
    """Insert the reply, or return the one stored first under its key (two tabs racing)."""
    try:
        with session.begin_nested():
            session.add(reply)
            session.flush()
    except IntegrityError:
        winner = _existing(session, reply.idempotency_key)
        if winner is None:
            raise
        return winner
    return reply


def _record_queued(
    session: Session, reply: Reply, check: PersonalCheck, *, staff: Staff, now: datetime
) -> None:
    payload = {"reply_id": reply.id, "channel": reply.channel, "staff_id": staff.id}
    if reply.override_reason is not None:
        events.append(
            session,
            ReplyEventKind.OVERRIDDEN,
            now=now,
            case_id=reply.case_id,
            actor=staff.name,
            payload={
                **payload,
                "reason": reply.override_reason,
                "score": check.score,
                "reasons": check.reasons,
            },
        )
    events.append(
        session,
        ReplyEventKind.QUEUED,
        now=now,
        case_id=reply.case_id,
        actor=staff.name,
        payload={**payload, "personal_score": check.personal},
    )
