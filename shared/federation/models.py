"""Change log, compaction floor, instance identity, peers and the provenance of pulled rows."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, String, Text
from sqlmodel import Field, SQLModel

from shared.db import IdType, TimestampedTable, UTCDateTime, enum_type, fk_field, id_field, utcnow
from shared.db_types import OptionalJsonType


class ChangeOp(StrEnum):
    """What happened to a row."""

    upsert = "upsert"
    delete = "delete"


class ChangeLogEntry(SQLModel, table=True):
    """One row created, changed or deleted; written by a trigger inside the writing transaction."""

    __tablename__ = "federation_change"
    __table_args__ = (
        Index("ix_federation_change_txid_id", "txid", "id"),
        {"sqlite_autoincrement": True},
    )

    id: int | None = id_field()
    # The writing transaction's id (pg_current_xact_id) on PostgreSQL; NULL on SQLite, where writers are serial.
    txid: int | None = Field(default=None, sa_type=BigInteger)
    table_name: str = Field(sa_type=String(60))
    row_id: int = Field(sa_type=BigInteger)
    op: str = Field(sa_type=String(10))
    # json, not jsonb (PostgreSQL): the row is logged as text once and served as that text; to_jsonb() cost twice
    # as much as to_json() for every row written, and turning jsonb back into text for the feed as much again.
    payload: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Compaction(SQLModel, table=True):
    """One compaction run; the latest one's (floor_txid, floor_id) is the oldest cursor still served."""

    __tablename__ = "federation_compaction"

    id: int | None = id_field()
    floor_txid: int = Field(default=0, sa_type=BigInteger)
    floor_id: int = Field(default=0, sa_type=BigInteger)
    removed: int = Field(default=0)
    compacted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Instance(SQLModel, table=True):
    """This instance's identity, made once when the federation tables are created."""

    __tablename__ = "federation_instance"

    id: int | None = id_field()
    instance_id: str = Field(sa_type=String(40))


class PeerStatus(StrEnum):
    """Whether a peer is pulled."""

    active = "active"
    paused = "paused"


class Peer(TimestampedTable, table=True):
    """A lower instance this one pulls: where it is, the unit its root attaches under, and how pulling goes."""

    __tablename__ = "federation_peer"

    id: int | None = id_field()
    name: str = Field(sa_type=String(80), unique=True)
    base_url: str = Field(sa_type=String(300))
    covered_org_unit_id: int = fk_field("org_unit.id", ondelete="RESTRICT")
    root_code: str | None = Field(default=None, sa_type=String(20))
    instance_id: str | None = Field(default=None, sa_type=String(40))
    token_encrypted: str = Field(sa_type=Text)
    status: PeerStatus = Field(default=PeerStatus.active, sa_type=enum_type(PeerStatus))
    cursor: str | None = Field(default=None, sa_type=String(200))
    snapshot_token: str | None = Field(default=None, sa_type=Text)
    generation: int = Field(default=0)
    rows_pulled: int = Field(default=0, sa_type=BigInteger)
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_success_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_type=Text)
    lag_rows: int | None = Field(default=None, sa_type=BigInteger)
    lag_seconds: float | None = None


class PulledRow(SQLModel, table=True):
    """Where a pulled row came from and when: the peer's row id, the local copy's id; the row as pulled only for a
    table kept as pulled (mirror_only), the others' local copy being the row."""

    __tablename__ = "federation_row"
    __table_args__ = (Index("ix_federation_row_local", "table_name", "local_id"),)

    # Keyed by where the row came from, with no surrogate id. No foreign key to the peer either: a pull writes a
    # provenance row for every row it applies, and the per-row check cost more than the row (8 µs of ~20 at a city
    # of a million figures). A page is applied holding its peer's row lock, and remove_peer() takes that lock
    # before it deletes the peer's provenance rows, so no row outlives its peer.
    peer_id: int = Field(primary_key=True, sa_type=IdType)
    table_name: str = Field(primary_key=True, sa_type=String(60))
    remote_id: int = Field(primary_key=True, sa_type=IdType)
    local_id: int | None = Field(default=None, sa_type=IdType)
    payload: dict[str, Any] | None = Field(default=None, sa_column=Column(OptionalJsonType, nullable=True))
    generation: int = Field(default=0)
    pulled_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
