"""Source cursors: where each source (or outbox tailer) stopped, and its health.

The row is read and written inside the caller's transaction, so a batch and the cursor
that follows it commit together.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.models import SourceCursor


def cursor_row(session: Session, source: str, *, now: datetime, lock: bool = False) -> SourceCursor:
    stmt = select(SourceCursor).where(SourceCursor.source == source)
    if lock:
        stmt = stmt.with_for_update()
    row = session.scalar(stmt)
    if row is None:
        row = SourceCursor(
            source=source,
            cursor=None,
            updated_at=now,
            consecutive_failures=0,
            fetched_total=0,
            quarantined_total=0,
        )
        session.add(row)
    return row
