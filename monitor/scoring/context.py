"""What the text cannot know: the case history, as points with a reason each.

The caller (ingest) fills :class:`ScoreContext` from the database; every field has a
neutral default, so ``ScoreContext()`` adds nothing but the visibility of a public
post. Each contribution is non-negative and non-decreasing in its inputs, so more
waiting, more repeats, an overdue promise or a bigger audience never lower a score.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

from monitor.config import ScoringSettings

CHANNEL_NAMES = {"x": "X", "x_dm": "X DM", "email": "email"}
_PLURALS = {"x": "X posts", "x_dm": "X DMs", "email": "emails"}
_SINGULAR = {"x": "X post", "x_dm": "X DM", "email": "email"}
_KIND_NAMES = {"slack_invite": "Slack invite", "callback": "call back", "refund": "refund"}


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class OverduePromise:
    kind: str  # e.g. "slack_invite"
    wording: str  # what staff wrote, e.g. "we'll add you to our Slack channel today"
    overdue_by: timedelta


@dataclass(frozen=True)
class ScoreContext:
    """The history around one mention. All optional; defaults are neutral."""

    now: datetime = field(default_factory=_now)
    channel: str = "x"  # "x" | "x_dm" | "email"
    public: bool = True
    followers: int | None = None
    first_unanswered_at: datetime | None = None
    unanswered_contacts: int = 1  # incl. this one
    unanswered_by_channel: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    channel_hop: tuple[str, str] | None = None  # (from, to), e.g. ("email", "x")
    overdue_promises: tuple[OverduePromise, ...] = ()
    customer_value: float = 0.0
    # A missed response-time target: ("first" | "next", how long past it).
    response_overdue: tuple[str, timedelta] | None = None


def _duration(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours < 1:
        minutes = max(1, round(hours * 60))
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    if hours < 48:
        h = round(hours)
        return f"{h} hour{'s' if h != 1 else ''}"
    days = round(hours / 24)
    return f"{days} days"


def _short(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours < 1:
        return f"{max(1, round(hours * 60))} min"
    if hours < 48:
        return f"{round(hours)} h"
    return f"{round(hours / 24)} days"


def _count_words(ctx: ScoreContext) -> str:
    parts = [
        f"{n} {_PLURALS.get(ch, ch) if n != 1 else _SINGULAR.get(ch, ch)}"
        for ch, n in sorted(ctx.unanswered_by_channel.items())
        if n > 0
    ]
    if parts and sum(ctx.unanswered_by_channel.values()) == ctx.unanswered_contacts:
        return " and ".join(parts)
    n = ctx.unanswered_contacts
    return f"{n} contact{'s' if n != 1 else ''}"


def _followers(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M".replace(".0M", "M")
    if n >= 1000:
        return f"{round(n / 1000)}k"
    return str(n)


def waiting_points(ctx: ScoreContext, s: ScoringSettings) -> tuple[int, str | None]:
    """Waiting time and unanswered contacts, as one reason like the queue shows it."""
    wait = timedelta(0)
    if ctx.first_unanswered_at is not None:
        wait = max(timedelta(0), ctx.now - ctx.first_unanswered_at)
    wait_pts = min(float(s.wait_points_max), s.wait_points_per_hour * wait.total_seconds() / 3600)
    extra = max(0, ctx.unanswered_contacts - 1)
    contact_pts = min(float(s.unanswered_contacts_max), s.unanswered_contact_points * extra)
    points = round(wait_pts + contact_pts)
    if points <= 0:
        return 0, None
    if extra and wait > timedelta(0):
        return points, f"{_count_words(ctx)} unanswered for {_duration(wait)} (+{points})"
    if extra:
        return points, f"{_count_words(ctx)} unanswered (+{points})"
    return points, f"unanswered for {_duration(wait)} (+{points})"


def hop_points(ctx: ScoreContext, s: ScoringSettings) -> tuple[int, str | None]:
    if ctx.channel_hop is None or ctx.channel_hop[0] == ctx.channel_hop[1]:
        return 0, None
    src, dst = ctx.channel_hop
    points = s.channel_hop_points + (s.hop_to_public_extra_points if dst == "x" else 0)
    if points <= 0:
        return 0, None
    names = (CHANNEL_NAMES.get(src, src), CHANNEL_NAMES.get(dst, dst))
    return points, f"channel hop: unanswered {names[0]}, now {names[1]} (+{points})"


def promise_points(ctx: ScoreContext, s: ScoringSettings) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    budget = float(s.overdue_promise_max)
    for promise in ctx.overdue_promises:
        overdue = max(timedelta(0), promise.overdue_by)
        days = overdue.total_seconds() / 86400
        raw = s.overdue_promise_points + s.overdue_promise_points_per_day * days
        points = round(min(budget, raw))
        budget -= points
        if points <= 0:
            continue
        what = _KIND_NAMES.get(promise.kind) or promise.kind.replace("_", " ") or promise.wording
        out.append((points, f"promise overdue: {what}, {_duration(overdue)} (+{points})"))
    return out


def response_points(ctx: ScoreContext, s: ScoringSettings) -> tuple[int, str | None]:
    """A missed response-time target: ``first response overdue by 2 h (+15)``."""
    if ctx.response_overdue is None:
        return 0, None
    kind, late = ctx.response_overdue
    late = max(timedelta(0), late)
    raw = (
        s.response_overdue_points + s.response_overdue_points_per_hour * late.total_seconds() / 3600
    )
    points = round(min(float(s.response_overdue_max), raw))
    if points <= 0:
        return 0, None
    return points, f"{kind} response overdue by {_short(late)} (+{points})"


def visibility_points(ctx: ScoreContext, s: ScoringSettings) -> tuple[int, str | None]:
    if not ctx.public:
        return 0, None
    decades = 0.0
    if ctx.followers is not None and ctx.followers > 100:
        decades = math.log10(ctx.followers) - 2.0
    raw = s.public_points + s.follower_points_per_decade * decades
    points = round(min(float(s.public_points_max), raw))
    if points <= 0:
        return 0, None
    if ctx.followers is None:
        return points, f"public post (+{points})"
    return points, f"public, {_followers(ctx.followers)} followers (+{points})"


def value_points(ctx: ScoreContext, s: ScoringSettings) -> tuple[int, str | None]:
    if ctx.customer_value <= 0:
        return 0, None
    points = round(min(float(s.customer_value_max), s.customer_value_points * ctx.customer_value))
    if points <= 0:
        return 0, None
    return points, f"customer value {ctx.customer_value:g} (+{points})"


def contributions(ctx: ScoreContext, s: ScoringSettings) -> list[tuple[int, str]]:
    """Every non-zero context contribution as (points, reason), largest effect first."""
    out: list[tuple[int, str]] = []
    for points, reason in (waiting_points(ctx, s), response_points(ctx, s), hop_points(ctx, s)):
        if reason:
            out.append((points, reason))
    out.extend(promise_points(ctx, s))
    for points, reason in (visibility_points(ctx, s), value_points(ctx, s)):
        if reason:
            out.append((points, reason))
    return out
