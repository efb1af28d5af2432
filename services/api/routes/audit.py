"""The audit log, for admins."""

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from services.common.deps import SessionDep, StaffUser
from shared.audit.service import list_audit_entries
from shared.auth.models import Role
from shared.db import StoredId
from shared.errors import ScopeDenied

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


class AuditEntryPublic(BaseModel):
    """One change: who, when, what, before and after."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: str
    user_id: int | None
    username: str | None
    action: str
    entity: str
    entity_id: str
    before: dict | None
    after: dict | None


@router.get("", response_model=list[AuditEntryPublic])
async def read_audit_log(
    session: SessionDep,
    actor: StaffUser,
    entity: str | None = None,
    entity_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before_id: StoredId | None = None,
) -> list[AuditEntryPublic]:
    """The newest changes first (admins only)."""
    actor.require_role([Role.admin])
    if actor.scope_path is not None:
        raise ScopeDenied("the audit log spans the whole tree: only an admin of the whole tree reads it")
    rows = await list_audit_entries(session, entity=entity, entity_id=entity_id, limit=limit, before_id=before_id)
    return [AuditEntryPublic.model_validate(row.model_dump() | {"at": row.at.isoformat()}) for row in rows]
