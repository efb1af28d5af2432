"""login failures: refused password logins, counted per username and per client address by the login throttle

Revision ID: 628dec608e42
Revises: 81b7d4f26ca5
Create Date: 2026-12-05 17:06:39.619258
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision: str = "628dec608e42"
down_revision: str | None = "81b7d4f26ca5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_failure",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("failed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failure")),
    )
    op.create_index("ix_login_failure_address_failed_at", "login_failure", ["address", "failed_at"], unique=False)
    op.create_index("ix_login_failure_username_failed_at", "login_failure", ["username", "failed_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_login_failure_username_failed_at", table_name="login_failure")
    op.drop_index("ix_login_failure_address_failed_at", table_name="login_failure")
    op.drop_table("login_failure")
