"""The live queue: order, filters, keyset pages, row contents; and the case file."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from monitor.cases import casefile
from monitor.cases import service as queue
from monitor.cases.queries import QueueFilter, QueueKey, QueuePage, list_queue
from monitor.ingest.service import IngestOptions, ingest_batch
from monitor.mentions import Channel
from monitor.models import CaseStatus, Promise, PromiseState, Stage
from monitor.priority.service import Scorer
from monitor.sources.base import Batch
from tests.factories import T0, later
from tests.factories.cases import make_case
from tests.factories.mentions import email, tweet
from tests.factories.staff import make_staff

TIMEOUT = timedelta(minutes=15)


def ids(page: QueuePage) -> list[int]:
    return [r.case_id for r in page.rows]


def test_order_is_score_then_longest_waiting(session: Session) -> None:
    a = make_case(session, score=40, waiting_since=later(30))
    b = make_case(session, score=80, waiting_since=later(10))
    c = make_case(session, score=40, waiting_since=later(5))
    d = make_case(session, score=80, waiting_since=later(1))
    make_case(session, score=99, status=CaseStatus.RESOLVED, waiting_since=None)
    page = list_queue(session, now=later(60))
    assert ids(page) == [d.id, b.id, c.id, a.id]
    assert page.next is None


def test_keyset_pages_cover_everything_once(session: Session) -> None:
    made = [
        make_case(session, score=s % 7 * 10, waiting_since=later(s % 3) if s % 5 else None)
        for s in range(23)
    ]
    seen: list[int] = []
    after = None
    while True:
        page = list_queue(session, now=later(60), limit=5, after=after)
        seen += ids(page)
        if page.next is None:
            break
        after = QueueKey.decode(page.next.encode())
    assert sorted(seen) == sorted(c.id for c in made) and len(seen) == len(set(seen))
    assert seen == ids(list_queue(session, now=later(60), limit=100))


def test_filters(session: Session) -> None:
    alice, bob = make_staff(session, "alice"), make_staff(session, "bob")
    x = make_case(session, channel="x", band="high", score=70)
    e = make_case(session, channel="email", band="low", score=10)
    w = make_case(session, channel="email", status=CaseStatus.WAITING, waiting_since=None)
    queue.claim(session, x.id, staff=alice, now=T0, timeout=TIMEOUT)
    now = later(1)
    assert ids(list_queue(session, now=now, filters=QueueFilter(channel="email"))) == [e.id]
    assert ids(list_queue(session, now=now, filters=QueueFilter(band="high"))) == [x.id]
    assert ids(list_queue(session, now=now, filters=QueueFilter(status="waiting"))) == [w.id]
    mine = QueueFilter(claimed="mine", staff_id=alice.id)
    assert ids(list_queue(session, now=now, filters=mine)) == [x.id]
    assert (
        ids(list_queue(session, now=now, filters=QueueFilter(claimed="mine", staff_id=bob.id)))
        == []
    )
    unclaimed = QueueFilter(claimed="unclaimed")
    assert ids(list_queue(session, now=now, filters=unclaimed)) == [e.id]
    # An expired claim counts as unclaimed again.
    assert ids(list_queue(session, now=later(20), filters=unclaimed)) == [x.id, e.id]


def test_rows_carry_holder_words_and_promises(session: Session, scorer: Scorer) -> None:
    alice = make_staff(session, "alice")
    batch = Batch(
        mentions=[
            email("m1@x", "Where is order #A-10023? I paid $49.99", sender="dan@example.org"),
            tweet(7, "@acme emailed you twice, no answer. dan@example.org", at=later(30)),
        ],
        next_cursor={"n": 2},
    )
    ingest_batch(session, batch, source="t", now=later(40), scorer=scorer, options=IngestOptions())
    session.flush()
    row = list_queue(session, now=later(45)).rows[0]
    session.add(
        Promise(
            case_id=row.case_id,
            customer_id=row.customer_id,
            kind="callback",
            wording="We'll call you today",
            due_at=later(35),
            state=PromiseState.OPEN,
            created_at=T0,
            updated_at=T0,
        )
    )
    queue.claim(session, row.case_id, staff=alice, now=later(45), timeout=TIMEOUT)
    row = list_queue(session, now=later(46)).rows[0]
    assert row.first_words.startswith("@acme emailed you twice")
    assert row.claimed_by == "alice" and row.open_promises == 1 and row.overdue_promises == 1
    assert row.hop_from == "email" and row.channel == "x" and row.reasons
    assert row.waiting_since == T0

    cf = casefile.load(session, row.case_id, now=later(46))
    kinds = [e.kind for e in cf.timeline]
    assert kinds.count("mention") == 2 and "hop" in kinds and "claim" in kinds
    second = [e for e in cf.timeline if e.kind == "mention"][1]
    assert second.hop and second.channel == "x"
    values = {(f.kind.value, f.value) for f in cf.facts}
    assert {("order", "A-10023"), ("amount", "$49.99"), ("email", "dan@example.org")} <= values
    assert cf.holder is not None and cf.holder.name == "alice"
    assert cf.promises[0].overdue
    assert [s for s, _ in cf.stages] == list(Stage)
    assert {i.kind for i in cf.identities} == {"x", "email"}


def test_a_hop_back_shows_where_the_customer_came_from_last(
    session: Session, scorer: Scorer
) -> None:
    dm = replace(tweet(8, "hello? sent you a DM too", at=later(10)), channel=Channel.X_DM)
    batch = Batch(
        mentions=[
            tweet(7, "@acme my order never arrived"),
            replace(dm, public=False),
            tweet(9, "@acme still nothing, answer my DM", at=later(20)),
        ],
        next_cursor={"n": 3},
    )
    ingest_batch(session, batch, source="t", now=later(25), scorer=scorer, options=IngestOptions())
    session.flush()
    [row] = list_queue(session, now=later(30)).rows
    assert (row.channel, row.hop_from) == ("x", "x_dm")
    assert any("channel hop" in r for r in row.reasons)


@pytest.mark.parametrize(
    "token", ["1~2024-01-01T00:00~3", "1~~99999999999999999999999", "x~~1", "1~~", "1~2~3~4"]
)
def test_bad_page_cursors_are_refused_cleanly(token: str) -> None:
    from monitor.cases.service import QueueError

    with pytest.raises(QueueError):
        QueueKey.decode(token)


def _due(session: Session, minutes: float | None, **kw: object) -> int:
    case = make_case(session, **kw)  # type: ignore[arg-type]
    if minutes is not None:
        case.sla_kind, case.sla_due_at = "first", later(minutes)
    session.flush()
    return case.id


def test_breaching_soon_sorts_and_filters_by_due_time(session: Session) -> None:
    late = _due(session, 10, score=20)
    soon = _due(session, 70, score=90)
    later_on = _due(session, 300, score=95)
    _due(session, None, score=99)  # no target: not in the breaching-soon views
    now = later(30)
    by_due = list_queue(session, now=now, filters=QueueFilter(sort="due"))
    assert ids(by_due) == [late, soon, later_on]
    assert by_due.rows[0].sla_due_at == later(10) and by_due.rows[0].sla_kind == "first"
    soon_filter = QueueFilter(sla="soon", soon=timedelta(hours=1))
    assert set(ids(list_queue(session, now=now, filters=soon_filter))) == {late, soon}
    breached = QueueFilter(sla="breached", sort="due")
    assert ids(list_queue(session, now=now, filters=breached)) == [late]


def test_breaching_soon_pages_cover_everything_once(session: Session) -> None:
    made = [_due(session, (i * 7) % 11, score=i) for i in range(17)]
    seen: list[int] = []
    after = None
    while True:
        page = list_queue(session, now=T0, filters=QueueFilter(sort="due"), limit=4, after=after)
        seen += ids(page)
        if page.next is None:
            break
        after = QueueKey.decode(page.next.encode())
    assert sorted(seen) == sorted(made) and len(seen) == len(set(seen))
    full = list_queue(session, now=T0, filters=QueueFilter(sort="due"), limit=100)
    assert seen == ids(full)
    with pytest.raises(queue.QueueError):
        QueueKey.decode("d~not-a-time~3")
