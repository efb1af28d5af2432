"""Login, users and API tokens."""

from typing import Annotated

from fastapi import APIRouter, Form, Request, status

from services.common.deps import CurrentUser, SessionDep, StaffUser
from shared.auth import service
from shared.auth.schemas import ApiTokenCreate, ApiTokenIssued, TokenPublic, UserCreate, UserPublic
from shared.config import get_settings
from shared.db import StoredId

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.post("/auth/token", response_model=TokenPublic, summary="OAuth2 password flow")
async def token(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
) -> TokenPublic:
    """Exchange a username and password for a bearer token."""
    address = request.client.host if request.client else ""
    access_token = await service.login(session, username=username, password=password, address=address)
    return TokenPublic(access_token=access_token, expires_in=get_settings().access_token_minutes * 60)


@router.get("/auth/me", response_model=UserPublic)
async def me(session: SessionDep, actor: CurrentUser) -> UserPublic:
    """The caller's own account."""
    return UserPublic.model_validate(await service.get_own_account(session, actor=actor))


@router.post("/users", response_model=UserPublic, status_code=status.HTTP_201_CREATED)
async def create_user(session: SessionDep, actor: CurrentUser, body: UserCreate) -> UserPublic:
    """Add a user (admins, inside their subtree)."""
    return UserPublic.model_validate(await service.create_user(session, actor=actor, data=body))


@router.get("/users", response_model=list[UserPublic])
async def list_users(session: SessionDep, actor: StaffUser) -> list[UserPublic]:
    """Users inside the admin's subtree."""
    return [UserPublic.model_validate(user) for user in await service.list_users(session, actor=actor)]


@router.post("/users/{user_id}/deactivate", response_model=UserPublic)
async def deactivate_user(session: SessionDep, actor: CurrentUser, user_id: StoredId) -> UserPublic:
    """Revoke a user and every token they hold."""
    return UserPublic.model_validate(await service.deactivate_user(session, actor=actor, user_id=user_id))


@router.post("/users/{user_id}/reactivate", response_model=UserPublic)
async def reactivate_user(session: SessionDep, actor: CurrentUser, user_id: StoredId) -> UserPublic:
    """Let a deactivated user log in again."""
    return UserPublic.model_validate(await service.reactivate_user(session, actor=actor, user_id=user_id))


@router.post("/users/{user_id}/api-tokens", response_model=ApiTokenIssued, status_code=status.HTTP_201_CREATED)
async def issue_api_token(
    session: SessionDep, actor: CurrentUser, user_id: StoredId, body: ApiTokenCreate
) -> ApiTokenIssued:
    """A long-lived token for an integration or peer user (shown once)."""
    row, plain = await service.issue_api_token(session, actor=actor, user_id=user_id, name=body.name)
    assert row.id is not None
    return ApiTokenIssued(id=row.id, name=row.name, token=plain)
