"""Who else has a case open: presence rows renewed by each open page's heartbeat.

A viewer is a row (case, staff member, ``seen_at``) in the database, so every `serve`
process sees the viewers of every other. Each open case page renews its row every few
seconds (:data:`HEARTBEAT`); a row older than :data:`WINDOW` at ``now`` no longer
counts (a closed laptop, a crashed browser), and leaving the page removes it at once.
Presence is neither the composing lock nor the assignment: it stops nobody.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from monitor.models import CaseViewer, Staff

HEARTBEAT = timedelta(seconds=5)  # how often an open case page says it is still open
WINDOW = timedelta(seconds=30)  # a viewer not heard from for this long has gone


def seen(session: Session, *, case_id: int, staff_id: int, now: datetime) -> None:
    """``staff_id`` has the case open at ``now`` (insert or renew the row)."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(CaseViewer).values(case_id=case_id, staff_id=staff_id, seen_at=now)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["case_id", "staff_id"], set_={"seen_at": stmt.excluded.seen_at}
        )
    )


def left(session: Session, *, case_id: int, staff_id: int) -> None:
    """``staff_id`` closed the case page."""
    session.execute(
        delete(CaseViewer)
        .where(CaseViewer.case_id == case_id, CaseViewer.staff_id == staff_id)
        .execution_options(synchronize_session=False)
    )


def viewers(
    session: Session,
    *,
    case_id: int,
    now: datetime,
    besides: int | None = None,
    window: timedelta = WINDOW,
) -> list[Staff]:
    """Who has the case open at ``now`` (heard from within ``window``), by name."""
    stmt = (
        select(Staff)
        .join(CaseViewer, CaseViewer.staff_id == Staff.id)
        .where(CaseViewer.case_id == case_id, CaseViewer.seen_at > now - window)
        .order_by(Staff.name)
    )
    if besides is not None:
        stmt = stmt.where(Staff.id != besides)
    return list(session.scalars(stmt))


def sweep(session: Session, *, case_id: int, now: datetime, window: timedelta = WINDOW) -> int:
    """Forget the case's viewers not heard from for ``window`` (they count for nothing)."""
    result = session.execute(
        delete(CaseViewer)
        .where(CaseViewer.case_id == case_id, CaseViewer.seen_at <= now - window)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
