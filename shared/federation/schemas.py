"""Request and response bodies of the federation API."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared import outbound
from shared.errors import InvalidInput
from shared.federation.models import PeerStatus


class PeerCreate(BaseModel):
    """A lower instance to pull: where it is, the unit of this tree its root attaches under, and its peer token."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "name": "jinshui",
                    "base_url": "https://jinshui.example.gov.cn",
                    "covered_org_unit_code": "410100",
                    "token": "czt_…",
                    "root_code": "410105",
                }
            ]
        },
    )

    name: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.-]+$")
    base_url: str = Field(min_length=8, max_length=300)
    covered_org_unit_code: str = Field(min_length=1, max_length=20)
    token: str = Field(min_length=8, max_length=200)
    root_code: str | None = Field(default=None, min_length=1, max_length=20)

    @field_validator("base_url", mode="before")
    @classmethod
    def _base_url(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return outbound.check_url(value, field="base_url", base=True)
        except InvalidInput as exc:
            raise ValueError(exc.detail) from None


class PeerPublic(BaseModel):
    """A peer with its health; never its token."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    base_url: str
    covered_org_unit_id: int
    root_code: str | None
    instance_id: str | None
    status: PeerStatus
    rows_pulled: int
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    lag_rows: int | None
    lag_seconds: float | None
    version: int


class FeedItem(BaseModel):
    """One changed row: its table, its id on the serving instance, upsert or delete, and its columns."""

    table: str
    id: int
    op: str
    row: dict[str, Any]


class ChangesPublic(BaseModel):
    """A page of the change feed."""

    since: str = Field(description="the cursor this page answers (empty: from the start)")
    items: list[FeedItem]
    next_cursor: str
    has_more: bool
    remaining: int = Field(description="changes after next_cursor already committed (0 on the last page)")


class SnapshotPublic(BaseModel):
    """A page of the snapshot; the last page carries the cursor to follow the feed from."""

    items: list[FeedItem]
    next_page: str | None
    cursor: str | None


class ManifestPublic(BaseModel):
    """Who an instance is and what it serves."""

    instance_id: str | None
    schema_version: str
    root_org_unit_code: str | None
    catalogue_version: str
    tables: list[str]


class OriginPublic(BaseModel):
    """Where a pulled row came from and when."""

    table: str
    id: int
    peer_id: int
    peer: str
    remote_id: int
    pulled_at: datetime
    peer_last_success_at: datetime | None
    # The row as this instance holds it (ids are this instance's); as pulled for a table kept as pulled.
    row: dict[str, Any] | None


class PullRequest(BaseModel):
    """Which peers to pull now (none named: every active peer of your subtree)."""

    model_config = ConfigDict(extra="forbid")

    peers: list[str] = Field(default_factory=list, max_length=200)


class PullAccepted(BaseModel):
    """The peers whose pull was started; their health shows how it went."""

    peers: list[str]
