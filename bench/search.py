"""Search latency over 1,000,000 mentions, on SQLite (FTS5) and PostgreSQL (tsvector + GIN).

Loads the mentions through the migrated schema (the SQLite triggers and the PostgreSQL
expression indexes index them as they arrive), then times ``monitor.search.search``: the
whole search a staff member's box runs (customers, mentions, replies, notes). Word
queries are drawn from the vocabulary by frequency (common, middling, rare words), plus
order numbers and two-word and phrase queries. Beside them, in the same run, the floor
(the newest 20 mentions, no search at all) and the naive way (``LIKE '%word%'``) for rare
words, which the indexes replace.

Goal: a word query p95 < 100 ms with 1,000,000 mentions on both databases.

    .venv/bin/python bench/search.py [--mentions 1000000] [--queries 300]
        [--backends sqlite,postgresql] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]

The PostgreSQL run creates (and drops) its own database on the given server.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, create_engine, insert, text
from sqlalchemy.engine import make_url

from monitor.db import make_engine, make_sessionmaker
from monitor.models import Case, Customer, Identity, Mention
from monitor.search.queries import search
from monitor.storage import migrate

CHUNK = 20_000
VOCABULARY = 20_000
WORDS_PER_MENTION = 14
CUSTOMERS = 50_000
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
PG_INDEX = (  # as migration 0110 creates it
    "CREATE INDEX ix_search_mentions ON mentions USING gin (search_vector)"
)


def pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))]


def fmt(samples: list[float]) -> str:
    return (
        f"p50 {pct(samples, 50) * 1000:7.1f} ms   p95 {pct(samples, 95) * 1000:7.1f} ms   "
        f"max {max(samples) * 1000:7.1f} ms   (n={len(samples)})"
    )


def vocabulary() -> tuple[list[str], list[float]]:
    """Made-up words with Zipf frequencies (rank r is seen about 1/r as often)."""
    rng = random.Random(17)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words: list[str] = []
    seen: set[str] = set()
    while len(words) < VOCABULARY:
        w = "".join(rng.choice(letters) for _ in range(rng.randint(3, 9)))
        if w not in seen:
            seen.add(w)
            words.append(w)
    return words, [1.0 / (r + 1) for r in range(VOCABULARY)]


def load(engine: Engine, n: int) -> None:
    """``n`` mentions over ``CUSTOMERS`` customers (one case each), bulk Core inserts."""
    words, weights = vocabulary()
    rng = random.Random(5)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        for start in range(1, CUSTOMERS + 1, CHUNK):
            ids = range(start, min(CUSTOMERS, start + CHUNK - 1) + 1)
            conn.execute(
                insert(Customer.__table__),
                [
                    {"id": i, "display_name": f"Customer {i}", "value": 0.0, "created_at": NOW}
                    for i in ids
                ],
            )
            conn.execute(
                insert(Identity.__table__),
                [
                    {
                        "id": i,
                        "customer_id": i,
                        "kind": "x",
                        "handle": f"b{i}",
                        "username": f"user{i}",
                        "linked_by": "auto",
                        "created_at": NOW,
                    }
                    for i in ids
                ],
            )
            conn.execute(
                insert(Case.__table__),
                [
                    {
                        "id": i,
                        "customer_id": i,
                        "status": "open",
                        "channel": "x",
                        "subject": "",
                        "priority": 10.0,
                        "score": 10,
                        "band": "low",
                        "reasons": [],
                        "unanswered_count": 1,
                        "public": True,
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                    for i in ids
                ],
            )
    pg = engine.dialect.name == "postgresql"
    if pg:  # bulk load first, then build the GIN index once (as a restore would)
        with engine.begin() as conn:
            conn.execute(text("DROP INDEX ix_search_mentions"))
    with engine.begin() as conn:
        for start in range(1, n + 1, CHUNK):
            rows = []
            for i in range(start, min(n, start + CHUNK - 1) + 1):
                body = rng.choices(words, weights, k=WORDS_PER_MENTION)
                if i % 100 == 0:
                    body.insert(3, f"order #A-{i:07d}")
                customer = 1 + i % CUSTOMERS
                at = NOW - timedelta(seconds=(n - i) * 30)
                rows.append(
                    {
                        "id": i,
                        "channel": "x",
                        "external_id": f"bench-{i}",
                        "source": "bench",
                        "customer_id": customer,
                        "identity_id": customer,
                        "case_id": customer,
                        "author": f"user{customer}",
                        "text": " ".join(body),
                        "text_for_scoring": "",
                        "public": True,
                        "thread_refs": [],
                        "attachments": [],
                        "created_at": at,
                        "received_at": at,
                        "raw": b"{}",
                        "reasons": [],
                    }
                )
            conn.execute(insert(Mention.__table__), rows)
            if start % 200_000 == 1:
                print(
                    f"  loaded {start + len(rows) - 1:,} mentions "
                    f"({time.perf_counter() - t0:.0f} s)",
                    flush=True,
                )
    print(f"  loaded {n:,} mentions in {time.perf_counter() - t0:.0f} s", flush=True)
    if pg:
        t1 = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text("SET maintenance_work_mem = '256MB'"))
            conn.execute(text(PG_INDEX))
        print(f"  built the GIN index in {time.perf_counter() - t1:.0f} s", flush=True)
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()


def timed(run: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        run()
        out.append(time.perf_counter() - t)
    return out


def queries(n_mentions: int, count: int) -> dict[str, list[str]]:
    words, _ = vocabulary()
    rng = random.Random(9)
    per = max(1, count // 5)
    return {
        "word, common (rank 1-50)": [rng.choice(words[:50]) for _ in range(per)],
        "word, middling (rank 50-2,000)": [rng.choice(words[50:2000]) for _ in range(per)],
        "word, rare (rank 2,000-20,000)": [rng.choice(words[2000:]) for _ in range(per)],
        "order number (A-0001234)": [
            f"A-{rng.randrange(100, n_mentions, 100):07d}" for _ in range(per)
        ],
        "two words / a phrase": [
            (f'"{a} {b}"' if k % 2 else f"{a} {b}")
            for k, (a, b) in enumerate(
                (rng.choice(words[:300]), rng.choice(words[:300])) for _ in range(per)
            )
        ],
    }


def measure(engine: Engine, n_mentions: int, count: int) -> None:
    sessions = make_sessionmaker(engine)
    qs = queries(n_mentions, count)
    words, _ = vocabulary()
    with sessions() as s:
        for q in qs["word, common (rank 1-50)"][:5]:
            search(s, q)  # warm the caches as a running server's would be
        all_words: list[float] = []
        for label, items in qs.items():
            samples = []
            hits = 0
            for q in items:
                t = time.perf_counter()
                found = search(s, q)
                samples.append(time.perf_counter() - t)
                hits += len(found.mentions)
            if label.startswith("word"):
                all_words += samples
            print(f"  {label:<32} {fmt(samples)}   {hits / len(items):5.1f} hits/query")
        print(f"  {'every word query':<32} {fmt(all_words)}")
        floor = timed(
            lambda: s.execute(text("SELECT id FROM mentions ORDER BY id DESC LIMIT 20")).all(), 50
        )
        print(f"  {'reference: newest 20, no search':<32} {fmt(floor)}")
        rare = words[5000:5003]
        naive = [
            timed(
                lambda w=w: s.execute(
                    text(
                        "SELECT id FROM mentions WHERE lower(text) LIKE :p "
                        "ORDER BY id DESC LIMIT 20"
                    ),
                    {"p": f"%{w}%"},
                ).all(),
                1,
            )[0]
            for w in rare
        ]
        label = "reference: LIKE '%rare word%'"
        print(f"  {label:<32} {fmt(naive)}")


@contextmanager
def database(backend: str, pg: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'search.db'}"
        return
    admin = create_engine(pg, isolation_level="AUTOCOMMIT")
    name = f"cm_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mentions", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()
    for backend in args.backends.split(","):
        print(f"{backend}: {args.mentions:,} mentions, {CUSTOMERS:,} customers", flush=True)
        with database(backend, args.pg) as url:
            engine = make_engine(url)
            try:
                migrate.upgrade(engine)
                load(engine, args.mentions)
                measure(engine, args.mentions, args.queries)
            finally:
                engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
