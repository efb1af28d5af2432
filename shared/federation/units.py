"""The org units of a page this instance does not have yet, written together (PostgreSQL).

A district's tree arrives as hundreds of new units, each usually logged twice (inserted, then given its path). Their
ids are drawn beforehand (Mapping.unit_ids), so every path is known in Python: the run becomes one INSERT and one
provenance INSERT instead of four statements per unit. Units this instance has already, codes taken here, and
moves go one at a time (shared/federation/rows.py)."""

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.federation.mapping import Mapping, RowRefused, unit_path
from shared.federation.payloads import canonical, table_of, to_python
from shared.federation.runs import by_columns, insert_records, remember_run


def new_units_end(items: list[dict[str, Any]], start: int, *, mapping: Mapping) -> int:
    """The end of the run from `start` of upserts of org units new here, each with a free code and a drawn id."""
    first_seen: dict[int, tuple[Any, Any]] = {}  # remote id → (code, parent) of its first occurrence in the run
    codes: set[Any] = set()
    end = start
    while end < len(items):
        item = items[end]
        row = item.get("row")
        if item.get("table") != "org_unit" or item.get("op") != "upsert" or not isinstance(row, dict):
            break
        shape = (row.get("code"), row.get("parent_id"))
        if item["id"] in first_seen:
            if first_seen[item["id"]] != shape:  # renamed or moved within the page: one at a time
                break
        else:
            fresh = ("org_unit", item["id"]) not in mapping.local and shape[0] in mapping.absent_codes
            if not fresh or shape[0] in codes or len(first_seen) >= len(mapping.unit_ids):
                break
            first_seen[item["id"]] = shape
            codes.add(shape[0])
        end += 1
    return end


async def apply_new_units(
    session: AsyncSession, mapping: Mapping, items: list[dict[str, Any]], *, root_code: str, pulled_at: datetime
) -> None:
    """Write a run found by new_units_end: a unit seen twice is one row with its last content."""
    assigned: dict[int, int] = {}  # remote id → local id, for the children later in the run
    rows: dict[int, dict[str, Any]] = {}
    values_by_remote: dict[int, dict[str, Any]] = {}
    for index, item in enumerate(items):
        try:
            row = canonical("org_unit", item["row"])
            values = {column: to_python("org_unit", column, value) for column, value in row.items() if column != "id"}
        except (ValueError, TypeError, KeyError) as exc:
            raise RowRefused(index, f"malformed ({exc})") from exc
        parent = await _parent(session, mapping, values=values, assigned=assigned, root_code=root_code, index=index)
        local_id = assigned.get(item["id"]) or mapping.unit_ids.pop()
        assigned[item["id"]] = local_id
        values |= {"id": local_id, "parent_id": parent[0], "path": f"{parent[1]}{local_id}/"}
        mapping.paths[local_id] = values["path"]
        mapping.absent_codes.discard(values["code"])
        rows[item["id"]], values_by_remote[item["id"]] = row, values
    org_unit = table_of("org_unit")
    values_list = list(values_by_remote.values())
    for columns, group in by_columns(values_list).items():
        await insert_records(session, org_unit, columns=columns, rows=[values_list[index] for index in group])
    remote_ids = list(values_by_remote)
    await remember_run(
        session, mapping, name="org_unit", items=[{"id": remote} for remote in remote_ids],
        rows=[rows[remote] for remote in remote_ids], local_ids=[assigned[remote] for remote in remote_ids],
        pulled_at=pulled_at,
    )  # fmt: skip
    for remote, local in assigned.items():
        mapping.local[("org_unit", remote)] = local


async def _parent(
    session: AsyncSession, mapping: Mapping, *, values: dict[str, Any], assigned: dict[int, int], root_code: str,
    index: int,
) -> tuple[int, str]:  # fmt: skip
    """The local parent of a new unit and its path; RowRefused when it would lie outside the covered unit."""
    code, remote_parent = values.get("code"), values.get("parent_id")
    if code == root_code:
        parent = mapping.covered_id
    elif remote_parent is None:
        raise RowRefused(index, f"org unit {code} is a second root: only {root_code} may be the peer's root")
    else:
        local = assigned.get(remote_parent) or mapping.local.get(("org_unit", remote_parent))
        if local is None:
            raise RowRefused(
                index, f"parent_id refers to org_unit {remote_parent}, which lies outside the subtree the peer covers"
            )
        parent = local
    path = await unit_path(session, mapping, parent)
    if path is None or not path.startswith(mapping.covered_path):
        raise RowRefused(index, f"org unit {code} would lie outside the covered unit")
    return parent, path
