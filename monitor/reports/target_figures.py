"""Recovery: first-response and next-response target attainment (by SQL).

A wait is a time a customer waited for us under a response-time target (monitor/sla):
"first" until the first reply on the case, "next" from a later contact to the reply
after it. A wait belongs to the period it began in. Answered waits are the replies that
ended one (each keeps the target it ended: ``replies.sla_*``); waits still unanswered
are the cases' current targets. Met: answered by the due time. Missed: answered after
it, or unanswered past it at ``now``. Running: unanswered, not due yet (left out of
the % met). By channel is the channel answered on (of the case's latest contact for
the open ones: the case is joined only when a filter needs it); by agent is who
sent the reply that ended the wait, "(unanswered)" for the open ones.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Subquery, case, func, null, select, union_all
from sqlalchemy.orm import Session

from monitor.models import Case, Reply, ReplyState
from monitor.reports.period import Filters, Period
from monitor.reports.promise_figures import on_cases as _on_cases
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
        Reply.channel.label("channel"),
        Reply.staff_id.label("staff"),
    ).where(
        Reply.state == ReplyState.SENT,
        Reply.sla_kind.is_not(None),
        in_period(Reply.sla_started_at, period.start, period.end),
        *_on_cases(Reply.case_id, f),
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


def _tally(
    session: Session, waits: Subquery, period: Period, now: datetime
) -> list[tuple[int, Any, Any, int, list[int]]]:
    """One pass: (bucket, channel, staff, kind index, [waits, met, missed]) per group.
    Every wait is met, missed or running (unanswered, not due yet)."""
    w = waits.c
    met = (w.answered.is_not(None)) & (w.answered <= w.due)
    missed = ((w.answered.is_not(None)) & (w.answered > w.due)) | (
        w.answered.is_(None) & (w.due < now)
    )
    slot = bucket_of(w.started, period.buckets()).label("slot")
    rows = session.execute(
        select(
            slot,
            w.channel,
            w.staff,
            w.kind,
            func.count(),
            func.sum(case((met, 1), else_=0)),
            func.sum(case((missed, 1), else_=0)),
        ).group_by(slot, w.channel, w.staff, w.kind)
    ).all()
    kinds = [k for k, _ in KINDS]
    return [
        (int(sl), ch, st, kinds.index(k), [int(n), int(m or 0), int(x or 0)])
        for sl, ch, st, k, n, m, x in rows
        if k in kinds
    ]


def _add(into: dict[Any, list[int]], key: Any, kind: int, counts: list[int]) -> None:
    row = into.setdefault(key, [0] * (3 * len(KINDS)))
    for j, v in enumerate(counts):
        row[3 * kind + j] += v


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
    buckets = period.buckets()
    zero = [0] * (3 * len(KINDS))
    by_slot: dict[Any, list[int]] = {}
    by_channel: dict[Any, list[int]] = {}
    by_agent: dict[Any, list[int]] = {}
    totals: dict[Any, list[int]] = {}
    for sl, channel, staff, kind, counts in _tally(session, _waits(period, f), period, now):
        for into, key in ((by_slot, sl), (by_channel, channel), (by_agent, staff), (totals, 0)):
            _add(into, key, kind, counts)
    total = totals.get(0, zero)
    summary = []
    for i, (_, title) in enumerate(KINDS):
        waits, met, missed = total[3 * i : 3 * i + 3]
        summary.append(
            [title, waits, met, missed, waits - met - missed, _row("", total)[4 * i + 4]]
        )
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
