"""pulled rows without copies: federation_row keeps the row as pulled only for tables kept as pulled

A pulled row that is copied into its table (figures, units, reports …) is its own record; storing it a second time
as pulled made the provenance table four times the size of the figures it described, and the city's pull wrote
twice what it applied. Tables kept only as pulled (indicator_result) still carry their payload.

Revision ID: 7e4a91c52f18
Revises: 7d3f80c41e07
Create Date: 2026-12-03 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "7e4a91c52f18"
down_revision: str | None = "7d3f80c41e07"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PAYLOAD = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
KEPT_AS_PULLED = ("indicator_result",)  # the mirror_only tables of shared/federation/registry.py at this revision


def upgrade() -> None:
    with op.batch_alter_table("federation_row") as batch_op:
        batch_op.alter_column("payload", existing_type=PAYLOAD, nullable=True)
    row = sa.table("federation_row", sa.column("table_name", sa.String), sa.column("payload", PAYLOAD))
    op.execute(row.update().where(row.c.table_name.not_in(KEPT_AS_PULLED)).values(payload=sa.null()))


def downgrade() -> None:
    # The copies are not rebuilt: the local rows hold the data, the earlier revision only displayed them.
    op.execute("UPDATE federation_row SET payload = '{}' WHERE payload IS NULL")
    with op.batch_alter_table("federation_row") as batch_op:
        batch_op.alter_column("payload", existing_type=PAYLOAD, nullable=False)
