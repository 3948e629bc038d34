"""Which database URLs complaint-monitor runs on, checked when the config is loaded.

SQLite (the pysqlite driver in the standard library) and PostgreSQL through psycopg 3
(a dependency) are the two backends the schema and the tests cover; any other URL is
refused here with one line, instead of an import error or a parse error later.
"""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

SUPPORTED_FORMS = "sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST:PORT/DATABASE"
# drivername as SQLAlchemy parses it; plain postgresql:// and postgres:// get psycopg 3
SUPPORTED_DRIVERS = frozenset(
    {"sqlite", "sqlite+pysqlite", "postgresql", "postgres", "postgresql+psycopg"}
)


def url_problem(url: str) -> str | None:
    """What is wrong with ``url`` as a database URL, or ``None`` if it is usable."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        # not echoed: a mistyped URL may still hold a password
        return f"not a database URL (use {SUPPORTED_FORMS})"
    if parsed.drivername in SUPPORTED_DRIVERS:
        return None
    shown = parsed.render_as_string(hide_password=True)
    backend = parsed.get_backend_name()
    if backend in ("sqlite", "postgresql"):
        return (
            f"{shown}: driver {parsed.get_driver_name()!r} is not supported (use {SUPPORTED_FORMS})"
        )
    return f"{shown}: {backend!r} databases are not supported (use {SUPPORTED_FORMS})"
