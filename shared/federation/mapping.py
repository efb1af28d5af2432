"""What applying a page needs everywhere: the peer's ids this instance knows, refusals, and the subtree rules."""

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, cast, func, literal, select
from sqlalchemy.dialects.postgresql import REGCLASS
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import AppError
from shared.federation.models import Peer, PulledRow
from shared.federation.payloads import table_of
from shared.federation.registry import BY_TABLE

ROW = PulledRow.__table__
SOURCE_TABLES = ("data_value", "activity")  # tables whose `source` column says where a figure came from


class PeerRefused(AppError):
    """A peer sent something this instance will not apply (nothing of the page was)."""

    status_code = 422
    title = "Peer refused"
    type_slug = "peer-refused"


class RowRefused(PeerRefused):
    """A refusal of the row at `index` of a run."""

    def __init__(self, index: int, detail: str) -> None:
        super().__init__(detail)
        self.index = index


@dataclass
class Mapping:
    """The peer's ids this instance knows, and the local copies' paths (org units)."""

    peer: Peer
    covered_path: str
    covered_id: int
    local: dict[tuple[str, int], int | None] = field(default_factory=dict)
    paths: dict[int, str] = field(default_factory=dict)
    # Org unit codes known absent when the page began (a code written since is taken out), and ids drawn ahead
    # for the units the page may create (PostgreSQL): a new unit is one INSERT with its path, not three statements.
    absent_codes: set[str] = field(default_factory=set)
    unit_ids: list[int] = field(default_factory=list)


_FOREIGN_KEYS: dict[str, dict[str, str]] = {}


def foreign_keys(table: Table) -> dict[str, str]:
    """Column → referenced table of a table's foreign keys (cached)."""
    return _FOREIGN_KEYS.get(table.name) or _FOREIGN_KEYS.setdefault(
        table.name, {fk.parent.name: fk.column.table.name for fk in table.foreign_keys}
    )


async def unit_path(session: AsyncSession, mapping: Mapping, unit_id: int) -> str | None:
    """The path of a local org unit (cached for the page)."""
    if unit_id not in mapping.paths:
        org_unit = table_of("org_unit")
        path = await session.scalar(select(org_unit.c.path).where(org_unit.c.id == unit_id))
        if path is None:
            return None
        mapping.paths[unit_id] = path
    return mapping.paths[unit_id]


async def check_adoptable(session: AsyncSession, mapping: Mapping, *, name: str, local_id: int) -> None:
    """A local row with the same natural key may be taken over only inside the covered subtree, from no other peer."""
    other = await session.scalar(
        select(ROW.c.peer_id).where(
            ROW.c.table_name == name, ROW.c.local_id == local_id, ROW.c.peer_id != mapping.peer.id
        )
    )
    if other is not None:
        raise PeerRefused(f"the same {name} already comes from peer {other}")
    table = table_of(name)
    if "org_unit_id" in table.c and name != "org_unit":
        unit_id = await session.scalar(select(table.c.org_unit_id).where(table.c.id == local_id))
        path = await unit_path(session, mapping, unit_id) if unit_id is not None else None
        if path is None or not path.startswith(mapping.covered_path):
            raise PeerRefused(f"a {name} with the same key exists outside the subtree the peer covers")


_SEQUENCES: dict[str, str] = {}


async def draw_ids(session: AsyncSession, table: Table, count: int) -> list[int]:
    """`count` new ids from the table's sequence (PostgreSQL), in one statement."""
    sequence = _SEQUENCES.get(table.name) or _SEQUENCES.setdefault(
        table.name, await session.scalar(select(func.pg_get_serial_sequence(table.name, "id")))
    )
    # One row holding an array: thousands of one-column rows cost more to fetch than the ids are worth.
    draw = select(func.array_agg(func.nextval(cast(literal(sequence), REGCLASS)))).select_from(
        func.generate_series(1, count)
    )
    return list(await session.scalar(draw) or [])


def mapped_foreign_keys(mapping: Mapping, *, name: str, values: dict[str, Any], index: int) -> None:
    """Replace the peer's ids in a row's foreign keys by ours; RowRefused for a reference outside the subtree."""
    for column, target in foreign_keys(table_of(name)).items():
        remote = values.get(column)
        if remote is None:
            continue
        if target not in BY_TABLE:
            values[column] = None  # users and other instance-local rows do not travel
            continue
        try:
            remote_id = int(remote)
        except (TypeError, ValueError):
            raise RowRefused(index, f"{column} is not an id ({remote!r})") from None
        mapped = mapping.local.get((target, remote_id))
        if mapped is None:
            raise RowRefused(
                index, f"{column} refers to {target} {remote}, which lies outside the subtree the peer covers"
            )
        values[column] = mapped
