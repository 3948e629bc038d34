"""Outbound replies: the outbox, with delivery state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from monitor.db import Base, id_column
from monitor.models.enums import ReplyState


class Reply(Base):
    __tablename__ = "replies"

    id: Mapped[int] = id_column()
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    mention_id: Mapped[int | None] = mapped_column(ForeignKey("mentions.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    channel: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    state: Mapped[str] = mapped_column(String(16), default=ReplyState.QUEUED, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    external_id: Mapped[str | None] = mapped_column(String(512))
    error: Mapped[str | None] = mapped_column(Text)
    personal_score: Mapped[int | None] = mapped_column(Integer)
    override_reason: Mapped[str | None] = mapped_column(Text)
    # The allowed shared text (an incident's paragraph) the guard did not judge: the
    # reply index leaves it out too, so the next reply may use it as well.
    shared_text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    # The response-time target this reply ended, copied from the case when it was sent
    # (monitor/sla): first or next response, when that wait began and when it was due.
    # Only the reply that ends a wait carries one; the recovery report reads them.
    sla_kind: Mapped[str | None] = mapped_column(String(8))
    sla_started_at: Mapped[datetime | None]
    sla_due_at: Mapped[datetime | None]
    # Where it goes, fixed when it is queued (see monitor/replies/service.py): the X user id or
    # email address, the external id answered (tweet id / Message-ID), and for email our
    # own Message-ID, generated before the first attempt so reconciliation can find it.
    recipient: Mapped[str | None] = mapped_column(String(320))
    in_reply_to: Mapped[str | None] = mapped_column(String(998))
    message_id: Mapped[str | None] = mapped_column(String(998))
    # A worker holds a reply in state "sending" until lease_expires_at; past it the
    # outcome is unknown and reconciliation looks it up before anything is re-sent.
    holder: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None]


Index("ix_replies_state_next_attempt", Reply.state, Reply.next_attempt_at)
# Replies sent in a period, per agent (reports), from the index alone. The state comes
# first: SQLite without statistics prefers an index with an equality on it to a range.
Index(
    "ix_replies_sent",
    Reply.state,
    Reply.sent_at,
    Reply.staff_id,
    Reply.case_id,
    Reply.override_reason,
)
# Reports: a case's sent replies in order (first response, "an agent replied on it").
Index("ix_replies_case_sent", Reply.case_id, Reply.state, Reply.sent_at, Reply.staff_id)
# Reports: the cases an agent replied on (the agent and team filters).
Index("ix_replies_staff_case", Reply.staff_id, Reply.state, Reply.case_id)
# Reports: the waits that began in a period and the reply that ended each (covering).
Index(
    "ix_replies_waits",
    Reply.state,
    Reply.sla_started_at,
    Reply.sla_kind,
    Reply.sla_due_at,
    Reply.sent_at,
    Reply.channel,
    Reply.staff_id,
)
