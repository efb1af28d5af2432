"""change log as JSON text: federation_change.payload is json, not jsonb (PostgreSQL)

The log is written once for every row a write touches and read as text by the feed: to_jsonb() cost twice what
to_json() costs at every write (3 µs a row of the 14 the logging trigger took at a city applying a million pulled
figures), and the feed turned the jsonb back into text for every row it served. The logging functions are replaced
with their to_json() form by migrations/env.py after every migration run. SQLite is unchanged (JSON text already).

Revision ID: 81b7d4f26ca5
Revises: 80a6c3e15b94
Create Date: 2026-12-03 11:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "81b7d4f26ca5"
down_revision: str | None = "80a6c3e15b94"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE federation_change ALTER COLUMN payload TYPE json USING payload::json")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE federation_change ALTER COLUMN payload TYPE jsonb USING payload::jsonb")
