"""Dependencies shared by the HTTP services: the request's session and the caller."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.scope import Principal
from shared.auth.service import principal_from_bearer
from shared.db import transaction
from shared.errors import Unauthenticated

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def get_session() -> AsyncIterator[AsyncSession]:
    """One session per request, committed once when the route returns, rolled back on error."""
    async with transaction() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_principal(session: SessionDep, token: Annotated[str | None, Depends(oauth2_scheme)]) -> Principal:
    """The authenticated caller; 401 without a valid bearer token."""
    if not token:
        raise Unauthenticated("send Authorization: Bearer <token>")
    return await principal_from_bearer(session, token=token)


CurrentUser = Annotated[Principal, Depends(get_principal)]


async def get_staff_principal(actor: CurrentUser) -> Principal:
    """The authenticated caller, refused (403) unless staff: residents and peers never read staff data."""
    actor.require_staff()
    return actor


StaffUser = Annotated[Principal, Depends(get_staff_principal)]
IfMatch = Annotated[str | None, Header(alias="If-Match", description="the ETag you read")]
