"""Figures on promises and on agents, each computed by SQL.

A promise belongs to the period it was made in. Kept: fulfilled by its deadline; kept
late: fulfilled after it; broken and cancelled as staff recorded; open: not settled yet
(overdue or not). Time to fulfil is from making to fulfilling (median, nearest rank).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, exists, func, select
from sqlalchemy.orm import Session

from monitor.config import ReportsSettings
from monitor.models import Case, Mention, Promise, PromiseState, Reply, ReplyState, Staff
from monitor.reports.period import Filters, Period
from monitor.reports.sql import (
    case_column_filters,
    case_filters,
    case_id_filters,
    hours,
    in_period,
    percentiles,
    seconds,
)
from monitor.reports.tables import Table

UNKEPT = (PromiseState.OPEN, PromiseState.OVERDUE, PromiseState.ESCALATED)
COUNTS = [
    ("made", "Made"),
    ("kept", "Kept"),
    ("kept_late", "Kept late"),
    ("broken", "Broken"),
    ("cancelled", "Cancelled"),
    ("open", "Open"),
]
NOBODY = "(nobody)"


def _made(period: Period, f: Filters, *, join: bool = False) -> list[ColumnElement[bool]]:
    """Promises made in the period on the filters' cases (the case joined only when a
    filter or ``join`` needs it: a join nobody reads costs a pass over cases)."""
    joined = (
        [Promise.case_id == Case.id, *case_filters(f)] if join else on_cases(Promise.case_id, f)
    )
    return [in_period(Promise.created_at, period.start, period.end), *joined]


def on_cases(case_id: Any, f: Filters) -> list[ColumnElement[bool]]:
    """The filters' conditions on the case of ``case_id``: the case is joined only for
    a filter on its own row (channel, cause); the others read ``case_id`` alone."""
    columns = case_column_filters(f)
    joined = [case_id == Case.id, *columns] if columns else []
    return [*joined, *case_id_filters(f, case_id)]


def _count(cond: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def _counts(session: Session, group: Any, period: Period, f: Filters) -> dict[Any, list[Any]]:
    fulfilled = Promise.state == PromiseState.FULFILLED
    rows = session.execute(
        select(
            group,
            func.count(),
            _count(fulfilled & (Promise.fulfilled_at <= Promise.due_at)),
            _count(fulfilled & (Promise.fulfilled_at > Promise.due_at)),
            _count(Promise.state == PromiseState.BROKEN),
            _count(Promise.state == PromiseState.CANCELLED),
            _count(Promise.state.in_(UNKEPT)),
        )
        .where(*_made(period, f))
        .group_by(group)
    ).all()
    medians = percentiles(
        session,
        select(group, seconds(session, Promise.fulfilled_at, Promise.created_at)).where(
            *_made(period, f), Promise.state == PromiseState.FULFILLED
        ),
        (0.5,),
    )
    return {
        r[0]: [*(int(x) for x in r[1:]), hours(medians.get(r[0], (0, [None]))[1][0])] for r in rows
    }


def staff_names(session: Session) -> dict[int, str]:
    rows = session.execute(select(Staff.id, Staff.display_name, Staff.name)).all()
    return {i: (d or n) for i, d, n in rows}


def promises(
    session: Session, period: Period, f: Filters, *, settings: ReportsSettings, now: datetime
) -> list[Table]:
    columns = [*COUNTS, ("median_hours", "Median hours to fulfil")]
    kinds = _counts(session, Promise.kind, period, f)
    owners = _counts(session, Promise.owner_id, period, f)
    names = staff_names(session)
    series = ["kept", "kept_late", "broken", "cancelled", "open"]
    by_kind = Table(
        "by_kind",
        "Promises by kind",
        [("kind", "Kind"), *columns],
        [[k, *v] for k, v in sorted(kinds.items(), key=lambda kv: (-kv[1][0], kv[0]))],
        chart="stacked",
        series=series,
    )
    by_owner = Table(
        "by_owner",
        "Promises by owner",
        [("owner", "Owner"), *columns],
        sorted(
            ([names.get(o, NOBODY) if o else NOBODY, *v] for o, v in owners.items()),
            key=lambda r: (-r[1], r[0]),
        ),
        chart="stacked",
        series=series,
    )
    return [
        by_kind,
        by_owner,
        overdue_now(session, f, now=now, names=names),
        compensation(session, period, f, settings=settings),
    ]


def compensation(
    session: Session, period: Period, f: Filters, *, settings: ReportsSettings
) -> Table:
    """Compensation promised in the period by cause and kind: delivered, how much, and
    how many of those customers have not written again since it was delivered."""
    labels = {c.name: c.title for c in settings.causes}
    later = exists().where(
        Mention.customer_id == Promise.customer_id, Mention.created_at > Promise.fulfilled_at
    )
    delivered = Promise.state == PromiseState.FULFILLED
    rows = session.execute(
        select(
            Case.cause,
            Promise.compensation_kind,
            Promise.compensation_currency,
            func.count(),
            _count(delivered),
            func.sum(case((delivered, Promise.compensation_amount), else_=None)),
            func.count(func.distinct(case((delivered, Promise.customer_id), else_=None))),
            func.count(func.distinct(case((delivered & ~later, Promise.customer_id), else_=None))),
        )
        .where(*_made(period, f, join=True), Promise.compensation_kind.is_not(None))
        .group_by(Case.cause, Promise.compensation_kind, Promise.compensation_currency)
    ).all()
    out = [
        [labels.get(cause or "", cause or "No cause yet"), kind, int(n), int(kept),
         float(total) if total is not None else None, cur or "", int(cust), int(quiet)]
        for cause, kind, cur, n, kept, total, cust, quiet in rows
    ]  # fmt: skip
    out.sort(key=lambda r: (-r[2], r[0], r[1]))
    columns = [
        ("cause", "Cause"),
        ("kind", "Kind"),
        ("promised", "Promised"),
        ("delivered", "Delivered"),
        ("amount", "Amount delivered"),
        ("currency", "Currency"),
        ("customers", "Customers given it"),
        ("not_back", "Not back since"),
    ]
    return Table(
        "compensation",
        "Compensation by cause and kind",
        columns,
        out,
        chart="bar",
        note="Not back since: customers who have not written again after it was delivered.",
    )


def overdue_now(session: Session, f: Filters, *, now: datetime, names: dict[int, str]) -> Table:
    """Unkept promises past their deadline at ``now`` (whatever the period), oldest first."""
    rows = session.execute(
        select(Promise.id, Promise.case_id, Promise.kind, Promise.owner_id, Promise.due_at)
        .where(
            Promise.state.in_(UNKEPT),
            Promise.due_at < now,
            *on_cases(Promise.case_id, f),
        )
        .order_by(Promise.due_at, Promise.id)
        .limit(200)
    ).all()
    out = [
        [
            pid,
            cid,
            kind,
            names.get(owner, NOBODY) if owner else NOBODY,
            due,
            round((now - due).total_seconds() / 3600.0, 1),
        ]
        for pid, cid, kind, owner, due in rows
    ]
    columns = [
        ("promise", "Promise"),
        ("case", "Case"),
        ("kind", "Kind"),
        ("owner", "Owner"),
        ("due_at", "Due (UTC)"),
        ("overdue_hours", "Overdue (hours)"),
    ]
    return Table(
        "overdue_now", "Promises overdue right now", columns, out, note="at most the 200 oldest"
    )


def agents(
    session: Session, period: Period, f: Filters, *, settings: ReportsSettings, now: datetime
) -> list[Table]:
    """Per agent: cases they replied on and replies sent in the period, the median time
    to the first response on the cases whose first reply was theirs, promises they own
    (made in the period) and kept, and replies sent over the guard (a lead's override)."""
    sent = [
        Reply.state == ReplyState.SENT,
        in_period(Reply.sent_at, period.start, period.end),
        *on_cases(Reply.case_id, f),
    ]
    replies = {
        r[0]: r[1:]
        for r in session.execute(
            select(
                Reply.staff_id,
                func.count(func.distinct(Reply.case_id)),
                func.count(),
                _count(Reply.override_reason.is_not(None)),
            )
            .where(*sent)
            .group_by(Reply.staff_id)
        ).all()
    }
    first = _first_responses(session, period, f)
    owned = _counts(session, Promise.owner_id, period, f)
    names = staff_names(session)
    ids = sorted({i for i in (*replies, *owned) if i is not None}, key=lambda i: names.get(i, ""))
    rows = []
    for i in ids:
        cases, n, overrides = replies.get(i, (0, 0, 0))
        made, kept, late, broken = (owned.get(i) or [0, 0, 0, 0])[:4]
        rows.append(
            [
                names.get(i, str(i)),
                int(cases),
                int(n),
                first.get(i),
                made,
                kept,
                late,
                broken,
                int(overrides),
            ]
        )
    columns = [
        ("agent", "Agent"),
        ("cases", "Cases handled"),
        ("replies", "Replies sent"),
        ("first_response_hours", "Median first response (hours)"),
        ("promises", "Promises made"),
        ("kept", "Kept"),
        ("kept_late", "Kept late"),
        ("broken", "Broken"),
        ("overrides", "Guard overrides"),
    ]
    return [Table("agents", "Per agent", columns, rows, chart="bar", series=["cases"])]


def _first_responses(session: Session, period: Period, f: Filters) -> dict[int, float | None]:
    """Median wait for the first reply, per agent who sent it, for first replies sent in
    the period (from the case's own first-reply stamp)."""
    firsts = select(
        Case.first_reply_by_id,
        seconds(session, Case.first_reply_at, Case.created_at),
    ).where(in_period(Case.first_reply_at, period.start, period.end), *case_filters(f))
    found = percentiles(session, firsts, (0.5,))
    return {k: hours(v[1][0]) for k, v in found.items() if k is not None}
