"""A worker's hold on a queued reply: claiming it, checking the claim, what it sends.

Claiming is atomic across processes: ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL,
one ``UPDATE … RETURNING`` on SQLite (whose writers are serialised). The claim (state
``sending``, holder, lease, attempts + 1) is committed before the vendor is called;
an outcome is written only while :func:`held` says the claim is still this worker's.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from monitor.models import Case, Mention, Reply, ReplyState, Staff
from responders.base import Outbound


def outbound_for(session: Session, reply: Reply) -> Outbound:
    mention = session.get(Mention, reply.mention_id) if reply.mention_id else None
    staff = session.get(Staff, reply.staff_id) if reply.staff_id else None
    case = session.get(Case, reply.case_id)
    refs = tuple(mention.thread_refs or ()) if mention and reply.channel == "email" else ()
    return Outbound(
        channel=reply.channel,
        body=reply.body,
        recipient=reply.recipient or "",
        idempotency_key=reply.idempotency_key,
        recipient_name=(mention.author_name or mention.author) if mention else None,
        in_reply_to=reply.in_reply_to,
        references=tuple(r for r in refs if r != reply.in_reply_to),
        subject=(mention.subject if mention else None) or (case.subject if case else None),
        message_id=reply.message_id,
        quoted=(mention.text_for_scoring or mention.text) if mention else None,
        sender_name=(staff.display_name or staff.name) if staff else None,
    )


def claim_due(
    session: Session, *, now: datetime, holder: str, lease: timedelta, limit: int
) -> list[int]:
    due = and_(
        Reply.state == ReplyState.QUEUED,
        Reply.next_attempt_at.is_not(None),
        Reply.next_attempt_at <= now,
    )
    values = {
        "state": ReplyState.SENDING,
        "holder": holder,
        "lease_expires_at": now + lease,
        "attempts": Reply.attempts + 1,
    }
    if session.get_bind().dialect.name == "postgresql":
        ids = list(
            session.scalars(
                select(Reply.id)
                .where(due)
                .order_by(Reply.next_attempt_at, Reply.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if ids:
            session.execute(
                update(Reply)
                .where(Reply.id.in_(ids))
                .values(**values)
                .execution_options(synchronize_session=False)
            )
        return ids
    chosen = select(Reply.id).where(due).order_by(Reply.next_attempt_at, Reply.id).limit(limit)
    stmt = (
        update(Reply)
        .where(Reply.id.in_(chosen.scalar_subquery()))
        .values(**values)
        .returning(Reply.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(session.scalars(stmt))


def held(session: Session, reply_id: int, holder: str) -> Reply | None:
    stmt = select(Reply).where(Reply.id == reply_id).execution_options(populate_existing=True)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    reply = session.scalar(stmt)
    if reply is None or reply.state != ReplyState.SENDING or reply.holder != holder:
        return None  # the lease lapsed and someone else took over: not ours to record
    return reply
