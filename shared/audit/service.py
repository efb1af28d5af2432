"""Writing and reading the audit log."""

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

from shared.audit.models import AuditEntry
from shared.auth.scope import Principal
from shared.observability import current_request_id


def snapshot(row: SQLModel | None) -> dict[str, Any] | None:
    """A JSON-safe copy of a row's columns."""
    if row is None:
        return None
    return {key: _json_safe(value) for key, value in row.model_dump().items()}


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, Enum):
        return value.value
    return value


async def record_change(
    session: AsyncSession,
    *,
    actor: Principal,
    action: str,
    entity: str,
    entity_id: Any,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """Add one audit entry in the caller's transaction, tagged with the id of the request that made it."""
    request_id = current_request_id()
    session.add(
        AuditEntry(
            user_id=actor.user_id,
            username=actor.username,
            action=action,
            entity=entity,
            entity_id=str(entity_id),
            before=before,
            after=after,
            request_id=request_id[:64] if request_id else None,
        )
    )


async def list_audit_entries(
    session: AsyncSession,
    *,
    entity: str | None,
    entity_id: str | None,
    limit: int,
    before_id: int | None,
) -> list[AuditEntry]:
    """The newest audit entries first, optionally for one entity."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if entity:
        query = query.where(AuditEntry.entity == entity)
    if entity_id:
        query = query.where(AuditEntry.entity_id == entity_id)
    if before_id:
        query = query.where(AuditEntry.id < before_id)
    return list((await session.scalars(query)).all())
