"""Context contributions: each factor moves the score the way its reason says."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.config import ScoringSettings
from monitor.priority.service import ModelScorer
from monitor.scoring import OverduePromise, ScoreContext, TextScore, combine, load_model

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
S = ScoringSettings()
TEXTS = st.builds(
    TextScore,
    complaint=st.floats(0, 1),
    severity=st.floats(0, 4),
    label=st.sampled_from(["no complaint", "disapproval", "accusation"]),
    points=st.integers(0, 60),
    cues=st.lists(st.tuples(st.just("profanity"), st.integers(0, 5)), max_size=2).map(tuple),
)
CONTEXTS = st.builds(
    ScoreContext,
    now=st.just(NOW),
    channel=st.sampled_from(["x", "x_dm", "email"]),
    public=st.booleans(),
    followers=st.none() | st.integers(0, 10**8),
    first_unanswered_at=st.none()
    | st.integers(0, 60 * 24 * 60).map(lambda m: NOW - timedelta(minutes=m)),
    unanswered_contacts=st.integers(0, 12),
    channel_hop=st.none() | st.sampled_from([("email", "x"), ("x_dm", "email")]),
    customer_value=st.floats(0, 3),
)


def with_(ctx: ScoreContext, **changes: object) -> ScoreContext:
    from dataclasses import replace

    return replace(ctx, **changes)


@settings(max_examples=200)
@given(TEXTS, CONTEXTS, st.integers(0, 60 * 24 * 30))
def test_more_waiting_never_lowers_the_score(ts: TextScore, ctx: ScoreContext, extra: int) -> None:
    start = ctx.first_unanswered_at or NOW
    earlier = with_(ctx, first_unanswered_at=start - timedelta(minutes=extra))
    assert (
        combine(ts, earlier, S).value >= combine(ts, with_(ctx, first_unanswered_at=start), S).value
    )


@settings(max_examples=200)
@given(TEXTS, CONTEXTS, st.integers(0, 60 * 24 * 20))
def test_an_overdue_promise_always_raises_the_score(
    ts: TextScore, ctx: ScoreContext, minutes: int
) -> None:
    before = combine(ts, ctx, S)
    promise = OverduePromise("slack_invite", "we'll add you today", timedelta(minutes=minutes))
    after = combine(ts, with_(ctx, overdue_promises=(promise,)), S)
    assert after.value > before.value or before.value == 100
    assert any(r.startswith("promise overdue: Slack invite") for r in after.reasons)


@settings(max_examples=200)
@given(TEXTS, CONTEXTS)
def test_each_factor_only_adds_and_reasons_add_up(ts: TextScore, ctx: ScoreContext) -> None:
    result = combine(ts, ctx, S)
    points = [int(r.rsplit("(+", 1)[1].rstrip(")")) for r in result.reasons]
    assert all(p >= 0 for p in points)
    assert result.value == min(100, sum(points))
    assert result.value >= combine(ts, ScoreContext(now=NOW, public=False), S).value


@settings(max_examples=100)
@given(TEXTS, CONTEXTS, st.integers(1, 5))
def test_more_unanswered_contacts_never_lower(ts: TextScore, ctx: ScoreContext, more: int) -> None:
    more_ctx = with_(ctx, unanswered_contacts=ctx.unanswered_contacts + more)
    assert combine(ts, more_ctx, S).value >= combine(ts, ctx, S).value


@settings(max_examples=100)
@given(TEXTS, st.integers(0, 10**7), st.integers(0, 10**7))
def test_bigger_audience_never_lowers(ts: TextScore, a: int, b: int) -> None:
    small, big = sorted((a, b))
    lo = combine(ts, ScoreContext(now=NOW, followers=small), S)
    hi = combine(ts, ScoreContext(now=NOW, followers=big), S)
    dm = combine(ts, ScoreContext(now=NOW, channel="x_dm", public=False), S)
    assert hi.value >= lo.value >= dm.value


def ts(points: int = 34, label: str = "accusation") -> TextScore:
    return TextScore(complaint=0.9, severity=3.0, label=label, points=points)


def test_reasons_name_each_contribution_with_points() -> None:
    ctx = ScoreContext(
        now=NOW,
        channel="x",
        followers=12_000,
        first_unanswered_at=NOW - timedelta(days=3),
        unanswered_contacts=2,
        unanswered_by_channel={"email": 2},
        channel_hop=("email", "x"),
        overdue_promises=(OverduePromise("slack_invite", "today", timedelta(days=2)),),
    )
    result = combine(ts(), ctx, S)
    assert result.reasons == (
        "text: complaint with an accusation (+34)",
        "2 emails unanswered for 3 days (+20)",
        "channel hop: unanswered email, now X (+12)",
        "promise overdue: Slack invite, 2 days (+20)",
        "public, 12k followers (+6)",
    )
    assert result.value == 34 + 20 + 12 + 20 + 6 == 92
    assert result.band == "critical"
    assert (result.text_points, result.context_points) == (34, 58)


def test_neutral_context_adds_only_public_visibility() -> None:
    assert combine(ts(), ScoreContext(now=NOW), S).reasons == (
        "text: complaint with an accusation (+34)",
        "public post (+2)",
    )
    dm = combine(ts(), ScoreContext(now=NOW, channel="x_dm", public=False), S)
    assert dm.reasons == ("text: complaint with an accusation (+34)",)
    assert dm.value == 34 and dm.band == "medium"


def test_customer_value_and_weights_come_from_settings() -> None:
    custom = ScoringSettings(customer_value_points=5, customer_value_max=8, public_points=0)
    ctx = ScoreContext(now=NOW, customer_value=3.0)
    result = combine(ts(), ctx, custom)
    assert result.reasons == ("text: complaint with an accusation (+34)", "customer value 3 (+8)")


@pytest.mark.parametrize(
    ("value", "band"), [(0, "low"), (29, "low"), (30, "medium"), (55, "high"), (75, "critical")]
)
def test_bands_follow_thresholds(value: int, band: str) -> None:
    result = combine(ts(points=value, label="blame"), ScoreContext(now=NOW, public=False), S)
    assert result.value == value and result.band == band


def test_text_score_round_trips_through_a_dict() -> None:
    original = TextScore(0.87654, 2.5, "disapproval", 30, (("profanity", 4),))
    again = TextScore.from_dict(original.to_dict())
    assert again.label == original.label and again.points == 30 and again.cues == original.cues
    assert abs(again.complaint - original.complaint) < 1e-3


@functools.cache
def _model_scorer() -> ModelScorer:
    return ModelScorer(load_model(None), S)


@given(TEXTS)
def test_strength_of_a_stored_text_score_is_its_total_points(ts: TextScore) -> None:
    # Ingestion keeps the strongest unanswered text score on a case, comparing stored
    # dicts without rebuilding TextScores; the shortcut must agree with total_points.
    assert _model_scorer().strength(ts.to_dict()) == ts.total_points
