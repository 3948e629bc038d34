"""search: full-text indexes over mentions, replies and notes

SQLite: FTS5 tables (``search_mentions`` and ``search_replies`` read their text from the
table they index, ``external content``; ``search_notes`` holds the note text), kept in
step by triggers, so every writer (ingest, import, the console) updates them in the same
transaction. PostgreSQL: GIN indexes over ``to_tsvector('simple', ...)`` (for mentions
a generated ``search_vector`` column), which the database keeps in step itself. Both tokenise without stemming, so a word, an
order number ("A-10023") or an address finds the same rows on either database.

The expressions here are repeated in ``monitor/search/queries.py`` (a query only uses a
PostgreSQL expression index when it names the same expression).

Revision ID: 0110
Revises: 0102
Create Date: 2026-12-02 07:35:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0110"
down_revision: str | None = "0102"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UP = (
    "CREATE VIRTUAL TABLE search_mentions USING fts5(text, subject, content='mentions', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER search_mentions_ai AFTER INSERT ON mentions BEGIN "
    "INSERT INTO search_mentions(rowid, text, subject) VALUES (new.id, new.text, new.subject); "
    "END",
    "CREATE TRIGGER search_mentions_ad AFTER DELETE ON mentions BEGIN "
    "INSERT INTO search_mentions(search_mentions, rowid, text, subject) "
    "VALUES ('delete', old.id, old.text, old.subject); END",
    "CREATE TRIGGER search_mentions_au AFTER UPDATE OF text, subject ON mentions BEGIN "
    "INSERT INTO search_mentions(search_mentions, rowid, text, subject) "
    "VALUES ('delete', old.id, old.text, old.subject); "
    "INSERT INTO search_mentions(rowid, text, subject) VALUES (new.id, new.text, new.subject); "
    "END",
    "INSERT INTO search_mentions(search_mentions) VALUES ('rebuild')",
    "CREATE VIRTUAL TABLE search_replies USING fts5(body, content='replies', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER search_replies_ai AFTER INSERT ON replies BEGIN "
    "INSERT INTO search_replies(rowid, body) VALUES (new.id, new.body); END",
    "CREATE TRIGGER search_replies_ad AFTER DELETE ON replies BEGIN "
    "INSERT INTO search_replies(search_replies, rowid, body) VALUES ('delete', old.id, old.body); "
    "END",
    "CREATE TRIGGER search_replies_au AFTER UPDATE OF body ON replies BEGIN "
    "INSERT INTO search_replies(search_replies, rowid, body) VALUES ('delete', old.id, old.body); "
    "INSERT INTO search_replies(rowid, body) VALUES (new.id, new.body); END",
    "INSERT INTO search_replies(search_replies) VALUES ('rebuild')",
    "CREATE VIRTUAL TABLE search_notes USING fts5(text, "
    "tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER search_notes_ai AFTER INSERT ON events WHEN new.kind = 'case.note' BEGIN "
    "INSERT INTO search_notes(rowid, text) VALUES (new.id, json_extract(new.payload, '$.text')); "
    "END",
    "CREATE TRIGGER search_notes_ad AFTER DELETE ON events WHEN old.kind = 'case.note' BEGIN "
    "DELETE FROM search_notes WHERE rowid = old.id; END",
    "INSERT INTO search_notes(rowid, text) SELECT id, json_extract(payload, '$.text') "
    "FROM events WHERE kind = 'case.note'",
)
SQLITE_DOWN = (
    "DROP TRIGGER IF EXISTS search_notes_ad",
    "DROP TRIGGER IF EXISTS search_notes_ai",
    "DROP TABLE IF EXISTS search_notes",
    "DROP TRIGGER IF EXISTS search_replies_au",
    "DROP TRIGGER IF EXISTS search_replies_ad",
    "DROP TRIGGER IF EXISTS search_replies_ai",
    "DROP TABLE IF EXISTS search_replies",
    "DROP TRIGGER IF EXISTS search_mentions_au",
    "DROP TRIGGER IF EXISTS search_mentions_ad",
    "DROP TRIGGER IF EXISTS search_mentions_ai",
    "DROP TABLE IF EXISTS search_mentions",
)
PG_UP = (
    # mentions (the big table) keep their vector in a generated column: a match is
    # checked, and a newest-first scan filtered, without re-parsing each row's text
    "ALTER TABLE mentions ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
    "(to_tsvector('simple'::regconfig, text || ' ' || coalesce(subject, ''))) STORED",
    "CREATE INDEX ix_search_mentions ON mentions USING gin (search_vector)",
    "CREATE INDEX ix_search_replies ON replies USING gin "
    "(to_tsvector('simple'::regconfig, body))",
    "CREATE INDEX ix_search_notes ON events USING gin "
    "(to_tsvector('simple'::regconfig, coalesce(payload ->> 'text', ''))) "
    "WHERE kind = 'case.note'",
    # customers by name and identities by handle: lower() prefix look-ups
    "CREATE INDEX ix_search_identities_handle ON identities (lower(handle) text_pattern_ops)",
    "CREATE INDEX ix_search_identities_username ON identities "
    "(lower(username) text_pattern_ops)",
    "CREATE INDEX ix_search_customers_name ON customers (lower(display_name) text_pattern_ops)",
)
PG_DOWN = (
    "DROP INDEX IF EXISTS ix_search_customers_name",
    "DROP INDEX IF EXISTS ix_search_identities_username",
    "DROP INDEX IF EXISTS ix_search_identities_handle",
    "DROP INDEX IF EXISTS ix_search_notes",
    "DROP INDEX IF EXISTS ix_search_replies",
    "DROP INDEX IF EXISTS ix_search_mentions",
    "ALTER TABLE mentions DROP COLUMN IF EXISTS search_vector",
)
# lower() prefix look-ups as ranges (lower(x) >= 'dan' AND lower(x) < 'dan\U0010ffff')
SQLITE_LOOKUPS = (
    "CREATE INDEX ix_search_identities_handle ON identities (lower(handle))",
    "CREATE INDEX ix_search_identities_username ON identities (lower(username))",
    "CREATE INDEX ix_search_customers_name ON customers (lower(display_name))",
)
SQLITE_LOOKUPS_DOWN = (
    "DROP INDEX IF EXISTS ix_search_customers_name",
    "DROP INDEX IF EXISTS ix_search_identities_username",
    "DROP INDEX IF EXISTS ix_search_identities_handle",
)


def _run(statements: Sequence[str]) -> None:
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _run(SQLITE_UP + SQLITE_LOOKUPS)
    else:
        _run(PG_UP)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _run(SQLITE_LOOKUPS_DOWN + SQLITE_DOWN)
    else:
        _run(PG_DOWN)
