"""Poll one source safely: lease, respect back-off, fetch outside any transaction,
then store the batch and the next cursor in one transaction.

Failure handling (the cursor only ever moves together with what it covers):
- rate limited (429): no poll before the reset time the vendor gave;
- transient (network, timeout, 5xx): exponential back-off from ``poll_seconds``, capped;
- permanent (credentials, missing folder): retried slowly, error shown on the health page;
- needs re-authorisation (an OAuth grant revoked or expired) and X's monthly usage cap:
  states of their own (``state`` on the health page), retried slowly; the cursor is kept;
- crash anywhere: nothing committed means the next poll fetches the same items again,
  and stored ones are skipped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from monitor.ingest.service import IngestOptions, IngestResult, ingest_batch
from monitor.models import SourceCursor
from monitor.priority.service import Scorer
from monitor.sources.base import (
    MonthlyCapReached,
    NeedsReauthorisation,
    PermanentSourceError,
    RateLimited,
    Source,
    SourceError,
)
from monitor.storage import leases
from monitor.storage.cursors import cursor_row
from monitor.storage.gc_pause import collector_paused

log = logging.getLogger(__name__)
MAX_BACKOFF = timedelta(minutes=15)
MONTHLY_CAP_RETRY = timedelta(hours=1)
# The source's state on /healthz, from the class of its last error.
STATES = {
    "NeedsReauthorisation": "needs re-authorisation",
    "MonthlyCapReached": "monthly cap reached",
    "RateLimited": "rate limited",
}


@dataclass(frozen=True)
class PollResult:
    source: str
    status: (
        str  # ok | skipped | rate_limited | failed | stale | needs_reauthorisation | monthly_cap
    )
    detail: str = ""
    result: IngestResult | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "skipped", "stale")

    def summary(self) -> str:
        if self.result is not None:
            r = self.result
            return (
                f"{self.source}: fetched {r.fetched}, new {r.new}, duplicates {r.duplicates}, "
                f"quarantined {r.quarantined}, cases opened {r.cases_opened}, "
                f"channel hops {r.hops}"
            )
        return f"{self.source}: {self.status}" + (f" ({self.detail})" if self.detail else "")


def source_health(session: Session) -> list[dict[str, Any]]:
    """Each source's last poll, failures, back-off and rate-limit state (for /healthz)."""

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    def state(c: SourceCursor) -> str:
        if not c.consecutive_failures:
            return "ok"
        return STATES.get((c.last_error or "").split(":", 1)[0], "failing")

    return [
        {
            "source": c.source,
            "state": state(c),
            "last_poll_at": iso(c.updated_at),
            "consecutive_failures": c.consecutive_failures,
            "last_error": c.last_error,
            "rate_limit_remaining": c.rate_limit_remaining,
            "rate_limit_reset_at": iso(c.rate_limit_reset_at),
            "next_poll_at": iso(c.next_poll_at),
            "fetched_total": c.fetched_total,
            "quarantined_total": c.quarantined_total,
        }
        for c in session.scalars(select(SourceCursor).order_by(SourceCursor.source))
    ]


def _backoff(poll_seconds: float, failures: int) -> timedelta:
    return min(timedelta(seconds=poll_seconds * 2 ** min(failures, 12)), MAX_BACKOFF)


def poll_source(
    sessions: sessionmaker[Session],
    source: Source,
    *,
    now: datetime,
    holder: str,
    scorer: Scorer,
    options: IngestOptions,
    poll_seconds: float = 60,
    lease_ttl: timedelta = timedelta(minutes=5),
    ignore_backoff: bool = False,
) -> PollResult:
    name = source.name
    lease = f"poll:{name}"
    with sessions.begin() as s:
        if not leases.acquire(s, lease, holder=holder, now=now, ttl=lease_ttl):
            return PollResult(name, "skipped", "another process is polling this source")
        row = cursor_row(s, name, now=now)
        waiting = row.next_poll_at is not None and row.next_poll_at > now
        limited = row.rate_limit_reset_at is not None and row.rate_limit_reset_at > now
        if waiting and (limited or not ignore_backoff):
            leases.release(s, lease, holder=holder)
            assert row.next_poll_at is not None
            until = row.next_poll_at.isoformat()
            if limited:
                return PollResult(name, "rate_limited", f"rate limited until {until}")
            return PollResult(name, "skipped", f"backing off until {until}")
        cursor = dict(row.cursor) if row.cursor is not None else None
    try:
        batch = source.fetch(cursor, now=now)
    except SourceError as exc:
        with sessions.begin() as s:
            row = cursor_row(s, name, now=now)
            row.consecutive_failures = (row.consecutive_failures or 0) + 1
            row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            row.updated_at = now
            if isinstance(exc, RateLimited):
                row.rate_limit_reset_at = exc.reset_at or now + MAX_BACKOFF
                row.rate_limit_remaining = 0
                row.next_poll_at = row.rate_limit_reset_at
                status = "rate_limited"
            elif isinstance(exc, MonthlyCapReached):
                row.next_poll_at = exc.retry_at or now + MONTHLY_CAP_RETRY
                status = "monthly_cap"
            elif isinstance(exc, PermanentSourceError):
                row.next_poll_at = now + MAX_BACKOFF
                status = (
                    "needs_reauthorisation" if isinstance(exc, NeedsReauthorisation) else "failed"
                )
            else:
                row.next_poll_at = now + _backoff(poll_seconds, row.consecutive_failures - 1)
                status = "failed"
            leases.release(s, lease, holder=holder)
        log.warning("poll %s: %s", name, exc)
        return PollResult(name, status, str(exc))
    try:
        with collector_paused(), sessions.begin() as s:
            result = ingest_batch(
                s,
                batch,
                source=name,
                now=now,
                scorer=scorer,
                options=options,
                expected_cursor=cursor,
                check_cursor=True,
            )
            if result is None:
                leases.release(s, lease, holder=holder)
                return PollResult(name, "stale", "another poller advanced the cursor first")
            row = cursor_row(s, name, now=now)
            row.consecutive_failures = 0
            row.last_error = None
            row.next_poll_at = None
            leases.release(s, lease, holder=holder)
    except Exception as exc:  # nothing was stored: record it, back off, refetch later
        log.exception("poll %s: storing the batch failed", name)
        with sessions.begin() as s:
            row = cursor_row(s, name, now=now)
            row.consecutive_failures = (row.consecutive_failures or 0) + 1
            row.last_error = f"storing the batch failed: {type(exc).__name__}: {exc}"[:2000]
            row.updated_at = now
            row.next_poll_at = now + _backoff(poll_seconds, row.consecutive_failures - 1)
            leases.release(s, lease, holder=holder)
        return PollResult(name, "failed", f"storing the batch failed: {exc}"[:500])
    return PollResult(name, "ok", result=result)
