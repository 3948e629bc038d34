"""Failed console sign-ins, limited per account and per client address.

Failures are rows in ``sign_in_failures``, so every ``serve`` process on one database
counts the same attempts and a restart forgets nothing (the counts used to live in each
process's memory: N processes allowed N times the attempts). A sliding window: an
account or address with ``limit`` failures in the last ``window`` waits until the
oldest of them is older than that. Attempts refused by the limit are not counted, so
the table holds at most a few rows per key, and each new failure deletes the expired
ones. Attempts on one account or from one address are taken one at a time, so a burst
of parallel guesses cannot all pass the count before any failure is written: SQLite's
``BEGIN IMMEDIATE`` does that already, PostgreSQL takes a transaction-scoped advisory
lock per key.

Plain SQLAlchemy in the caller's transaction, like the rest of the domain core.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from monitor.models import SignInFailure

KEY_LENGTH = 400  # the column's size


@dataclass(frozen=True)
class SignInLimits:
    per_account: int = 5
    per_address: int = 20
    window: timedelta = timedelta(minutes=15)


def _account_key(account: str) -> str:
    return f"a:{account}"[:KEY_LENGTH]


def _keys(limits: SignInLimits, account: str, address: str) -> list[tuple[str, int]]:
    return [
        (_account_key(account), limits.per_account),
        (f"ip:{address}"[:KEY_LENGTH], limits.per_address),
    ]


def retry_after(
    session: Session, limits: SignInLimits, *, account: str, address: str, now: datetime
) -> timedelta | None:
    """How long until another attempt is allowed, or None when it is allowed now.

    On PostgreSQL this also locks the account and the address until the caller's
    transaction ends (after :func:`record_failure` or :func:`clear_account`)."""
    keys = _keys(limits, account, address)
    if session.get_bind().dialect.name == "postgresql":
        for key in sorted(k for k, _ in keys):  # one order everywhere: no deadlock
            session.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))
    waits = []
    for key, limit in keys:
        count, oldest = session.execute(
            select(func.count(), func.min(SignInFailure.at)).where(
                SignInFailure.key == key, SignInFailure.at > now - limits.window
            )
        ).one()
        if count >= limit and oldest is not None:
            waits.append(oldest + limits.window - now)
    return max(waits) if waits else None


def record_failure(
    session: Session, limits: SignInLimits, *, account: str, address: str, now: datetime
) -> None:
    session.execute(delete(SignInFailure).where(SignInFailure.at <= now - limits.window))
    session.execute(
        insert(SignInFailure), [{"key": k, "at": now} for k, _ in _keys(limits, account, address)]
    )


def clear_account(session: Session, *, account: str) -> None:
    """A successful sign-in forgets the account's failures (not the address's)."""
    session.execute(delete(SignInFailure).where(SignInFailure.key == _account_key(account)))
