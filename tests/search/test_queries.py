"""Search over the real full-text indexes (FTS5 / tsvector + GIN), fed by the ingest path."""

from __future__ import annotations

import pytest
from sqlalchemy import text, update
from sqlalchemy.orm import Session

from monitor.cases import service as queue
from monitor.ingest.service import IngestOptions, ingest_batch
from monitor.models import Case, Mention, Reply, ReplyState
from monitor.priority.service import Scorer
from monitor.search.queries import fts5_match, search, snippet, terms
from monitor.sources.base import Batch
from tests.factories import T0, later
from tests.factories.mentions import email, tweet
from tests.factories.staff import make_staff


def ingest(session: Session, scorer: Scorer) -> None:
    batch = Batch(
        mentions=[
            email(
                "m1@x",
                "Where is order #A-10023? The refund has not arrived.",
                sender="ana@example.org",
            ),
            tweet(
                7,
                "@acme my charger stopped charging after a week",
                username="tomfixes",
                user_id="7",
            ),
            tweet(8, "@acme emailed you twice, dan@example.org, refund please", at=later(5)),
        ],
        next_cursor={"n": 3},
    )
    ingest_batch(session, batch, source="t", now=later(10), scorer=scorer, options=IngestOptions())
    session.flush()


def test_words_phrases_order_numbers_and_addresses(session: Session, scorer: Scorer) -> None:
    ingest(session, scorer)
    got = search(session, "refund")
    assert [h.snippet[:20] for h in got.mentions] == [
        "@acme emailed you tw",
        "Where is order #A-10",
    ]
    assert [len(search(session, q).mentions) for q in ("A-10023", "dan@example.org")] == [1, 1]
    assert len(search(session, '"has not arrived"').mentions) == 1
    assert search(session, '"arrived not"').mentions == []
    assert [h.title for h in search(session, "charger week").mentions] == ["tomfixes"]
    assert search(session, "charger refund").mentions == []  # every word must occur
    assert search(session, "CHARGING").mentions  # case does not matter
    assert search(session, "  ").total == 0 and search(session, '"" # ~').total == 0


def test_customers_by_name_handle_or_address(session: Session, scorer: Scorer) -> None:
    ingest(session, scorer)
    assert [h.kind for h in search(session, "@tomfix").customers] == ["customer"]
    [ana] = search(session, "ana@example").customers
    assert "ana@example.org" in ana.snippet
    assert search(session, "nobody-by-this-name").customers == []


def test_replies_and_notes_are_found_and_updates_stay_in_step(
    session: Session, scorer: Scorer
) -> None:
    ingest(session, scorer)
    case_id = session.scalars(text("SELECT id FROM cases ORDER BY id")).first()
    case = session.get(Case, case_id)
    assert case is not None
    alice = make_staff(session, "alice")
    session.add(
        Reply(
            case_id=case.id,
            channel="email",
            body="Ana, the refund of order A-10023 went out today.",
            idempotency_key="k-1",
            state=ReplyState.SENT,
            created_at=T0,
        )
    )
    queue.add_note(session, case, staff=alice, text="Called the warehouse about the parcel", now=T0)
    session.flush()
    assert [h.kind for h in search(session, "warehouse").notes] == ["note"]
    assert search(session, "went out today").replies[0].case_id == case.id
    mention = session.scalars(text("SELECT id FROM mentions WHERE external_id = '7'")).one()
    session.execute(update(Mention).where(Mention.id == mention).values(text="all good now"))
    session.flush()
    assert search(session, "charger").mentions == []
    assert search(session, "good").mentions[0].id == mention


def test_postgresql_uses_the_gin_index(session: Session, scorer: Scorer) -> None:
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: its planner")
    ingest(session, scorer)
    session.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(
        session.scalars(
            text(
                "EXPLAIN SELECT id FROM mentions WHERE search_vector @@ "
                "phraseto_tsquery('simple'::regconfig, 'refund') ORDER BY id DESC LIMIT 20"
            )
        )
    )
    assert "ix_search_mentions" in plan


def test_terms_and_match_expressions() -> None:
    assert terms('refund "not  arrived" # A-10023') == ("refund", "not arrived", "A-10023")
    assert fts5_match(('say "hi"',)) == '"say ""hi"""'
    assert snippet("x " * 200 + "the refund is late", ("refund",)).startswith("…")


def test_the_migration_indexes_what_was_stored_before_it(empty_db_url: str, scorer: Scorer) -> None:
    from alembic import command

    from monitor.db import make_engine, make_sessionmaker
    from monitor.storage import migrate

    engine = make_engine(empty_db_url)
    try:
        migrate.upgrade(engine)
        cfg = migrate.alembic_config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "-1")  # to the revision before 0110
        with make_sessionmaker(engine).begin() as s:
            ingest(s, scorer)
        migrate.upgrade(engine)
        with make_sessionmaker(engine)() as s:
            assert len(search(s, "refund").mentions) == 2
    finally:
        engine.dispose()
