"""User and API-token tables."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, String
from sqlmodel import Field, SQLModel

from shared.db import TimestampedTable, UTCDateTime, created_field, enum_type, fk_field, id_field, utcnow


class Role(StrEnum):
    """What a user may do; the org-unit scope says where."""

    admin = "admin"
    plan_manager = "plan_manager"
    department_reporter = "department_reporter"
    unit_clerk = "unit_clerk"
    viewer = "viewer"
    citizen = "citizen"
    peer = "peer"


class User(TimestampedTable, table=True):
    """A person or integration, scoped to an org-unit subtree and optionally a department."""

    __tablename__ = "user_account"

    id: int | None = id_field()
    username: str = Field(sa_type=String(80), unique=True, index=True)
    display_name: str = Field(default="", sa_type=String(200))
    password_hash: str | None = Field(default=None, sa_type=String(200))
    role: Role = Field(sa_type=enum_type(Role))
    org_unit_id: int | None = fk_field("org_unit.id", nullable=True, ondelete="RESTRICT")
    department_id: int | None = fk_field("department.id", nullable=True, ondelete="SET NULL")
    is_active: bool = Field(default=True)
    deactivated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ApiToken(TimestampedTable, table=True):
    """A long-lived token for a peer or integration; only its sha256 is kept."""

    __tablename__ = "api_token"

    id: int | None = id_field()
    user_id: int = fk_field("user_account.id", ondelete="CASCADE")
    name: str = Field(sa_type=String(120))
    token_prefix: str = Field(sa_type=String(16), index=True)
    token_sha256: str = Field(sa_type=String(64), unique=True)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    issued_at: datetime = created_field()


class LoginFailure(SQLModel, table=True):
    """A refused password login, kept for the throttle's window (per username and per client address)."""

    __tablename__ = "login_failure"
    __table_args__ = (
        Index("ix_login_failure_username_failed_at", "username", "failed_at"),
        Index("ix_login_failure_address_failed_at", "address", "failed_at"),
    )

    id: int | None = id_field()
    username: str = Field(sa_type=String(80), nullable=False)
    address: str = Field(sa_type=String(64), nullable=False)
    failed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
