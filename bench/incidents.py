"""An outage: 5,000 complaints in 10 minutes, with an incident open, on SQLite and PostgreSQL.

The complaints are written by this script (one login crash, many phrasings, X and email,
a tenth unrelated), stamped over 10 simulated minutes and ingested in pages of 100 as
the pollers would, with the real scorer. After the first 200, a lead declares the
incident and attaches 20 cases; every 1,000 complaints staff attach what the incident
page suggests. Prints, per backend:

- ingest: complaints per second, beside the rate the outage needs (5,000 / 600 s);
- suggestions for a new complaint (which open incident?), p50 / p95, goal p95 < 50 ms,
  with the per-process reference cache the app keeps, beside the same call without it
  and the cost of vectorising the incident's 100 reference cases (measured in the run);
- the incident page's suggestions (open cases like the attached ones), per call;
- the queue's first page, p50 / p95, before the outage and after it, goal p95 < 50 ms.

    .venv/bin/python bench/incidents.py [--complaints 5000] [--samples 200]
        [--backends sqlite,postgresql] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, select, text

# Run as `python bench/incidents.py`, this folder comes first on sys.path, and its
# queue.py would shadow the standard library's `queue`: drop it, add the checkout.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from monitor.cases.queries import list_queue
from monitor.config import ScoringSettings
from monitor.db import make_engine, make_sessionmaker
from monitor.incidents import queries, similar
from monitor.incidents import service as incidents
from monitor.ingest.service import IngestOptions, ingest_batch
from monitor.mentions import Author, Channel, IdentityKind, MentionIn
from monitor.models import Case, CaseStatus
from monitor.priority.service import ModelScorer
from monitor.scoring import load_model
from monitor.sources.base import Batch
from monitor.storage import migrate

T0 = datetime(2026, 12, 2, 8, 10, tzinfo=UTC)
OPENINGS = (
    "The app crashes as soon as I try to log in", "Cant log in anymore, the app just crashes",
    "Your app keeps crashing at the login screen", "Login is broken, app crashes every time",
    "Since this morning the app crashes when I log in", "App crashed again on login!!",
    "I can't get past the login, it crashes", "Every login attempt crashes the app",
)  # fmt: skip
DETAILS = (
    "I get error E503 on the login screen.", "It shows error E503 and closes.",
    "error E503 every single time", "Says E503 then goes back to the home screen.",
    "Reinstalled twice, still broken.", "I have a meeting in an hour and need it!", "",
)  # fmt: skip
DEVICES = ("on my Pixel 8", "on iPhone 15", "on a Galaxy S23", "on my iPad", "on Android 14", "")
UNRELATED = (
    "Where is my refund for order {n}? It has been three weeks.",
    "The courier left parcel {n} in the rain, the box is soaked.",
    "I was charged twice for my subscription this month, invoice {n}.",
    "Your store closed early and nobody told us, I drove {n} km for nothing.",
)


def complaint(i: int, rng: random.Random) -> str:
    if rng.random() < 0.1:
        return rng.choice(UNRELATED).format(n=rng.randint(1000, 99999))
    parts = [rng.choice(OPENINGS), rng.choice(DEVICES), ". " + rng.choice(DETAILS)]
    return " ".join(p for p in parts if p).replace(" .", ".").strip()


def mention(i: int, text_: str, at: datetime) -> MentionIn:
    if i % 3 == 2:
        addr = f"customer{i}@example.org"
        author = Author(kind=IdentityKind.EMAIL, handle=addr, username=addr, name=f"Customer {i}")
        return MentionIn(
            channel=Channel.EMAIL, external_id=f"<o{i}@example.org>", author=author, text=text_,
            text_for_scoring=text_, created_at=at, raw=text_.encode(), public=False,
            subject="App crash", thread_refs=(f"<o{i}@example.org>",),
        )  # fmt: skip
    author = Author(kind=IdentityKind.X, handle=f"u{i}", username=f"user{i}", name=f"User {i}",
                    followers=100 + i)  # fmt: skip
    return MentionIn(
        channel=Channel.X, external_id=str(9_000_000 + i), author=author, text=text_,
        text_for_scoring=text_, created_at=at, raw=text_.encode(), public=True,
        thread_refs=(str(9_000_000 + i),),
    )  # fmt: skip


def is_unrelated(text_: str) -> bool:
    return any(u.split("{n}")[0] in text_ for u in UNRELATED)


def pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(q * len(s)))] * 1000


def fmt(samples: list[float]) -> str:
    return f"p50 {pct(samples, 0.5):6.1f} ms   p95 {pct(samples, 0.95):6.1f} ms"


def queue_latency(sessions, n: int, now: datetime) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(n):
        with sessions() as s:
            t = time.perf_counter()
            list_queue(s, now=now)
            out.append(time.perf_counter() - t)
    return out


def run(url: str, n: int, samples: int) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine)
    sessions = make_sessionmaker(engine)
    scorer = ModelScorer(load_model(None), ScoringSettings())
    rng = random.Random(19)
    texts = [complaint(i, rng) for i in range(n)]
    step = timedelta(seconds=600 / n)
    opts = IngestOptions(own_addresses=("support@acme.test",))
    before = queue_latency(sessions, samples, T0)
    incident_id = None
    page_suggest: list[float] = []
    ingest_seconds = 0.0
    for start in range(0, n, 100):
        now = T0 + step * (start + 100)
        page = [mention(i, texts[i], T0 + step * i) for i in range(start, min(n, start + 100))]
        t = time.perf_counter()
        with sessions.begin() as s:
            batch = Batch(mentions=page, next_cursor={"pos": start + 100}, quarantined=[])
            ingest_batch(s, batch, source="bench", now=now, scorer=scorer, options=opts)
        ingest_seconds += time.perf_counter() - t
        if start + 100 == 200:
            with sessions.begin() as s:
                inc = incidents.declare(
                    s,
                    title="Login crash (E503)",
                    terms=["E503"],
                    status_text="Logins fail on the app.",
                    staff=None,
                    now=now,
                )
                # staff attach 20 complaints they read as this fault
                early = queries.case_texts(s, s.scalars(select(Case.id).order_by(Case.id)))
                first = [c for c, t_ in early.items() if not is_unrelated(t_)][:20]
                incidents.attach(s, inc, first, staff=None, now=now, how="bulk")
                incident_id = inc.id  # fmt: skip
        if incident_id is not None and (start + 100) % 1000 == 0:
            with sessions.begin() as s:
                inc = incidents.get(s, incident_id)
                t = time.perf_counter()
                found = queries.suggest_cases(s, inc, limit=5000)
                page_suggest.append(time.perf_counter() - t)
                incidents.attach(s, inc, [f.case_id for f in found], staff=None, now=now,
                                 how="suggestion")  # fmt: skip
    end = T0 + timedelta(minutes=10)
    with sessions() as s:
        open_cases = s.query(Case).filter(Case.status == CaseStatus.OPEN).count()
        attached_ids = queries.attached_case_ids(s, incident_id or 0)
        attached = len(attached_ids)
        wrong = sum(1 for t_ in queries.case_texts(s, attached_ids).values() if is_unrelated(t_))
    outage_total = sum(1 for t_ in texts if not is_unrelated(t_))
    probe = random.Random(5)
    new_texts = [complaint(n + i, probe) for i in range(samples)]
    if engine.dialect.name == "postgresql":  # as autovacuum would have by now
        with engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()
    suggest: list[float] = []
    uncached: list[float] = []
    cache = queries.ReferenceCache()  # as app.state keeps it
    with sessions() as s:
        for t_ in new_texts:
            t = time.perf_counter()
            queries.suggest_incidents(s, t_, cache=cache)
            suggest.append(time.perf_counter() - t)
            t = time.perf_counter()
            queries.suggest_incidents(s, t_)
            uncached.append(time.perf_counter() - t)
        ref_ids = queries.attached_case_ids(s, incident_id or 0, newest=queries.REFERENCES)
        refs = list(queries.case_texts(s, ref_ids).values())
    floor = []
    for t_ in new_texts:
        t = time.perf_counter()
        similar.best_similarities(similar.vectorise([t_]), similar.vectorise(refs))
        floor.append(time.perf_counter() - t)
    after = queue_latency(sessions, samples, end)
    rate = n / ingest_seconds
    print(f"  ingest: {n} complaints in {ingest_seconds:.1f} s = {rate:,.0f}/s "
          f"(the outage needs {n / 600:.1f}/s: {rate / (n / 600):,.0f}x headroom)")  # fmt: skip
    print(f"  incident: {attached} of {outage_total} outage complaints attached via suggestions, "
          f"{wrong} unrelated among them; {open_cases} open cases")  # fmt: skip
    print(f"  suggestions for a new complaint   {fmt(suggest)}   (goal p95 < 50 ms)")
    print(f"    without the reference cache      {fmt(uncached)}")
    print(f"    vectorising its 100 references   {fmt(floor)}   (what the cache saves)")
    calls = ", ".join(f"{x * 1000:.0f} ms" for x in page_suggest)
    print(f"  incident page suggestions         {calls} (one per 1,000 complaints)")
    print(f"  queue first page, before outage   {fmt(before)}")
    print(f"  queue first page, after outage    {fmt(after)}   (goal p95 < 50 ms)")
    engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--complaints", type=int, default=5000)
    ap.add_argument("--samples", type=int, default=200)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()
    for backend in args.backends.split(","):
        print(f"{backend}:", flush=True)
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as d:
                run(f"sqlite:///{d}/bench.db", args.complaints, args.samples)
            continue
        admin = create_engine(args.pg.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
        name = f"cm_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            run(args.pg.rsplit("/", 1)[0] + "/" + name, args.complaints, args.samples)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
