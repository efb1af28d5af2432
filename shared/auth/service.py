"""Logging in, resolving a bearer token to a principal, and managing users and API tokens."""

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit.service import record_change, snapshot
from shared.auth.models import ApiToken, LoginFailure, Role, User
from shared.auth.schemas import UserCreate
from shared.auth.scope import Principal
from shared.auth.security import (
    API_TOKEN_PREFIX,
    access_token_user_id,
    api_token_sha256,
    decode_access_token,
    hash_password_off_loop,
    issue_access_token,
    new_api_token,
    verify_password_off_loop,
)
from shared.concurrency import bump_version
from shared.config import get_settings
from shared.db import utcnow
from shared.errors import Conflict, FailedLogin, InvalidInput, NotFound, TooManyAttempts, Unauthenticated
from shared.orgunits.models import Department, OrgUnit

# Long-lived tokens impersonate nobody: they go to peers and integrations, never to people who manage.
TOKEN_ROLES = (Role.peer, Role.viewer, Role.unit_clerk)
LAST_USED_RESOLUTION = timedelta(minutes=1)


async def login(session: AsyncSession, *, username: str, password: str, address: str) -> str:
    """A JWT for valid, active credentials; 401 otherwise (same answer and time for unknown users), 429 after too many
    failures of the username or of the client address within the window."""
    username_key, address_key = username[:80], address[:64]
    earlier_failures = await _check_login_throttle(session, username=username_key, address=address_key)
    user = await session.scalar(select(User).where(User.username == username))
    known = user is not None and user.is_active
    stored_hash = user.password_hash if user is not None and known else None
    # The reading transaction ends before the slow hash: held through it, it would keep SQLite's write lock (a burst
    # of logins then waits past the busy timeout) or a pooled PostgreSQL connection. Nothing is written yet.
    await session.commit()
    if not await verify_password_off_loop(password, stored_hash) or not known:
        session.add(LoginFailure(username=username_key, address=address_key, failed_at=utcnow()))
        await session.flush()
        raise FailedLogin("wrong username or password")
    assert user is not None and user.id is not None
    if earlier_failures:
        await session.execute(delete(LoginFailure).where(LoginFailure.username == username_key))
    return issue_access_token(user_id=user.id, role=user.role.value)


async def _check_login_throttle(session: AsyncSession, *, username: str, address: str) -> int:
    """Refuse (429) when the username or the address has failed too often lately; else the username's failures."""
    settings = get_settings()
    now = utcnow()
    since = now - timedelta(seconds=settings.login_window_seconds)
    counted = 0
    for column, key, limit, what in (
        (LoginFailure.username, username, settings.login_attempts_per_username, "this username"),
        (LoginFailure.address, address, settings.login_attempts_per_address, "this address"),
    ):
        recent = select(func.count(), func.min(LoginFailure.failed_at)).where(
            column == key, LoginFailure.failed_at > since
        )
        failures, oldest = (await session.execute(recent)).one()
        if failures >= limit:
            retry = _seconds_until(oldest, since=since)
            raise TooManyAttempts(f"too many failed logins for {what}; retry in {retry} s", retry_after=retry)
        counted = counted or failures
    return counted


def _seconds_until(oldest: datetime | None, *, since: datetime) -> int:
    """Seconds until the oldest failure in the window leaves it (at least 1)."""
    if oldest is None:
        return 1
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=since.tzinfo)
    return max(1, math.ceil((oldest - since).total_seconds()))


async def forget_login_failures(session: AsyncSession, *, now: datetime) -> int:
    """Drop failed logins older than the throttle's window."""
    since = now - timedelta(seconds=get_settings().login_window_seconds)
    result = await session.execute(delete(LoginFailure).where(LoginFailure.failed_at <= since))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def principal_for_user(session: AsyncSession, *, user: User) -> Principal:
    """The principal of a stored user, with its subtree path."""
    scope_path = None
    if user.org_unit_id is not None:
        unit = await session.get(OrgUnit, user.org_unit_id)
        scope_path = unit.path if unit else "/-/"
    return Principal(
        user_id=user.id,
        username=user.username,
        role=Role(user.role),
        scope_path=scope_path,
        department_id=user.department_id,
    )


async def principal_from_bearer(session: AsyncSession, *, token: str) -> Principal:
    """Resolve a bearer token (JWT or API token) to an active user's principal."""
    if token.startswith(API_TOKEN_PREFIX):
        row = await session.scalar(select(ApiToken).where(ApiToken.token_sha256 == api_token_sha256(token)))
        if row is None or row.revoked_at is not None:
            raise Unauthenticated("the API token is unknown or revoked")
        moment = utcnow()
        # Marked at most once a minute: a write on every read would make concurrent reads with one token (a peer
        # pulling pages) contend for SQLite's single write lock.
        if row.last_used_at is None or moment - row.last_used_at >= LAST_USED_RESOLUTION:
            row.last_used_at = moment
        user = await session.get(User, row.user_id)
    else:
        claims = decode_access_token(token)
        if claims is None:
            raise Unauthenticated("the access token is invalid or expired")
        user_id = access_token_user_id(claims)
        user = await session.get(User, user_id) if user_id is not None else None
    if user is None or not user.is_active:
        raise Unauthenticated("the user behind this token is deactivated")
    return await principal_for_user(session, user=user)


