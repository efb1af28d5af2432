"""write path indexes: drop the indexes another index already covers, and a facility index for facility figures only

Every figure written (by a form, an import or a pull from a peer) paid for five of these entries, and every logged
change for one more; none of them served a query the remaining indexes do not.

Revision ID: 7d3f80c41e07
Revises: 7c2e70b31d05
Create Date: 2026-12-02 18:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7d3f80c41e07"
down_revision: str | None = "7c2e70b31d05"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FACILITY_FIGURES = sa.text("facility_id IS NOT NULL")


def upgrade() -> None:
    # ix_data_value_element_period and the unique constraint of federation_row lead with these columns.
    op.drop_index("ix_data_value_element_id", table_name="data_value")
    op.drop_index("ix_federation_row_peer_id", table_name="federation_row")
    # Compaction finds superseded changes with one sort of the log instead (shared/federation/feed.py compact).
    op.drop_index("ix_federation_change_row", table_name="federation_change")
    op.drop_index("ix_data_value_facility_id", table_name="data_value")
    op.create_index(
        "ix_data_value_facility_id",
        "data_value",
        ["facility_id"],
        postgresql_where=FACILITY_FIGURES,
        sqlite_where=FACILITY_FIGURES,
    )


def downgrade() -> None:
    op.drop_index("ix_data_value_facility_id", table_name="data_value")
    op.create_index("ix_data_value_facility_id", "data_value", ["facility_id"])
    op.create_index("ix_federation_change_row", "federation_change", ["table_name", "row_id"])
    op.create_index("ix_federation_row_peer_id", "federation_row", ["peer_id"])
    op.create_index("ix_data_value_element_id", "data_value", ["element_id"])
