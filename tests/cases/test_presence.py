"""Who is viewing a case: rows renewed by the heartbeat, expired by ``now``."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from monitor.cases import presence
from monitor.models import CaseViewer
from tests.factories import T0
from tests.factories.cases import make_case
from tests.factories.staff import make_staff
from tests.support import count


def names(session: Session, case_id: int, now: object, besides: int | None = None) -> list[str]:
    found = presence.viewers(session, case_id=case_id, now=now, besides=besides)  # type: ignore[arg-type]
    return [s.name for s in found]


def test_viewers_are_renewed_by_the_heartbeat_and_expire_by_now(session: Session) -> None:
    maria, bob = make_staff(session, "maria"), make_staff(session, "bob")
    case, other = make_case(session), make_case(session, customer="Zoe")
    presence.seen(session, case_id=case.id, staff_id=maria.id, now=T0)
    presence.seen(session, case_id=case.id, staff_id=bob.id, now=T0 + timedelta(seconds=10))
    assert names(session, case.id, T0 + timedelta(seconds=10)) == ["bob", "maria"]
    assert names(session, case.id, T0 + timedelta(seconds=10), besides=bob.id) == ["maria"]
    assert names(session, other.id, T0) == []
    gone = T0 + presence.WINDOW  # Maria's page has not beaten since T0
    assert names(session, case.id, gone) == ["bob"]
    presence.seen(session, case_id=case.id, staff_id=maria.id, now=gone)  # renewed, one row
    assert names(session, case.id, gone) == ["bob", "maria"] and count(session, CaseViewer) == 2
    presence.left(session, case_id=case.id, staff_id=bob.id)
    assert names(session, case.id, gone) == ["maria"]


def test_sweep_forgets_only_the_expired_viewers_of_the_case(session: Session) -> None:
    maria, bob = make_staff(session, "maria"), make_staff(session, "bob")
    case, other = make_case(session), make_case(session, customer="Zoe")
    presence.seen(session, case_id=case.id, staff_id=maria.id, now=T0)
    presence.seen(session, case_id=case.id, staff_id=bob.id, now=T0 + timedelta(seconds=20))
    presence.seen(session, case_id=other.id, staff_id=maria.id, now=T0)
    assert presence.sweep(session, case_id=case.id, now=T0 + presence.WINDOW) == 1
    assert count(session, CaseViewer) == 2  # Bob on the case, Maria on the other one
