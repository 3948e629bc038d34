"""staff_sessions: server-side console sessions, revocable; sign_in_failures.account

The console's session was only a signed cookie, valid for 12 hours whatever happened:
a cookie copied before sign-out still worked after it. Each sign-in is now a row
(the SHA-256 of the cookie's random token, never the token), checked on every request,
with idle and absolute expiry, revoked at sign-out, on a password change, on
deactivation and by an admin.

``sign_in_failures.account`` names, on an address's row, the account the failure was
on, so that a successful sign-in clears the owner's own typos from the address count.

Revision ID: 0060
Revises: 0080
Create Date: 2026-12-01 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import monitor.db

revision: str = "0060"
down_revision: str | None = "0080"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    when = monitor.db.UTCDateTime(timezone=True)
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("staff_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", when, nullable=False),
        sa.Column("last_seen_at", when, nullable=False),
        sa.Column("expires_at", when, nullable=False),
        sa.Column("revoked_at", when, nullable=True),
        sa.Column("revoked_reason", sa.String(length=40), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_staff_sessions_staff_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_sessions_token_hash")),
    )
    op.create_index("ix_staff_sessions_staff_id", "staff_sessions", ["staff_id"], unique=False)
    op.create_index("ix_staff_sessions_expires_at", "staff_sessions", ["expires_at"], unique=False)
    with op.batch_alter_table("sign_in_failures") as batch:
        batch.add_column(sa.Column("account", sa.String(length=400), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sign_in_failures") as batch:
        batch.drop_column("account")
    op.drop_index("ix_staff_sessions_expires_at", table_name="staff_sessions")
    op.drop_index("ix_staff_sessions_staff_id", table_name="staff_sessions")
    op.drop_table("staff_sessions")
