"""compensation: what a promise gives (kind, amount, currency, reason) and its approval

A promise may carry compensation (rebate, credit, refund, gift, upgrade, visit); above
the configured limit for its kind a lead approves it (approval, approved_by_id,
approved_at) before the reply promising it is sent. Indexed by kind for the reports.

Revision ID: 0102
Revises: 0120
Create Date: 2026-12-02 07:33:16.538513
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text  # noqa: F401
from sqlalchemy.dialects import postgresql  # noqa: F401

import monitor.db


revision: str = '0102'
down_revision: str | None = '0120'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('promises', schema=None) as batch_op:
        batch_op.add_column(sa.Column('compensation_kind', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('compensation_amount', sa.Numeric(precision=12, scale=2), nullable=True))
        batch_op.add_column(sa.Column('compensation_currency', sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column('compensation_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('approval', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('approved_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.add_column(sa.Column('approved_at', monitor.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_promises_compensation_kind'), ['compensation_kind'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_promises_approved_by_id_staff'), 'staff', ['approved_by_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('promises', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_promises_approved_by_id_staff'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_promises_compensation_kind'))
        batch_op.drop_column('approved_at')
        batch_op.drop_column('approved_by_id')
        batch_op.drop_column('approval')
        batch_op.drop_column('compensation_reason')
        batch_op.drop_column('compensation_currency')
        batch_op.drop_column('compensation_amount')
        batch_op.drop_column('compensation_kind')
