"""incidents: one fault many customers share, and the cases attached to it

``incidents`` holds what staff declared (title, public status text, workaround, state,
the terms its complaints use, what to ask each customer); ``incident_cases`` links
cases to it (by hand, in bulk, from a suggestion). The follow-up and check-in tasks an
incident sets are ordinary promises (kinds ``incident_update``, ``check_in``): no column.

Revision ID: 0100
Revises: 0060
Create Date: 2026-12-02 07:13:26.798095
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import monitor.db

revision: str = '0100'
down_revision: str | None = '0060'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('incidents',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('status_text', sa.Text(), nullable=False),
    sa.Column('workaround', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('terms', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('asks', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=False),
    sa.Column('declared_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', monitor.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', monitor.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('state_changed_at', monitor.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', monitor.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['declared_by_id'], ['staff.id'], name=op.f('fk_incidents_declared_by_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents'))
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incidents_state'), ['state'], unique=False)

    op.create_table('incident_cases',
    sa.Column('incident_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('attached_at', monitor.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attached_by', sa.String(length=120), nullable=False),
    sa.Column('how', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_incident_cases_case_id_cases')),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_incident_cases_incident_id_incidents')),
    sa.PrimaryKeyConstraint('incident_id', 'case_id', name=op.f('pk_incident_cases'))
    )
    with op.batch_alter_table('incident_cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_cases_case_id'), ['case_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('incident_cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_cases_case_id'))

    op.drop_table('incident_cases')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incidents_state'))

    op.drop_table('incidents')
