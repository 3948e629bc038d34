"""A small world with figures worked out by hand (see test_queries.py for the sums).

Period: 2 to 4 March 2026 in Europe/Berlin (UTC+1), i.e. 2026-03-01 23:00 UTC to
2026-03-04 23:00 UTC; the previous period is 27 February to 1 March. Case c1 opens at
23:30 UTC on 1 March (already 2 March in Berlin) and c4 at 23:00 UTC on 4 March (5 March
in Berlin): each is in the period in one zone and not in the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from monitor.cases.service import stamp_first_reply
from monitor.models import Case, CaseTag, Customer, Event, Promise, Reply, Survey
from tests.factories.staff import make_staff

H = timedelta(hours=1)
NOW = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@dataclass
class World:
    ana: int
    bob: int
    cases: dict[str, int]


def _case(session: Session, customer: Customer, created: datetime, **kw: object) -> Case:
    fields: dict[str, object] = {"channel": "x", **kw}
    case = Case(customer=customer, created_at=created, updated_at=created, **fields)
    session.add(case)
    session.flush()
    return case


def build(session: Session) -> World:
    ana = make_staff(session, "ana")
    bob = make_staff(session, "bob")
    a, b, c = (Customer(display_name=n, created_at=at(1, 0, month=2)) for n in "ABC")
    t1, t2 = at(1, 23, 30), at(3, 10)
    c1 = _case(
        session,
        a,
        t1,
        channel="email",
        cause="billing",
        listened_at=t1 + H,
        apologised_at=t1 + 2 * H,
        resolved_at=t1 + 10 * H,
        status="resolved",
    )
    c2 = _case(
        session,
        a,
        t2,
        cause="billing",
        listened_at=t2 + 3 * H,
        resolved_at=t2 + 20 * H,
        status="resolved",
    )
    c3 = _case(session, b, at(4, 22, 59), cause="delivery")
    c4 = _case(session, c, at(4, 23), cause="delivery")
    c5 = _case(session, b, at(27, 12, month=2), cause="delivery")
    _case(session, c, at(28, 12, month=2))
    session.add(CaseTag(case_id=c3.id, tag="late", created_at=at(4, 23)))
    for case, kind in ((c1, "case.reopened"), (c2, "case.channel_hop")):
        session.add(
            Event(
                case_id=case.id, kind=kind, actor="system", payload={}, created_at=case.created_at
            )
        )
    # Response-time targets (the waits each reply ended; see test_response_targets):
    # c1's first reply 1.5 h after a 1 h target (missed), c2's within 8 h (met), c2's
    # next reply an hour after the customer wrote again, 30 min target (missed).
    waits = (
        ("first", t1, t1 + H),
        ("first", t2, t2 + 8 * H),
        ("next", at(3, 15), at(3, 15, 30)),
    )
    for n, ((case, staff, sent, override), (kind, began, due)) in enumerate(
        zip(
            (
                (c1, ana, t1 + 1.5 * H, None),
                (c2, bob, t2 + 4 * H, None),
                (c2, ana, at(3, 16), "a lead said so"),
            ),
            waits,
            strict=True,
        )
    ):
        reply = Reply(
            case_id=case.id,
            staff_id=staff.id,
            channel=case.channel,
            body="Sorry, Dan",
            idempotency_key=f"r{n}",
            state="sent",
            created_at=sent,
            sent_at=sent,
            override_reason=override,
            sla_kind=kind,
            sla_started_at=began,
            sla_due_at=due,
        )
        session.add(reply)
        stamp_first_reply(case, reply, sent_at=sent)  # as sending it does
    # Still waiting: c2's customer wrote again at 20:00 UTC on 4 March (next response due
    # 22:00, missed at NOW); c3's first response is due after NOW (running); c4's began
    # after the period (5 March in Berlin).
    for case, kind, began, due in (
        (c2, "next", at(4, 20), at(4, 22)),
        (c3, "first", at(4, 22, 59), at(5, 13)),
        (c4, "first", at(4, 23), at(5, 1)),
    ):
        case.sla_kind, case.sla_started_at, case.sla_due_at = kind, began, due

    def promise(
        case: Case,
        kind: str,
        owner: int,
        made: datetime,
        due: datetime,
        state: str = "open",
        fulfilled: datetime | None = None,
    ) -> None:
        session.add(
            Promise(
                case_id=case.id,
                customer_id=case.customer_id,
                owner_id=owner,
                kind=kind,
                wording=kind,
                due_at=due,
                state=state,
                created_at=made,
                updated_at=made,
                fulfilled_at=fulfilled,
            )
        )

    promise(c1, "refund", ana.id, at(2, 1), at(3, 1), "fulfilled", at(2, 13))  # kept, 12 h
    promise(c2, "refund", bob.id, at(3, 11), at(3, 12), "fulfilled", at(3, 15))  # late, 4 h
    promise(c2, "callback", bob.id, at(3, 11), at(3, 12), "cancelled")
    promise(c3, "callback", ana.id, at(4, 22, 59), at(4, 23, 30))  # overdue 12.5 h at NOW
    promise(c1, "fix", ana.id, at(2, 2), at(2, 20), "broken")
    promise(c4, "refund", ana.id, at(4, 23, 1), at(5, 10))  # made after the period
    for n, (case, made, answered, rating) in enumerate(
        (
            (c1, at(2, 12), at(3, 9), 5),
            (c2, at(4, 0), at(4, 10), 2),
            (c3, at(4, 12), None, None),
            (c5, at(27, 13, month=2), at(28, 9, month=2), 1),
        )
    ):
        session.add(
            Survey(
                case_id=case.id,
                customer_id=case.customer_id,
                token_hash=f"h{n}",
                channel="x",
                created_at=made,
                expires_at=made + 100 * H,
                answered_at=answered,
                rating=rating,
            )
        )
    session.flush()
    ids = {"c1": c1.id, "c2": c2.id, "c3": c3.id, "c4": c4.id}
    return World(ana.id, bob.id, ids)
