"""promise idempotency key: a retried POST /api/v1/cases/{id}/promises finds its promise

Nullable and unique (NULLs do not collide): promises made without the header, by
replies, the clock or the demo, carry none.

Revision ID: 0070
Revises: 0090
Create Date: 2026-12-02 07:58:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0070'
down_revision: str | None = '0090'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('promises', schema=None) as batch_op:
        batch_op.add_column(sa.Column('idempotency_key', sa.String(length=200), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_promises_idempotency_key'), ['idempotency_key'])


def downgrade() -> None:
    with op.batch_alter_table('promises', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_promises_idempotency_key'), type_='unique')
        batch_op.drop_column('idempotency_key')
