"""queue index: open cases by priority, then longest waiting

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-23 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_cases_queue",
        "cases",
        ["status", sa.literal_column("priority DESC"), "first_unanswered_at", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_cases_queue", table_name="cases")
