"""figure index ends with the unit: ix_data_value_element_period becomes (element_id, period, org_unit_id)

The natural-key probe of a pull (element, unit, period of a unit's figure) could be planned on the two-column index
while the table was small, and then read every unit's figure of the element and period for each key once it had
grown: 1.2-1.5 s a page of 5,000 keys at 1,000,000 figures. With the unit in the index every plan is a point lookup.

Revision ID: 7f5b02d63a29
Revises: 7e4a91c52f18
Create Date: 2026-12-03 09:50:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "7f5b02d63a29"
down_revision: str | None = "7e4a91c52f18"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_data_value_element_period_unit", "data_value", ["element_id", "period", "org_unit_id"])
    op.drop_index("ix_data_value_element_period", table_name="data_value")


def downgrade() -> None:
    op.create_index("ix_data_value_element_period", "data_value", ["element_id", "period"])
    op.drop_index("ix_data_value_element_period_unit", table_name="data_value")
