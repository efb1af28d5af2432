"""Bodies for tokens and users."""

from pydantic import BaseModel, ConfigDict, Field

from shared.auth.models import Role
from shared.db import StoredId


class TokenPublic(BaseModel):
    """An OAuth2 bearer token."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int


class UserCreate(BaseModel):
    """A new user; no org unit means the whole tree."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "username": "xuanchuanban",
                    "password": "a long passphrase",
                    "role": "department_reporter",
                    "org_unit_id": 2,
                    "department_id": 1,
                }
            ]
        }
    )

    username: str = Field(min_length=3, max_length=80, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=10, max_length=200)
    role: Role
    display_name: str = Field(default="", max_length=200)
    org_unit_id: StoredId | None = None
    department_id: StoredId | None = None


class UserPublic(BaseModel):
    """A user as admins see it (never the hash)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    role: Role
    org_unit_id: int | None
    department_id: int | None
    is_active: bool


class ApiTokenCreate(BaseModel):
    """A long-lived token for an integration user."""

    name: str = Field(min_length=1, max_length=120)


class ApiTokenIssued(BaseModel):
    """The token, shown once."""

    id: int
    name: str
    token: str
