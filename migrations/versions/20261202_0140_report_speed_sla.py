"""reports: a covering index on cases by opening time; the target each reply ended

``ix_cases_created_cover`` (created_at, cause, channel, customer_id, id) replaces
``ix_cases_created_at``: counting a period's cases by cause, channel or customer reads
the index alone. ``replies`` gains the response-time target it ended (kind, start, due),
copied from the case when it is sent, so first- and next-response attainment is
computed from rows instead of the case's event history; ``ix_replies_sla_started`` and
``ix_cases_sla_started`` read the waits that began in a period (answered, and still
open). ``ix_replies_case_sent`` (case_id, state, sent_at, staff_id) finds a case's
first response and "an agent replied on it" from the index alone. Replies sent before this revision carry no target.

Revision ID: 0140
Revises: 0150
Create Date: 2026-12-02 12:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import monitor.db

revision: str = "0140"
down_revision: str | None = "0150"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("replies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sla_kind", sa.String(length=8), nullable=True))
        batch_op.add_column(
            sa.Column("sla_started_at", monitor.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("sla_due_at", monitor.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            "ix_replies_sla_started", ["sla_started_at", "sla_kind"], unique=False
        )
        batch_op.create_index(
            "ix_replies_case_sent", ["case_id", "state", "sent_at", "staff_id"], unique=False
        )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_created_at")
        batch_op.create_index(
            "ix_cases_created_cover",
            ["created_at", "cause", "channel", "customer_id", "id"],
            unique=False,
        )
        batch_op.create_index("ix_cases_sla_started", ["sla_started_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_sla_started")
        batch_op.drop_index("ix_cases_created_cover")
        batch_op.create_index("ix_cases_created_at", ["created_at"], unique=False)
    with op.batch_alter_table("replies", schema=None) as batch_op:
        batch_op.drop_index("ix_replies_case_sent")
        batch_op.drop_index("ix_replies_sla_started")
        batch_op.drop_column("sla_due_at")
        batch_op.drop_column("sla_started_at")
        batch_op.drop_column("sla_kind")
