"""`complaint-monitor demo`: the whole desk on an embedded SQLite file, with simulated
customers written by the project. No credentials, no network.

The stream is a real :class:`~monitor.sources.base.Source` (``DemoSource``) polled by
the real scheduler through :func:`monitor.polling.poll_source`, so every message takes
the same path as one from X or IMAP: dedupe, identity linking, case placement, scoring,
events, and the live console. The script shows what the console is for: a customer who
emailed twice and then tweeted (a channel hop, linked by the address they gave), a
promise already overdue, a double charge with an order number and an amount, and
background chatter of varying temper, so the queue visibly fills and re-orders.
"""

from __future__ import annotations

import secrets
import socket
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from monitor import accounts, migrate, queue
from monitor.config import (
    DatabaseSettings,
    LoadedConfig,
    ServerSettings,
    Settings,
)
from monitor.db import make_engine, make_sessionmaker, utcnow
from monitor.ingest import IngestOptions, ingest_batch
from monitor.mentions import Author, Channel, IdentityKind, MentionIn
from monitor.models import Case, Promise, PromiseState, Reply, ReplyState, Role, Staff
from monitor.priority import Scorer
from monitor.scheduler import JobSpec
from monitor.sources.base import Batch, Cursor

DEMO_USER = "demo"
OUR_ADDRESS = "support@acme.example"
CHATTER_EVERY = timedelta(seconds=25)


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
CHATTER = (
    (JO_X, "@acme is there a dark mode?"),
    (LUIS_X, "@acme still waiting on that parcel, order #B-20417"),
    (KEV_X, "@acme hello?? nobody from support is reading this?"),
    (MEI_MAIL, "Small thing: the weekly summary email arrives twice."),
)


