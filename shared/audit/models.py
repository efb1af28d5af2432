"""Audit log table."""

from datetime import datetime
from typing import Any

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from shared.db import created_field, id_field
from shared.db_types import JsonType


class AuditEntry(SQLModel, table=True):
    """One change to a stored row."""

    __tablename__ = "audit_entry"

    id: int | None = id_field()
    at: datetime = created_field()
    user_id: int | None = Field(default=None, index=True)
    username: str | None = Field(default=None, sa_type=String(80))
    action: str = Field(sa_type=String(20))
    entity: str = Field(sa_type=String(40), index=True)
    entity_id: str = Field(sa_type=String(40), index=True)
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JsonType, nullable=True))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JsonType, nullable=True))
    request_id: str | None = Field(default=None, sa_type=String(64))
