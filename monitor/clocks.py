"""Clocks for long runs: a job is handed ``now`` once, but its later steps happen later.

A worker that claims rows under a lease must take, renew and check that lease with the
time it is *now*, not the time its job started: after slow sends the start time says a
lease is fresh that other processes, reading their own clocks, already see as lapsed.
Functions that run for a while therefore take a :data:`Clock` (tests pass a controlled
one); :func:`advancing` is the default, the job's ``now`` moved on by the monotonic
clock, so a job stays consistent with the ``now`` it was given.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from time import monotonic

Clock = Callable[[], datetime]


def advancing(start: datetime) -> Clock:
    """A clock that reads ``start`` now and moves on with the monotonic clock."""
    origin = monotonic()

    def read() -> datetime:
        return start + timedelta(seconds=monotonic() - origin)

    return read
