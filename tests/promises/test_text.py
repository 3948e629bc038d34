"""Promise suggestions: kinds and due times in the owner's zone, relative to ``now``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.promises.text import PromiseKind, parse_due, suggest

MONDAY_10_BERLIN = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # 10:00 in Berlin (CET)


@pytest.mark.parametrize(
    ("text", "kind", "due_utc"),
    [
        ("We'll add you to our Slack channel today.", PromiseKind.SLACK_INVITE, "2026-11-02 16:00"),
        ("I'll call you back tomorrow morning.", PromiseKind.CALLBACK, "2026-11-03 09:00"),
        (
            "We'll investigate and get back to you by Friday.",
            PromiseKind.INVESTIGATE,
            "2026-11-06 16:00",
        ),
        ("We will refund you within 24 hours.", PromiseKind.REFUND, "2026-11-03 09:00"),
        ("We'll credit your account in 2 business days.", PromiseKind.CREDIT, "2026-11-04 16:00"),
        ("I'll have it fixed by 3pm.", PromiseKind.FIX, "2026-11-02 14:00"),
        ("We'll send you a new charger next week.", PromiseKind.CUSTOM, "2026-11-13 16:00"),
        (
            "Let me check with the team and update you tomorrow at 4pm.",
            PromiseKind.INVESTIGATE,
            "2026-11-03 15:00",
        ),
    ],
)
def test_kinds_and_due_times(text: str, kind: PromiseKind, due_utc: str) -> None:
    [s] = suggest(text, now=MONDAY_10_BERLIN, timezone="Europe/Berlin")
    assert s.kind == kind and not s.due_guessed
    assert s.due_at.strftime("%Y-%m-%d %H:%M") == due_utc
    assert text[s.start : s.end] == s.wording


def test_no_time_phrase_means_a_guessed_default() -> None:
    [s] = suggest("You'll get a one-month rebate on your next bill.", now=MONDAY_10_BERLIN)
    assert s.kind == PromiseKind.REBATE and s.due_guessed and s.due_phrase is None


def test_sentences_without_a_commitment_are_not_promises() -> None:
    text = "Sorry about the Slack mess. Refunds are handled by billing. Thanks, Omar"
    assert suggest(text, now=MONDAY_10_BERLIN) == []


def test_several_promises_in_one_reply() -> None:
    text = "We'll add you to Slack today! And I'll call you back tomorrow."
    assert [s.kind for s in suggest(text, now=MONDAY_10_BERLIN)] == [
        PromiseKind.SLACK_INVITE,
        PromiseKind.CALLBACK,
    ]


def test_today_after_hours_is_at_least_an_hour_away_and_zones_differ() -> None:
    late = datetime(2026, 11, 2, 20, 0, tzinfo=UTC)
    due, _ = parse_due("today", now=late, timezone="Europe/Berlin")
    assert due == datetime(2026, 11, 2, 21, 0, tzinfo=UTC)
    ny, _ = parse_due("tomorrow morning", now=MONDAY_10_BERLIN, timezone="America/New_York")
    assert ny == datetime(2026, 11, 3, 15, 0, tzinfo=UTC)
    assert parse_due("by 3", now=MONDAY_10_BERLIN) is None


def test_two_promises_in_one_sentence_keep_their_own_deadlines() -> None:
    text = (
        "I'll make sure the refund goes out today; I'll email you the confirmation by 5pm tomorrow."
    )
    found = suggest(text, now=MONDAY_10_BERLIN, timezone="Europe/Berlin")
    assert [(s.kind, s.due_at.strftime("%Y-%m-%d %H:%M")) for s in found] == [
        (PromiseKind.REFUND, "2026-11-02 16:00"),
        (PromiseKind.CUSTOM, "2026-11-03 16:00"),
    ]
    assert [text[s.start : s.end] for s in found] == [s.wording for s in found]
    assert found[0].wording == "I'll make sure the refund goes out today"


def test_and_between_two_commitments_splits_them() -> None:
    text = "We'll add you to Slack today, and I'll call you back tomorrow at 4pm."
    found = suggest(text, now=MONDAY_10_BERLIN, timezone="Europe/Berlin")
    assert [(s.kind, s.due_at.strftime("%d %H:%M")) for s in found] == [
        (PromiseKind.SLACK_INVITE, "02 16:00"),
        (PromiseKind.CALLBACK, "03 15:00"),
    ]


@pytest.mark.parametrize(
    ("text", "due_utc"),
    [
        ("I'll call you back by tomorrow at noon.", "2026-11-03 11:00"),
        ("I'll call you back tomorrow at midday.", "2026-11-03 11:00"),
        ("I'll call you back at noon.", "2026-11-02 11:00"),
        ("I'll call you back by 4pm tomorrow.", "2026-11-03 15:00"),
    ],
)
def test_noon_and_a_clock_before_the_day(text: str, due_utc: str) -> None:
    [s] = suggest(text, now=MONDAY_10_BERLIN, timezone="Europe/Berlin")
    assert s.due_at.strftime("%Y-%m-%d %H:%M") == due_utc and not s.due_guessed


@pytest.mark.parametrize(
    ("text", "due_utc"),
    [
        ("Refund will be processed by 3 December.", "2026-12-03 16:00"),
        ("Your refund will be processed by December 3rd.", "2026-12-03 16:00"),
        ("The replacement will be sent on 5 Nov at 2pm.", "2026-11-05 13:00"),
        ("We'll credit you by 1 January.", "2027-01-01 16:00"),
    ],
)
def test_passive_wording_and_calendar_dates(text: str, due_utc: str) -> None:
    [s] = suggest(text, now=MONDAY_10_BERLIN, timezone="Europe/Berlin")
    assert s.due_at.strftime("%Y-%m-%d %H:%M") == due_utc and not s.due_guessed


def test_a_statement_of_fact_with_will_be_and_no_deadline_is_no_promise() -> None:
    assert suggest("The weather will be nice.", now=MONDAY_10_BERLIN) == []
