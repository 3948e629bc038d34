"""The demo's customers answer back: after a staff reply, some write again.

A reply sent during the demo gets, a few seconds later, one of three outcomes picked
from its id (so a run is reproducible): the customer thanks us, says it is still not
working, or stays quiet. The answer is an ordinary inbound message on the channel of
the reply, threaded to the customer's message it answered, so it goes through the real
poller and ingest like everything else: it lands on the same case and moves it in the
queue (a "still not working" climbs, a "thanks" reopens the case as a quick one).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from monitor.mentions import Author, Channel, IdentityKind, MentionIn
from monitor.models import Identity, Mention, Reply, ReplyState

WINDOW = timedelta(minutes=10)  # replies older than this get no answer any more
THANKS, STILL_BROKEN, QUIET = "thanks", "still_broken", "quiet"
TEXTS = {
    (THANKS, Channel.X): "@acme thanks, that's exactly what I needed!",
    (THANKS, Channel.X_DM): "thanks!! that sorts it",
    (THANKS, Channel.EMAIL): "Thank you, that's sorted now. Much appreciated!",
    (STILL_BROKEN, Channel.X): "@acme tried that just now. Still not working. Seriously?",
    (STILL_BROKEN, Channel.X_DM): "did what you said, still not working",
    (STILL_BROKEN, Channel.EMAIL): "I tried what you suggested and it is still not working. "
    "This is getting really frustrating.",
}


@dataclass(frozen=True)
class SentReply:
    """A staff reply the simulated customer may answer, with what threading needs."""

    reply_id: int
    channel: Channel
    sent_at: datetime
    external_id: str | None  # our tweet id / Message-ID
    answered: str  # the customer's message the reply answered (its external id)
    subject: str | None
    author: Author

    @property
    def reaction(self) -> str:
        return (QUIET, THANKS, STILL_BROKEN)[self.reply_id % 3]

    @property
    def due_at(self) -> datetime:
        return self.sent_at + timedelta(seconds=8 + 3 * (self.reply_id % 4))


def sent_replies(session: Session, *, since: datetime) -> list[SentReply]:
    """Staff replies sent since ``since``, with the customer message each answered."""
    rows = session.execute(
        select(
            Reply.id,
            Reply.channel,
            Reply.sent_at,
            Reply.external_id,
            Mention.external_id,
            Mention.subject,
            Identity,
        )
        .join(Mention, Mention.id == Reply.mention_id)
        .join(Identity, Identity.id == Mention.identity_id)
        .where(
            Reply.state == ReplyState.SENT,
            Reply.staff_id.is_not(None),
            Reply.sent_at >= since,
        )
        .order_by(Reply.id)
    ).all()
    found = []
    for reply_id, channel, sent_at, ext, answered, subject, ident in rows:
        author = Author(
            IdentityKind(ident.kind), ident.handle, ident.username, ident.name, ident.followers
        )
        found.append(SentReply(reply_id, Channel(channel), sent_at, ext, answered, subject, author))
    return found


def reader(
    sessions: sessionmaker[Session], started_at: datetime
) -> Callable[[datetime], Sequence[SentReply]]:
    """``DemoSource.replies``: the recent replies of this demo run."""

    def read(now: datetime) -> Sequence[SentReply]:
        with sessions() as session:
            return sent_replies(session, since=max(started_at, now - WINDOW))

    return read


def answer(sent: SentReply, *, run: str, now: datetime) -> MentionIn | None:
    """The customer's answer to ``sent`` (None: they stay quiet)."""
    kind = sent.reaction
    if kind == QUIET:
        return None
    text = TEXTS[(kind, sent.channel)]
    email = sent.channel == Channel.EMAIL
    ext = f"demo-{run}-answer-{sent.reply_id}"
    if email:
        ext = f"<{ext}@demo.complaint-monitor>"
    refs = tuple(r for r in (sent.answered, sent.external_id) if r)
    subject = None
    if email:
        base = sent.subject or "your message"
        subject = base if base.lower().startswith("re:") else f"Re: {base}"
    return MentionIn(
        channel=sent.channel,
        external_id=ext,
        author=sent.author,
        text=text,
        text_for_scoring=text,
        created_at=now,
        raw=f"demo answer to reply {sent.reply_id}: {text}".encode(),
        public=sent.channel == Channel.X,
        subject=subject,
        in_reply_to=sent.external_id,
        thread_refs=refs,
    )
