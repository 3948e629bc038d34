"""``incidents`` (the tasks an outage sets) and ``compensation`` (what needs a lead)."""

from __future__ import annotations

from pydantic import Field, field_validator

from monitor.config.base import Section

COMPENSATION_KINDS = ("rebate", "credit", "refund", "gift", "upgrade", "visit")


class IncidentsSettings(Section):
    # When an incident's status changes, each attached customer not yet told is due an
    # update within this time; on resolution, a check-in this long after.
    update_within_hours: float = Field(default=4, gt=0)
    check_in_hours: float = Field(default=24, gt=0)


class CompensationSettings(Section):
    # Above this amount (in the compensation's currency) a lead must approve before the
    # reply that promises it can be sent; 0 = always (kinds without an amount: upgrade,
    # visit); a kind left out never needs approval.
    limits: dict[str, float] = Field(
        default_factory=lambda: {
            "rebate": 20.0,
            "credit": 20.0,
            "refund": 50.0,
            "gift": 30.0,
            "upgrade": 0.0,
            "visit": 0.0,
        }
    )
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")

    @field_validator("limits")
    @classmethod
    def _kinds(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(COMPENSATION_KINDS))
        if unknown:
            raise ValueError(f"unknown kinds {unknown}; use any of {list(COMPENSATION_KINDS)}")
        if any(v < 0 for v in value.values()):
            raise ValueError("limits cannot be negative")
        return value
