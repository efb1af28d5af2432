"""provenance keyed by origin: federation_row's key is (peer_id, table_name, remote_id), without a surrogate id or a
foreign key to the peer

A pull writes one provenance row for every row it applies. At a city of a million figures the provenance insert was a
fifth of the pull's database time, and the per-row foreign-key check to federation_peer was most of it; the surrogate
id added a sequence draw and a third index. A page is applied holding its peer's row lock, and removing a peer takes
that lock before it deletes the peer's provenance rows (shared/federation/peers.py), so no row outlives its peer.

Revision ID: 80a6c3e15b94
Revises: 7f5b02d63a29
Create Date: 2026-12-03 10:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "80a6c3e15b94"
down_revision: str | None = "7f5b02d63a29"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = ["peer_id", "table_name", "remote_id"]


def upgrade() -> None:
    with op.batch_alter_table("federation_row") as batch_op:
        batch_op.drop_constraint("fk_federation_row_peer_id_federation_peer", type_="foreignkey")
        batch_op.drop_constraint("uq_federation_row_peer_id_table_name_remote_id", type_="unique")
        batch_op.drop_constraint("pk_federation_row", type_="primary")
        batch_op.drop_column("id")
        batch_op.create_primary_key("pk_federation_row", KEY)


def downgrade() -> None:
    op.execute("DELETE FROM federation_row WHERE peer_id NOT IN (SELECT id FROM federation_peer)")
    postgres = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("federation_row") as batch_op:
        batch_op.drop_constraint("pk_federation_row", type_="primary")
        if not postgres:  # SQLite numbers the rows as it copies them into the rebuilt table
            batch_op.add_column(sa.Column("id", sa.Integer(), nullable=False, primary_key=True))
    if postgres:
        op.execute("ALTER TABLE federation_row ADD COLUMN id BIGSERIAL NOT NULL")
        op.create_primary_key("pk_federation_row", "federation_row", ["id"])
    with op.batch_alter_table("federation_row") as batch_op:
        batch_op.create_unique_constraint("uq_federation_row_peer_id_table_name_remote_id", KEY)
        batch_op.create_foreign_key(
            "fk_federation_row_peer_id_federation_peer", "federation_peer", ["peer_id"], ["id"], ondelete="CASCADE"
        )
