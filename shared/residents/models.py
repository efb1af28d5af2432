"""The link from a WeChat mini-program identity to a resident's account."""

from datetime import datetime

from sqlalchemy import String
from sqlmodel import Field, SQLModel

from shared.db import UTCDateTime, created_field, fk_field, id_field


class WechatIdentity(SQLModel, table=True):
    """A resident's openid (unique per mini-program); no phone number is ever asked for."""

    __tablename__ = "wechat_identity"

    id: int | None = id_field()
    user_id: int = fk_field("user_account.id", ondelete="CASCADE", unique=True)
    openid: str = Field(sa_type=String(128), unique=True)
    unionid: str | None = Field(default=None, sa_type=String(128))
    created_at: datetime = created_field()
    last_login_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
