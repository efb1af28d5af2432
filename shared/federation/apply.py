"""Applying a peer's page: map its ids to ours, attach its root under the covered unit, refuse what lies outside.

Runs of rows of one table go a run at a time (shared/federation/runs.py); org units and the rest one at a time
(shared/federation/rows.py)."""

from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, any_, bindparam, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import is_postgres, utcnow
from shared.federation.mapping import ROW, Mapping, PeerRefused, RowRefused, draw_ids, foreign_keys
from shared.federation.models import Peer
from shared.federation.payloads import table_of
from shared.federation.registry import BY_TABLE, ORDER
from shared.federation.rows import apply_one
from shared.federation.runs import apply_run, run_end
from shared.federation.units import apply_new_units, new_units_end

__all__ = ["PeerRefused", "apply_items", "forget_stale"]


async def _load(session: AsyncSession, mapping: Mapping, items: list[dict[str, Any]]) -> None:
    """The local ids of the rows the page names (its own and those they refer to) that this peer sent before."""
    by_table: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_table.setdefault(item["table"], []).append(item)
    wanted: dict[str, set[int]] = {name: {item["id"] for item in group} for name, group in by_table.items()}
    for name, group in by_table.items():
        if name not in BY_TABLE:
            continue
        for column, target in foreign_keys(table_of(name)).items():
            if target in BY_TABLE:
                values = {item["row"].get(column) for item in group}
                wanted.setdefault(target, set()).update(value for value in values if isinstance(value, int))
    for table, ids in wanted.items():
        ids -= {key[1] for key in mapping.local if key[0] == table}
        if not ids:
            continue
        # Ids above the highest one remembered for the table were never pulled: a first pull, or a page of new rows,
        # needs no probe of the provenance index at all.
        highest = await _highest_pulled(session, peer_id=mapping.peer.id, table=table)
        known = sorted(i for i in ids if highest is not None and i <= highest)
        for start in range(0, len(known), 5000):
            chunk = known[start : start + 5000]
            wanted_ids = (
                ROW.c.remote_id == any_(bindparam("ids", chunk, type_=ARRAY(ROW.c.remote_id.type)))
                if is_postgres(session)
                else ROW.c.remote_id.in_(chunk)  # one array parameter on PostgreSQL, not thousands
            )
            query = select(ROW.c.remote_id, ROW.c.local_id).where(
                ROW.c.peer_id == mapping.peer.id, ROW.c.table_name == table, wanted_ids
            )
            for remote_id, local_id in (await session.execute(query)).all():
                mapping.local[(table, remote_id)] = local_id


async def _highest_pulled(session: AsyncSession, *, peer_id: int, table: str) -> int | None:
    """The highest id of the table this peer has sent (None before its first row)."""
    query = select(func.max(ROW.c.remote_id)).where(ROW.c.peer_id == peer_id, ROW.c.table_name == table)
    if not is_postgres(session):
        return await session.scalar(query)
    # Planned for the table as it is now: a plan cached while it was empty (a pull grows it a thousandfold) took
    # 3.6 ms a call at a million rows. Only here: custom plans for every statement re-planned the foreign-key checks
    # of each inserted row too (data_value's insert took half as long again).
    await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    highest = await session.scalar(query)
    await session.execute(text("RESET plan_cache_mode"))
    return highest


async def _prepare_units(session: AsyncSession, mapping: Mapping, items: list[dict[str, Any]]) -> None:
    """For the page's org units this instance does not know yet: which codes are free, and (PostgreSQL) their ids."""
    codes = {
        item["row"].get("code")
        for item in items
        if item.get("table") == "org_unit"
        and item.get("op") == "upsert"
        and ("org_unit", item.get("id")) not in mapping.local
        and isinstance(item.get("row"), dict)
    }
    codes = {code for code in codes if isinstance(code, str)}
    if not codes:
        return
    org_unit = table_of("org_unit")
    taken = set((await session.scalars(select(org_unit.c.code).where(org_unit.c.code.in_(codes)))).all())
    mapping.absent_codes = codes - taken
    if mapping.absent_codes and is_postgres(session):
        mapping.unit_ids = await draw_ids(session, org_unit, len(mapping.absent_codes))


async def apply_items(
    session: AsyncSession, *, peer: Peer, items: list[dict[str, Any]], root_code: str, now: datetime | None = None
) -> int:
    """Apply a page of a peer's rows in order inside the caller's transaction; PeerRefused when anything is off."""
    covered = table_of("org_unit")
    covered_path = await session.scalar(select(covered.c.path).where(covered.c.id == peer.covered_org_unit_id))
    if covered_path is None:
        raise PeerRefused("the covered org unit no longer exists")
    mapping = Mapping(peer=peer, covered_path=covered_path, covered_id=peer.covered_org_unit_id)
    await _load(session, mapping, items)
    await _prepare_units(session, mapping, items)
    pulled_at = now or utcnow()
    position = 0
    postgres = is_postgres(session)
    while position < len(items):
        units_end = new_units_end(items, position, mapping=mapping) if postgres else position
        end = units_end if units_end > position else run_end(items, position)
        try:
            if units_end > position:
                await apply_new_units(session, mapping, items[position:end], root_code=root_code, pulled_at=pulled_at)
            elif end - position > 1:
                await apply_run(session, mapping, items[position:end], pulled_at=pulled_at)
            else:
                await apply_one(session, mapping, items[position], root_code=root_code, pulled_at=pulled_at)
        except RowRefused as exc:
            _refuse(items, position + exc.index, exc.detail)
        except PeerRefused as exc:
            _refuse(items, position, exc.detail)
        except (ValueError, TypeError, KeyError) as exc:
            _refuse(items, position, f"malformed ({exc})")
        position = end
    return len(items)


def _refuse(items: list[dict[str, Any]], position: int, detail: str) -> None:
    item = items[position] if position < len(items) else {}
    raise PeerRefused(
        f"row {position} ({item.get('table')} {item.get('id')}): {detail}",
        errors=[{"row": position, "field": str(item.get("table")), "message": detail}],
    )


async def forget_stale(session: AsyncSession, *, peer: Peer, root_code: str) -> int:
    """After a full snapshot: delete what the peer no longer has (rows of an older generation), children first."""
    stale = (
        await session.execute(
            select(ROW.c.table_name, ROW.c.remote_id).where(
                ROW.c.peer_id == peer.id, ROW.c.generation < peer.generation
            )
        )
    ).all()

    items = [
        {"table": table, "id": remote_id, "op": "delete", "row": {}}
        for table, remote_id in sorted(stale, key=lambda r: (-ORDER.get(r[0], 0), -r[1]))
    ]
    await apply_items(session, peer=peer, items=items, root_code=root_code)
    return len(items)
