"""drop two indexes that every ingest batch maintained and no query reads

``ix_cases_status_priority`` (status, priority) is a prefix of ``ix_cases_queue``
(status, priority DESC, first_unanswered_at, id), which serves the same lookups; and
nothing filters mentions by ``in_reply_to`` (threading looks up the referenced message's
``external_id`` through the unique key). Each was updated for every message ingested.

Revision ID: 0030
Revises: 0010
Create Date: 2026-11-23 17:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0030"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_cases_status_priority", table_name="cases")
    op.drop_index("ix_mentions_in_reply_to", table_name="mentions")


def downgrade() -> None:
    op.create_index("ix_mentions_in_reply_to", "mentions", ["in_reply_to"], unique=False)
    op.create_index("ix_cases_status_priority", "cases", ["status", "priority"], unique=False)
