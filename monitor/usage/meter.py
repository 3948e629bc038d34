"""The X cost meter: every billable resource, once per UTC day, priced from config.

Sources (and the X responder) report what each response contained
(:class:`~monitor.sources.twitter.costs.Billable`); :class:`StoredMeter` inserts one
``x_usage`` row per (UTC day, resource kind, resource id), doing nothing on conflict, so
the count is X's: a post read ten times today is billed once, and several processes
polling the same account count it once too. :func:`summary` prices the rows with
``sources.twitter.costs.prices``. Rows older than :data:`KEEP_DAYS` are deleted as new
ones arrive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from monitor.config.costs import XPrices
from monitor.models import XUsage
from monitor.sources.twitter.costs import Billable

PRICE_FIELDS = {"post": "post_read", "user": "user_read", "dm_event": "dm_event_read"}
KEEP_DAYS = 62  # this month and the last, whatever the month's length


def unit_price(prices: XPrices, resource: str, owned: bool) -> float:
    if owned and resource == "post":
        return prices.owned_read
    name = PRICE_FIELDS.get(resource, resource)
    return float(getattr(prices, name, 0.0))


def record(session: Session, endpoint: str, items: Sequence[Billable], *, now: datetime) -> int:
    """Store what is billable and new today; returns how many were new (billed)."""
    day = now.date()
    rows = {
        (b.resource, b.resource_id): {
            "day": day, "resource": b.resource, "resource_id": b.resource_id[:64],
            "endpoint": endpoint[:120], "owned": b.owned, "at": now,
        }
        for b in items
    }  # fmt: skip
    if not rows:
        return 0
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(XUsage).on_conflict_do_nothing(index_elements=["day", "resource", "resource_id"])
    result = session.execute(stmt.returning(XUsage.id), list(rows.values()))
    return len(result.all())


@dataclass
class StoredMeter:
    """A :class:`~monitor.sources.twitter.costs.UsageMeter` over the database."""

    sessions: sessionmaker[Session]
    billed: int = 0  # resources this process saw billed (for tests and the demo)

    def record(self, endpoint: str, items: Sequence[Billable], *, now: datetime) -> None:
        with self.sessions.begin() as s:
            self.billed += record(s, endpoint, items, now=now)
            s.execute(delete(XUsage).where(XUsage.day < now.date() - timedelta(days=KEEP_DAYS)))


@dataclass(frozen=True)
class Line:
    endpoint: str
    resource: str
    owned: bool
    count: int
    unit_usd: float

    @property
    def usd(self) -> float:
        return self.count * self.unit_usd


@dataclass(frozen=True)
class Period:
    label: str  # "2026-12-01" or "2026-12"
    lines: list[Line] = field(default_factory=list)

    @property
    def usd(self) -> float:
        return round(sum(line.usd for line in self.lines), 6)

    @property
    def count(self) -> int:
        return sum(line.count for line in self.lines)


@dataclass(frozen=True)
class Summary:
    today: Period
    month: Period
    prices_as_of: str

    def as_json(self) -> dict[str, object]:
        def period(p: Period) -> dict[str, object]:
            return {
                "period": p.label, "usd": p.usd, "resources": p.count,
                "by_endpoint": [
                    {"endpoint": line.endpoint, "resource": line.resource, "owned": line.owned,
                     "count": line.count, "unit_usd": line.unit_usd, "usd": round(line.usd, 6)}
                    for line in p.lines
                ],
            }  # fmt: skip

        return {"today": period(self.today), "month": period(self.month),
                "prices_as_of": self.prices_as_of}  # fmt: skip


def _period(session: Session, label: str, since: date, until: date, prices: XPrices) -> Period:
    rows = session.execute(
        select(XUsage.endpoint, XUsage.resource, XUsage.owned, func.count())
        .where(XUsage.day >= since, XUsage.day <= until)
        .group_by(XUsage.endpoint, XUsage.resource, XUsage.owned)
        .order_by(XUsage.endpoint, XUsage.resource, XUsage.owned)
    ).all()
    lines = [
        Line(endpoint, resource, bool(owned), int(n), unit_price(prices, resource, bool(owned)))
        for endpoint, resource, owned, n in rows
    ]
    return Period(label, lines)


def summary(session: Session, *, prices: XPrices, now: datetime) -> Summary:
    today = now.date()
    first = today.replace(day=1)
    return Summary(
        today=_period(session, today.isoformat(), today, today, prices),
        month=_period(session, f"{today:%Y-%m}", first, today, prices),
        prices_as_of=prices.as_of,
    )
