"""Time zones by name: known names, the one refusal message, the UTC fallback."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from monitor.zones import check_zone, known_zone, zone_or_utc


def test_known_names_are_zones_and_others_are_not() -> None:
    assert known_zone("Europe/Berlin") == ZoneInfo("Europe/Berlin")
    assert known_zone("Mars/Base") is None
    assert known_zone("../etc/passwd") is None  # ZoneInfo's ValueError, not a crash


def test_a_refused_name_says_what_is_expected() -> None:
    assert check_zone("UTC") == "UTC"
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Base'; use an IANA name"):
        check_zone("Mars/Base")


@pytest.mark.parametrize("name", [None, "", "Mars/Base"])
def test_stored_names_that_are_no_zone_display_in_utc(name: str | None) -> None:
    assert zone_or_utc(name) == ZoneInfo("UTC")
    assert zone_or_utc("Asia/Tokyo") == ZoneInfo("Asia/Tokyo")
