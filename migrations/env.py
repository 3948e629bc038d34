"""Alembic environment: the URL comes from the project's config, never from alembic.ini.

Callers inside the project (``complaint-monitor db upgrade``, the tests) pass an open
connection in ``config.attributes["connection"]``; the plain ``alembic`` command loads
the config the same way the CLI does.
"""

from __future__ import annotations

import warnings

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SAWarning

from monitor import models  # noqa: F401  (registers every table on Base.metadata)
from monitor.config import load_config
from monitor.db import Base, make_engine
from monitor.storage.migrate import include_object

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction(), warnings.catch_warnings():
        # SQLite batch migrations reflect the tables they alter and those their foreign
        # keys name. SQLAlchemy cannot reflect the search migration's expression indexes
        # (0110) and said so on stderr at every `db upgrade`, though batch mode neither
        # reads nor rebuilds those tables. Only that warning, for those indexes, is hushed.
        warnings.filterwarnings(
            "ignore",
            message=r"Skipped unsupported reflection of expression-based index ix_search_",
            category=SAWarning,
        )
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        url = load_config(require_file=False, with_secrets=False).settings.database.url
    engine = make_engine(url, pool=False)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit(
        "offline (--sql) migrations are not supported; run `complaint-monitor db upgrade`"
    )
run_migrations_online()
