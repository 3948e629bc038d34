"""The guard with an incident's shared paragraph: judged is only what each reply adds."""

from __future__ import annotations

import random

from monitor.config import ReplySettings
from monitor.replies.guard import CaseContext, check_personal
from monitor.replies.index import ReplyIndex, blank_shared
from tests.incidents.support import customer_name, outage_text

SETTINGS = ReplySettings()
PARAGRAPH = (
    "Since 08:10 this morning our app crashes at login with error E503 for many of you. "
    "Our engineers found the cause and a fix is rolling out now.\n"
    "Until it reaches you, logging in on the website works normally."
)
COPY_PASTE = (
    "Hello, we are sorry about the trouble with the app.\n"
    + PARAGRAPH
    + "\nWe'll keep you posted, thanks for your patience."
)
DEVICES = ("Pixel 8", "iPhone 15", "Galaxy S23", "iPad")


def context(i: int, text: str) -> CaseContext:
    name = customer_name(i)
    return CaseContext(
        channel="email",
        names=(name, name.split()[0]),
        customer_texts=(text,),
        facts=("E503",),
        shared=(PARAGRAPH,),
    )


# A reply's own part, from four slots of eight phrases each. With i = 8k + x the slots are
# x, k, x+k, x+2k (mod 8): for i < 64 no two customers share a sentence, and no two share
# more than two phrases, as 50 replies written by people would not.
OPENERS = (
    "you're right that",
    "thank you for telling us early:",
    "I'm sorry that",
    "I understand why you're angry:",
    "good that you wrote in, because",
    "you deserved better, since",
    "it must have been maddening that",
    "I read your message, and",
)
WHAT = (
    "the {d} kept failing at login with E503",
    "E503 locked you out of the {d} before work",
    "your {d} refused to let you in all morning",
    "the login screen on your {d} crashed each time",
    "the {d} showed E503 three times in a row",
    "the crash hit your {d} in the middle of paying",
    "the app on your {d} threw you out at every login",
    "your {d} lost the session right after the update",
)
WHEN = (
    "I'll personally",
    "Later today I will",
    "Before tomorrow morning I will",
    "Tonight I'll",
    "Within the next two hours I'll",
    "By this evening I will",
    "First thing tomorrow I'll",
    "Right after lunch I'll",
)
ACTION = (
    "check that your account is intact",
    "confirm the fix has reached your {d}",
    "look through your login history for anything odd",
    "restore the booking you missed this morning",
    "send you a note once the website login is verified",
    "make sure you are not charged for today",
    "call you to go through it together",
    "move your saved basket back for you",
)


def personal(i: int, rng: random.Random | None = None) -> str:
    """Customer i's reply: their name, their device and error, the paragraph, their next step."""
    first = customer_name(i).split()[0]
    d = DEVICES[i % len(DEVICES)]
    x, k = i % 8, i // 8
    own = f"{first}, {OPENERS[x]} {WHAT[k].format(d=d)}."
    step = f"{WHEN[(x + k) % 8]} {ACTION[(x + 2 * k) % 8].format(d=d)}."
    return f"Hi {first},\n{own}\n{PARAGRAPH}\n{step}"


def test_fifty_personal_replies_with_the_paragraph_pass_a_copy_paste_to_all_is_blocked() -> None:
    rng = random.Random(11)
    index = ReplyIndex()
    for i in range(50):
        text = outage_text(i, rng)
        reply = personal(i, rng)
        result = check_personal(
            reply, case_context=context(i, text), previous_replies_index=index, settings=SETTINGS
        )
        assert not result.blocked, (i, result.score, result.reasons)
        index.add_many([(i + 1, blank_shared(reply, [PARAGRAPH]))])  # as catch_up stores it
    copies = ReplyIndex()
    outcomes = []
    for i in range(5):
        result = check_personal(
            COPY_PASTE,
            case_context=context(i, outage_text(i, rng)),
            previous_replies_index=copies,
            settings=SETTINGS,
        )
        outcomes.append(result.blocked)
        copies.add_many([(i + 1, blank_shared(COPY_PASTE, [PARAGRAPH]))])
    # The first one reads like any generic reply (no name: +10); every copy after it is a
    # near-copy of what the desk already sent, paragraph or not.
    assert outcomes == [False, True, True, True, True]


def test_without_the_allowance_the_second_personal_reply_is_blocked() -> None:
    """Issue 19: the paragraph made reply two (new name, a line of its own) a copy of one."""
    replies = [
        f"Hi {n},\n{PARAGRAPH}\n{personal(i).splitlines()[-1]}" for i, n in ((0, "Ana"), (9, "Ben"))
    ]
    ctx = context(9, "The app crashes at login, error E503")
    no_allowance = CaseContext(**{**ctx.__dict__, "shared": ()})
    index = ReplyIndex()
    index.add_many([(1, replies[0])])
    blocked = check_personal(
        replies[1], case_context=no_allowance, previous_replies_index=index, settings=SETTINGS
    )
    assert blocked.blocked and any("near-copy" in r for r in blocked.reasons)
    allowing = ReplyIndex()
    allowing.add_many([(1, blank_shared(replies[0], [PARAGRAPH]))])
    allowed = check_personal(
        replies[1], case_context=ctx, previous_replies_index=allowing, settings=SETTINGS
    )
    assert not allowed.blocked, allowed.reasons


def test_the_paragraph_alone_is_not_a_reply() -> None:
    result = check_personal(
        PARAGRAPH,
        case_context=context(0, "app crash"),
        previous_replies_index=None,
        settings=SETTINGS,
    )
    assert result.blocked and any(
        "only the incident's shared paragraph" in r for r in result.reasons
    )


def test_an_edited_paragraph_still_counts_as_shared_and_offsets_are_kept() -> None:
    edited = PARAGRAPH.replace("Our engineers found", "Our engineers have found")
    text = "Ana, sorry about this.\n" + edited
    blanked = blank_shared(text, [PARAGRAPH])
    assert len(blanked) == len(text)
    assert blanked.strip() == "Ana, sorry about this."
    untouched = "The courier lost my parcel and nobody answers."
    assert blank_shared(untouched, [PARAGRAPH]) == untouched
