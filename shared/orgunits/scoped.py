"""Loading one row of a table that belongs to an org unit, for a caller whose scope must cover that unit."""

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.scope import Principal
from shared.errors import NotFound
from shared.orgunits.models import OrgUnit

Row = TypeVar("Row")


async def get_in_scope(session: AsyncSession, *, actor: Principal, model: type[Row], row_id: int, what: str) -> Row:
    """The row with its unit inside the caller's scope; NotFound otherwise (a row of another subtree is not
    disclosed, not even as forbidden)."""
    entity: Any = model
    found = (
        await session.execute(
            select(entity, OrgUnit.path).join(OrgUnit, OrgUnit.id == entity.org_unit_id).where(entity.id == row_id)
        )
    ).first()
    if found is None or not actor.covers(found.path):
        raise NotFound(f"{what} {row_id} does not exist")
    return found[0]
