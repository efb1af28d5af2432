"""Provenance of pulled rows: written with every applied row, keyed by where the row came from, and forgotten with
its peer (federation_row has no foreign key to the peer: removing a peer deletes them under the peer's row lock)."""

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.scope import SYSTEM
from shared.federation.apply import apply_items
from shared.federation.models import PulledRow
from shared.federation.peers import register_peer, remove_peer
from shared.federation.schemas import PeerCreate
from shared.orgunits.models import OrgUnit
from tests.support.factories import make_tree

STAMP = "2026-12-01T08:00:00+00:00"


def _unit(remote_id: int, code: str, *, parent: int | None, path: str) -> dict:
    row = {
        "id": remote_id, "code": code, "name": f"区{code}", "kind": "district" if parent is None else "street",
        "level": 2 if parent is None else 3, "parent_id": parent, "path": path, "opened_on": None, "closed_on": None,
        "created_at": STAMP, "updated_at": STAMP, "version": 1,
    }  # fmt: skip
    return {"table": "org_unit", "id": remote_id, "op": "upsert", "row": row}


async def _provenance(session: AsyncSession, peer_id: int) -> dict[int, int | None]:
    rows = await session.execute(
        select(PulledRow.remote_id, PulledRow.local_id).where(
            PulledRow.peer_id == peer_id, PulledRow.table_name == "org_unit"
        )
    )
    return dict(rows.all())


async def test_removing_a_peer_forgets_where_its_rows_came_from_and_keeps_the_rows(session: AsyncSession) -> None:
    await make_tree(session)
    data = PeerCreate(name="huiji", base_url="http://127.0.0.1:9", covered_org_unit_code="410100", token="czt_x1234567")
    peer = await register_peer(session, actor=SYSTEM, data=data)
    other = await register_peer(session, actor=SYSTEM, data=data.model_copy(update={"name": "other"}))
    page = [_unit(7, "410108", parent=None, path="/7/"), _unit(9, "410108001000", parent=7, path="/7/9/")]
    await apply_items(session, peer=peer, items=page, root_code="410108")
    pulled = await _provenance(session, peer.id)
    assert set(pulled) == {7, 9} and None not in pulled.values()
    # Applied twice: the same provenance rows, not new ones (the key is the peer, the table and the peer's id).
    await apply_items(session, peer=peer, items=page, root_code="410108")
    assert await _provenance(session, peer.id) == pulled
    await apply_items(session, peer=other, items=[_unit(3, "410109", parent=None, path="/3/")], root_code="410109")

    await remove_peer(session, actor=SYSTEM, peer_id=peer.id)

    assert await _provenance(session, peer.id) == {}
    assert set((await _provenance(session, other.id)).keys()) == {3}  # another peer's provenance stays
    units = select(func.count()).select_from(OrgUnit).where(OrgUnit.id.in_(list(pulled.values())))
    assert await session.scalar(units) == 2  # the rows pulled stay, entered here from now on
