"""The reports bench's data: one year of cases, written fast and reusable between runs.

Rows are made in Python (one seeded random stream, so both databases get the same data)
as plain tuples in the driver's own form, then written by ``COPY ... FROM STDIN`` on
PostgreSQL and by the sqlite3 module's ``executemany`` on SQLite: no ORM, no per-value
type processing. With ``reuse`` a database already seeded with the same number of cases
(a row in ``bench_seeded_v2``) is kept as it is. Ids rise with the time a row was
made, as on a live desk (``bench_seeded``, before, shuffled them over the year).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, text

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DAYS = 365
CAUSES = ("billing", "delivery", "app_crash", "onboarding", "account", None)
CHANNELS = ("x", "x_dm", "email")
KINDS = ("refund", "callback", "fix", "investigate", "slack_invite", "check_in")
COMP = (None,) * 8 + ("credit", "refund")
STATES = ("fulfilled",) * 6 + ("broken", "cancelled", "open", "overdue")
AGENTS = 20
H = timedelta(hours=1)
CHUNK = 50_000

COLUMNS = {
    "staff": "id name display_name role password_hash timezone active created_at lead_id",
    "customers": "id display_name value created_at",
    "identities": "id customer_id kind handle linked_by created_at",
    "cases": "id customer_id status channel subject priority score band reasons "
    "unanswered_count public created_at updated_at listened_at apologised_at agreed_at "
    "acted_at followed_up_at resolved_at cause cause_confirmed sla_step public_risk "
    "sla_kind sla_started_at sla_due_at first_unanswered_at first_reply_at first_reply_by_id",
    "mentions": "id channel external_id source customer_id identity_id case_id author text "
    "text_for_scoring created_at received_at raw reasons thread_refs attachments public",
    "replies": "id case_id staff_id channel body idempotency_key state attempts created_at "
    "sent_at override_reason sla_kind sla_started_at sla_due_at",
    "promises": "id case_id customer_id owner_id kind wording due_at owner_timezone state "
    "escalation_step created_at updated_at fulfilled_at compensation_kind "
    "compensation_amount compensation_currency",
    "events": "id case_id kind actor payload created_at",
    "surveys": "id case_id customer_id token_hash channel created_at expires_at answered_at rating",
    "case_tags": "case_id tag created_at",
}


def _case_rows(n: int, customers: int) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """(table, row) for every row hanging off the cases, case by case."""
    rng = random.Random(18)
    start = NOW - timedelta(days=DAYS)
    ids = {"reply": 0, "promise": 0, "event": 0, "survey": 0}
    # Cases in the order they arrived (ids rise with time), as on a live desk: a period's
    # rows sit together in the table, as they do in production.
    arrivals = sorted(rng.random() for _ in range(n))
    for i, arrival in enumerate(arrivals, start=1):
        created = start + timedelta(seconds=arrival * DAYS * 86400)
        cust = rng.randint(1, customers)
        resolved = created + rng.random() * 72 * H if rng.random() < 0.8 else None
        channel = rng.choice(CHANNELS)
        replied = rng.random() < 0.9
        first_due = created + (1 + rng.random() * 3) * H
        open_wait = not replied and resolved is None
        sent = created + rng.random() * 6 * H if replied else None
        staff = rng.randint(1, AGENTS) if replied else None
        yield "cases", (
            i, cust, "resolved" if resolved else "open", channel, "", 10.0, 10, "low", "[]",
            0, False, created, created, created + rng.random() * 4 * H,
            created + rng.random() * 8 * H if rng.random() < 0.7 else None,
            created + rng.random() * 12 * H if rng.random() < 0.5 else None,
            created + rng.random() * 48 * H if rng.random() < 0.3 else None,
            resolved + 24 * H if resolved and rng.random() < 0.3 else None,
            resolved, rng.choice(CAUSES), rng.random() < 0.5, 0, False,
            "first" if open_wait else None, created if open_wait else None,
            first_due if open_wait else None, created if open_wait else None, sent, staff,
        )  # fmt: skip
        yield "mentions", (
            i, "email", f"m{i}", "bench", cust, cust, i, "c", "my refund is late", "",
            created, created, b"", "[]", "[]", "[]", False,
        )  # fmt: skip
        if replied:
            ids["reply"] += 1
            yield "replies", (
                ids["reply"], i, staff, channel, "Sorry", f"r{i}", "sent", 1, sent, sent,
                "lead ok" if rng.random() < 0.02 else None, "first", created, first_due,
            )  # fmt: skip
            if rng.random() < 0.2:  # the customer wrote again: a next-response wait
                again = sent + rng.random() * 24 * H
                answered = again + rng.random() * 4 * H
                ids["reply"] += 1
                yield "replies", (
                    ids["reply"], i, rng.randint(1, AGENTS), channel, "Thanks", f"n{i}",
                    "sent", 1, answered, answered, None, "next", again, again + 2 * H,
                )  # fmt: skip
        if rng.random() < 0.3:
            state = rng.choice(STATES)
            made = created + rng.random() * 6 * H
            comp = rng.choice(COMP)
            ids["promise"] += 1
            yield "promises", (
                ids["promise"], i, cust, rng.randint(1, AGENTS), rng.choice(KINDS),
                "We'll fix it", made + rng.random() * 48 * H, "UTC", state, 0, made, made,
                made + rng.random() * 60 * H if state == "fulfilled" else None, comp,
                round(rng.random() * 50, 2) if comp else None, "EUR" if comp else None,
            )  # fmt: skip
        for kind, share in (("case.reopened", 0.05), ("case.channel_hop", 0.05)):
            if rng.random() < share:
                ids["event"] += 1
                yield "events", (ids["event"], i, kind, "system", "{}", created + H)
        if resolved and rng.random() < 0.06:
            ids["survey"] += 1
            yield "surveys", (
                ids["survey"], i, cust, f"{i:064d}", "x", resolved, resolved + 168 * H,
                resolved + 5 * H if rng.random() < 0.8 else None, rng.randint(1, 5),
            )  # fmt: skip
        if rng.random() < 0.1:
            yield "case_tags", (i, rng.choice(("outage", "vip", "ios")), created)


def _people(n: int) -> Iterator[tuple[str, tuple[Any, ...]]]:
    start = NOW - timedelta(days=DAYS)
    for i in range(1, AGENTS + 1):
        yield "staff", (i, f"agent{i}", f"Agent {i}", "agent", "x", "UTC", True, start,
                        1 if i > 1 else None)  # fmt: skip
    for i in range(1, n + 1):
        yield "customers", (i, f"c{i}", 0.0, start)
    for i in range(1, n + 1):
        yield "identities", (i, i, "email", f"c{i}@x.test", "auto", start)


class _Writer:
    """Buffers rows per table and writes them in the driver's bulk form."""

    def __init__(self, dbapi: Any, pg: bool) -> None:
        self.dbapi, self.pg = dbapi, pg
        self.buffers: dict[str, list[tuple[Any, ...]]] = {t: [] for t in COLUMNS}

    def add(self, rows: Iterable[tuple[str, tuple[Any, ...]]]) -> None:
        for table, row in rows:
            buf = self.buffers[table]
            buf.append(row)
            if len(buf) >= CHUNK:  # all of them, parents first (foreign keys)
                for name in COLUMNS:
                    self.flush(name)

    def flush(self, table: str) -> None:
        rows, self.buffers[table] = self.buffers[table], []
        if not rows:
            return
        cols = COLUMNS[table].split()
        cur = self.dbapi.cursor()
        if self.pg:
            with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" * len(cols))
            cur.executemany(
                f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})",
                [tuple(_lite(v) for v in row) for row in rows],
            )
        cur.close()


