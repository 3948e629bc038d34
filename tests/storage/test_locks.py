"""Locks that die with their holder (PostgreSQL advisory locks, SQLite flock)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from monitor.db import make_engine, make_sessionmaker
from monitor.storage import locks


def other_process_engine(engine: Engine) -> Engine:
    """A second engine, as another process would have (its own connections)."""
    return make_engine(engine.url.render_as_string(hide_password=False))


def test_one_holder_at_a_time_and_free_after_the_block(committed_engine: Engine) -> None:
    other = other_process_engine(committed_engine)
    try:
        with locks.exclusive(committed_engine, "poll:x:mentions") as held:
            assert held
            with locks.exclusive(other, "poll:x:mentions") as second:
                assert not second
            with locks.exclusive(other, "poll:email:INBOX") as unrelated:
                assert unrelated
        with locks.exclusive(other, "poll:x:mentions") as after:
            assert after
    finally:
        other.dispose()


def test_a_block_that_raises_frees_the_lock(committed_engine: Engine) -> None:
    with pytest.raises(RuntimeError), locks.exclusive(committed_engine, "job") as held:
        assert held
        raise RuntimeError("the job crashed")
    with locks.exclusive(committed_engine, "job") as again:
        assert again


def test_where_the_lock_lives(committed_engine: Engine) -> None:
    path = locks.lock_path(committed_engine, "poll:x:mentions")
    if committed_engine.dialect.name == "sqlite":  # a file beside the database
        database = committed_engine.url.database or ""
        assert path.parent == Path(database).resolve().parent / f"{Path(database).name}.locks"
    with locks.exclusive(committed_engine, "poll:x:mentions") as held:
        assert held
        if committed_engine.dialect.name == "postgresql":  # a session advisory lock
            with committed_engine.connect() as conn:
                count = conn.scalar(
                    text(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                        " AND database = (SELECT oid FROM pg_database"
                        " WHERE datname = current_database())"
                    )
                )
            assert count == 1


def test_a_transaction_lock_ends_with_the_transaction(committed_engine: Engine) -> None:
    sessions = make_sessionmaker(committed_engine)
    if committed_engine.dialect.name == "sqlite":
        # the transaction's own write lock (BEGIN IMMEDIATE) keeps other writers out
        with sessions.begin() as only:
            assert locks.in_transaction(only, "webhooks:outbox")
        return
    with sessions.begin() as first:
        assert locks.in_transaction(first, "webhooks:outbox")
        with sessions.begin() as second:
            assert not locks.in_transaction(second, "webhooks:outbox")
    with sessions.begin() as third:
        assert locks.in_transaction(third, "webhooks:outbox")
