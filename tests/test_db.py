"""The portable column types: aware UTC datetimes and JSON, through a real SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select, text
from sqlalchemy.exc import StatementError

from monitor.db import JSONType, UTCDateTime, make_engine


@pytest.fixture
def table(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'types.db'}")
    meta = MetaData()
    t = Table(
        "t",
        meta,
        Column("id", Integer, primary_key=True),
        Column("at", UTCDateTime),
        Column("doc", JSONType),
    )
    meta.create_all(engine)
    yield engine, t
    engine.dispose()


def test_sqlite_stores_utc_in_the_dialects_own_format(table) -> None:  # type: ignore[no-untyped-def]
    engine, t = table
    plus_two = timezone(timedelta(hours=2))
    with engine.begin() as conn:
        conn.execute(
            insert(t),
            [
                {"id": 1, "at": datetime(2026, 11, 23, 9, 5, 7, 12, tzinfo=UTC)},
                {"id": 2, "at": datetime(2026, 11, 23, 11, 5, 7, tzinfo=plus_two)},
                {"id": 3, "at": None},
            ],
        )
        raw = dict(conn.execute(text("SELECT id, at FROM t")).tuples().all())
        back = dict(conn.execute(select(t.c.id, t.c.at)).tuples().all())
    # Exactly SQLAlchemy's SQLite DATETIME storage format, so string comparisons in
    # queries (ORDER BY, <, >=) keep working on rows written before and after.
    assert raw == {1: "2026-11-23 09:05:07.000012", 2: "2026-11-23 09:05:07.000000", 3: None}
    assert back[1] == datetime(2026, 11, 23, 9, 5, 7, 12, tzinfo=UTC)
    assert back[2] == datetime(2026, 11, 23, 9, 5, 7, tzinfo=UTC)
    assert back[2].tzinfo is UTC
    assert back[3] is None


def test_sqlite_reads_values_written_without_microseconds(table) -> None:  # type: ignore[no-untyped-def]
    engine, t = table
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t (id, at) VALUES (1, '2026-11-23 09:05:07')"))
        at = conn.execute(select(t.c.at)).scalar_one()
    assert at == datetime(2026, 11, 23, 9, 5, 7, tzinfo=UTC) and at.tzinfo is UTC


def test_sqlite_reads_values_stored_with_an_offset_as_utc(table) -> None:  # type: ignore[no-untyped-def]
    engine, t = table
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t (id, at) VALUES (1, '2026-11-23 11:05:07+02:00')"))
        conn.execute(text("INSERT INTO t (id, at) VALUES (2, '2026-11-23')"))
        got = dict(conn.execute(select(t.c.id, t.c.at)).tuples().all())
    assert got[1] == datetime(2026, 11, 23, 9, 5, 7, tzinfo=UTC) and got[1].tzinfo is UTC
    assert got[2] == datetime(2026, 11, 23, tzinfo=UTC)


def test_naive_datetime_is_refused(table) -> None:  # type: ignore[no-untyped-def]
    engine, t = table
    with pytest.raises(StatementError, match="naive datetime"), engine.begin() as conn:
        conn.execute(insert(t), {"id": 1, "at": datetime(2026, 11, 23, 9, 5, 7)})


def test_json_round_trips_unicode_and_nesting(table) -> None:  # type: ignore[no-untyped-def]
    engine, t = table
    doc = {"reasons": ["text: accusation (+34)", "naïve “quotes” 🙂"], "n": [1, 2.5, None]}
    with engine.begin() as conn:
        conn.execute(insert(t), {"id": 1, "doc": doc})
        assert conn.execute(select(t.c.doc)).scalar_one() == doc


def test_sqlite_connections_are_set_up_for_a_server(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'pragmas.db'}")
    try:
        with engine.connect() as conn:

            def pragma(name: str) -> object:
                return conn.exec_driver_sql(f"PRAGMA {name}").scalar()

            assert pragma("journal_mode") == "wal"
            assert pragma("foreign_keys") == 1
            assert pragma("busy_timeout") == 30000
            assert pragma("synchronous") == 1  # NORMAL
            assert pragma("cache_size") == -32768
            assert pragma("wal_autocheckpoint") == 10000
    finally:
        engine.dispose()
