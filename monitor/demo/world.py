"""`complaint-monitor demo`: the whole desk on an embedded SQLite file, with simulated
customers written by the project. No credentials, no network.

The stream is a real :class:`~monitor.sources.base.Source` (``DemoSource``) polled by
the real scheduler through :func:`monitor.ingest.polling.poll_source`, so every message takes
the same path as one from X or IMAP: dedupe, identity linking, case placement, scoring,
events, and the live console. The script (``monitor.demo.script``) shows what the
console is for, so the queue visibly fills and re-orders. Customers answer some staff
replies (``monitor.demo.reactions``), and replies, alerts
and Slack invites go to simulated vendors (``monitor.demo.responders``) through the
production workers (built in ``monitor.wiring.demo``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.cases import service as queue
from monitor.config import (
    DatabaseSettings,
    EmailSourceSettings,
    LoadedConfig,
    QueueSettings,
    RespondersSettings,
    ScoringSettings,
    ServerSettings,
    Settings,
    SmtpResponderSettings,
    SourcesSettings,
)
from monitor.demo.reactions import SentReply, answer
from monitor.demo.script import (
    CHATTER,
    HISTORY,
    OUTAGE_STATUS,
    OUTAGE_TITLE,
    OUTAGE_WORKAROUND,
    STREAM,
    Line,
)
from monitor.incidents import service as incidents
from monitor.ingest.service import IngestOptions, ingest_batch
from monitor.mentions import Author, Channel, IdentityKind
from monitor.models import Case, Mention, Reply, ReplyState, Role, Staff
from monitor.priority.service import Scorer
from monitor.promises import service as promises
from monitor.sources.base import Batch, Cursor
from monitor.staff import accounts

DEMO_USER = "demo"
DEMO_EMAIL = "demo@acme.example"  # the demo lead's Slack alerts go to this address
OUR_ADDRESS = "support@acme.example"
CHATTER_EVERY = timedelta(seconds=25)
ANY_ADDRESS = frozenset({"0.0.0.0", "::"})  # noqa: S104 (only to print a usable URL)


@dataclass
class DemoSource:
    """The scripted stream as a Source: what is due by ``now`` after the cursor, then
    the customers' answers to staff replies (``replies`` reads those from the database;
    the cursor remembers which were answered)."""

    run: str
    started_at: datetime
    name: str = "demo:stream"
    stream: tuple[tuple[float, Line], ...] = STREAM
    chatter: tuple[tuple[Author, str, bool], ...] = CHATTER
    replies: Callable[[datetime], Sequence[SentReply]] | None = None
    fetches: int = field(default=0, init=False)

    def due(self, now: datetime, answered: frozenset[str] = frozenset()) -> list[Line | None]:
        """What is due by ``now``, in order; None for a chatter line its author, having
        been answered (a handle in ``answered``), no longer writes (it keeps its place)."""
        elapsed = (now - self.started_at).total_seconds()
        lines: list[Line | None] = [line for after, line in self.stream if after <= elapsed]
        end = self.stream[-1][0] if self.stream else 0
        extra = int(max(0.0, elapsed - end) // CHATTER_EVERY.total_seconds())
        for i in range(min(extra, 500)):
            author, text, while_unanswered = self.chatter[i % len(self.chatter)]
            if while_unanswered and author.handle in answered:
                lines.append(None)
                continue
            channel = Channel.EMAIL if author.kind == IdentityKind.EMAIL else Channel.X
            subject = "Feedback" if channel == Channel.EMAIL else None
            lines.append(Line(f"chatter-{i}", author, channel, text, subject=subject))
        return lines

    def fetch(self, cursor: Cursor | None, *, now: datetime) -> Batch:
        self.fetches += 1
        ours = bool(cursor) and cursor is not None and cursor.get("run") == self.run
        pos = int(cursor.get("pos", 0)) if cursor and ours else 0
        answered = [int(i) for i in (cursor.get("answered") or [])] if cursor and ours else []
        heard = set(cursor.get("heard") or []) if cursor and ours else set()
        sent_replies = list(self.replies(now)) if self.replies else []
        heard.update(sent.author.handle for sent in sent_replies)
        fresh = self.due(now, frozenset(heard))[pos:]
        mentions = [line.build(self.run, now) for line in fresh if line is not None]
        for sent in sent_replies:
            if sent.reply_id in answered or now < sent.due_at:
                continue
            answered.append(sent.reply_id)
            if (m := answer(sent, run=self.run, now=now)) is not None:
                mentions.append(m)
        cursor_out = {
            "run": self.run,
            "pos": pos + len(fresh),
            "answered": answered[-500:],
            "heard": sorted(heard),
        }
        return Batch(mentions=mentions, next_cursor=cursor_out)


def demo_settings(url: str, host: str, port: int) -> LoadedConfig:
    """Defaults, except: waiting cases are re-scored every minute and waiting counts a
    point a minute (not 0.5 an hour), so a newcomer can watch scores climb."""
    settings = Settings(
        database=DatabaseSettings(url=url),
        server=ServerSettings(host=host, port=port, secure_cookies=False, run_scheduler=True),
        sources=SourcesSettings(email=EmailSourceSettings(own_addresses=(OUR_ADDRESS,))),
        responders=RespondersSettings(email=SmtpResponderSettings(from_address=OUR_ADDRESS)),
        scoring=ScoringSettings(wait_points_per_hour=60.0),
        queue=QueueSettings(rescore_minutes=1),
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
            email=DEMO_EMAIL,
        )
    staff.password_hash = accounts.hash_password(password)
    staff.active = True
    staff.email = staff.email or DEMO_EMAIL
    return staff


def _answer(
    session: Session, line: Line, *, run: str, now: datetime, staff: Staff, body: str
) -> tuple[Case, Reply] | None:
    """A back-dated staff reply to the history message ``line`` (already sent)."""
    ext = line.build(run, now).external_id
    mention = session.scalar(select(Mention).where(Mention.external_id == ext))
    if mention is None:
        return None
    case = queue.get_case(session, mention.case_id)
    at = now - line.ago + timedelta(hours=1)
    reply = Reply(
        case_id=case.id,
        mention_id=mention.id,
        staff_id=staff.id,
        channel=case.channel,
        body=body,
        idempotency_key=f"demo-{run}-{line.key}-reply",
        state=ReplyState.SENT,
        created_at=at,
        sent_at=at,
        external_id=f"demo-{run}-{line.key}-reply",
    )
    session.add(reply)
    session.flush()
    queue.record_staff_reply(case, now=at, reply=reply)
    case.apologised_at = case.listened_at = case.agreed_at = at
    return case, reply


def seed(session: Session, *, run: str, now: datetime, scorer: Scorer, staff: Staff) -> None:
    """Back-dated history; staff replies with two promises: a replacement charger now
    overdue (the clock alerts at once), and a Slack invite the app performs."""
    options = IngestOptions(own_addresses=(OUR_ADDRESS,))
    mentions = [line.build(run, now) for line in HISTORY]
    batch = Batch(mentions=mentions, next_cursor={"run": run})
    ingest_batch(session, batch, source="demo:history", now=now, scorer=scorer, options=options)
    session.flush()
    by_key = {line.key: line for line in HISTORY}
    body = "So sorry Tom! We'll send you a replacement charger by Friday."
    if found := _answer(session, by_key["tom-1"], run=run, now=now, staff=staff, body=body):
        tom, reply = found
        promises.create(
            session,
            case=tom,
            kind="fix",
            wording="a replacement charger by Friday",
            due_at=now - timedelta(hours=6),
            owner=staff,
            now=reply.created_at,
            reply_id=reply.id,
            actor=staff.name,
        )
    body = "Hi Sam, lovely idea! I'll add you to our #acme-riders Slack channel today."
    if found := _answer(session, by_key["sam-1"], run=run, now=now, staff=staff, body=body):
        sam, reply = found
        promises.create(
            session,
            case=sam,
            kind="slack_invite",
            wording="an invite to our #acme-riders Slack channel today",
            due_at=now + timedelta(hours=4),
            owner=staff,
            now=reply.created_at,
            reply_id=reply.id,
            actor=staff.name,
        )
    declare_outage(session, run=run, now=now, staff=staff)


def declare_outage(session: Session, *, run: str, now: datetime, staff: Staff) -> None:
    """The small outage: an incident, identified, with two of its cases attached."""
    inc = incidents.declare(
        session,
        title=OUTAGE_TITLE,
        status_text=OUTAGE_STATUS,
        workaround=OUTAGE_WORKAROUND,
        terms=["E503", "sync"],
        asks=["app_version", "device"],
        state="identified",
        staff=staff,
        now=now - timedelta(minutes=25),
    )
    by_key = {line.key: line for line in HISTORY}
    exts = [by_key[k].build(run, now).external_id for k in ("noor-1", "ben-1")]
    case_ids = list(session.scalars(select(Mention.case_id).where(Mention.external_id.in_(exts))))
    incidents.attach(session, inc, case_ids, staff=staff, now=now - timedelta(minutes=25))


def welcome(url: str, password: str, db_path: Path, outbox: Path) -> list[str]:
    """The start-up message: where, who, and what to try first."""
    return [
        "complaint-monitor demo: a support desk with simulated customers "
        "(no credentials, no network)",
        "",
        f"  console:   {url}",
        f"  sign in:   {DEMO_USER} / {password}   (a team lead)",
        f"  database:  {db_path}",
        f"  outbox:    {outbox}   (what the simulated X, email and Slack received)",
        "",
        "What to try:",
        "  1. Watch the queue: X mentions and emails arrive every few seconds and re-order",
        "     it by frustration; waiting scores climb a point a minute (demo speed).",
        "  2. Open Priya Natarajan: she emailed twice, then tweeted (a channel hop); her",
        "     order number is already picked out. Write her a personal reply and send it:",
        "     it is delivered within seconds, and she may answer back.",
        "  3. Tom Becker's promise is overdue: the Slack alerts it raised are shown below",
        "     and on his case.",
        "  4. Sam Okafor was promised a Slack invite: the app sends it, sees him accept",
        "     (about 20 s) and marks the promise kept, then prompts you to follow up.",
        "",
        "Simulated deliveries are printed below as they happen. Ctrl-C stops the demo.",
    ]
