"""Password hashing (argon2) and JWT access tokens."""

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shared.config import get_settings

_hasher = PasswordHasher()
JWT_ALGORITHM = "HS256"
API_TOKEN_PREFIX = "czt_"


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
    """The claims of a valid, unexpired JWT, else None."""
    try:
        return jwt.decode(token, get_settings().jwt_secret(), algorithms=[JWT_ALGORITHM])
    except jwt.PyJWTError:
        return None


def new_api_token() -> str:
    """A fresh random API token (shown once, only its sha256 is stored)."""
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def api_token_sha256(token: str) -> str:
    """The stored digest of an API token."""
    return hashlib.sha256(token.encode()).hexdigest()
