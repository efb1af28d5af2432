"""Engine, sessions and the common table base."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from enum import Enum
from typing import Annotated, Any

import pydantic
from sqlalchemy import BigInteger, DateTime, Integer, MetaData, event
from sqlalchemy import Enum as SAEnum
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from shared.config import get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata: MetaData = SQLModel.metadata

# BIGINT on PostgreSQL, INTEGER on SQLite (where only INTEGER PRIMARY KEY autoincrements).
IdType = BigInteger().with_variant(Integer(), "sqlite")
MAX_ID = 2**63 - 1
# An id as a request may carry it: one a BIGINT key can hold (larger ones never reach the database driver).
StoredId = Annotated[int, pydantic.Field(ge=1, le=MAX_ID)]


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored with its zone and always read back timezone-aware (SQLite too)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def enum_type(enum: type[Enum], *, length: int = 30) -> SAEnum:
    """A string column holding an enum's values (no native database enum, so adding a value needs no DDL)."""
    return SAEnum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [member.value for member in members],
    )


def id_field(**kwargs: Any) -> Any:
    """A surrogate primary key."""
    return Field(default=None, primary_key=True, sa_type=IdType, **kwargs)


def fk_field(
    target: str, *, nullable: bool = False, ondelete: str | None = None, index: bool = True, **kwargs: Any
) -> Any:
    """A foreign key column, with an index unless another index of the table leads with it."""
    return Field(
        default=None if nullable else ...,
        foreign_key=target,
        ondelete=ondelete,
        sa_type=IdType,
        index=index,
        nullable=nullable,
        **kwargs,
    )


def created_field() -> Any:
    """A creation timestamp."""
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class TimestampedTable(SQLModel):
    """Columns every mutable table carries: when it was made and last changed, and its version."""

    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    version: int = Field(default=1, nullable=False)


_engine: AsyncEngine | None = None
_sessionmaker: async_sessionmaker[AsyncSession] | None = None


def _enable_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy emit BEGIN itself so that transactions and SAVEPOINTs behave as on PostgreSQL.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


# SQLite has one writer: a transaction that will write takes the write lock when it begins (BEGIN IMMEDIATE, waiting
# up to busy_timeout), instead of failing with "database is locked" when a read lock cannot be upgraded later.
write_intent: ContextVar[bool] = ContextVar("write_intent", default=False)


def _begin_sqlite(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for a PostgreSQL or SQLite URL."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine.sync_engine, "connect", _enable_sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _begin_sqlite)
        return engine
    return create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **kwargs)


def get_engine() -> AsyncEngine:
    """The process-wide engine, created on first use."""
    global _engine, _sessionmaker
    if _engine is None:
        _engine = make_engine(get_settings().resolved_database_url)
        _sessionmaker = async_sessionmaker(_engine, expire_on_commit=False)
    return _engine


def get_sessionmaker() -> async_sessionmaker[AsyncSession]:
    """The process-wide session factory."""
    get_engine()
    assert _sessionmaker is not None
    return _sessionmaker


async def dispose_engine() -> None:
    """Close every pooled connection (on shutdown)."""
    global _engine, _sessionmaker
    if _engine is not None:
        await _engine.dispose()
    _engine = None
    _sessionmaker = None


@asynccontextmanager
async def transaction() -> AsyncIterator[AsyncSession]:
    """A session committed once at the end and rolled back on any error (unless the error says to keep the changes)."""
    async with get_sessionmaker()() as session:
        try:
            yield session
            await session.commit()
        except BaseException as error:
            if keeps_changes(error):
                await session.commit()
            else:
                await session.rollback()
            raise


def keeps_changes(error: BaseException) -> bool:
    """Whether an error asks the session to commit what was flushed before it (AppError.keep_changes)."""
    return bool(getattr(error, "keep_changes", False))


@asynccontextmanager
async def session_scope() -> AsyncIterator[AsyncSession]:
    """A session for a job or command (which writes): commits at the end, rolls back on error."""
    token = write_intent.set(True)
    try:
        async with transaction() as session:
            yield session
    finally:
        write_intent.reset(token)


def is_postgres(session: AsyncSession) -> bool:
    """Whether the session talks to PostgreSQL."""
    return session.get_bind().dialect.name == "postgresql"