@dataclass
class DemoSource:
    """The scripted stream as a Source: what is due by ``now`` after the cursor."""

    run: str
    started_at: datetime
    name: str = "demo:stream"
    stream: tuple[tuple[float, Line], ...] = STREAM
    chatter: tuple[tuple[Author, str], ...] = CHATTER
    fetches: int = field(default=0, init=False)

    def due(self, now: datetime) -> list[Line]:
        elapsed = (now - self.started_at).total_seconds()
        lines = [line for after, line in self.stream if after <= elapsed]
        end = self.stream[-1][0] if self.stream else 0
        extra = int(max(0.0, elapsed - end) // CHATTER_EVERY.total_seconds())
        for i in range(min(extra, 500)):
            author, text = self.chatter[i % len(self.chatter)]
            channel = Channel.EMAIL if author.kind == IdentityKind.EMAIL else Channel.X
            subject = "Feedback" if channel == Channel.EMAIL else None
            lines.append(Line(f"chatter-{i}", author, channel, text, subject=subject))
        return lines

    def fetch(self, cursor: Cursor | None, *, now: datetime) -> Batch:
        self.fetches += 1
        pos = int(cursor.get("pos", 0)) if cursor and cursor.get("run") == self.run else 0
        fresh = self.due(now)[pos:]
        return Batch(
            mentions=[line.build(self.run, now) for line in fresh],
            next_cursor={"run": self.run, "pos": pos + len(fresh)},
        )


def demo_settings(url: str, host: str, port: int) -> LoadedConfig:
    settings = Settings(
        database=DatabaseSettings(url=url),
        server=ServerSettings(host=host, port=port, secure_cookies=False, run_scheduler=True),
    )
    return LoadedConfig(settings=settings, secrets={}, path=None)


def ensure_staff(session: Session, *, password: str, now: datetime) -> Staff:
    """The demo lead account, created, or given this run's password if it exists."""
    staff = session.scalar(select(Staff).where(Staff.name == DEMO_USER))
    if staff is None:
        return accounts.create_staff(
            session,
            name=DEMO_USER,
            password=password,
            role=Role.LEAD,
            now=now,
            display_name="Demo Lead",
        )
    staff.password_hash = accounts.hash_password(password)
    staff.active = True
    return staff


def seed(session: Session, *, run: str, now: datetime, scorer: Scorer, staff: Staff) -> None:
    """Back-dated history, a staff reply with a promise that is now overdue."""
    options = IngestOptions(own_addresses=(OUR_ADDRESS,))
    mentions = [line.build(run, now) for line in HISTORY]
    batch = Batch(mentions=mentions, next_cursor={"run": run})
    ingest_batch(session, batch, source="demo:history", now=now, scorer=scorer, options=options)
    session.flush()
    tom = session.scalar(
        select(Case).join(Case.customer).where(Case.channel == Channel.X).order_by(Case.id.desc())
    )
    if tom is None:
        return
    replied = now - timedelta(days=1, hours=20)
    session.add(
        Reply(
            case_id=tom.id,
            staff_id=staff.id,
            channel=tom.channel,
            body="So sorry Tom! We'll send you a replacement charger by Friday.",
            idempotency_key=f"demo-{run}-tom-reply",
            state=ReplyState.SENT,
            created_at=replied,
            sent_at=replied,
        )
    )
    queue.record_staff_reply(tom, now=replied)
    tom.apologised_at = tom.listened_at = tom.agreed_at = replied
    session.add(
        Promise(
            case_id=tom.id,
            customer_id=tom.customer_id,
            owner_id=staff.id,
            kind="shipment",
            wording="a replacement charger by Friday",
            due_at=now - timedelta(hours=6),
            state=PromiseState.OPEN,
            created_at=replied,
            updated_at=replied,
        )
    )


def poll_job(
    engine: Engine, source: DemoSource, scorer: Scorer, *, seconds: float = 2.0
) -> JobSpec:
    from monitor.polling import poll_source

    sessions = make_sessionmaker(engine)
    options = IngestOptions(own_addresses=(OUR_ADDRESS,))

    def run(now: datetime) -> Any:
        return poll_source(
            sessions,
            source,
            now=now,
            holder=f"demo-{source.run}",
            scorer=scorer,
            options=options,
            poll_seconds=seconds,
            ignore_backoff=True,
        )

    return JobSpec(id=source.name, seconds=seconds, run=run)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


def run_demo(
    *,
    host: str,
    port: int,
    db_path: Path | None,
    out: Callable[[str], None] = print,
    scorer: Scorer | None = None,
) -> int:
    import uvicorn

    from monitor.scheduler import Scheduler
    from monitor.web.app import create_app
    from monitor.wiring import build_scorer

    if db_path is None:
        db_path = Path(tempfile.mkdtemp(prefix="complaint-monitor-demo-")) / "demo.db"
    db_path.parent.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{db_path.resolve()}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    sock = _bind(host, port)  # bound before printing, so the URL is right even for port 0
    actual_port = sock.getsockname()[1]
    loaded = demo_settings(url, host, actual_port)
    scorer = scorer or build_scorer(loaded)
    password = secrets.token_urlsafe(9)
    run, now = secrets.token_hex(3), utcnow()
    with make_sessionmaker(engine).begin() as session:
        staff = ensure_staff(session, password=password, now=now)
        seed(session, run=run, now=now, scorer=scorer, staff=staff)
    source = DemoSource(run=run, started_at=now)
    background = Scheduler([poll_job(engine, source, scorer)])
    app = create_app(
        loaded, engine, background=background, session_secret=secrets.token_urlsafe(48)
    )
    shown = f"[{host}]" if ":" in host else host
    out("complaint-monitor demo")
    out(f"  console:   http://{shown}:{actual_port}/")
    out(f"  sign in:   {DEMO_USER} / {password}")
    out(f"  database:  {db_path}")
    out("Simulated X mentions and emails arrive every few seconds. Ctrl-C stops the demo.")
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2, ws="none")
    uvicorn.Server(config).run(sockets=[sock])
    engine.dispose()
    return 0
