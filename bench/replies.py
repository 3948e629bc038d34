"""Template-likeness guard latency against 100,000 stored replies.

Generates N varied replies (greetings, names, products, order numbers, apologies, next
steps, some stock phrases), stores them in a migrated database, builds the reply index
the way the web app does (``ensure_built`` + ``catch_up``), then times the guard on
drafts of several kinds: personal, with pasted boilerplate, near-copies of stored
replies, and long X replies. Prints the build time, p50/p95/max per kind and overall.
Goal: p95 < 50 ms.

    .venv/bin/python bench/replies.py [--n 100000] [--checks 600] [--db URL]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import random
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import insert

from monitor.config import ReplySettings
from monitor.db import make_engine, make_sessionmaker
from monitor.models import Case, Customer, Reply
from monitor.replies.guard import CaseContext, check_personal
from monitor.replies.index import ReplyIndex
from monitor.storage import migrate

T0 = datetime(2026, 11, 1, tzinfo=UTC)
NAMES = [
    "Dan",
    "Priya",
    "Lee",
    "Maria",
    "Sam",
    "Ola",
    "Kim",
    "Jonas",
    "Aiko",
    "Tomás",
    "Nadia",
    "Femi",
    "Greta",
    "Ravi",
    "Chloé",
    "Wei",
    "Ana",
    "Omar",
    "Lena",
    "Yusuf",
]
THINGS = [
    "Slack invite",
    "refund",
    "parcel",
    "invoice",
    "password reset",
    "app update",
    "subscription",
    "delivery slot",
    "replacement charger",
    "account merge",
    "gift card",
    "router",
    "warranty claim",
    "data export",
    "booking",
    "seat upgrade",
]
FAULTS = [
    "never arrived",
    "was charged twice",
    "went to the wrong address",
    "keeps failing",
    "was cancelled without notice",
    "shows the wrong amount",
    "was promised last week",
    "crashes on start",
    "is stuck in review",
    "did not include the discount",
]
STEPS = [
    "I'll call you {when}",
    "I've sent the {thing} again just now",
    "you'll get a confirmation email {when}",
    "I have asked our courier to collect it {when}",
    "I've credited {amount} to your account",
    "we'll fix the {thing} {when}",
    "I'm going to check back with you {when}",
]
WHEN = [
    "today",
    "tomorrow morning",
    "by Friday",
    "within 24 hours",
    "this afternoon",
    "next Monday",
    "before 5pm",
]
STOCK = [
    "We apologise for any inconvenience.",
    "Thank you for your patience.",
    "We value your feedback.",
    "Please do not hesitate to contact us.",
    "Your satisfaction is our priority.",
    "Sorry to hear that.",
]
OPENERS = ["Hi {name},", "Hello {name},", "{name},", "Dear {name},", "Hey {name}!"]
SORRY = [
    "I'm sorry the {thing} {fault}.",
    "You're right, the {thing} {fault}, and that's on us.",
    "I'm really sorry: your {thing} {fault}.",
    "Apologies, the {thing} {fault}.",
    "That's not good enough: the {thing} {fault}.",
]
DETAIL = [
    "I can see order {order} in our system.",
    "Ticket {order} is now marked urgent.",
    "Order {order} was held at our {city} depot.",
    "The charge on {date} was a mistake.",
    "Our {team} team confirmed what happened.",
    "I checked order {order} myself.",
]
CITIES = ["Leeds", "Lyon", "Porto", "Austin", "Osaka", "Kraków", "Nairobi"]
TEAMS = ["billing", "warehouse", "support", "engineering", "logistics"]


def reply_text(rng: random.Random) -> str:
    fill = {
        "name": rng.choice(NAMES),
        "thing": rng.choice(THINGS),
        "fault": rng.choice(FAULTS),
        "order": str(rng.randint(10_000, 99_999)),
        "when": rng.choice(WHEN),
        "amount": f"£{rng.randint(5, 200)}",
        "city": rng.choice(CITIES),
        "team": rng.choice(TEAMS),
        "date": f"{rng.randint(1, 28)} {rng.choice(['May', 'June', 'July'])}",
    }
    parts = [rng.choice(OPENERS), rng.choice(SORRY)]
    parts += rng.sample(DETAIL, rng.randint(0, 2))
    parts.append(rng.choice(STEPS).capitalize() + ".")
    if rng.random() < 0.3:
        parts.append(rng.choice(STOCK))
    if rng.random() < 0.5:
        parts.append(rng.choice(["Thanks", "Best", "Cheers"]) + ", " + rng.choice(NAMES))
    return " ".join(parts).format(**fill)


def store(url: str, n: int, rng: random.Random) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine)
    with make_sessionmaker(engine).begin() as s:
        customer = Customer(display_name="Bench", created_at=T0)
        case = Case(customer=customer, channel="email", created_at=T0, updated_at=T0)
        s.add(case)
        s.flush()
        rows = [
            {
                "case_id": case.id,
                "channel": "email",
                "body": reply_text(rng),
                "idempotency_key": f"bench-{i}",
                "state": "sent",
                "attempts": 1,
                "created_at": T0,
            }
            for i in range(n)
        ]
        for i in range(0, n, 5000):
            s.execute(insert(Reply), rows[i : i + 5000])
    engine.dispose()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--checks", type=int, default=600)
    ap.add_argument("--db", default=None, help="database URL (default: a temporary SQLite)")
    args = ap.parse_args()
    rng = random.Random(7)
    tmp = tempfile.TemporaryDirectory()
    url = args.db or f"sqlite:///{tmp.name}/bench.db"
    t = time.perf_counter()
    store(url, args.n, rng)
    print(
        f"stored {args.n} generated replies in {time.perf_counter() - t:.1f} s "
        f"({url.split(':')[0]})"
    )

    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    index = ReplyIndex(capacity=100_000)
    t = time.perf_counter()
    with sessions() as s:
        index.ensure_built(s)
    print(
        f"index built from the database in {time.perf_counter() - t:.1f} s ({index.size} replies)"
    )

    settings = ReplySettings()
    ctx = CaseContext(
        channel="email",
        names=("Dan Devlin", "Dan"),
        customer_texts=(
            "My Slack invite for order 44123 never arrived, third time I ask. Promised last week.",
        ),
        facts=("44123",),
        promises=("we'll add you to our Slack channel today",),
    )
    with sessions() as s:
        stored = [
            b
            for (b,) in s.execute(
                Reply.__table__.select().with_only_columns(Reply.body).limit(2000)
            )
        ]
    kinds = {
        "personal": lambda: (
            "Dan, the Slack invite for order 44123 should have gone out a week "
            f"ago and it did not. I'm sorry. I've sent it {rng.choice(WHEN)} to the address you "
            "gave, and I'll check in tomorrow that you got in."
        ),
        "boilerplate": lambda: (
            "Dan, sorry about order 44123. "
            + " ".join(rng.sample(STOCK, 3))
            + " I'll call you "
            + rng.choice(WHEN)
            + "."
        ),
        "near-copy": lambda: rng.choice(stored).replace("Hi ", "Hello ", 1),
        "long-x": lambda: "Dan, order 44123: " + " ".join(reply_text(rng) for _ in range(3)),
    }
    times: dict[str, list[float]] = {k: [] for k in kinds}
    blocked: dict[str, int] = dict.fromkeys(kinds, 0)
    for i in range(args.checks):
        kind = list(kinds)[i % len(kinds)]
        draft = kinds[kind]()
        channel = "x" if kind == "long-x" else "email"
        t = time.perf_counter()
        with sessions() as s:  # as the API does: catch up with replies stored meanwhile
            index.catch_up(s)
        result = check_personal(
            draft,
            case_context=replace(ctx, channel=channel),
            previous_replies_index=index,
            settings=settings,
        )
        times[kind].append((time.perf_counter() - t) * 1000)
        blocked[kind] += result.blocked or result.too_long
    print(f"\nguard latency over {args.checks} checks against {index.size} replies (ms):")
    print(f"{'draft kind':<12} {'n':>5} {'p50':>7} {'p95':>7} {'max':>7}  blocked")
    for kind, values in times.items():
        print(
            f"{kind:<12} {len(values):>5} {statistics.median(values):>7.2f} "
            f"{pct(values, 95):>7.2f} {max(values):>7.2f}  {blocked[kind]}/{len(values)}"
        )
    every = [v for values in times.values() for v in values]
    p95 = pct(every, 95)
    print(
        f"{'all':<12} {len(every):>5} {statistics.median(every):>7.2f} {p95:>7.2f} "
        f"{max(every):>7.2f}"
    )
    print(f"\ngoal p95 < 50 ms: {'met' if p95 < 50 else 'NOT met'}")
    engine.dispose()


if __name__ == "__main__":
    main()
