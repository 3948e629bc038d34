"""An outage written by the project: many customers, one fault, each in their own words."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from monitor.mentions import MentionIn
from monitor.models import Case
from monitor.priority.service import Scorer
from tests.factories import T0
from tests.factories.cases import ingest
from tests.factories.mentions import email, tweet

FIRST = ("Ana", "Ben", "Chloe", "Dev", "Ema", "Farid", "Gita", "Hugo", "Ines", "Jon")
LAST = ("Novak", "Okafor", "Perez", "Quist", "Rossi", "Sato", "Tanaka", "Ueda", "Varga", "Weiss")
OPENINGS = (
    "The app crashes as soon as I try to log in",
    "Cant log in anymore, the app just crashes",
    "Your app keeps crashing at the login screen",
    "Login is broken, app crashes every time",
    "Since this morning the app crashes when I log in",
    "App crashed again on login!!",
)
DETAILS = (
    "I get error E503 on the login screen.",
    "It shows error E503 and closes.",
    "error E503 every single time",
    "Says E503 then goes back to the home screen.",
    "",
)
DEVICES = ("on my Pixel 8", "on iPhone 15", "on a Galaxy S23", "on my iPad", "")
UNRELATED = (
    "Where is my refund for order 88213? It has been three weeks.",
    "The courier left my parcel in the rain, the box is soaked.",
    "I was charged twice for my subscription this month.",
    "Your store in Leeds closed early and nobody told us.",
    "The invoice address on my account is wrong, please fix it.",
)


def outage_text(i: int, rng: random.Random) -> str:
    parts = [rng.choice(OPENINGS), rng.choice(DEVICES), ". " + rng.choice(DETAILS)]
    return " ".join(p for p in parts if p).replace(" .", ".").strip()


def customer_name(i: int) -> str:
    return f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]}"


def outage_mention(i: int, text: str, *, at: datetime) -> MentionIn:
    name = customer_name(i)
    if i % 3 == 2:
        address = f"{name.split()[0].lower()}.{i}@example.org"
        m = email(f"outage-{i}@example.org", text, sender=address, subject="App crash", at=at)
        return replace(m, author=replace(m.author, name=name))
    username = f"{name.split()[0].lower()}{i}"
    m = tweet(f"9{i:06d}", text, user_id=f"u{i}", username=username, at=at)
    return replace(m, author=replace(m.author, name=name))


def outage_cases(
    session: Session, scorer: Scorer, n: int, *, seed: int = 7, start: datetime = T0
) -> list[Case]:
    """``n`` customers complaining about the same login crash, a minute apart."""
    rng = random.Random(seed)
    return [
        ingest(
            session,
            scorer,
            [outage_mention(i, outage_text(i, rng), at=start + timedelta(minutes=i))],
            now=start + timedelta(minutes=i),
        )
        for i in range(n)
    ]


def unrelated_cases(session: Session, scorer: Scorer, *, start: datetime = T0) -> list[Case]:
    return [
        ingest(
            session,
            scorer,
            [tweet(f"8{i:06d}", text, user_id=f"other{i}", username=f"other{i}", at=start)],
            now=start,
        )
        for i, text in enumerate(UNRELATED)
    ]
