"""source_cursors.last_success_at: when a source last polled without an error

A poll that failed for a reason nobody foresaw (an item the database refused, a bug)
used to leave no trace on the source; every failure is now recorded, and the time of
the last success tells how long a failing source has been blind (/healthz, /metrics).

Revision ID: 0120
Revises: 0101
Create Date: 2026-12-02 07:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import monitor.db

revision: str = "0120"
down_revision: str | None = "0101"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("source_cursors", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("last_success_at", monitor.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("source_cursors", schema=None) as batch_op:
        batch_op.drop_column("last_success_at")
