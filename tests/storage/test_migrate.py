"""The models and the migrations describe the same schema, on every backend."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from monitor.db import Base, make_engine
from monitor.storage import migrate


@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_models_match_migrations(engine: Engine) -> None:
    """Equivalent of `alembic check`: autogenerate finds nothing to do at head."""
    with engine.connect() as conn:
        opts = {"compare_type": True, "include_object": migrate.include_object}
        ctx = MigrationContext.configure(conn, opts=opts)
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], f"models and migrations differ; add an Alembic revision: {diff}"
    assert migrate.current_revision(engine) == migrate.head_revision()


def test_upgrade_downgrade_roundtrip(empty_db_url: str) -> None:
    eng = make_engine(empty_db_url)
    try:
        migrate.upgrade(eng)
        tables = set(inspect(eng).get_table_names())
        assert {"mentions", "cases", "customers", "identities", "promises", "events"} <= tables
        from alembic import command

        cfg = migrate.alembic_config()
        with eng.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "base")
        assert set(inspect(eng).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(eng)
        assert migrate.current_revision(eng) == migrate.head_revision()
    finally:
        eng.dispose()
