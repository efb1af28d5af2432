"""Peer tokens at rest: Fernet (AES-CBC + HMAC) under a key derived from SECRET_KEY."""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from shared.config import get_settings


def _fernet() -> Fernet:
    secret = get_settings().jwt_secret().encode()
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"culturezone-federation-token:" + secret).digest()))


def encrypt_token(token: str) -> str:
    """The stored form of a peer's API token."""
    return _fernet().encrypt(token.encode()).decode()


def decrypt_token(stored: str) -> str | None:
    """The API token again; None when SECRET_KEY changed since it was stored."""
    try:
        return _fernet().decrypt(stored.encode()).decode()
    except InvalidToken:
        return None
