"""Password hashing (argon2) and JWT access tokens."""

import asyncio
import hashlib
import secrets
import weakref
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shared.config import get_settings
from shared.db import MAX_ID

_hasher = PasswordHasher()
JWT_ALGORITHM = "HS256"
API_TOKEN_PREFIX = "czt_"
# argon2 takes 64 MiB and ~0.2 s a hash: at most this many run at once per process, each in a worker thread, so that a
# burst of logins neither stalls the event loop nor multiplies the memory.
HASHES_AT_ONCE = 2
_hash_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def hash_password(password: str) -> str:
    """An argon2id hash of a password."""
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """Whether a password matches its stored hash."""
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def _verify_against_dummy(password: str) -> None:
    verify_password(password, _dummy_hash())


def _hash_slot() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    slot = _hash_slots.get(loop)
    if slot is None:
        slot = _hash_slots[loop] = asyncio.Semaphore(HASHES_AT_ONCE)
    return slot


async def hash_password_off_loop(password: str) -> str:
    """hash_password in a worker thread, a bounded number at once."""
    async with _hash_slot():
        return await asyncio.to_thread(hash_password, password)


async def verify_password_off_loop(password: str, password_hash: str | None) -> bool:
    """verify_password in a worker thread; without a stored hash a dummy one is checked, so that it takes as long."""
    async with _hash_slot():
        if password_hash:
            return await asyncio.to_thread(verify_password, password, password_hash)
        await asyncio.to_thread(_verify_against_dummy, password)
        return False


def issue_access_token(*, user_id: int, role: str, now: datetime | None = None) -> str:
    """A signed JWT for a user."""
    settings = get_settings()
    issued = now or datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "role": role,
        "iat": int(issued.timestamp()),
        "exp": int((issued + timedelta(minutes=settings.access_token_minutes)).timestamp()),
    }
    return jwt.encode(claims, settings.jwt_secret(), algorithm=JWT_ALGORITHM)


def decode_access_token(token: str) -> dict[str, Any] | None:
    """The claims of a valid, unexpired JWT that names a user, else None."""
    try:
        claims = jwt.decode(
            token,
            get_settings().jwt_secret(),
            algorithms=[JWT_ALGORITHM],
            options={"require": ["exp", "iat", "sub"]},
        )
    except jwt.PyJWTError:
        return None
    if access_token_user_id(claims) is None:
        return None
    return claims


def access_token_user_id(claims: dict[str, Any]) -> int | None:
    """The user id a token's `sub` names, or None when it names none (not a decimal id in range)."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.isascii() or not subject.isdigit() or len(subject) > 19:
        return None
    user_id = int(subject)
    return user_id if 1 <= user_id <= MAX_ID else None


def new_api_token() -> str:
    """A fresh random API token (shown once, only its sha256 is stored)."""
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def api_token_sha256(token: str) -> str:
    """The stored digest of an API token."""
    return hashlib.sha256(token.encode()).hexdigest()
