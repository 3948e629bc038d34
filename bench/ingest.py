"""Ingest throughput, end to end: parse X API pages, link, score, persist.

Prints mentions/s for N generated mentions on SQLite and PostgreSQL, and the ratio to a
raw ``executemany`` insert of the same rows in the same run.

    .venv/bin/python bench/ingest.py [--n 100000] [--pg URL] [--batch 10]
    .venv/bin/python bench/ingest.py --instructions --n 3000 --authors 600  # callgrind, SQLite
    .venv/bin/python bench/ingest.py --phases --skip-pg  # where the time goes, per mention
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/ingest.py`: the repository root first on sys.path, for monitor.
sys.path[0] = str(Path(__file__).resolve().parents[1])

import argparse
import json
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, text

from monitor.config import ScoringSettings
from monitor.db import make_engine, make_sessionmaker
from monitor.ingest.service import IngestOptions, ingest_batch
from monitor.priority.service import ModelScorer
from monitor.scoring import load_model
from monitor.sources.base import Batch
from monitor.sources.twitter import mentions_from_page
from monitor.storage import migrate
from monitor.storage.gc_pause import collector_paused
from monitor.storage.wal_checkpoint import WalCheckpointer

PHRASES = [
    "my order {n} still has not arrived, third time I ask",
    "thanks for the quick help with ticket {n}!",
    "you charged me twice for invoice {n}. Fix it or I cancel",
    "where is the Slack invite you promised? ({n})",
    "app keeps crashing since the update, build {n}",
    "is there a discount for annual plans? ref {n}",
]
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def pages(n: int, authors: int, per_page: int = 100) -> list[bytes]:
    rng = random.Random(7)
    out = []
    base_id = 1_860_000_000_000_000_000
    for start in range(0, n, per_page):
        data, users = [], {}
        for i in range(start, min(n, start + per_page)):
            uid = str(10_000 + rng.randrange(authors))
            users[uid] = {
                "id": uid,
                "username": f"user{uid}",
                "name": f"User {uid}",
                "public_metrics": {"followers_count": rng.randrange(20_000)},
            }
            data.append(
                {
                    "id": str(base_id + i),
                    "author_id": uid,
                    "text": "@acme " + rng.choice(PHRASES).format(n=i),
                    "created_at": (T0 + timedelta(seconds=i))
                    .isoformat()
                    .replace("+00:00", ".000Z"),
                    "conversation_id": str(base_id + i),
                }
            )
        out.append(
            json.dumps(
                {
                    "data": data,
                    "includes": {"users": list(users.values())},
                    "meta": {"result_count": len(data)},
                }
            ).encode()
        )
    return out


def run_ingest(url: str, raw_pages: list[bytes], batch_pages: int, scorer: ModelScorer) -> float:
    engine = make_engine(url)
    migrate.upgrade(engine)
    sessions = make_sessionmaker(engine)
    opts = IngestOptions()
    checkpointer = WalCheckpointer(engine)  # as `serve` and `import` run one
    checkpointer.start()
    start = time.perf_counter()
    total = 0
    for i in range(0, len(raw_pages), batch_pages):
        mentions = []
        for raw in raw_pages[i : i + batch_pages]:
            found, _bad = mentions_from_page(raw, source="bench")
            mentions.extend(found)
        with collector_paused(), sessions.begin() as s:  # as the poller stores a batch
            r = ingest_batch(
                s,
                Batch(mentions, {"page": i}),
                source="bench",
                now=T0 + timedelta(days=1),
                scorer=scorer,
                options=opts,
            )
            assert r is not None
            total += r.new
    elapsed = time.perf_counter() - start
    checkpointer.shutdown()
    engine.dispose()
    return total / elapsed


def run_raw(url: str, raw_pages: list[bytes]) -> float:
    rows = []
    for raw in raw_pages:
        for item in json.loads(raw)["data"]:
            rows.append(
                {
                    "channel": "x",
                    "external_id": item["id"],
                    "author": item["author_id"],
                    "text": item["text"],
                    "created_at": item["created_at"],
                    "raw": json.dumps(item).encode(),
                }
            )
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS raw_bench"))
        blob = "BYTEA" if engine.dialect.name == "postgresql" else "BLOB"
        conn.execute(
            text(
                "CREATE TABLE raw_bench (id INTEGER PRIMARY KEY, channel VARCHAR(16), "
                "external_id VARCHAR(512), author VARCHAR(320), text TEXT, created_at VARCHAR(40), "
                f"raw {blob}, UNIQUE (channel, external_id))"
                if engine.dialect.name == "sqlite"
                else "CREATE TABLE raw_bench (id BIGSERIAL PRIMARY KEY, channel VARCHAR(16), "
                "external_id VARCHAR(512), author VARCHAR(320), text TEXT, created_at VARCHAR(40), "
                f"raw {blob}, UNIQUE (channel, external_id))"
            )
        )
    start = time.perf_counter()
    stmt = text(
        "INSERT INTO raw_bench (channel, external_id, author, text, created_at, raw) "
        "VALUES (:channel, :external_id, :author, :text, :created_at, :raw)"
    )
    for i in range(0, len(rows), 10_000):
        with engine.begin() as conn:
            conn.execute(stmt, rows[i : i + 10_000])
    elapsed = time.perf_counter() - start
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE raw_bench"))
    engine.dispose()
    return len(rows) / elapsed


def pg_database(admin_url: str) -> tuple[str, object]:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"cm_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return admin_url.rsplit("/", 1)[0] + "/" + name, admin


def drop_pg(admin, url: str) -> None:  # type: ignore[no-untyped-def]
    name = url.rsplit("/", 1)[1]
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def timed_phases() -> dict[str, float]:
    """Wrap the steps of a stored batch with timers (this process only); returns the
    running totals in seconds. The wrappers add a little time of their own."""
    from sqlalchemy.engine.default import DefaultDialect

    import monitor.ingest.service as ingest
    from monitor.customers.placement import Placer

    totals: dict[str, float] = {}

    def wrap(owner: object, name: str, label: str) -> None:
        inner = getattr(owner, name)

        def timed(*args: object, **kwargs: object) -> object:
            t = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                totals[label] = totals.get(label, 0.0) + time.perf_counter() - t

        setattr(owner, name, timed)

    wrap(sys.modules[__name__], "mentions_from_page", "parse X pages")
    wrap(ingest, "fit_to_columns", "fit to columns")
    wrap(ingest, "_fresh", "dedupe (lookup stored ids)")
    wrap(Placer, "warm", "  (placement: of it, loading rows)")
    wrap(ingest, "_place_all", "placement (incl. loading rows)")
    wrap(ingest, "rescore_cases", "re-score touched cases")
    wrap(ingest, "write_placement", "write customers, identities, cases")
    wrap(ingest, "mention_row", "encode mention rows")
    wrap(ingest, "event_rows", "encode event rows")
    wrap(ingest, "insert_rows", "insert mentions, events")
    wrap(DefaultDialect, "do_commit", "commit")
    return totals


def count_instructions(n: int, authors: int, batch: int) -> None:
    """Instructions per mention on SQLite, counted by callgrind: unlike seconds, the count
    does not change when other work shares the CPU (I/O wait is not in it)."""
    import os
    import subprocess

    with tempfile.TemporaryDirectory() as tmp:
        out = f"{tmp}/callgrind.out"
        cmd = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}",
            sys.executable,
            __file__,
            "--under-callgrind",
            f"--n={n}",
            f"--authors={authors}",
            f"--batch={batch}",
        ]
        subprocess.run(cmd, check=True, capture_output=True, env=os.environ)
        total = 0
        for name in Path(tmp).glob("callgrind.out*"):
            for line in name.read_text().splitlines():
                if line.startswith("totals:"):
                    total += int(line.split()[1])
                    break
    print(f"sqlite: {total / n:,.0f} instructions per mention ({n} mentions, callgrind)")


def under_callgrind(n: int, authors: int, batch: int) -> None:
    import os
    import subprocess

    scorer = ModelScorer(load_model(None), ScoringSettings())
    with tempfile.TemporaryDirectory() as tmp:
        run_ingest(f"sqlite:///{tmp}/warm.db", pages(1000, 200), batch, scorer)  # imports, caches
        raw_pages = pages(n, authors)
        toggle = ["callgrind_control", "-i"]
        subprocess.run([*toggle, "on", str(os.getpid())], check=True, capture_output=True)
        run_ingest(f"sqlite:///{tmp}/bench.db", raw_pages, batch, scorer)
        subprocess.run([*toggle, "off", str(os.getpid())], check=True, capture_output=True)


def print_phases(seconds: dict[str, float], n: int, rate: float) -> None:
    print(f"  where the time goes (µs per mention; {1e6 / rate:,.0f} in all, incl. timers):")
    for label, total in sorted(seconds.items(), key=lambda kv: -kv[1]):
        print(f"    {label:<40}{total / n * 1e6:>7.1f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--authors", type=int, default=20_000)
    ap.add_argument("--batch", type=int, default=10, help="pages (of 100) per transaction")
    ap.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    ap.add_argument("--skip-pg", action="store_true")
    ap.add_argument(
        "--instructions",
        action="store_true",
        help="count instructions per mention on SQLite with valgrind (try --n 3000 --authors 600)",
    )
    ap.add_argument(
        "--phases", action="store_true", help="also print time per mention of each step"
    )
    ap.add_argument("--under-callgrind", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.instructions:
        count_instructions(args.n, args.authors, args.batch)
        return
    if args.under_callgrind:
        under_callgrind(args.n, args.authors, args.batch)
        return
    raw_pages = pages(args.n, args.authors)
    scorer = ModelScorer(load_model(None), ScoringSettings())
    phases = timed_phases() if args.phases else None
    if phases is not None:
        text_parts = scorer.text_parts

        def timed_text_parts(texts: list[str], channels: list[str]) -> list[dict[str, object]]:
            t = time.perf_counter()
            try:
                return text_parts(texts, channels)
            finally:
                phases["text model"] = phases.get("text model", 0.0) + time.perf_counter() - t

        scorer.text_parts = timed_text_parts  # type: ignore[method-assign]
    print(f"{args.n} mentions from {args.authors} authors, {args.batch * 100} per transaction")
    print(f"{'backend':<12}{'ingest/s':>12}{'raw insert/s':>15}{'ratio':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        ingest = run_ingest(url, raw_pages, args.batch, scorer)
        if phases is not None:
            seconds = dict(phases)
            phases.clear()
        raw = run_raw(f"sqlite:///{tmp}/raw.db", raw_pages)
        print(f"{'sqlite':<12}{ingest:>12,.0f}{raw:>15,.0f}{raw / ingest:>7.1f}x")
        if phases is not None:
            print_phases(seconds, args.n, ingest)
    if not args.skip_pg:
        url, admin = pg_database(args.pg)
        try:
            ingest = run_ingest(url, raw_pages, args.batch, scorer)
            raw = run_raw(url, raw_pages)
            print(f"{'postgresql':<12}{ingest:>12,.0f}{raw:>15,.0f}{raw / ingest:>7.1f}x")
        finally:
            drop_pg(admin, url)


if __name__ == "__main__":
    main()
