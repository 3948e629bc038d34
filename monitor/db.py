"""Database plumbing: the declarative Base, portable column types, engines and sessions.

Nothing here opens a connection at import time. Datetimes are always timezone-aware
UTC in Python, whatever the backend stores (SQLite has no time zones).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import JSON, BigInteger, DateTime, Engine, Integer, MetaData, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


_SQLITE_FORMAT = "%04d-%02d-%02d %02d:%02d:%02d.%06d"  # SQLAlchemy's SQLite DATETIME storage


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out; refuses naive values so bugs surface early."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column; pass an aware one")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    # On SQLite the two steps above (ours, then the dialect's string formatting or
    # parsing) run for every datetime of every row; ingestion writes several per message.
    # One fused function each way, producing exactly the dialect's storage format
    # ("YYYY-MM-DD HH:MM:SS.ffffff", so stored values and comparisons are unchanged).
    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError("naive datetime given to a UTCDateTime column; pass an aware one")
            if value.utcoffset():
                value = value.astimezone(UTC)
            return _SQLITE_FORMAT % (
                value.year,
                value.month,
                value.day,
                value.hour,
                value.minute,
                value.second,
                value.microsecond,
            )

        return process

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        def process(value: str | None) -> datetime | None:
            if value is None:
                return None
            try:  # stored naive UTC: parsing it as "+00:00" is 6x cheaper than replace()
                fast = datetime.fromisoformat(value + "+00:00")
                if fast.tzinfo is UTC:  # (a bare date would not take the offset)
                    return fast
            except ValueError:  # it carries an offset already
                pass
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is None:
                return parsed.replace(tzinfo=UTC)
            return parsed.astimezone(UTC)

        return process


JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {datetime: UTCDateTime}  # noqa: RUF012


def id_column() -> Mapped[int]:
    """A surrogate primary key: BIGINT on PostgreSQL, SQLite's INTEGER rowid alias."""
    return mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)


def utcnow() -> datetime:
    """The wall clock, for the edges only (CLI, scheduler); domain code takes ``now``."""
    return datetime.now(UTC)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not pysqlite, decide when transactions begin (SAVEPOINTs work, and
    # we can take the write lock up front; see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA journal_mode=WAL")
    # 32 MiB of page cache (the default is 2 MiB): storing a batch touches index pages
    # all over the mentions and cases tables, and re-reading them from the OS was a
    # tenth of ingest time. It is a ceiling, filled only by the pages a connection reads.
    cursor.execute("PRAGMA cache_size=-32768")
    # Checkpoint the WAL every 10,000 pages (~40 MiB) instead of every 1,000: a page
    # that several batches rewrite (case rows, index pages) is copied back once, and
    # the fsyncs come a tenth as often. Halved commit time in bench/ingest.py. The
    # size limit truncates a WAL that a long reader let grow past that.
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.execute("PRAGMA journal_size_limit=67108864")
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # IMMEDIATE takes the write lock at BEGIN, so two writers queue on busy_timeout
    # instead of one failing when it upgrades a read lock mid-transaction.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use the psycopg 3 driver for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def make_engine(url: str, *, echo: bool = False, pool: bool = True) -> Engine:
    url = normalise_url(url)
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
        if not pool:
            kwargs["poolclass"] = NullPool
    else:
        kwargs["pool_pre_ping"] = True
        # Server-side prepared statements would freeze a plan chosen while a table was
        # still small (a sequential scan for a 500-value IN list, forever); plan each time.
        kwargs["connect_args"] = {"prepare_threshold": None}
        if not pool:
            kwargs["poolclass"] = NullPool
    # orjson: JSON columns (reasons, scores, event payloads) are written for every
    # message ingested, and the standard library's encoder was a tenth of the time.
    kwargs["json_serializer"] = json_dumps
    kwargs["json_deserializer"] = orjson.loads
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


class DatabaseUnavailable(Exception):
    """The database cannot be reached; the message is one user-facing line."""


def check_connection(engine: Engine) -> None:
    """Open one connection and run ``SELECT 1``, or raise :class:`DatabaseUnavailable`."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError, OperationalError

    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except (OperationalError, DBAPIError) as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        where = engine.url.render_as_string(hide_password=True)
        raise DatabaseUnavailable(f"database {where} is unreachable: {reason}") from None
