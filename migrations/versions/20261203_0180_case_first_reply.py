"""reports: cases keep when the first reply was sent and by whom; covering reply indexes

The recovery report's "first response" and the per-agent median first response read a
case's first sent reply. They found it per case in ``replies`` (a correlated lookup, or
a ranking of every reply on the period's cases); at a million cases that was the
slowest part of both. ``cases.first_reply_at`` and ``cases.first_reply_by_id`` (a staff
id, no foreign key, like ``cause_set_by_id``) are stamped when a reply is sent (the
earliest one, so a reconciled reply found sent earlier moves it back), and filled here
from the replies already sent. ``ix_cases_first_reply`` (first_reply_at,
first_reply_by_id, created_at) answers "first replies sent in a period, per agent" from
the index alone.

Two reply indexes become covering and lead with ``state``: ``ix_replies_sent`` (state,
sent_at, staff_id, case_id, override_reason) replaces ``ix_replies_sent_at``, and
``ix_replies_waits`` (state, sla_started_at, sla_kind, sla_due_at, sent_at, channel,
staff_id) replaces ``ix_replies_sla_started``. SQLite without statistics (the app never
runs ANALYZE) took ``ix_replies_state`` for "sent, in the period", which is every sent
reply, over the range index; and each row then went to the table.

Revision ID: 0180
Revises: 0140
Create Date: 2026-12-03 08:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import monitor.db

revision: str = "0180"
down_revision: str | None = "0140"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The first sent reply of each case (earliest sent_at, then lowest id), as
# ix_replies_case_sent (case_id, state, sent_at, staff_id) finds it; NULLs sort first on
# SQLite and last on PostgreSQL, so a reply marked sent without a time is left out.
_FIRST = (
    "FROM replies r WHERE r.case_id = cases.id AND r.state = 'sent' "
    "AND r.sent_at IS NOT NULL ORDER BY r.sent_at, r.id LIMIT 1"
)
BACKFILL = (
    f"UPDATE cases SET first_reply_at = (SELECT r.sent_at {_FIRST}), "
    f"first_reply_by_id = (SELECT r.staff_id {_FIRST}) "
    "WHERE EXISTS (SELECT 1 FROM replies r WHERE r.case_id = cases.id AND r.state = 'sent' "
    "AND r.sent_at IS NOT NULL)"
)


def upgrade() -> None:
    with op.batch_alter_table("replies", schema=None) as batch_op:
        batch_op.drop_index("ix_replies_sent_at")
        batch_op.drop_index("ix_replies_sla_started")
        batch_op.create_index(
            "ix_replies_sent",
            ["state", "sent_at", "staff_id", "case_id", "override_reason"],
            unique=False,
        )
        batch_op.create_index(
            "ix_replies_waits",
            ["state", "sla_started_at", "sla_kind", "sla_due_at", "sent_at", "channel",
             "staff_id"],
            unique=False,
        )  # fmt: skip
        batch_op.create_index(
            "ix_replies_staff_case", ["staff_id", "state", "case_id"], unique=False
        )
    with op.batch_alter_table("promises", schema=None) as batch_op:
        batch_op.create_index(
            "ix_promises_state_due",
            ["state", "due_at", "id", "case_id", "kind", "owner_id"],
            unique=False,
        )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("first_reply_at", monitor.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("first_reply_by_id", sa.Integer(), nullable=True))
    op.execute(BACKFILL)
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_customer_id")
        batch_op.create_index(
            "ix_cases_customer_created", ["customer_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_cases_first_reply",
            ["first_reply_at", "first_reply_by_id", "created_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("promises", schema=None) as batch_op:
        batch_op.drop_index("ix_promises_state_due")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_first_reply")
        batch_op.drop_index("ix_cases_customer_created")
        batch_op.create_index("ix_cases_customer_id", ["customer_id"], unique=False)
        batch_op.drop_column("first_reply_by_id")
        batch_op.drop_column("first_reply_at")
    with op.batch_alter_table("replies", schema=None) as batch_op:
        batch_op.drop_index("ix_replies_staff_case")
        batch_op.drop_index("ix_replies_waits")
        batch_op.drop_index("ix_replies_sent")
        batch_op.create_index("ix_replies_sla_started", ["sla_started_at", "sla_kind"])
        batch_op.create_index("ix_replies_sent_at", ["sent_at"])
