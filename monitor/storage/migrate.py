"""Run Alembic migrations from inside the project (``complaint-monitor db upgrade``).

The scripts come from :func:`monitor.resources.data_dir` (inside the installed package,
or the checkout's ``migrations/``), so no ``alembic.ini`` is needed at run time; the
checkout's ``alembic.ini`` is only for the plain ``alembic`` command.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine

from monitor.resources import data_dir

UPGRADE_HINT = "run `complaint-monitor db upgrade`"


class SchemaNotCurrent(Exception):
    """The database is not at this release's schema; the message is one user-facing line."""


SEARCH_PREFIXES = ("search_", "ix_search_")


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Alembic's comparison leaves out the full-text search objects (migration 0110):
    FTS5 tables and their shadow tables, expression indexes no model can declare, and
    PostgreSQL's generated ``mentions.search_vector``."""
    return not (name or "").startswith(SEARCH_PREFIXES)


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(data_dir("migrations")))
    cfg.set_main_option("path_separator", "os")
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate to ``revision``; refuse a database made by a newer release (one line)."""
    cfg = alembic_config()
    newer = _newer_release_problem(engine, ScriptDirectory.from_config(cfg))
    if newer is not None:
        raise SchemaNotCurrent(newer)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _where(engine: Engine) -> str:
    return f"database at {engine.url.render_as_string(hide_password=True)}"


def _newer_release_problem(engine: Engine, script: ScriptDirectory) -> str | None:
    """The database is at a revision these migrations do not have: a newer release's."""
    current = current_revision(engine)
    if current is None:
        return None
    try:
        if script.get_revision(current) is not None:
            return None
    except CommandError:
        pass
    return (
        f"{_where(engine)} is at revision {current}, which this complaint-monitor does not "
        f"know (head {script.get_current_head()}): it was made by a newer "
        "complaint-monitor; install that release"
    )


def schema_problem(engine: Engine) -> str | None:
    """Why this database cannot be used by this release as it is, or ``None`` if it can."""
    script = ScriptDirectory.from_config(alembic_config())
    current, head = current_revision(engine), script.get_current_head()
    if current == head:
        return None
    if current is None:
        return f"{_where(engine)} is not migrated (revision none, head {head}): {UPGRADE_HINT}"
    newer = _newer_release_problem(engine, script)
    if newer is not None:
        return newer
    return (
        f"{_where(engine)} is at an older schema (revision {current}, head {head}): {UPGRADE_HINT}"
    )


def require_current(engine: Engine) -> None:
    """Raise :class:`SchemaNotCurrent` unless the database is at this release's head."""
    problem = schema_problem(engine)
    if problem is not None:
        raise SchemaNotCurrent(problem)
