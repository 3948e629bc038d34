"""staff.timezone may be empty: no zone chosen, the console follows the viewer's browser

Until now every staff member had a zone (UTC unless `staff add --timezone` said
otherwise), so the console could not tell "chose UTC" from "never chose". NULL now means
"never chose": pages show times in the zone the browser reports. Existing rows keep the
zone they have.

Revision ID: 0170
Revises: 0070
Create Date: 2026-12-02 12:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0170"
down_revision: str | None = "0070"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.alter_column("timezone", existing_type=sa.String(length=64), nullable=True)


def downgrade() -> None:
    op.execute("UPDATE staff SET timezone = 'UTC' WHERE timezone IS NULL")
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.alter_column("timezone", existing_type=sa.String(length=64), nullable=False)
