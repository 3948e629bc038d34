"""A case's cause and tags: suggested, confirmed, changed, in bulk. No commits here.

Errors (the web layer maps them to 422 / 404)::

    ReportsError          any refusal; the message is user-facing
    └── UnknownCause      not a name of ``reports.causes``
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from monitor import events
from monitor.cases.service import CaseNotFound
from monitor.config import ReportsSettings
from monitor.models import Case, CaseTag, Mention, Staff
from monitor.reports.causes import Suggestion, suggest
from monitor.storage.sql_lists import one_of

TAG = re.compile(r"^[\w][\w.:/+-]{0,39}$")
MAX_BULK = 500
CAUSE_SET = "case.cause"
TAGGED = "case.tags"


class ReportsError(ValueError):
    """A request about causes, tags or surveys that cannot be honoured."""


class UnknownCause(ReportsError):
    pass


def case_texts(session: Session, case_id: int, *, limit: int = 20) -> list[str]:
    """The customer's words on the case (oldest first), what a suggestion reads."""
    rows = session.scalars(
        select(Mention.text).where(Mention.case_id == case_id).order_by(Mention.id).limit(limit)
    )
    return list(rows)


def suggestion_for(session: Session, case: Case, settings: ReportsSettings) -> Suggestion | None:
    texts = [case.subject or "", *case_texts(session, case.id)]
    return suggest(texts, settings.causes)


def store_suggestion(
    session: Session, case: Case, *, settings: ReportsSettings, now: datetime
) -> Suggestion | None:
    """Put the suggested cause on a case that has none yet (never over a confirmed one)."""
    if case.cause is not None:
        return None
    found = suggestion_for(session, case, settings)
    if found is None or found.confidence < settings.suggest_min_confidence:
        return found
    case.cause, case.cause_confidence, case.cause_confirmed = found.cause, found.confidence, False
    case.cause_set_at = now
    events.append(
        session,
        CAUSE_SET,
        now=now,
        case_id=case.id,
        payload={"cause": found.cause, "confidence": found.confidence, "suggested": True},
    )
    return found


def set_cause(
    session: Session,
    case: Case,
    *,
    cause: str,
    staff: Staff,
    settings: ReportsSettings,
    now: datetime,
) -> Case:
    """Staff confirm the suggestion or choose another cause; either way it is confirmed."""
    if settings.cause(cause) is None:
        names = ", ".join(c.name for c in settings.causes)
        raise UnknownCause(f"unknown cause {cause!r}; use one of: {names}")
    previous = case.cause
    case.cause, case.cause_confirmed, case.cause_confidence = cause, True, None
    case.cause_set_by_id, case.cause_set_at = staff.id, now
    events.append(
        session,
        CAUSE_SET,
        now=now,
        case_id=case.id,
        actor=staff.name,
        payload={"cause": cause, "previous": previous, "suggested": False},
    )
    return case


def clean_tags(tags: Iterable[str]) -> list[str]:
    out: list[str] = []
    for raw in tags:
        tag = raw.strip().lower()
        if not tag:
            continue
        if not TAG.match(tag):
            raise ReportsError(f"tag {raw!r}: letters, digits and . : / + - _, at most 40")
        if tag not in out:
            out.append(tag)
    return out


def tags_of(session: Session, case_id: int) -> list[str]:
    rows = session.scalars(select(CaseTag.tag).where(CaseTag.case_id == case_id))
    return sorted(rows)


def retag(
    session: Session,
    case_ids: Sequence[int],
    *,
    add: Iterable[str] = (),
    remove: Iterable[str] = (),
    cause: str | None = None,
    staff: Staff,
    settings: ReportsSettings,
    now: datetime,
) -> int:
    """Add and remove tags (and optionally set the cause) on many cases; returns how many.

    All or nothing: CaseNotFound names the first missing case (as bulk resolve and
    assign do), an id beyond what the database holds included."""
    adding, removing = clean_tags(add), clean_tags(remove)
    ids = sorted(set(case_ids))
    if len(ids) > MAX_BULK:
        raise ReportsError(f"at most {MAX_BULK} cases at once")
    dialect = session.get_bind().dialect
    cases = list(session.scalars(select(Case).where(one_of(Case.id, ids, dialect)))) if ids else []
    if len(cases) != len(ids):
        missing = sorted(set(ids) - {c.id for c in cases})
        raise CaseNotFound(f"no case with id {missing[0]}")
    held: dict[int, set[str]] = {case.id: set() for case in cases}
    if ids:  # one read for the batch (a read per case would also flush per case)
        found = session.execute(
            select(CaseTag.case_id, CaseTag.tag).where(CaseTag.case_id.in_(ids))
        )
        for case_id, tag in found.tuples():
            held[case_id].add(tag)
    for case in cases:
        if cause is not None:
            set_cause(session, case, cause=cause, staff=staff, settings=settings, now=now)
        have = held[case.id]
        new = [t for t in adding if t not in have]
        gone = [t for t in removing if t in have]
        session.add_all(CaseTag(case_id=case.id, tag=t, created_at=now) for t in new)
        if gone:
            session.execute(
                delete(CaseTag).where(CaseTag.case_id == case.id, CaseTag.tag.in_(gone))
            )
        if new or gone:
            events.append(
                session,
                TAGGED,
                now=now,
                case_id=case.id,
                actor=staff.name,
                payload={"added": new, "removed": gone},
            )
    session.flush()
    return len(cases)
