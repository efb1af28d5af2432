"""Bodies of residents' login and data export."""

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class WechatLogin(BaseModel):
    """The code wx.login() gave the mini-program."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_\-]+$")


class ResidentToken(BaseModel):
    """A bearer token for a resident."""

    access_token: str
    token_type: str = "bearer"
    expires_in: int
    user_id: int
    new_account: bool


class DataExport(BaseModel):
    """Everything stored about the caller."""

    account: dict[str, Any]
    wechat: dict[str, Any] | None
    orders: list[dict[str, Any]]
    bookings: list[dict[str, Any]]
    ratings: list[dict[str, Any]]
    feedback: list[dict[str, Any]]
    volunteer: dict[str, Any] | None
    service_records: list[dict[str, Any]]
    votes: list[dict[str, Any]]
