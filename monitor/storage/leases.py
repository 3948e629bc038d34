"""Named, expiring leases: a job runs at most once per lease period across processes.

Acquisition is a single atomic statement (take it if free, expired or already ours;
otherwise insert it, doing nothing on conflict), so it is safe across processes on
PostgreSQL and SQLite alike. A holder that dies keeps its lease until it expires, so
a lease is for throttling (the periodic re-score takes one for its interval and never
releases it). For "one process at a time" use :mod:`monitor.storage.locks`, which
dies with its holder: a crashed poller holding a lease blinded its source for the
lease's whole TTL.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from monitor.models import Lease


def acquire(session: Session, name: str, *, holder: str, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease ``name`` for ``holder`` until ``now + ttl``."""
    expires = now + ttl
    result = session.execute(
        update(Lease)
        .where(Lease.name == name, or_(Lease.holder == holder, Lease.expires_at < now))
        .values(holder=holder, expires_at=expires)
        .execution_options(synchronize_session=False)
    )
    if isinstance(result, CursorResult) and result.rowcount == 1:
        return True
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = (
        insert(Lease)
        .values(name=name, holder=holder, expires_at=expires)
        .on_conflict_do_nothing(index_elements=["name"])
        .returning(Lease.name)
    )
    return session.execute(stmt).first() is not None


def holds(session: Session, name: str, *, holder: str, now: datetime) -> bool:
    lease = session.get(Lease, name, populate_existing=True)
    return lease is not None and lease.holder == holder and lease.expires_at >= now


def release(session: Session, name: str, *, holder: str) -> None:
    session.execute(
        delete(Lease)
        .where(Lease.name == name, Lease.holder == holder)
        .execution_options(synchronize_session=False)
    )
