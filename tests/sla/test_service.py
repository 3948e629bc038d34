"""The target on a case: fixed when a wait starts, only ever brought forward, reset by a
staff reply; the breach's priority points; public risk. Through ingestion where it matters."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.cases import service as queue
from monitor.config import ScoringSettings
from monitor.config.sla import SlaSettings, Team
from monitor.customers.placement_rows import CaseRow, CustomerRow
from monitor.events import EventKind
from monitor.ingest.service import IngestOptions, ingest_batch
from monitor.models import Case, CaseStatus, Event
from monitor.priority.service import ModelScorer, Scorer, rescore_cases
from monitor.scoring import load_model
from monitor.sla.policy import SlaPolicy, SlaState, TargetKind, default_policy
from monitor.sla.service import clock_view, fix_target
from monitor.sources.base import Batch
from tests.factories import T0, later
from tests.factories.mentions import email, tweet

POLICY = default_policy()
BANDS = ("critical", "high", "medium", "low")


def row(band: str = "medium", channel: str = "email", **kw: object) -> CaseRow:
    case = CaseRow(None, CustomerRow(None), CaseStatus.OPEN, channel, T0, T0, band=band)
    case.first_unanswered_at = T0
    for k, v in kw.items():
        setattr(case, k, v)
    return case


def ingest(session: Session, scorer: Scorer, *mentions: object, now: datetime) -> Case:
    batch = Batch(mentions=list(mentions), next_cursor={"at": now.isoformat()})  # type: ignore[arg-type]
    ingest_batch(session, batch, source="t", now=now, scorer=scorer, options=IngestOptions())
    session.flush()
    return session.scalars(select(Case).order_by(Case.id.desc())).first()  # type: ignore[return-value]


def test_first_target_is_fixed_from_the_first_contact() -> None:
    case = row(band="critical", channel="x")
    assert fix_target(case, POLICY)
    assert case.sla_kind == "first" and case.sla_started_at == T0
    assert case.sla_due_at == later(30) and case.sla_warn_at == later(15)  # half of 30 min
    assert case.sla_state == SlaState.RUNNING and case.sla_next_action_at == later(15)
    email_case = row(band="critical")
    fix_target(email_case, POLICY)
    assert email_case.sla_due_at == later(hours=4) and email_case.sla_warn_at == later(210)


def test_a_new_contact_only_brings_the_target_forward() -> None:
    case = row(band="low")
    fix_target(case, POLICY)
    assert case.sla_due_at == later(hours=48)
    case.band = "high"  # an angrier second email
    assert fix_target(case, POLICY) and case.sla_due_at == later(hours=8)
    case.band = "low"  # a calmer third one does not buy us time back
    assert not fix_target(case, POLICY) and case.sla_due_at == later(hours=8)


def test_after_a_staff_reply_the_next_message_starts_a_next_response_target() -> None:
    s = SlaSettings(
        targets={
            ch: {b: {"first_minutes": 60, "next_minutes": 20} for b in BANDS}
            for ch in ("x", "x_dm", "email")
        }
    )
    policy = SlaPolicy.from_settings(s)
    case = Case(status=CaseStatus.OPEN, channel="email", band="low", sla_step=0, public_risk=False)
    case.first_unanswered_at = T0
    fix_target(case, policy)
    assert case.sla_kind == "first" and case.sla_due_at == later(60)
    queue.record_staff_reply(case, now=later(30))
    assert case.sla_due_at is None and case.sla_kind is None and case.sla_step == 0
    case.first_unanswered_at, case.status = later(100), CaseStatus.OPEN  # the customer again
    fix_target(case, policy)
    assert case.sla_kind == TargetKind.NEXT and case.sla_due_at == later(120)


def test_targets_pause_outside_the_teams_hours() -> None:
    s = SlaSettings(
        teams={
            "mail": Team(
                channels=("email",),
                timezone="UTC",
                opens="09:00",
                closes="17:00",
                weekdays=("mon", "tue", "wed", "thu", "fri"),
                pause_outside_hours=True,
            ),
            "social": Team(channels=("x", "x_dm")),
        }
    )
    policy = SlaPolicy.from_settings(s)
    friday_evening = datetime(2026, 11, 6, 16, 0, tzinfo=T0.tzinfo)
    case = row(band="critical", first_unanswered_at=friday_evening)
    fix_target(case, policy)
    assert case.sla_due_at == datetime(2026, 11, 9, 12, 0, tzinfo=T0.tzinfo)  # Monday
    tweet_case = row(band="critical", channel="x", first_unanswered_at=friday_evening)
    fix_target(tweet_case, policy)
    assert tweet_case.sla_due_at == friday_evening + timedelta(minutes=30)  # round the clock


def test_a_resolved_or_answered_case_has_no_target() -> None:
    case = row()
    fix_target(case, POLICY)
    case.status = CaseStatus.RESOLVED
    assert fix_target(case, POLICY) and case.sla_due_at is None
    assert not fix_target(row(first_unanswered_at=None), POLICY)


def test_clock_labels() -> None:
    soon = timedelta(hours=1)
    v = clock_view("first", later(12), now=T0, soon=soon)
    assert v is not None and v.label == "due in 12 min" and v.soon and not v.breached
    v = clock_view("next", T0, now=later(hours=2), soon=soon)
    assert v is not None and v.label == "breached 2 h ago" and v.breached
    assert clock_view(None, None, now=T0, soon=soon) is None


_scorer = ModelScorer(load_model(None), ScoringSettings())


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(["x", "x_dm", "email"]),
    st.sampled_from(["low", "medium", "high", "critical"]),
    st.lists(st.integers(min_value=0, max_value=7 * 24 * 60), min_size=2, max_size=6),
)
def test_more_waiting_never_lowers_urgency(channel: str, band: str, minutes: list[int]) -> None:
    """As time passes, the score never drops and the time left never grows."""
    case = row(band=band, channel=channel, text_score=None)
    fix_target(case, POLICY)
    last_score, last_left = -1, float("inf")
    for m in sorted(minutes):
        now = later(m)
        rescore = case  # re-scored from its stored parts, as the waiting job does
        _scorer_apply(rescore, now)
        view = clock_view(case.sla_kind, case.sla_due_at, now=now, soon=timedelta(hours=1))
        assert view is not None
        assert case.score >= last_score and view.remaining_seconds <= last_left
        last_score, last_left = case.score, view.remaining_seconds


def _scorer_apply(case: CaseRow, now: datetime) -> None:
    from monitor.priority.service import apply, context_for

    ctx = context_for(case, now=now, customer_value=0.0, overdue=())
    apply(case, _scorer.combine(case.text_score, ctx))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from(["low", "medium", "high", "critical"]), min_size=1, max_size=8),
    st.integers(min_value=1, max_value=5000),
)
def test_a_staff_reply_always_resets_the_next_response(bands: list[str], reply_at: int) -> None:
    case = Case(
        status=CaseStatus.OPEN, channel="email", band=bands[0], sla_step=3, public_risk=True
    )
    case.first_unanswered_at = T0
    for b in bands:
        case.band = b
        fix_target(case, POLICY)
    queue.record_staff_reply(case, now=later(reply_at))
    assert (case.sla_due_at, case.sla_kind, case.sla_state, case.sla_step) == (None, None, None, 0)
    assert not case.public_risk
    case.status, case.first_unanswered_at = CaseStatus.OPEN, later(reply_at + 10)
    fix_target(case, POLICY)
    assert case.sla_kind == "next" and case.sla_started_at == later(reply_at + 10)
    assert case.sla_due_at is not None and case.sla_due_at > later(reply_at + 10)


def test_ingest_fixes_the_target_and_a_breach_adds_points(session: Session, scorer: Scorer) -> None:
    case = ingest(
        session, scorer, email("s1@x", "I was promised a Slack invite a week ago."), now=later(1)
    )
    assert case.sla_kind == "first" and case.sla_due_at is not None and case.sla_started_at == T0
    kinds = [e.kind for e in session.scalars(select(Event).where(Event.case_id == case.id))]
    assert EventKind.SLA_SET in kinds
    due = case.sla_due_at
    rescore_cases(session, [case], scorer=scorer, now=due + timedelta(hours=2))
    assert "first response overdue by 2 h (+15)" in case.reasons
    before = case.score
    rescore_cases(session, [case], scorer=scorer, now=due + timedelta(hours=6))
    assert case.score >= before


def test_posting_publicly_after_an_unanswered_email_is_a_public_risk(
    session: Session, scorer: Scorer
) -> None:
    ingest(session, scorer, email("r1@x", "Where is my refund? dan@example.org"), now=later(1))
    case = ingest(
        session,
        scorer,
        tweet(99, "@acme ignored my emails for days. dan@example.org", at=later(60)),
        now=later(61),
    )
    assert case.public_risk and case.hop_from == "email"
    kinds = [e.kind for e in session.scalars(select(Event).where(Event.case_id == case.id))]
    assert EventKind.PUBLIC_RISK in kinds and EventKind.CHANNEL_HOP in kinds
    # The X target (shorter) now rules the wait that began with the email.
    assert case.sla_started_at == T0 and case.sla_due_at is not None
    assert case.sla_due_at <= T0 + timedelta(hours=4)
