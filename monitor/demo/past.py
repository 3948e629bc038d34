"""Four weeks of the desk's past, so the demo's reports page has something to show.

Written by the project (no real people). Each past complaint goes in through the real
ingest, back-dated to when it was sent; then simulated colleagues work it through the
real domain functions at the times they would have: open it, reply, agree, make and
keep (or break, or withdraw) a promise, confirm the suggested cause, resolve it, keep
the check-in, and send a survey that the customer answers. Nothing here is sent: the
replies are recorded as already delivered, like the demo's history.
"""

from __future__ import annotations

import random
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.cases import assignment
from monitor.cases import service as queue
from monitor.config import ReportsSettings, ScoringSettings
from monitor.ingest.service import IngestOptions, ingest_batch
from monitor.mentions import Author, Channel, IdentityKind, MentionIn
from monitor.models import Case, Mention, Promise, Reply, ReplyState, Role, Staff
from monitor.priority.service import Scorer
from monitor.promises import service as promises
from monitor.reports import service as causes
from monitor.reports import surveys
from monitor.sources.base import Batch
from monitor.staff import accounts

DAYS = 28
COMPLAINTS = (
    (
        "I was charged twice for my subscription this month, please refund the second payment",
        "refund",
        "We'll refund the second payment within 3 days.",
    ),
    (
        "My invoice shows the old price again, I was billed 18 EUR instead of 12",
        "credit",
        "I'll credit the difference to your account today.",
    ),
    (
        "My parcel never arrived and the tracking page has said 'in transit' for a week",
        "investigate",
        "I'll chase the courier and get back to you tomorrow.",
    ),
    (
        "The order was delivered to the wrong address, a neighbour brought me the package",
        "fix",
        "We'll fix the address on your account today.",
    ),
    (
        "The app crashes every time I open my order history, since the last update",
        "fix",
        "Our developers will ship a fix by Friday.",
    ),
    (
        "App freezes on the payment screen and then shows error 503",
        "investigate",
        "I'll look into the error with the team and write back tomorrow.",
    ),
    (
        "I signed up a week ago and still have no invite to the community Slack",
        "slack_invite",
        "I'll add you to our Slack channel today.",
    ),
    (
        "Locked out of my account, the password reset email never comes",
        "callback",
        "I'll call you back this afternoon to unlock it.",
    ),
)
NAMES = (
    "Alex",
    "Bea",
    "Chen",
    "Dara",
    "Eli",
    "Fatima",
    "Goran",
    "Hana",
    "Ines",
    "Jonas",
    "Kemal",
    "Lena",
    "Moritz",
    "Nadia",
    "Oskar",
    "Paula",
    "Quinn",
    "Rosa",
    "Stefan",
    "Tariq",
    "Uma",
    "Vera",
    "Wen",
    "Yusuf",
)
COLLEAGUES = (("maria", "Maria"), ("omar", "Omar"))
SECRET_SALT = "demo-past"  # noqa: S105 - signs survey links made and answered right here


def colleagues(session: Session, *, now: datetime) -> list[Staff]:
    found = []
    for name, display in COLLEAGUES:
        staff = session.scalar(select(Staff).where(Staff.name == name))
        if staff is None:  # simulated agents: nobody signs in as them (random password)
            staff = accounts.create_staff(
                session,
                name=name,
                password=secrets.token_urlsafe(16),
                role=Role.AGENT,
                now=now,
                display_name=display,
            )
        found.append(staff)
    return found


def _author(i: int) -> tuple[Author, Channel]:
    name = NAMES[i % len(NAMES)]
    if i % 3 == 0:
        handle = f"{name.lower()}@example.org"
        return Author(IdentityKind.EMAIL, handle, handle, name), Channel.EMAIL
    return Author(
        IdentityKind.X, str(9100 + i), f"{name.lower()}_{i}", name, 150 + 40 * i
    ), Channel.X


def _reply(session: Session, case: Case, staff: Staff, body: str, at: datetime, key: str) -> Reply:
    reply = Reply(
        case_id=case.id,
        staff_id=staff.id,
        channel=case.channel,
        body=body,
        idempotency_key=key,
        state=ReplyState.SENT,
        created_at=at,
        sent_at=at,
        external_id=key,
    )
    session.add(reply)
    session.flush()
    queue.record_staff_reply(case, now=at, reply=reply)
    if case.apologised_at is None:
        case.apologised_at = at
    return reply


