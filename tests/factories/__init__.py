"""Row builders for the tests, one module per noun.

- ``mentions``: inbound tweets and emails (``tweet``, ``email``) and a scripted source.
- ``staff``: staff accounts and API tokens (``make_staff``, ``make_token``).
- ``cases``: a case row (``make_case``) or a case from ingested mentions (``ingest``).
- ``replies``: a customer with an X post and an email on one case (``seed``) and reply texts.
- ``promises``: the alert ladder, clock policies and bulk promise rows (``seed_promises``).

The shared test clock lives here: every builder stamps rows at ``T0`` unless told otherwise.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def later(minutes: float = 0, hours: float = 0, days: float = 0) -> datetime:
    return T0 + timedelta(minutes=minutes, hours=hours, days=days)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
