"""Compensation: parsing what staff typed, and when a lead must approve (pure)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from monitor.config import CompensationSettings
from monitor.promises.compensation import Compensation, CompensationError, needs_approval

LIMITS = CompensationSettings()


def comp(kind: str, amount: str | None, currency: str | None = None) -> Compensation:
    return Compensation.parse(kind, amount, currency, "the outage", default_currency="EUR")


def test_parse_normalises_amount_and_currency() -> None:
    c = comp("rebate", "29", "gbp")
    assert c.amount == Decimal("29.00") and c.currency == "GBP" and c.reason == "the outage"
    assert comp("visit", None).currency is None
    for bad in (("rebate", None), ("rebate", "-5"), ("rebate", "lots"), ("voucher", "5")):
        with pytest.raises(CompensationError):
            comp(*bad)
    with pytest.raises(CompensationError, match="reason"):
        Compensation.parse("credit", "5", None, " ", default_currency="EUR")


@pytest.mark.parametrize(
    ("kind", "amount", "needed"),
    [
        ("rebate", "20", False),  # at the limit: fine
        ("rebate", "20.01", True),
        ("refund", "50", False),
        ("gift", None, False),
        ("visit", None, True),  # limit 0: always a lead
        ("upgrade", None, True),
    ],
)
def test_a_lead_approves_above_the_limit(kind: str, amount: str | None, needed: bool) -> None:
    assert needs_approval(comp(kind, amount), LIMITS) is needed


def test_a_kind_left_out_of_the_limits_never_needs_approval() -> None:
    assert not needs_approval(comp("visit", None), CompensationSettings(limits={"rebate": 10}))
