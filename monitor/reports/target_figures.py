"""Recovery: first-response and next-response target attainment (by SQL).

A wait is a time a customer waited for us under a response-time target (monitor/sla):
"first" until the first reply on the case, "next" from a later contact to the reply
after it. A wait belongs to the period it began in. Answered waits are the replies that
ended one (each keeps the target it ended: ``replies.sla_*``); waits still unanswered
are the cases' current targets. Met: answered by the due time. Missed: answered after
it, or unanswered past it at ``now``. Running: unanswered, not due yet (left out of
the % met). By channel is the case's channel (of its latest contact); by agent is who
sent the reply that ended the wait, "(unanswered)" for the open ones.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Subquery, case, func, literal, null, select, union_all
from sqlalchemy.orm import Session

from monitor.models import Case, Reply, ReplyState
from monitor.reports.period import Filters, Period
from monitor.reports.sql import bucket_of, case_filters, in_period
from monitor.reports.tables import Table

KINDS = (("first", "First response"), ("next", "Next response"))
UNANSWERED = "(unanswered)"
COLUMNS = [
    (f"{k}_{c}", f"{title}: {h}")
    for k, title in KINDS
    for c, h in (("waits", "waits"), ("met", "met"), ("missed", "missed"), ("percent", "% met"))
]
PERCENTS = [f"{k}_percent" for k, _ in KINDS]


def _waits(period: Period, f: Filters) -> Subquery:
    """(kind, started, due, answered, channel, staff) per wait begun in the period."""
    answered = select(
        Reply.sla_kind.label("kind"),
        Reply.sla_started_at.label("started"),
        Reply.sla_due_at.label("due"),
        Reply.sent_at.label("answered"),
        Case.channel.label("channel"),
        Reply.staff_id.label("staff"),
    ).where(
        Reply.state == ReplyState.SENT,
        Reply.sla_kind.is_not(None),
        in_period(Reply.sla_started_at, period.start, period.end),
        Reply.case_id == Case.id,
        *case_filters(f),
    )
    waiting = select(
        Case.sla_kind,
        Case.sla_started_at,
        Case.sla_due_at,
        null(),
        Case.channel,
        null(),
    ).where(
        Case.sla_kind.is_not(None),
        in_period(Case.sla_started_at, period.start, period.end),
        *case_filters(f),
    )
    return union_all(answered, waiting).subquery("waits")


def _tally(session: Session, waits: Subquery, group: Any, now: datetime) -> dict[Any, list[int]]:
    """Per group: [first waits, met, missed, running, next waits, met, missed, running]."""
    w = waits.c
    met = (w.answered.is_not(None)) & (w.answered <= w.due)
    missed = ((w.answered.is_not(None)) & (w.answered > w.due)) | (
        w.answered.is_(None) & (w.due < now)
    )

    def n(cond: ColumnElement[bool] | None, kind: str) -> Any:
        hit = w.kind == kind if cond is None else (w.kind == kind) & cond
        return func.coalesce(func.sum(case((hit, 1), else_=0)), 0)

    cols = [n(c, k) for k, _ in KINDS for c in (None, met, missed)]
    rows = session.execute(select(group, *cols).group_by(group)).all()
    return {r[0]: [int(x) for x in r[1:]] for r in rows}


def _row(label: Any, counts: list[int]) -> list[Any]:
    out: list[Any] = [label]
    for i in range(len(KINDS)):
        waits, met, missed = counts[3 * i : 3 * i + 3]
        decided = met + missed
        out += [waits, met, missed, round(100.0 * met / decided, 1) if decided else None]
    return out


def attainment(
    session: Session, period: Period, f: Filters, *, now: datetime, names: dict[int, str]
) -> list[Table]:
    waits = _waits(period, f)
    buckets = period.buckets()
    slot = bucket_of(waits.c.started, buckets)
    zero = [0] * (3 * len(KINDS))
    by_slot = _tally(session, waits, slot, now)
    by_channel = _tally(session, waits, waits.c.channel, now)
    by_agent = _tally(session, waits, waits.c.staff, now)
    total = _tally(session, waits, literal(0), now).get(0, zero)
    running = _running(session, waits, now)
    summary = [
        [title, total[3 * i], total[3 * i + 1], total[3 * i + 2], running.get(k, 0),
         _row("", total)[4 * i + 4]]
        for i, (k, title) in enumerate(KINDS)
    ]  # fmt: skip
    agents = sorted(
        (_row(UNANSWERED if s is None else names.get(s, str(s)), c) for s, c in by_agent.items()),
        key=lambda r: (r[0] == UNANSWERED, r[0]),
    )
    cols = [
        ("target", "Target"),
        ("waits", "Waits"),
        ("met", "Met"),
        ("missed", "Missed"),
        ("running", "Not due yet"),
        ("percent", "% met"),
    ]
    note = "% met: of the waits answered or past due (not of those still running)."
    return [
        Table(
            "targets",
            "Response targets met",
            cols,
            summary,
            chart="bar",
            series=["percent"],
            note=note,
        ),
        Table(
            "targets_over_time",
            f"Response targets met, per {period.unit} the wait began",
            [(period.unit, period.unit.capitalize()), *COLUMNS],
            [_row(b.label, by_slot.get(i, zero)) for i, b in enumerate(buckets)],
            chart="line",
            series=PERCENTS,
        ),
        Table(
            "targets_by_channel",
            "Response targets met, by channel",
            [("channel", "Channel"), *COLUMNS],
            [_row(c, v) for c, v in sorted(by_channel.items())],
            chart="bar",
            series=PERCENTS,
        ),
        Table(
            "targets_by_agent",
            "Response targets met, by the agent who answered",
            [("agent", "Agent"), *COLUMNS],
            agents,
            chart="bar",
            series=PERCENTS,
        ),
    ]


def _running(session: Session, waits: Subquery, now: datetime) -> dict[str, int]:
    w = waits.c
    rows = session.execute(
        select(w.kind, func.count()).where(w.answered.is_(None), w.due >= now).group_by(w.kind)
    ).all()
    return {str(k): int(n) for k, n in rows}
