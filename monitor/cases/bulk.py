"""Bulk actions from the queue: the cases package's part (which cases, resolving many).

Every bulk action is all or nothing. Each chosen case is checked first (it exists, and
the rules of the single-case action: :func:`monitor.cases.service.ensure_may_act` over
the claim) and only then is any case changed, so one refusal refuses the lot, with the
message naming that case; the caller's transaction holds the batch. Each changed case
gets the same history event as the single-case action (``case.stage`` here).

The other bulk actions live with their nouns and follow the same rules: assigning
(:func:`monitor.cases.assignment.assign_many`), tags and cause
(:func:`monitor.reports.service.retag`), attaching to an incident
(:func:`monitor.incidents.service.attach`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from monitor.cases.service import (
    Action,
    CaseNotFound,
    QueueError,
    advance_stage,
    ensure_may_act,
)
from monitor.models import Case, Staff, Stage
from monitor.storage.sql_lists import one_of

MAX_BULK = 500


def chosen(case_ids: Iterable[int]) -> list[int]:
    """The batch in the order given, each case once; refused when empty or too large."""
    ids = list(dict.fromkeys(case_ids))
    if not ids:
        raise QueueError("choose at least one case")
    if len(ids) > MAX_BULK:
        raise QueueError(f"at most {MAX_BULK} cases at once")
    return ids


def _load(session: Session, ids: list[int]) -> list[Case]:
    """The cases in the order given, with their customers (the check-in names them), in
    one read; CaseNotFound naming the first missing one."""
    stmt = (
        select(Case)
        .where(one_of(Case.id, ids, session.get_bind().dialect))
        .options(selectinload(Case.customer))
        .execution_options(populate_existing=True)
    )
    found = {case.id: case for case in session.scalars(stmt)}
    missing = [case_id for case_id in ids if case_id not in found]
    if missing:
        raise CaseNotFound(f"no case with id {missing[0]}")
    return [found[case_id] for case_id in ids]


def resolve_many(
    session: Session,
    case_ids: Iterable[int],
    *,
    by: Staff,
    now: datetime,
    check_in_after: timedelta | None = None,
) -> list[int]:
    """Resolve every chosen case, or none; returns the ones resolved now (a case that
    was resolved already is left as it is). Someone else's live claim on any case
    refuses the batch (ClaimConflict naming it), as it refuses resolving that case alone;
    with ``check_in_after`` each resolved case gets its check-in task, as alone."""
    cases = _load(session, chosen(case_ids))
    for case in cases:  # every check before any change
        ensure_may_act(session, case, staff=by, action=Action.STAGE, now=now)
    return [
        case.id
        for case in cases
        if advance_stage(
            session, case, Stage.RESOLVED, actor=by, now=now, check_in_after=check_in_after
        )
    ]
