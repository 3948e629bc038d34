"""The demo's script: the simulated customers and what they write, and when.

Written by the project (no real people): a customer who emailed twice and then tweeted
(a channel hop, linked by the address they gave), a promise already overdue, a double
charge with an order number and an amount, a request to join the community Slack, and
background chatter of varying temper, and a small outage (ride sync fails with E503
after an app update: an incident declared, two of its cases attached, the rest to be
found by its suggestions). ``monitor.demo.world`` turns it into a stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.mentions import Author, Channel, IdentityKind, MentionIn


def _x(uid: str, username: str, name: str, followers: int) -> Author:
    return Author(IdentityKind.X, uid, username, name, followers)


def _mail(address: str, name: str) -> Author:
    return Author(IdentityKind.EMAIL, address, address, name)


PRIYA_X = _x("9001", "priya_codes", "Priya N.", 2_400)
PRIYA_MAIL = _mail("priya.n@example.com", "Priya Natarajan")
TOM_X = _x("9002", "tomfixesbikes", "Tom Becker", 860)
ANA_MAIL = _mail("ana.silva@example.org", "Ana Silva")
JO_X = _x("9003", "jo_runs", "Jo", 120)
KEV_X = _x("9004", "kevbuilds", "Kevin O.", 48_000)
MEI_MAIL = _mail("mei@example.net", "Mei Tanaka")
LUIS_X = _x("9005", "luis_dm", "Luis", 300)
SAM_MAIL = _mail("sam.okafor@example.com", "Sam Okafor")
# A small outage: since this morning's app update, ride sync fails with E503.
NOOR_X = _x("9006", "noor_rides", "Noor Haddad", 1_900)
BEN_MAIL = _mail("ben.keller@example.org", "Ben Keller")
LIA_X = _x("9007", "lia_on_wheels", "Lia Moreau", 640)
RAJ_X = _x("9008", "raj_climbs", "Raj Patel", 310)
EVA_MAIL = _mail("eva.lind@example.net", "Eva Lind")
OUTAGE_TITLE = "Ride sync fails with E503 (app 4.2)"
OUTAGE_STATUS = (
    "Since this morning's app update 4.2, rides do not sync and the app shows error E503. "
    "Our engineers have found the cause and are preparing a fix."
)
OUTAGE_WORKAROUND = "Your rides are stored on the phone and will sync once the fix is out."


@dataclass(frozen=True)
class Line:
    """One scripted message: who, where, what, and how long before ``now`` it was sent."""

    key: str
    author: Author
    channel: Channel
    text: str
    ago: timedelta = timedelta(0)
    subject: str | None = None

    def build(self, run: str, now: datetime) -> MentionIn:
        ext = f"demo-{run}-{self.key}"
        if self.channel == Channel.EMAIL:
            ext = f"<{ext}@demo.complaint-monitor>"
        raw = f"demo message {self.key}: {self.text}".encode()
        return MentionIn(
            channel=self.channel,
            external_id=ext,
            author=self.author,
            text=self.text,
            text_for_scoring=self.text,
            created_at=now - self.ago,
            raw=raw,
            public=self.channel == Channel.X,
            subject=self.subject,
            thread_refs=(ext,) if self.channel != Channel.EMAIL else (),
        )


# Already waiting when the demo starts (ingested at start-up, back-dated).
HISTORY = (
    Line(
        "priya-1",
        PRIYA_MAIL,
        Channel.EMAIL,
        "Hello, I returned the headphones on 2 November (order #A-10023) and the refund "
        "of $129.00 has not arrived. Could you check please?",
        timedelta(hours=27),
        "Refund for order A-10023",
    ),
    Line(
        "tom-1",
        TOM_X,
        Channel.X,
        "@acme the charger of my Acme E-Bike 500 stopped charging after a week",
        timedelta(days=2),
    ),
    Line(
        "priya-2",
        PRIYA_MAIL,
        Channel.EMAIL,
        "Second time asking. Still no refund for order #A-10023 and no reply at all.",
        timedelta(hours=4),
        "Re: Refund for order A-10023",
    ),
    Line(
        "sam-1",
        SAM_MAIL,
        Channel.EMAIL,
        "Is there a community Slack for Acme riders? I'd love to join and share routes.",
        timedelta(hours=3),
        "Community Slack?",
    ),
    Line(
        "noor-1",
        NOOR_X,
        Channel.X,
        "@acme since the update my rides won't sync, error E503 every time. Lost my commute.",
        timedelta(minutes=40),
    ),
    Line(
        "ben-1",
        BEN_MAIL,
        Channel.EMAIL,
        "Hi, after updating the app this morning none of my rides sync any more. It says "
        "E503. I'm on a Pixel 8.",
        timedelta(minutes=30),
        "Rides not syncing",
    ),
    Line(
        "lia-1",
        LIA_X,
        Channel.X,
        "@acme app update broke ride sync?? E503 on my iPhone 15",
        timedelta(minutes=20),
    ),
)
# Then, one every few seconds (offset from the start of the demo).
STREAM: tuple[tuple[float, Line], ...] = (
    (4, Line("jo-1", JO_X, Channel.X, "@acme how do I export my ride history to a CSV?")),
    (
        9,
        Line(
            "priya-3",
            PRIYA_X,
            Channel.X,
            "@acme I've emailed you TWICE (priya.n@example.com) about my refund for "
            "order A-10023. Nobody answers. Is anyone actually there??",
        ),
    ),
    (
        15,
        Line(
            "ana-1",
            ANA_MAIL,
            Channel.EMAIL,
            "You charged my card twice for the annual plan: $49.99 on 20 November and "
            "again on 21 November. Please refund one. My phone is +44 20 7946 0958.",
            subject="Charged twice",
        ),
    ),
    (
        21,
        Line(
            "tom-2",
            TOM_X,
            Channel.X,
            "@acme you promised me a replacement charger by Friday. It's Monday. Nothing. "
            "Not even an email.",
        ),
    ),
    (
        27,
        Line(
            "mei-1",
            MEI_MAIL,
            Channel.EMAIL,
            "Love the new app update, the map is great!",
            subject="Thanks",
        ),
    ),
    (
        33,
        Line(
            "kev-1",
            KEV_X,
            Channel.X,
            "@acme app crashed mid-ride and wiped 3 hours of recorded route. Third time this "
            "month. Absolutely unacceptable, I'm done.",
        ),
    ),
    (
        40,
        Line(
            "luis-1", LUIS_X, Channel.X_DM, "hi, my order #B-20417 says delivered but it isn't here"
        ),
    ),
    (
        44,
        Line("raj-1", RAJ_X, Channel.X, "@acme rides not syncing since the update, E503. Help?"),
    ),
    (
        46,
        Line(
            "eva-1",
            EVA_MAIL,
            Channel.EMAIL,
            "My rides stopped syncing after today's app update (error E503).",
            subject="Sync broken",
        ),
    ),
    (
        48,
        Line(
            "ana-2",
            ANA_MAIL,
            Channel.EMAIL,
            "Any news? Still charged twice.",
            subject="Re: Charged twice",
        ),
    ),
)
# Background chatter: (who, text, only while unanswered). A customer who has had a
# reply stops asking whether anybody is reading.
CHATTER = (
    (JO_X, "@acme is there a dark mode?", False),
    (LUIS_X, "@acme still waiting on that parcel, order #B-20417", True),
    (KEV_X, "@acme hello?? nobody from support is reading this?", True),
    (MEI_MAIL, "Small thing: the weekly summary email arrives twice.", False),
)
