"""Reports over 1,000,000 cases (with mentions, replies, promises), on SQLite and PostgreSQL.

Prints, per backend and per report (volume, promises, recovery, agents, outcome), the
p50 / p95 of computing it exactly as /api/v1/reports/{name} does, for the last 30 days
(daily buckets), the last 30 days filtered by one agent, and a whole year (weekly
buckets); beside them a reference measured in the same run (a full COUNT(*) of
cases), and the indexes each report's statements use (from EXPLAIN / EXPLAIN QUERY
PLAN; "scan X" is a full scan of table X).

Goal: each report p95 < 1 s.

    .venv/bin/python bench/reports.py [--cases 1000000] [--runs 7]
        [--backends sqlite,postgresql] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]

The data (written by this script) spans one year: about 2,700 cases a day by 400,000
customers, each case with a mention, 90 % with a sent reply, 30 % with a promise in
every state, 5 % reopened, 5 % hopped channel, 5 % with an answered survey, 10 %
tagged. The PostgreSQL run creates (and drops) its own database on the given server.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/reports.py`, this folder comes first on sys.path, and bench/queue.py
# would shadow the standard library's `queue` (which psycopg imports): drop it.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse
import random
import re
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, create_engine, event, func, insert, select, text
from sqlalchemy.engine import make_url

from monitor.config import ReportsSettings
from monitor.db import make_engine, make_sessionmaker
from monitor.models import (
    Case,
    CaseTag,
    Customer,
    Event,
    Identity,
    Mention,
    Promise,
    Reply,
    Staff,
    Survey,
)
from monitor.reports import figures
from monitor.reports.period import Filters, Period
from monitor.storage import migrate

CHUNK = 20_000
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DAYS = 365
CAUSES = ("billing", "delivery", "app_crash", "onboarding", "account", None)
CHANNELS = ("x", "x_dm", "email")
KINDS = ("refund", "callback", "fix", "investigate", "slack_invite", "check_in")
STATES = ("fulfilled",) * 6 + ("broken", "cancelled", "open", "overdue")
AGENTS = 20
H = timedelta(hours=1)


def pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))]


def chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def load(engine: Engine, n: int) -> None:
    rng = random.Random(18)
    customers = max(1, n * 2 // 5)
    start = NOW - timedelta(days=DAYS)
    with engine.begin() as conn:
        conn.execute(
            insert(Staff.__table__),
            [
                {
                    "id": i,
                    "name": f"agent{i}",
                    "display_name": f"Agent {i}",
                    "role": "agent",
                    "password_hash": "x",
                    "timezone": "UTC",
                    "active": True,
                    "created_at": start,
                    "lead_id": 1 if i > 1 else None,
                }
                for i in range(1, AGENTS + 1)
            ],
        )
        for batch in chunks(
            {"id": i, "display_name": f"c{i}", "value": 0.0, "created_at": start}
            for i in range(1, customers + 1)
        ):
            conn.execute(insert(Customer.__table__), batch)
        for batch in chunks(
            {
                "id": i,
                "customer_id": i,
                "kind": "email",
                "handle": f"c{i}@x.test",
                "linked_by": "auto",
                "created_at": start,
            }
            for i in range(1, customers + 1)
        ):
            conn.execute(insert(Identity.__table__), batch)
    tables: dict[str, list[dict[str, Any]]] = {
        k: [] for k in ("case", "mention", "reply", "promise", "event", "survey", "tag")
    }
    targets = {
        "case": Case,
        "mention": Mention,
        "reply": Reply,
        "promise": Promise,
        "event": Event,
        "survey": Survey,
        "tag": CaseTag,
    }

    def flush(conn: Any, force: bool = False) -> None:
        for key in ("case", "mention", "reply", "promise", "event", "survey", "tag"):
            if tables[key] and (force or len(tables["case"]) >= CHUNK):
                conn.execute(insert(targets[key].__table__), tables[key])
                tables[key] = []

    with engine.begin() as conn:
        for i in range(1, n + 1):
            created = start + timedelta(seconds=rng.random() * DAYS * 86400)
            cust = rng.randint(1, customers)
            resolved = created + rng.random() * 72 * H if rng.random() < 0.8 else None
            tables["case"].append(
                {
                    "id": i,
                    "customer_id": cust,
                    "status": "resolved" if resolved else "open",
                    "channel": rng.choice(CHANNELS),
                    "subject": "",
                    "priority": 10.0,
                    "score": 10,
                    "band": "low",
                    "reasons": [],
                    "unanswered_count": 0,
                    "public": False,
                    "created_at": created,
                    "updated_at": created,
                    "listened_at": created + rng.random() * 4 * H,
                    "apologised_at": created + rng.random() * 8 * H if rng.random() < 0.7 else None,
                    "agreed_at": created + rng.random() * 12 * H if rng.random() < 0.5 else None,
                    "acted_at": created + rng.random() * 48 * H if rng.random() < 0.3 else None,
                    "followed_up_at": resolved + 24 * H
                    if resolved and rng.random() < 0.3
                    else None,
                    "resolved_at": resolved,
                    "cause": rng.choice(CAUSES),
                    "cause_confirmed": rng.random() < 0.5,
                }
            )
            tables["mention"].append(
                {
                    "id": i,
                    "channel": "email",
                    "external_id": f"m{i}",
                    "source": "bench",
                    "customer_id": cust,
                    "identity_id": cust,
                    "case_id": i,
                    "author": "c",
                    "text": "my refund is late",
                    "text_for_scoring": "",
                    "created_at": created,
                    "received_at": created,
                    "raw": b"",
                    "reasons": [],
                    "thread_refs": [],
                    "attachments": [],
                    "public": False,
                }
            )
            if rng.random() < 0.9:
                sent = created + rng.random() * 6 * H
                tables["reply"].append(
                    {
                        "id": i,
                        "case_id": i,
                        "staff_id": rng.randint(1, AGENTS),
                        "channel": "email",
                        "body": "Sorry",
                        "idempotency_key": f"r{i}",
                        "state": "sent",
                        "attempts": 1,
                        "created_at": sent,
                        "sent_at": sent,
                        "override_reason": "lead ok" if rng.random() < 0.02 else None,
                    }
                )
            if rng.random() < 0.3:
                state = rng.choice(STATES)
                made = created + rng.random() * 6 * H
                due = made + rng.random() * 48 * H
                tables["promise"].append(
                    {
                        "case_id": i,
                        "customer_id": cust,
                        "owner_id": rng.randint(1, AGENTS),
                        "kind": rng.choice(KINDS),
                        "wording": "We'll fix it",
                        "due_at": due,
                        "owner_timezone": "UTC",
                        "state": state,
                        "escalation_step": 0,
                        "created_at": made,
                        "updated_at": made,
                        "fulfilled_at": made + rng.random() * 60 * H
                        if state == "fulfilled"
                        else None,
                    }
                )
            for kind, share in (("case.reopened", 0.05), ("case.channel_hop", 0.05)):
                if rng.random() < share:
                    tables["event"].append(
                        {
                            "case_id": i,
                            "kind": kind,
                            "actor": "system",
                            "payload": {},
                            "created_at": created + H,
                        }
                    )
            if resolved and rng.random() < 0.06:
                tables["survey"].append(
                    {
                        "case_id": i,
                        "customer_id": cust,
                        "token_hash": f"{i:064d}",
                        "channel": "x",
                        "created_at": resolved,
                        "expires_at": resolved + 168 * H,
                        "answered_at": resolved + 5 * H if rng.random() < 0.8 else None,
                        "rating": rng.randint(1, 5),
                    }
                )
            if rng.random() < 0.1:
                tables["tag"].append(
                    {
                        "case_id": i,
                        "tag": rng.choice(("outage", "vip", "ios")),
                        "created_at": created,
                    }
                )
            flush(conn)
        flush(conn, force=True)
        if engine.dialect.name == "postgresql":
            for table in (
                "staff",
                "customers",
                "identities",
                "cases",
                "mentions",
                "replies",
                "promises",
                "events",
                "surveys",
            ):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()


@contextmanager
def captured(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def grab(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
        seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", grab)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", grab)


INDEX = re.compile(r"\b((?:ix|pk|uq|fk)_[a-z0-9_]+|sqlite_autoindex_[a-z0-9_]+)")
SCAN_PG = re.compile(r"Seq Scan on (\w+)")
SCAN_SQLITE = re.compile(r"\bSCAN (\w+)(?! USING)")


def plans(engine: Engine, statements: list[tuple[str, Any]]) -> tuple[set[str], set[str]]:
    """Indexes used and tables scanned in full, over the statements of one report."""
    used: set[str] = set()
    scans: set[str] = set()
    pg = engine.dialect.name == "postgresql"
    with engine.connect() as conn:
        for statement, params in statements:
            if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            prefix = "EXPLAIN " if pg else "EXPLAIN QUERY PLAN "
            rows = conn.exec_driver_sql(prefix + statement, params).all()
            plan = "\n".join(" ".join(str(c) for c in r) for r in rows)
            used |= set(INDEX.findall(plan))
            for name in (SCAN_PG if pg else SCAN_SQLITE).findall(plan):
                if not name.startswith(("anon", "subquery")):
                    scans.add(name)
    return used, scans


def bench(url: str, args: argparse.Namespace) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine)
    t0 = time.perf_counter()
    load(engine, args.cases)
    sessions = make_sessionmaker(engine)
    with sessions() as s:
        counts = {
            m.__tablename__: s.scalar(select(func.count()).select_from(m))
            for m in (Case, Mention, Reply, Promise, Event, Survey)
        }
    print(
        f"\n== {engine.dialect.name}: loaded in {time.perf_counter() - t0:.0f} s: "
        + ", ".join(f"{k} {v:,}" for k, v in counts.items())
    )
    ref = []
    for _ in range(args.runs):
        with sessions() as s:
            t = time.perf_counter()
            s.scalar(select(func.count()).select_from(Case))
            ref.append(time.perf_counter() - t)
    print(
        f"reference: SELECT count(*) FROM cases   p50 {pct(ref, 50) * 1000:7.1f} ms   "
        f"p95 {pct(ref, 95) * 1000:7.1f} ms"
    )
    settings = ReportsSettings()
    last = NOW.date() - timedelta(days=1)
    asks = [
        ("30 days", Period(last - timedelta(days=29), last, "Europe/Berlin"), Filters()),
        (
            "30 days, one agent",
            Period(last - timedelta(days=29), last, "Europe/Berlin"),
            Filters(agent_id=3),
        ),
        ("365 days", Period(last - timedelta(days=364), last, "Europe/Berlin"), Filters()),
    ]
    print(f"{'report':10} {'period':20} {'p50 ms':>9} {'p95 ms':>9}   indexes used / full scans")
    for name in figures.REPORTS:
        for label, period, f in asks:
            samples = []
            statements: list[tuple[str, Any]] = []
            for run in range(args.runs):
                with sessions() as s, captured(engine) as seen:
                    t = time.perf_counter()
                    figures.run(s, name, period, f, settings=settings, now=NOW)
                    samples.append(time.perf_counter() - t)
                if run == 0:
                    statements = list(seen)
            used, scans = plans(engine, statements)
            scan = f"; scans {', '.join(sorted(scans))}" if scans else ""
            print(
                f"{name:10} {label:20} {pct(samples, 50) * 1000:9.1f} "
                f"{pct(samples, 95) * 1000:9.1f}   {', '.join(sorted(used)) or '-'}{scan}"
            )
    engine.dispose()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = ap.parse_args()
    backends = args.backends.split(",")
    if "sqlite" in backends:
        with tempfile.TemporaryDirectory() as tmp:
            bench(f"sqlite:///{tmp}/reports.db", args)
    if "postgresql" in backends:
        admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
        name = f"cm_bench_reports_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            bench(make_url(args.pg).set(database=name).render_as_string(hide_password=False), args)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    print(f"(run at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; goal: each report p95 < 1 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
