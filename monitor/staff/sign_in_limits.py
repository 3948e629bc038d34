"""Failed console sign-ins slow down guessing, per account and per client address.

Failures are rows in ``sign_in_failures`` (``a:<name>`` and ``ip:<address>``), so every
``serve`` process on one database counts the same attempts and a restart forgets
nothing. A key's first ``free`` failures cost nothing; from then on each attempt must
wait after the latest failure, a wait that doubles with every further failure
(``first_delay`` × 2^(n - free), at most ``max_delay``). During the wait an attempt is
refused without looking at the password and is not counted; after it the right
password signs in and clears the account's count. So a locked account is never a
denial of service on its owner for longer than ``max_delay``, while guessing costs an
attacker ever longer waits. Failures older than ``forget_after`` stop counting and are
deleted by the next failure.

A successful sign-in clears the account's failures, and, from the address it came
from, the failures made on that same account (the owner's own typos no longer count
against a shared office address; other accounts' failures still do). An admin can
clear an account or an address (:func:`unlock`).

Attempts on one account or from one address are taken one at a time, so a burst of
parallel guesses cannot all pass the count before any failure is written: SQLite's
``BEGIN IMMEDIATE`` does that already, PostgreSQL takes a transaction-scoped advisory
lock per key. The counts say nothing of whether an account exists: a name nobody has
is counted and delayed the same way.

Plain SQLAlchemy in the caller's transaction, like the rest of the domain core.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from monitor.models import SignInFailure

KEY_LENGTH = 400  # the column's size


@dataclass(frozen=True)
class SignInLimits:
    per_account: int = 5  # failures on one account before waits begin
    per_address: int = 20  # failures from one address before waits begin
    first_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(minutes=15)
    forget_after: timedelta = timedelta(hours=24)

    def delay(self, failures: int, free: int) -> timedelta:
        """The wait after the latest failure, once a key has ``failures`` of them."""
        if failures < free:
            return timedelta(0)
        doublings = min(failures - free, 32)  # 2^32 × anything is past any cap
        grown: timedelta = self.first_delay * (2**doublings)
        return min(grown, self.max_delay)


def account_key(account: str) -> str:
    return f"a:{account.strip().lower()}"[:KEY_LENGTH]


def address_key(address: str) -> str:
    return f"ip:{address}"[:KEY_LENGTH]


def _keys(limits: SignInLimits, account: str, address: str) -> list[tuple[str, int]]:
    return [
        (account_key(account), limits.per_account),
        (address_key(address), limits.per_address),
    ]


def _wait(
    session: Session, limits: SignInLimits, keys: list[tuple[str, int]], now: datetime
) -> timedelta | None:
    waits = []
    for key, free in keys:
        count, latest = session.execute(
            select(func.count(), func.max(SignInFailure.at)).where(
                SignInFailure.key == key, SignInFailure.at > now - limits.forget_after
            )
        ).one()
        if latest is not None and count >= free:
            left = latest + limits.delay(count, free) - now
            if left > timedelta(0):
                waits.append(left)
    return max(waits) if waits else None


def retry_after(
    session: Session, limits: SignInLimits, *, account: str, address: str, now: datetime
) -> timedelta | None:
    """How long until another attempt is allowed, or None when it is allowed now.

    On PostgreSQL this also locks the account and the address until the caller's
    transaction ends (after :func:`record_failure` or :func:`clear_on_success`)."""
    keys = _keys(limits, account, address)
    if session.get_bind().dialect.name == "postgresql":
        for key in sorted(k for k, _ in keys):  # one order everywhere: no deadlock
            session.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))
    return _wait(session, limits, keys, now)


def record_failure(
    session: Session, limits: SignInLimits, *, account: str, address: str, now: datetime
) -> timedelta | None:
    """Count a failure; returns the wait it imposes on the next attempt, if any."""
    session.execute(delete(SignInFailure).where(SignInFailure.at <= now - limits.forget_after))
    keys = _keys(limits, account, address)
    rows = [{"key": keys[0][0], "at": now}, {"key": keys[1][0], "at": now, "account": keys[0][0]}]
    session.execute(insert(SignInFailure), rows)
    return _wait(session, limits, keys, now)


def clear_on_success(session: Session, *, account: str, address: str) -> None:
    """After a right password: forget the account's failures, and the address's
    failures that were made on this account."""
    key = account_key(account)
    session.execute(
        delete(SignInFailure).where(
            SignInFailure.key == address_key(address), SignInFailure.account == key
        )
    )
    session.execute(delete(SignInFailure).where(SignInFailure.key == key))


def unlock(session: Session, *, account: str | None = None, address: str | None = None) -> int:
    """An admin clears the failures on an account (also from the addresses' counts) or
    from an address; returns how many failed sign-ins were cleared."""
    cleared = 0
    if account:
        key = account_key(account)
        session.execute(delete(SignInFailure).where(SignInFailure.account == key))
        result = session.execute(delete(SignInFailure).where(SignInFailure.key == key))
        cleared += int(getattr(result, "rowcount", 0) or 0)
    if address:
        result = session.execute(
            delete(SignInFailure).where(SignInFailure.key == address_key(address))
        )
        cleared += int(getattr(result, "rowcount", 0) or 0)
    return cleared


def describe_wait(wait: timedelta) -> str:
    """'45 seconds', '3 minutes': rounded up, for messages to the person signing in."""
    seconds = max(1, math.ceil(wait.total_seconds()))
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minutes"