def _lite(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def seeded(engine: Engine, n: int) -> bool:
    with engine.connect() as conn:
        if engine.dialect.has_table(conn, "bench_seeded"):
            raise SystemExit(f"{engine.url}: seeded by an older version of this bench; drop it")
        if not engine.dialect.has_table(conn, "bench_seeded_v2"):
            return False
        return conn.execute(text("SELECT count(*) FROM bench_seeded_v2 WHERE cases = :n"),
                            {"n": n}).scalar() == 1  # fmt: skip


def load(engine: Engine, n: int) -> None:
    """Write the data for ``n`` cases (the schema is migrated and empty)."""
    pg = engine.dialect.name == "postgresql"
    raw = engine.raw_connection()
    try:
        dbapi = raw.driver_connection
        if not pg:  # the engine's connections autocommit each statement otherwise
            dbapi.execute("BEGIN")
        writer = _Writer(dbapi, pg)
        customers = max(1, n * 2 // 5)
        writer.add(_people(customers))
        for table in ("staff", "customers", "identities"):
            writer.flush(table)
        writer.add(_case_rows(n, customers))
        for table in COLUMNS:
            writer.flush(table)
        cur = dbapi.cursor()
        if pg:
            for table in ("staff", "customers", "identities", "cases", "mentions", "replies",
                          "promises", "events", "surveys"):  # fmt: skip
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                            f"(SELECT max(id) FROM {table}))")  # fmt: skip
        cur.execute("CREATE TABLE bench_seeded_v2 (cases integer)")
        cur.execute(f"INSERT INTO bench_seeded_v2 VALUES ({int(n)})")
        cur.close()
        dbapi.commit()
    finally:
        raw.close()
    # VACUUM too on PostgreSQL: rows COPYed in are not in the visibility map until a
    # vacuum, and until then every "index-only" scan visits the table (autovacuum would
    # get there on a live database, only later).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if pg else "ANALYZE"))
