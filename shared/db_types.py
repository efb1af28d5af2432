"""Column types that differ by database."""

from sqlalchemy import JSON
from sqlalchemy.dialects.postgresql import JSONB

JsonType = JSON().with_variant(JSONB(), "postgresql")
# For nullable JSON columns: Python None is SQL NULL, not the JSON value null (JsonType's default).
OptionalJsonType = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
