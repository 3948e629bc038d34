"""cases: response-time targets, public risk, the lasting assignee, what was agreed

``sla_*`` hold the current wait's target (monitor/sla): first or next response, when
the wait began, its due and warning times, the alert ladder's progress and when the SLA
clock looks again (indexed: the clock claims by it). ``ix_cases_sla_due`` serves the
queue sorted by "breaching soon". ``public_risk``: unanswered on email or a DM, the
customer then posted publicly. ``assignee_id`` is the lasting owner, separate from the
composing lock (``claimed_by_id``). ``agreed_text``: the "agreed" stage in words.

Revision ID: 0090
Revises: 0110
Create Date: 2026-12-02 07:15:01.049809
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import monitor.db

revision: str = '0090'
down_revision: str | None = '0110'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('agreed_text', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('assignee_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.add_column(sa.Column('assigned_at', monitor.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('sla_kind', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('sla_started_at', monitor.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('sla_due_at', monitor.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('sla_warn_at', monitor.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('sla_state', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('sla_step', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('sla_next_action_at', monitor.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('public_risk', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index(batch_op.f('ix_cases_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_index('ix_cases_sla_due', ['status', 'sla_due_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_sla_next_action_at'), ['sla_next_action_at'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_cases_assignee_id_staff'), 'staff', ['assignee_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_cases_assignee_id_staff'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_cases_sla_next_action_at'))
        batch_op.drop_index('ix_cases_sla_due')
        batch_op.drop_index(batch_op.f('ix_cases_assignee_id'))
        batch_op.drop_column('public_risk')
        batch_op.drop_column('sla_next_action_at')
        batch_op.drop_column('sla_step')
        batch_op.drop_column('sla_state')
        batch_op.drop_column('sla_warn_at')
        batch_op.drop_column('sla_due_at')
        batch_op.drop_column('sla_started_at')
        batch_op.drop_column('sla_kind')
        batch_op.drop_column('assigned_at')
        batch_op.drop_column('assignee_id')
        batch_op.drop_column('agreed_text')

