"""connections: OAuth grants (sealed tokens), sign-ins under way, X's billable usage

Microsoft 365 and Google Workspace mailboxes and the X brand account log in with OAuth
2.0: ``oauth_grants`` keeps each connected account's refresh and access tokens sealed
(monitor.storage.secret_box) and its state (active / needs_reauthorisation);
``oauth_flows`` holds a console sign-in between its steps (device code or PKCE
verifier, sealed). ``x_usage`` records each billable X resource once per UTC day, as X
bills, for the cost meter and the budgets.

Revision ID: 0080
Revises: 0040
Create Date: 2026-12-01 22:28:38.926202
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import monitor.db

revision: str = '0080'
down_revision: str | None = '0040'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('oauth_flows',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('connection', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('secret', sa.Text(), nullable=False),
    sa.Column('user_code', sa.String(length=64), nullable=False),
    sa.Column('verification_uri', sa.String(length=2000), nullable=False),
    sa.Column('interval_seconds', sa.Integer(), nullable=False),
    sa.Column('next_poll_at', monitor.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expires_at', monitor.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_by', sa.String(length=120), nullable=False),
    sa.Column('created_at', monitor.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_flows'))
    )
    op.create_table('oauth_grants',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('provider', sa.String(length=40), nullable=False),
    sa.Column('account', sa.String(length=320), nullable=False),
    sa.Column('account_id', sa.String(length=64), nullable=False),
    sa.Column('scopes', sa.Text(), nullable=False),
    sa.Column('refresh_token', sa.Text(), nullable=True),
    sa.Column('access_token', sa.Text(), nullable=True),
    sa.Column('access_expires_at', monitor.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('state', sa.String(length=32), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('connected_at', monitor.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('connected_by', sa.String(length=120), nullable=False),
    sa.Column('refreshed_at', monitor.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_oauth_grants'))
    )
    op.create_table('x_usage',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('resource', sa.String(length=24), nullable=False),
    sa.Column('resource_id', sa.String(length=64), nullable=False),
    sa.Column('endpoint', sa.String(length=120), nullable=False),
    sa.Column('owned', sa.Boolean(), nullable=False),
    sa.Column('at', monitor.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_x_usage')),
    sa.UniqueConstraint('day', 'resource', 'resource_id', name=op.f('uq_x_usage_day_resource_resource_id'))
    )
    with op.batch_alter_table('x_usage', schema=None) as batch_op:
        batch_op.create_index('ix_x_usage_day_endpoint', ['day', 'endpoint'], unique=False)
    # the silence alarm asks for each source's latest message
    with op.batch_alter_table('mentions', schema=None) as batch_op:
        batch_op.create_index('ix_mentions_source_received', ['source', 'received_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('mentions', schema=None) as batch_op:
        batch_op.drop_index('ix_mentions_source_received')
    with op.batch_alter_table('x_usage', schema=None) as batch_op:
        batch_op.drop_index('ix_x_usage_day_endpoint')

    op.drop_table('x_usage')
    op.drop_table('oauth_grants')
    op.drop_table('oauth_flows')
