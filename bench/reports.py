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
        [--reuse] [--seed-only] [--no-year]

The data (written by this script) spans one year: about 2,700 cases a day by 400,000
customers, each case with a mention, 90 % with a sent reply, 30 % with a promise in
every state, 5 % reopened, 5 % hopped channel, 5 % with an answered survey, 10 %
tagged; first-response and next-response targets on the replies; ids in arrival order,
as on a live desk. It is written by
bench/reports_seed.py (COPY on PostgreSQL, executemany on SQLite). The PostgreSQL run
creates (and drops) its own database on the given server; with --reuse both databases
are kept and a second run skips the seeding (migrations new since are applied).
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as `python bench/reports.py`, this folder comes first on sys.path, and bench/queue.py
# would shadow the standard library's `queue` (which psycopg imports): move it last (it
# still provides reports_seed).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE] + [str(_HERE)]

import argparse
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from reports_seed import NOW, load, seeded
from sqlalchemy import Engine, create_engine, event, func, select, text
from sqlalchemy.engine import make_url

from monitor.config import ReportsSettings
from monitor.db import make_engine, make_sessionmaker
from monitor.models import Case, Event, Mention, Promise, Reply, Survey
from monitor.reports import figures
from monitor.reports.period import Filters, Period
from monitor.storage import migrate


def pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, max(0, round(q / 100 * (len(s) - 1))))]


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
    migrate.upgrade(engine)  # on a reused database: only the migrations it lacks
    t0 = time.perf_counter()
    kept = args.reuse and seeded(engine, args.cases)
    if not kept:
        load(engine, args.cases)
    if args.seed_only:
        print(f"== {engine.dialect.name}: {'reused' if kept else 'seeded'} {url}")
        engine.dispose()
        return
    sessions = make_sessionmaker(engine)
    with sessions() as s:
        counts = {
            m.__tablename__: s.scalar(select(func.count()).select_from(m))
            for m in (Case, Mention, Reply, Promise, Event, Survey)
        }
    how = "reused" if kept else f"loaded in {time.perf_counter() - t0:.0f} s"
    print(
        f"\n== {engine.dialect.name}: {how}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items())
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
    ][: 3 if args.year else 2]
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
    ap.add_argument(
        "--reuse",
        action="store_true",
        help="keep the seeded databases (SQLite file in the temp folder, PostgreSQL "
        "database cm_bench_reports_N) and use them again next time",
    )
    ap.add_argument(
        "--year",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time the year-long period (--no-year: the 30-day ones only)",
    )
    ap.add_argument("--seed-only", action="store_true", help="with --reuse: seed, no timings")
    args = ap.parse_args()
    backends = args.backends.split(",")
    if "sqlite" in backends:
        if args.reuse:
            bench(f"sqlite:///{tempfile.gettempdir()}/cm_bench_reports_{args.cases}.db", args)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                bench(f"sqlite:///{tmp}/reports.db", args)
    if "postgresql" in backends:
        admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
        name = f"cm_bench_reports_{args.cases}"
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                  {"n": name}).scalar()  # fmt: skip
            if exists and not args.reuse:
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            if not (exists and args.reuse):
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            bench(make_url(args.pg).set(database=name).render_as_string(hide_password=False), args)
        finally:
            if not args.reuse:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    print(f"(run at {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; goal: each report p95 < 1 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
