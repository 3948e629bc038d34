"""replies outbox: recipient, threading, our Message-ID, sending lease, due index

Revision ID: 0010
Revises: 0020
Create Date: 2026-11-23 14:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import monitor.db

revision: str = "0010"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("replies", sa.Column("recipient", sa.String(length=320), nullable=True))
    op.add_column("replies", sa.Column("in_reply_to", sa.String(length=998), nullable=True))
    op.add_column("replies", sa.Column("message_id", sa.String(length=998), nullable=True))
    op.add_column("replies", sa.Column("holder", sa.String(length=200), nullable=True))
    op.add_column(
        "replies",
        sa.Column("lease_expires_at", monitor.db.UTCDateTime(timezone=True), nullable=True),
    )
    op.create_index(
        "ix_replies_state_next_attempt", "replies", ["state", "next_attempt_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_replies_state_next_attempt", table_name="replies")
    with op.batch_alter_table("replies") as batch:
        for column in ("lease_expires_at", "holder", "message_id", "in_reply_to", "recipient"):
            batch.drop_column(column)
