"""The cause suggested from a complaint's words, with its confidence (pure)."""

from __future__ import annotations

import pytest

from monitor.config import CauseSettings, ReportsSettings
from monitor.reports.causes import suggest

CAUSES = ReportsSettings().causes


def test_clear_billing_complaint_is_billing_with_high_confidence() -> None:
    got = suggest(["My card was charged twice for one invoice!"], CAUSES)
    assert got is not None
    assert got.cause == "billing"
    assert got.matched == ("charged", "invoice", "card")
    assert got.confidence == pytest.approx(0.875)


def test_words_match_whole_words_only_and_ignore_case() -> None:
    assert suggest(["Cardigan arrived"], CAUSES).cause == "delivery"  # not "card"
    assert suggest(["The APP CRASHED again"], CAUSES).cause == "app_crash"


def test_a_tie_halves_the_confidence_and_nothing_matching_is_none() -> None:
    tie = suggest(["the app and the refund"], CAUSES)
    assert tie is not None and tie.confidence == pytest.approx(0.25)
    assert suggest(["hello there"], CAUSES) is None
    assert suggest([], CAUSES) is None


def test_a_configured_taxonomy_replaces_the_default() -> None:
    mine = (CauseSettings(name="wifi", keywords=("router", "wifi")),)
    got = suggest(["my router drops wifi every hour"], mine)
    assert got is not None and got.cause == "wifi" and got.confidence == pytest.approx(0.75)
    assert suggest(["my card was charged"], mine) is None


def test_cause_names_are_checked_when_the_config_loads() -> None:
    with pytest.raises(ValueError, match="lower-case"):
        CauseSettings(name="Bad Name")
    with pytest.raises(ValueError, match="each name once"):
        ReportsSettings(causes=(CauseSettings(name="a"), CauseSettings(name="a")))
    with pytest.raises(ValueError, match="unknown time zone"):
        ReportsSettings(timezone="Mars/Base")
