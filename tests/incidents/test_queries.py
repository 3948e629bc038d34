"""Suggestions both ways, over complaints ingested for real."""

from __future__ import annotations

from sqlalchemy.orm import Session

from monitor.incidents import queries
from monitor.incidents import service as incidents
from monitor.models import Role
from monitor.priority.service import Scorer
from tests.factories import T0, later
from tests.factories.cases import ingest
from tests.factories.mentions import tweet
from tests.factories.staff import make_staff
from tests.incidents.support import outage_cases, unrelated_cases


def test_suggested_cases_are_the_outage_complaints_not_the_others(
    session: Session, scorer: Scorer
) -> None:
    lead = make_staff(session, "lena", role=Role.LEAD)
    outage = outage_cases(session, scorer, 20)
    others = unrelated_cases(session, scorer)
    inc = incidents.declare(session, title="Login crash", staff=lead, now=later(30))
    incidents.attach(session, inc, [c.id for c in outage[:5]], staff=lead, now=later(30))
    suggested = queries.suggest_cases(session, inc)
    assert {s.case_id for s in suggested} == {c.id for c in outage[5:]}
    assert not {s.case_id for s in suggested} & {c.id for c in others}
    assert all(s.similarity >= queries.MIN_SIMILARITY for s in suggested)


def test_terms_suggest_cases_that_read_differently(session: Session, scorer: Scorer) -> None:
    lead = make_staff(session, "lena", role=Role.LEAD)
    outage = outage_cases(session, scorer, 3)
    odd = ingest(
        session, scorer, [tweet("77001", "Seriously?? E503. Again.", user_id="z1")], now=T0
    )
    inc = incidents.declare(session, title="Login crash", terms=["E503"], staff=lead, now=T0)
    incidents.attach(session, inc, [outage[0].id], staff=lead, now=T0)
    by_case = {s.case_id: s for s in queries.suggest_cases(session, inc)}
    assert by_case[odd.id].terms == ("E503",)
    no_terms = incidents.declare(session, title="Same, no terms", staff=lead, now=T0)
    incidents.attach(session, no_terms, [outage[0].id], staff=lead, now=T0)
    assert odd.id not in {s.case_id for s in queries.suggest_cases(session, no_terms)}


def test_a_new_complaint_is_offered_the_open_incident_it_belongs_to(
    session: Session, scorer: Scorer
) -> None:
    lead = make_staff(session, "lena", role=Role.LEAD)
    outage = outage_cases(session, scorer, 5)
    inc = incidents.declare(session, title="Login crash", terms=["E503"], staff=lead, now=T0)
    other = incidents.declare(session, title="Parcels soaked", staff=lead, now=T0)
    incidents.attach(session, inc, [c.id for c in outage], staff=lead, now=T0)
    (hit,) = queries.suggest_incidents(session, "the app crashes when i log in, so annoying")
    assert hit.incident_id == inc.id and hit.similarity >= queries.MIN_SIMILARITY
    assert queries.suggest_incidents(session, "where is my refund for order 1234?") == []
    (by_term,) = queries.suggest_incidents(session, "E503 again")
    assert by_term.incident_id == inc.id and by_term.terms == ("E503",)
    incidents.update(session, inc, state="resolved", staff=lead, now=later(60))
    assert queries.suggest_incidents(session, "E503 again") == []  # resolved: not offered
    assert [i.id for i in queries.incidents_of_case(session, outage[0].id)] == [inc.id]
    assert [i.id for i in queries.open_incidents(session)] == [other.id]


def test_the_reference_cache_follows_attachments(session: Session, scorer: Scorer) -> None:
    lead = make_staff(session, "lena", role=Role.LEAD)
    outage = outage_cases(session, scorer, 4)
    refund = ingest(session, scorer, [tweet("66001", "Where is my refund?", user_id="r1")], now=T0)
    inc = incidents.declare(session, title="Login crash", staff=lead, now=T0)
    incidents.attach(session, inc, [refund.id], staff=lead, now=T0)  # by mistake
    cache = queries.ReferenceCache()
    text = "the app crashes when I log in"
    assert queries.suggest_incidents(session, text, cache=cache) == []
    first = cache.references(session, inc.id)
    assert cache.references(session, inc.id) is first  # unchanged: reused
    incidents.detach(session, inc, refund.id, staff=lead, now=T0)
    incidents.attach(session, inc, [outage[0].id], staff=lead, now=T0)  # same count, same time
    (hit,) = queries.suggest_incidents(session, text, cache=cache)
    assert hit.incident_id == inc.id and cache.references(session, inc.id) is not first
