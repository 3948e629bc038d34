"""The template-likeness guard and X character counting (pure; no database)."""

from __future__ import annotations

import pytest

from monitor.config import ReplySettings
from monitor.replies.guard import (
    CaseContext,
    PersonalCheck,
    check_personal,
)
from monitor.replies.index import ReplyIndex
from monitor.replies.x_count import x_length, x_overflow_at

SETTINGS = ReplySettings()
DAN = CaseContext(
    channel="email",
    names=("Dan Devlin", "Dan", "devdan"),
    customer_texts=(
        "Second time asking: you promised me an invite to your Slack community last week "
        "and it never came. Order 4411.",
    ),
    facts=("4411",),
    promises=("we'll add you to our Slack channel today",),
)
PERSONAL = (
    "Dan, you're right: Priya promised you the Slack invite last week and we dropped it. "
    "I'm sorry. I've sent the invite to the address on order 4411 just now, and I'll "
    "check tomorrow morning that you got in."
)
FORM_LETTER = (
    "Thank you for reaching out. We apologise for any inconvenience caused. "
    "Your satisfaction is our priority and we value your feedback."
)


def check(
    text: str, *, index: ReplyIndex | None = None, ctx: CaseContext | None = DAN
) -> PersonalCheck:
    return check_personal(text, case_context=ctx, previous_replies_index=index, settings=SETTINGS)


def test_a_personal_reply_passes() -> None:
    result = check(PERSONAL, index=ReplyIndex())
    assert result.score == 0 and not result.blocked, result.reasons
    assert result.highlights == []
    assert result.personal == 100


def test_a_form_letter_is_blocked_with_highlights() -> None:
    result = check(FORM_LETTER)
    assert result.blocked
    kinds = [h[2] for h in result.highlights]
    assert kinds.count("boilerplate") == 3
    flagged = [FORM_LETTER[s:e].lower() for s, e, k, _ in result.highlights if k == "boilerplate"]
    assert "we apologise for any inconvenience" in flagged
    assert any("nothing the customer said" in r for r in result.reasons)
    assert any("by name" in r for r in result.reasons)
    assert any("next step" in r for r in result.reasons)


def test_one_pasted_boilerplate_sentence_is_flagged_but_not_blocked() -> None:
    text = PERSONAL + " We apologize for any inconvenience."  # US spelling too
    result = check(text)
    assert not result.blocked
    [(start, end, kind, _)] = result.highlights
    assert kind == "boilerplate" and text[start:end] == "We apologize for any inconvenience"


def test_near_duplicate_of_a_previous_reply_is_flagged() -> None:
    index = ReplyIndex()
    previous = (
        "Hi Maria, thanks for your message about order 1234. Our warehouse team has been "
        "informed and will update you within 48 hours with a resolution."
    )
    index.add_many([(1, previous), (2, "Something completely different about invoices.")])
    copy = previous.replace("Maria", "Dan").replace("1234", "4411")
    result = check(copy, index=index)
    assert any(h[2] == "duplicate_reply" for h in result.highlights)
    assert any("near-copy" in r for r in result.reasons)
    assert result.blocked


def test_a_reused_sentence_is_highlighted() -> None:
    index = ReplyIndex()
    stock = "Our warehouse team has been informed and will update you shortly."
    index.add_many([(i, f"Hi person {i}. {stock}") for i in range(1, 30)])
    text = PERSONAL + " " + stock
    result = check(text, index=index)
    reused = [h for h in result.highlights if h[2] == "reused"]
    assert len(reused) == 1 and text[reused[0][0] : reused[0][1]] == stock
    assert "29+ times" in reused[0][3]


def test_index_forgets_replies_beyond_its_capacity() -> None:
    index = ReplyIndex(capacity=3)
    old = "Hi Maria, our warehouse team has been informed about the parcel today."
    index.add_many(
        [(1, old)] + [(i, f"Unrelated reply number {i} about billing cycles") for i in range(2, 6)]
    )
    assert index.nearest_reply(old) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello", 5),
        ("café", 4),
        ("https://example.com/a/very/long/path/that/goes/on/and/on?x=1", 23),
        ("see example.com/track now", 4 + 23 + 4),
        ("你好世界", 8),
        ("こんにちは", 10),
        ("😀", 2),
        ("👨‍👩‍👧", 2),  # one ZWJ sequence
        ("👍🏽", 2),  # skin tone modifier
        ("🇬🇧", 2),  # flag: a regional-indicator pair
        ("Dan 😀 https://x.com", 4 + 2 + 1 + 23),
    ],
)
def test_x_counts_like_twitter_text(text: str, expected: int) -> None:
    assert x_length(text) == expected


def test_x_limit_and_move_to_dm() -> None:
    ctx = CaseContext(channel="x", names=("Dan",), customer_texts=("order 4411 lost",))
    long_text = "Dan, order 4411: " + "我们" * 140
    result = check(long_text, ctx=ctx)
    assert result.too_long and result.suggest_dm and result.x_length and result.x_length > 280
    [over] = [h for h in result.highlights if h[2] == "too_long"]
    assert x_length(long_text[: over[0]]) <= 280 < x_length(long_text[: over[0] + 1])
    assert x_overflow_at("short", 280) is None
    private = check("Dan, order 4411: call me on +44 20 7946 0958 and I'll fix it today", ctx=ctx)
    assert private.suggest_dm and not private.too_long


def test_a_link_in_an_x_reply_is_flagged_because_x_bills_it_higher() -> None:
    ctx = CaseContext(channel="x", names=("Dan",), customer_texts=("order 4411 lost",))
    text = "Dan, order 4411 is on its way today: track it at https://shop.example/t/4411"
    result = check(text, ctx=ctx)
    assert result.has_url
    [link] = [h for h in result.highlights if h[2] == "costly_url"]
    assert text[link[0] : link[1]] == "https://shop.example/t/4411"
    assert any("cost more" in n for n in result.notes)
    plain = check("Dan, order 4411 is on its way today, I'll DM you the tracking", ctx=ctx)
    assert not plain.has_url and not any("cost more" in n for n in plain.notes)
    email = check(text, ctx=CaseContext(channel="email", names=("Dan",)))
    assert not email.has_url  # only X prices links
