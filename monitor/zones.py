"""IANA time zones by name: the one place that decides whether a name is a zone.

Configuration and staff input must name a real zone (:func:`check_zone`, one message
everywhere); what is only displayed or computed for a stored name falls back to UTC
(:func:`zone_or_utc`), so an odd stored value never breaks a page or a clock.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC_ZONE = ZoneInfo("UTC")


def known_zone(name: str) -> ZoneInfo | None:
    """The zone called ``name``, or None when this machine knows no such zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def check_zone(name: str) -> str:
    """``name`` when it is a known zone; else ValueError saying what is expected."""
    if known_zone(name) is None:
        raise ValueError(
            f"unknown time zone {name!r}; use an IANA name such as Europe/Berlin or UTC"
        )
    return name


def zone_or_utc(name: str | None) -> ZoneInfo:
    """The named zone; empty or unknown names give UTC."""
    return (known_zone(name) if name else None) or UTC_ZONE