async def create_user(session: AsyncSession, *, actor: Principal, data: UserCreate) -> User:
    """Add a user inside the admin's own subtree."""
    actor.require_role([Role.admin])
    if await session.scalar(select(User).where(User.username == data.username)):
        raise Conflict(f"username {data.username} is taken", errors=[{"field": "username", "message": "duplicate"}])
    if data.org_unit_id is None:
        if actor.scope_path is not None:
            raise InvalidInput("you may only create users inside your own subtree", field="org_unit_id")
    else:
        unit = await session.get(OrgUnit, data.org_unit_id)
        if unit is None:
            raise InvalidInput(f"org unit {data.org_unit_id} does not exist", field="org_unit_id")
        actor.require_covers(unit.path)
    await _check_department(session, data=data)
    user = User(**data.model_dump(exclude={"password"}), password_hash=await hash_password_off_loop(data.password))
    session.add(user)
    await session.flush()
    await record_change(
        session, actor=actor, action="create", entity="user", entity_id=user.id, before=None, after=_safe(user)
    )
    return user


async def _check_department(session: AsyncSession, *, data: UserCreate) -> None:
    if data.role == Role.department_reporter and data.department_id is None:
        raise InvalidInput("a department reporter needs a department", field="department_id")
    if data.department_id is None:
        return
    department = await session.get(Department, data.department_id)
    if department is None:
        raise InvalidInput(f"department {data.department_id} does not exist", field="department_id")
    if data.org_unit_id is not None and department.org_unit_id != data.org_unit_id:
        unit = await session.get(OrgUnit, data.org_unit_id)
        owner = await session.get(OrgUnit, department.org_unit_id)
        if unit is None or owner is None or not owner.path.startswith(unit.path):
            raise InvalidInput("the department lies outside the user's org unit", field="department_id")


def _safe(user: User) -> dict | None:
    data = snapshot(user)
    if data:
        data.pop("password_hash", None)
    return data


async def get_own_account(session: AsyncSession, *, actor: Principal) -> User:
    """The caller's own user row."""
    user = await session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None:
        raise NotFound("this principal has no user account")
    return user


async def get_user(session: AsyncSession, *, actor: Principal, user_id: int) -> User:
    """A user the admin may see."""
    actor.require_role([Role.admin])
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    if actor.scope_path is not None:
        unit = await session.get(OrgUnit, user.org_unit_id) if user.org_unit_id else None
        if unit is None or not actor.covers(unit.path):
            raise NotFound(f"user {user_id} does not exist")
    return user


async def list_users(session: AsyncSession, *, actor: Principal) -> list[User]:
    """Users inside the admin's subtree."""
    actor.require_role([Role.admin])
    query = select(User).outerjoin(OrgUnit, OrgUnit.id == User.org_unit_id).order_by(User.id)
    if actor.scope_path is not None:
        query = query.where(OrgUnit.path.startswith(actor.scope_path))
    return list((await session.scalars(query)).all())


async def deactivate_user(session: AsyncSession, *, actor: Principal, user_id: int) -> User:
    """Revoke a user: every token of theirs stops working at once (their API tokens are revoked for good)."""
    user = await get_user(session, actor=actor, user_id=user_id)
    if user.id == actor.user_id:
        raise Conflict("you cannot deactivate yourself", errors=[{"field": "user_id", "message": "your own account"}])
    if user.is_active and user.role == Role.admin and user.org_unit_id is None:
        others = await session.scalar(
            select(func.count()).where(
                User.role == Role.admin,
                User.org_unit_id.is_(None),
                User.is_active,
                User.id != user.id,  # type: ignore[union-attr]
            )
        )
        if not others:
            raise Conflict(
                "the last active admin of the whole tree cannot be deactivated",
                errors=[{"field": "user_id", "message": "the last whole-tree admin"}],
            )
    before = _safe(user)
    moment = utcnow()
    user.is_active = False
    user.deactivated_at = moment
    bump_version(user)
    await session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=moment, updated_at=moment)  # type: ignore[union-attr]
    )
    await session.flush()
    await record_change(
        session, actor=actor, action="update", entity="user", entity_id=user.id, before=before, after=_safe(user)
    )
    return user


async def reactivate_user(session: AsyncSession, *, actor: Principal, user_id: int) -> User:
    """Let a deactivated user log in again (their revoked API tokens stay revoked)."""
    user = await get_user(session, actor=actor, user_id=user_id)
    if user.is_active:
        return user
    before = _safe(user)
    user.is_active = True
    user.deactivated_at = None
    bump_version(user)
    await session.flush()
    await record_change(
        session, actor=actor, action="update", entity="user", entity_id=user.id, before=before, after=_safe(user)
    )
    return user


async def issue_api_token(session: AsyncSession, *, actor: Principal, user_id: int, name: str) -> tuple[ApiToken, str]:
    """A new long-lived token for an integration user; the plain token is returned once."""
    user = await get_user(session, actor=actor, user_id=user_id)
    if user.role not in TOKEN_ROLES:
        allowed = ", ".join(role.value for role in TOKEN_ROLES)
        raise InvalidInput(f"API tokens are for integrations ({allowed}), not for a {user.role.value}", field="user_id")
    token = new_api_token()
    row = ApiToken(user_id=user.id, name=name, token_prefix=token[:12], token_sha256=api_token_sha256(token))
    session.add(row)
    await session.flush()
    await record_change(
        session,
        actor=actor,
        action="create",
        entity="api_token",
        entity_id=row.id,
        before=None,
        after={"user_id": user.id, "name": name, "token_prefix": row.token_prefix},
    )
    return row, token
