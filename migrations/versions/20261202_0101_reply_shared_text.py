"""reply_shared_text: the allowed shared text (an incident's paragraph) a reply used

The template guard judges only what a reply adds to its incident's shared paragraph;
the reply index must leave the paragraph out as well, or the second customer's
personal reply would look like a copy of the first one's. Nullable: older replies
used none.

Revision ID: 0101
Revises: 0130
Create Date: 2026-12-02 07:22:02.337600
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text  # noqa: F401
from sqlalchemy.dialects import postgresql  # noqa: F401

import monitor.db  # noqa: F401

revision: str = '0101'
down_revision: str | None = '0130'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('replies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('shared_text', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('replies', schema=None) as batch_op:
        batch_op.drop_column('shared_text')
