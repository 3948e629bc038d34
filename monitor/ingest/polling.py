"""Poll one source safely: lock, respect back-off, fetch outside any transaction,
then store the batch and the next cursor in one transaction.

The lock (:func:`monitor.storage.locks.exclusive`) is held from before the cursor is
read until the batch is stored, so two processes never poll one source together, and
it dies with its process, so a poller killed mid-paging does not hold up the next one.

Failure handling (the cursor only ever moves together with what it covers):
- rate limited (429): no poll before the reset time the vendor gave;
- transient (network, timeout, 5xx): exponential back-off from ``poll_seconds``, capped;
- permanent (credentials, missing folder): retried slowly, error shown on the health page;
- needs re-authorisation (an OAuth grant revoked or expired) and X's monthly usage cap:
  states of their own (``state`` on the health page), retried slowly; the cursor is kept;
- anything else (a bug, an input nobody foresaw): recorded like a transient error, so
  the source is never stuck silently (:mod:`monitor.ingest.health`);
- crash anywhere: nothing committed means the next poll fetches the same items again,
  and stored ones are skipped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from monitor.ingest.health import FailureAlerts, record_failure, record_success
from monitor.ingest.service import IngestOptions, IngestResult, ingest_batch
from monitor.priority.service import Scorer
from monitor.sources.base import (
    Batch,
    MonthlyCapReached,
    NeedsReauthorisation,
    PermanentSourceError,
    RateLimited,
    Source,
    SourceError,
)
from monitor.storage import locks
from monitor.storage.cursors import cursor_row
from monitor.storage.gc_pause import collector_paused

log = logging.getLogger(__name__)
MAX_BACKOFF = timedelta(minutes=15)
MONTHLY_CAP_RETRY = timedelta(hours=1)


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


def _backoff(poll_seconds: float, failures: int) -> timedelta:
    return min(timedelta(seconds=poll_seconds * 2 ** min(failures, 12)), MAX_BACKOFF)


@dataclass(frozen=True)
class _Ready:
    cursor: dict[str, Any] | None


@dataclass(frozen=True)
class _Poll:
    """One poll of one source: the steps of :func:`poll_source`, sharing its arguments."""

    sessions: sessionmaker[Session]
    name: str
    now: datetime
    poll_seconds: float
    alerts: FailureAlerts | None

    def start(self, *, ignore_backoff: bool) -> _Ready | PollResult:
        """Read the cursor, unless a back-off or a rate limit says not now."""
        name, now = self.name, self.now
        with self.sessions.begin() as s:
            row = cursor_row(s, name, now=now)
            limited = row.rate_limit_reset_at is not None and row.rate_limit_reset_at > now
            waiting = row.next_poll_at is not None and row.next_poll_at > now
            if row.next_poll_at is not None and waiting and (limited or not ignore_backoff):
                until = row.next_poll_at.isoformat()
                if limited:
                    return PollResult(name, "rate_limited", f"rate limited until {until}")
                return PollResult(name, "skipped", f"backing off until {until}")
            return _Ready(dict(row.cursor) if row.cursor is not None else None)

    def source_failed(self, exc: SourceError) -> PollResult:
        """The vendor's error, by kind: when to try again and what the health page says."""
        now, status, alerts = self.now, "failed", self.alerts
        with self.sessions.begin() as s:
            retry_at = now + _backoff(self.poll_seconds, self._failures(s))
            if isinstance(exc, RateLimited):
                retry_at, status, alerts = exc.reset_at or now + MAX_BACKOFF, "rate_limited", None
            elif isinstance(exc, MonthlyCapReached):
                retry_at, status = exc.retry_at or now + MONTHLY_CAP_RETRY, "monthly_cap"
                alerts = None
            elif isinstance(exc, NeedsReauthorisation):  # alerted on its own, once per grant
                retry_at, status, alerts = now + MAX_BACKOFF, "needs_reauthorisation", None
            elif isinstance(exc, PermanentSourceError):
                retry_at = now + MAX_BACKOFF
            row = record_failure(
                s, self.name, now=now, error=f"{type(exc).__name__}: {exc}",
                next_poll_at=retry_at, alerts=alerts,
            )  # fmt: skip
            if isinstance(exc, RateLimited):
                row.rate_limit_reset_at, row.rate_limit_remaining = retry_at, 0
        log.warning("poll %s: %s", self.name, exc)
        return PollResult(self.name, status, str(exc))

    def failed(self, what: str, exc: Exception) -> PollResult:
        """Anything else went wrong: back off as for a transient error, and say what."""
        log.error("poll %s: %s", self.name, what, exc_info=exc)
        error = f"{what}: {type(exc).__name__}: {exc}"
        with self.sessions.begin() as s:
            retry_at = self.now + _backoff(self.poll_seconds, self._failures(s))
            record_failure(
                s, self.name, now=self.now, error=error, next_poll_at=retry_at, alerts=self.alerts
            )
        return PollResult(self.name, "failed", error[:500])

    def store(
        self, batch: Batch, cursor: dict[str, Any] | None, *, scorer: Scorer, options: IngestOptions
    ) -> PollResult:
        """The batch and the next cursor in one transaction (the collector paused)."""
        name, now = self.name, self.now
        with collector_paused(), self.sessions.begin() as s:
            result = ingest_batch(
                s, batch, source=name, now=now, scorer=scorer, options=options,
                expected_cursor=cursor, check_cursor=True,
            )  # fmt: skip
            if result is None:
                return PollResult(name, "stale", "another poller advanced the cursor first")
            record_success(cursor_row(s, name, now=now), now=now)
        return PollResult(name, "ok", result=result)

    def _failures(self, session: Session) -> int:
        """Failures in a row so far (the back-off doubles with each)."""
        return cursor_row(session, self.name, now=self.now).consecutive_failures or 0


def poll_source(
    sessions: sessionmaker[Session],
    source: Source,
    *,
    now: datetime,
    scorer: Scorer,
    options: IngestOptions,
    poll_seconds: float = 60,
    ignore_backoff: bool = False,
    alerts: FailureAlerts | None = None,
) -> PollResult:
    """Poll ``source`` once: fetch after its cursor, store what came, record the outcome.

    Whatever goes wrong is recorded on the source (:mod:`monitor.ingest.health`), so one
    bad poll never stops the source or hides it. ``sessions`` must be bound to an engine
    (the lock takes a connection of its own).
    """
    with locks.exclusive(_engine(sessions), f"poll:{source.name}") as mine:
        if not mine:
            return PollResult(source.name, "skipped", "another process is polling this source")
        poll = _Poll(sessions, source.name, now, poll_seconds, alerts)
        ready = poll.start(ignore_backoff=ignore_backoff)
        if isinstance(ready, PollResult):
            return ready
        try:
            batch = source.fetch(ready.cursor, now=now)
        except SourceError as exc:
            return poll.source_failed(exc)
        except Exception as exc:  # a bug or an input nobody foresaw: never stay stuck on it
            return poll.failed("fetching failed", exc)
        try:
            return poll.store(batch, ready.cursor, scorer=scorer, options=options)
        except Exception as exc:  # nothing was stored: record it, back off, refetch later
            return poll.failed("storing the batch failed", exc)


def _engine(sessions: sessionmaker[Session]) -> Engine:
    bind = sessions.kw.get("bind")
    if not isinstance(bind, Engine):
        raise TypeError("poll_source needs a sessionmaker bound to an engine")
    return bind
