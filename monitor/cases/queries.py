"""The live queue: one page of cases, highest priority first, then longest waiting.

Keyset pagination on ``(priority DESC, first_unanswered_at ASC, id ASC)``,
served by the ``ix_cases_queue`` index, so any page costs the same with 100,000 open
cases. A page is assembled with a handful of batched look-ups (customers, latest words,
claim holders, unkept promises, latest replies that failed), never one query per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, UnaryExpression, and_, func, or_, select
from sqlalchemy.orm import Session

from monitor.cases.service import QueueError, claim_active
from monitor.mentions import first_words
from monitor.models import (
    Case,
    CaseStatus,
    Customer,
    Mention,
    Promise,
    PromiseState,
    Reply,
    ReplyState,
    Staff,
)


@dataclass(frozen=True)
class QueueKey:
    """Where a queue page ends: the sort key of its last row (keyset pagination).

    Sorted by priority: (priority, waiting since, id); sorted by "breaching soon":
    (due time, id), encoded with a ``d~`` prefix.
    """

    priority: float
    waiting_since: datetime | None
    case_id: int
    due_at: datetime | None = None

    def encode(self) -> str:
        if self.due_at is not None:
            return f"d~{self.due_at.isoformat()}~{self.case_id}"
        w = self.waiting_since.isoformat() if self.waiting_since else ""
        return f"{self.priority!r}~{w}~{self.case_id}"

    @classmethod
    def decode(cls, token: str) -> QueueKey:
        if token.startswith("d~"):
            return cls._decode_due(token)
        try:
            p, w, i = token.split("~")
            priority = float(p)
            waiting = datetime.fromisoformat(w) if w else None
            case_id = int(i)
        except ValueError:
            raise QueueError("bad page cursor") from None
        if waiting is not None and waiting.tzinfo is None:
            raise QueueError("bad page cursor: the time has no zone")
        if not 0 < case_id < 2**63:
            raise QueueError("bad page cursor: no such case id")
        return cls(priority, waiting, case_id)

    @classmethod
    def _decode_due(cls, token: str) -> QueueKey:
        try:
            _, d, i = token.split("~")
            due, case_id = datetime.fromisoformat(d), int(i)
        except ValueError:
            raise QueueError("bad page cursor") from None
        if due.tzinfo is None or not 0 < case_id < 2**63:
            raise QueueError("bad page cursor")
        return cls(0.0, None, case_id, due_at=due)


@dataclass(frozen=True)
class QueueFilter:
    channel: str | None = None
    status: str = CaseStatus.OPEN
    band: str | None = None
    claimed: str | None = None  # "mine" (assigned to me or mine to reply) | "unclaimed"
    staff_id: int | None = None  # who "mine" means
    sort: str = "priority"  # "priority" | "due" (breaching soon first)
    sla: str | None = None  # "soon" (due within `soon`, or breached) | "breached"
    soon: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class QueueRow:
    case_id: int
    channel: str
    status: str
    customer_id: int
    customer_name: str
    first_words: str
    subject: str
    score: int
    band: str
    reasons: tuple[str, ...]
    waiting_since: datetime | None
    hop_from: str | None
    claimed_by_id: int | None
    claimed_by: str | None
    claim_expires_at: datetime | None
    open_promises: int
    overdue_promises: int
    updated_at: datetime
    reply_failed: bool = False  # the case's latest reply permanently failed
    reply_error: str | None = None
    sla_kind: str | None = None  # the response-time target: "first" | "next"
    sla_due_at: datetime | None = None
    public_risk: bool = False
    assignee_id: int | None = None
    assignee: str | None = None


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    next: QueueKey | None


# Plain ASC on purpose, so the index serves the whole ORDER BY on both backends: where
# first_unanswered_at is NULL (only answered or resolved cases; an open case always has
# it) PostgreSQL sorts those last and SQLite first, and the keyset predicate follows.
QUEUE_ORDER = (Case.priority.desc(), Case.first_unanswered_at.asc(), Case.id.asc())
DUE_ORDER = (Case.sla_due_at.asc(), Case.id.asc())  # ix_cases_sla_due
UNKEPT_PROMISES = (PromiseState.OPEN, PromiseState.OVERDUE, PromiseState.ESCALATED)


def _after(key: QueueKey, *, nulls_first: bool) -> ColumnElement[bool]:
    w, i = Case.first_unanswered_at, Case.id
    if key.waiting_since is None:
        same_p = and_(w.is_(None), i > key.case_id)
        if nulls_first:
            same_p = or_(same_p, w.is_not(None))
    else:
        same_p = or_(w > key.waiting_since, and_(w == key.waiting_since, i > key.case_id))
        if not nulls_first:
            same_p = or_(same_p, w.is_(None))
    return and_(
        Case.priority <= key.priority,
        or_(Case.priority < key.priority, same_p),
    )


def list_queue(
    session: Session,
    *,
    now: datetime,
    filters: QueueFilter | None = None,
    limit: int = 50,
    after: QueueKey | None = None,
) -> QueuePage:
    """One page of the queue: highest priority first, then whoever has waited longest."""
    f = filters or QueueFilter()
    limit = max(1, min(limit, 500))
    stmt = select(Case).where(Case.status == f.status)
    if f.channel:
        stmt = stmt.where(Case.channel == f.channel)
    if f.band:
        stmt = stmt.where(Case.band == f.band)
    live = and_(Case.claimed_by_id.is_not(None), Case.claim_expires_at > now)
    me = f.staff_id or -1
    if f.claimed == "mine":  # what I own, and what I am replying to right now
        stmt = stmt.where(or_(Case.assignee_id == me, and_(live, Case.claimed_by_id == me)))
    elif f.claimed == "unclaimed":  # nobody owns it and nobody is replying
        stmt = stmt.where(Case.assignee_id.is_(None), ~live)
    if f.sla == "soon":
        stmt = stmt.where(Case.sla_due_at <= now + f.soon)
    elif f.sla == "breached":
        stmt = stmt.where(Case.sla_due_at <= now)
    by_due = f.sort == "due"
    order: tuple[UnaryExpression[Any], ...]
    if by_due:
        stmt = stmt.where(Case.sla_due_at.is_not(None))
        if after is not None and after.due_at is not None:
            d = after.due_at
            stmt = stmt.where(
                or_(Case.sla_due_at > d, and_(Case.sla_due_at == d, Case.id > after.case_id))
            )
        order = DUE_ORDER
    else:
        if after is not None:
            nulls_first = session.get_bind().dialect.name == "sqlite"
            stmt = stmt.where(_after(after, nulls_first=nulls_first))
        order = QUEUE_ORDER
    cases = list(session.scalars(stmt.order_by(*order).limit(limit + 1)))
    more = len(cases) > limit
    cases = cases[:limit]
    rows = _rows(session, cases, now=now)
    last = cases[-1] if more and cases else None
    nxt = None
    if last is not None:
        nxt = QueueKey(last.priority, last.first_unanswered_at, last.id)
        if by_due:
            nxt = QueueKey(0.0, None, last.id, due_at=last.sla_due_at)
    return QueuePage(rows=rows, next=nxt)


def _rows(session: Session, cases: list[Case], *, now: datetime) -> list[QueueRow]:
    if not cases:
        return []
    ids = [c.id for c in cases]
    names = dict(
        session.execute(
            select(Customer.id, Customer.display_name).where(
                Customer.id.in_({c.customer_id for c in cases})
            )
        )
        .tuples()
        .all()
    )
    latest = select(func.max(Mention.id)).where(Mention.case_id.in_(ids)).group_by(Mention.case_id)
    words = dict(
        session.execute(
            select(Mention.case_id, func.substr(Mention.text, 1, 300)).where(Mention.id.in_(latest))
        )
        .tuples()
        .all()
    )
    holder_ids = {c.claimed_by_id for c in cases if c.claimed_by_id}
    holder_ids |= {c.assignee_id for c in cases if c.assignee_id}
    holders: dict[int, str] = {}
    if holder_ids:
        for sid, name, display in session.execute(
            select(Staff.id, Staff.name, Staff.display_name).where(Staff.id.in_(holder_ids))
        ):
            holders[sid] = display or name
    promises: dict[int, list[bool]] = {}
    for case_id, due_at, state in session.execute(
        select(Promise.case_id, Promise.due_at, Promise.state).where(
            Promise.case_id.in_(ids), Promise.state.in_(UNKEPT_PROMISES)
        )
    ):
        promises.setdefault(case_id, []).append(state != PromiseState.OPEN or due_at < now)
    newest = select(func.max(Reply.id)).where(Reply.case_id.in_(ids)).group_by(Reply.case_id)
    failed = dict(
        session.execute(
            select(Reply.case_id, Reply.error).where(
                Reply.id.in_(newest), Reply.state == ReplyState.FAILED
            )
        )
        .tuples()
        .all()
    )
    out = []
    for c in cases:
        live = claim_active(c, now)
        mine = promises.get(c.id, [])
        out.append(
            QueueRow(
                case_id=c.id,
                channel=c.channel,
                status=c.status,
                customer_id=c.customer_id,
                customer_name=names.get(c.customer_id, ""),
                first_words=first_words(words.get(c.id) or c.subject or "", 120),
                subject=c.subject,
                score=c.score,
                band=c.band,
                reasons=tuple(c.reasons or ()),
                waiting_since=c.first_unanswered_at,
                hop_from=c.hop_from,
                claimed_by_id=c.claimed_by_id if live else None,
                claimed_by=holders.get(c.claimed_by_id or 0) if live else None,
                claim_expires_at=c.claim_expires_at if live else None,
                open_promises=len(mine),
                overdue_promises=sum(mine),
                updated_at=c.updated_at,
                reply_failed=c.id in failed,
                reply_error=failed.get(c.id),
                sla_kind=c.sla_kind,
                sla_due_at=c.sla_due_at,
                public_risk=c.public_risk,
                assignee_id=c.assignee_id,
                assignee=holders.get(c.assignee_id or 0),
            )
        )
    return out
