"""Changing a customer: their value to the business (read by the frustration score).

``value`` 0 is an ordinary customer, 1 a key account (``scoring.customer_value_points``
per unit, at most ``scoring.customer_value_max``); the open cases pick it up at their next
re-score (every ``queue.rescore_minutes``). Keyword-only, no commit.
"""

from __future__ import annotations

import math

from sqlalchemy.orm import Session

from monitor.models import Customer

MAX_VALUE = 100.0


class CustomerError(ValueError):
    """A refused change; the message is user-facing."""


def check_value(value: float) -> float:
    """``value`` when it is a customer value; else CustomerError saying what is expected."""
    if not math.isfinite(value) or not 0 <= value <= MAX_VALUE:
        raise CustomerError(f"a customer's value is a number from 0 to {MAX_VALUE:g}")
    return float(value)


def set_value(session: Session, customer: Customer, *, value: float) -> Customer:
    customer.value = check_value(value)
    session.flush()
    return customer