def seed_past(
    session: Session, *, run: str, now: datetime, scorer: Scorer, lead: Staff, count: int = 48
) -> int:
    """``count`` complaints over the last four weeks, worked through; returns how many."""
    rng = random.Random(run)  # noqa: S311 - a story, not a secret
    team = [lead, *colleagues(session, now=now - timedelta(days=DAYS + 1))]
    settings = ReportsSettings()
    options = IngestOptions()
    for i in range(count):
        text, kind, wording = COMPLAINTS[rng.randrange(len(COMPLAINTS))]
        author, channel = _author(rng.randrange(len(NAMES) * 2) if i % 4 == 0 else i)
        at = now - timedelta(days=DAYS * (count - i) / count, hours=rng.random() * 6)
        ext = f"demo-{run}-past-{i}"
        mention = MentionIn(
            channel=channel,
            external_id=ext,
            author=author,
            text=text,
            text_for_scoring=text,
            created_at=at,
            raw=text.encode(),
            public=channel == Channel.X,
            subject="Help" if channel == Channel.EMAIL else None,
            thread_refs=(ext,) if channel != Channel.EMAIL else (),
        )
        batch = Batch(mentions=[mention], next_cursor={"run": run, "pos": i})
        ingest_batch(session, batch, source="demo:past", now=at, scorer=scorer, options=options)
        case_id = session.scalar(select(Mention.case_id).where(Mention.external_id == ext))
        assert case_id is not None
        try:
            _work(
                session,
                case_id,
                i,
                rng,
                team=team,
                at=at,
                now=now,
                kind=kind,
                wording=wording,
                settings=settings,
                run=run,
            )
        except (queue.QueueError, promises.PromiseError):
            continue  # a returning customer's case someone else holds: left as it is
    return count


def _work(
    session: Session,
    case_id: int,
    i: int,
    rng: random.Random,
    *,
    team: list[Staff],
    at: datetime,
    now: datetime,
    kind: str,
    wording: str,
    settings: ReportsSettings,
    run: str,
) -> None:
    staff = team[i % len(team)]
    clock = at + timedelta(minutes=10 + rng.random() * 180)
    case = queue.get_case(session, case_id)
    assignment.assign(session, case, to=staff, by=staff, now=clock)  # takes it on
    queue.claim(session, case_id, staff=staff, now=clock, timeout=timedelta(minutes=15))
    clock += timedelta(minutes=5 + rng.random() * 40)
    name = case.customer.display_name if case.customer else "there"
    reply = _reply(
        session,
        case,
        staff,
        f"Hi {name}, I'm sorry about this. {wording}",
        clock,
        f"demo-{run}-past-{i}-reply",
    )
    queue.advance_stage(session, case, "agreed", actor=staff, now=clock, text=wording)
    causes.store_suggestion(session, case, settings=settings, now=clock)
    if case.cause and rng.random() < 0.7:
        causes.set_cause(session, case, cause=case.cause, staff=staff, settings=settings, now=clock)
    due = clock + timedelta(hours=4 + rng.random() * 44)
    promise = promises.create(
        session,
        case=case,
        kind=kind,
        wording=wording,
        due_at=due,
        owner=staff,
        now=clock,
        reply_id=reply.id,
        actor=staff.name,
    )
    settle = rng.random()
    if settle < 0.6:
        done = due - timedelta(hours=rng.random() * 3)
    elif settle < 0.8:
        done = due + timedelta(hours=1 + rng.random() * 20)
    else:
        done = due
    if done >= now and due >= now:
        return  # not due yet: the promise clock looks after it
    done = min(done, now - timedelta(minutes=5))  # none of the past is overdue now
    if settle < 0.8:
        promises.fulfil(session, promise, evidence={"note": "done"}, now=done, actor=staff.name)
    elif settle < 0.9:
        promises.mark_broken(
            session, promise, reason="could not be done in time", now=done, actor=staff.name
        )
    else:
        promises.cancel(session, promise, reason="made in error", now=done, actor=staff.name)
    resolved = done + timedelta(hours=1)
    if resolved >= now:
        return
    queue.advance_stage(
        session, case, "resolved", actor=staff, now=resolved, check_in_after=timedelta(hours=48)
    )
    _check_in(session, case, staff, i, rng, resolved=resolved, now=now, settings=settings, run=run)


def _check_in(
    session: Session,
    case: Case,
    staff: Staff,
    i: int,
    rng: random.Random,
    *,
    resolved: datetime,
    now: datetime,
    settings: ReportsSettings,
    run: str,
) -> None:
    when = resolved + timedelta(hours=20 + rng.random() * 40)
    if when >= now:
        return
    check = session.scalar(
        select(Promise).where(
            Promise.case_id == case.id, Promise.kind == "check_in", Promise.state == "open"
        )
    )
    if check is not None:
        promises.fulfil(
            session, check, evidence={"note": "checked in personally"}, now=when, actor=staff.name
        )
    if rng.random() < 0.3 or when + timedelta(hours=3) >= now:
        return
    secret = f"{SECRET_SALT}-{run}"
    _, token = surveys.make_link(
        session, case, staff=staff, secret=secret, settings=settings, now=when
    )
    rating = rng.choice((3, 4, 4, 5, 5, 5))  # the demo's queue stays as the script made it
    surveys.answer(
        session,
        token,
        rating=rating,
        comment="",
        secret=secret,
        settings=settings,
        scoring=ScoringSettings(),
        now=when + timedelta(hours=2),
    )
