"""Registering, listing, pausing, resuming and removing the lower instances this one pulls."""

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared import outbound
from shared.audit.service import record_change, snapshot
from shared.auth.models import Role
from shared.auth.scope import STAFF_ROLES, Principal
from shared.concurrency import bump_version
from shared.errors import Conflict, InvalidInput, NotFound
from shared.federation.crypto import encrypt_token
from shared.federation.models import Peer, PeerStatus, PulledRow
from shared.federation.payloads import canonical, table_of
from shared.federation.registry import BY_TABLE
from shared.federation.schemas import PeerCreate
from shared.orgunits.models import OrgUnit


def _safe(peer: Peer) -> dict[str, Any] | None:
    data = snapshot(peer)
    if data:
        data.pop("token_encrypted", None)
    return data


async def register_peer(session: AsyncSession, *, actor: Principal, data: PeerCreate) -> Peer:
    """Add a peer whose root attaches under a unit of the admin's subtree; its token is kept encrypted."""
    actor.require_role([Role.admin])
    unit = await session.scalar(select(OrgUnit).where(OrgUnit.code == data.covered_org_unit_code))
    if unit is None:
        raise InvalidInput(f"org unit {data.covered_org_unit_code} does not exist", field="covered_org_unit_code")
    actor.require_covers(unit.path)
    await outbound.check_destination(data.base_url, field="base_url")
    if await session.scalar(select(Peer.id).where(Peer.name == data.name)):
        raise Conflict(f"peer name {data.name} is taken", errors=[{"field": "name", "message": "duplicate"}])
    peer = Peer(
        name=data.name,
        base_url=data.base_url,
        covered_org_unit_id=unit.id,
        root_code=data.root_code,
        token_encrypted=encrypt_token(data.token),
    )
    session.add(peer)
    await session.flush()
    await record_change(
        session, actor=actor, action="create", entity="peer", entity_id=peer.id, before=None, after=_safe(peer)
    )
    return peer


async def _visible(session: AsyncSession, *, actor: Principal, peer: Peer | None, peer_id: int) -> Peer:
    if peer is not None:
        unit = await session.get(OrgUnit, peer.covered_org_unit_id)
        if unit is not None and actor.covers(unit.path):
            return peer
    raise NotFound(f"peer {peer_id} does not exist")


async def get_peer(session: AsyncSession, *, actor: Principal, peer_id: int) -> Peer:
    """One peer the caller may see."""
    actor.require_role(STAFF_ROLES)
    return await _visible(session, actor=actor, peer=await session.get(Peer, peer_id), peer_id=peer_id)


async def list_peers(session: AsyncSession, *, actor: Principal) -> list[Peer]:
    """Every peer attached inside the caller's subtree, with its health."""
    actor.require_role(STAFF_ROLES)
    query = select(Peer).join(OrgUnit, OrgUnit.id == Peer.covered_org_unit_id).order_by(Peer.name)
    if actor.scope_path is not None:
        query = query.where(OrgUnit.path.startswith(actor.scope_path))
    return list((await session.scalars(query)).all())


async def set_peer_status(session: AsyncSession, *, actor: Principal, peer_id: int, status: PeerStatus) -> Peer:
    """Pause or resume pulling a peer."""
    actor.require_role([Role.admin])
    peer = await get_peer(session, actor=actor, peer_id=peer_id)
    before = _safe(peer)
    if peer.status != status:
        peer.status = status
        bump_version(peer)
        await session.flush()
    await record_change(
        session, actor=actor, action="update", entity="peer", entity_id=peer.id, before=before, after=_safe(peer)
    )
    return peer


async def remove_peer(session: AsyncSession, *, actor: Principal, peer_id: int) -> None:
    """Stop pulling a peer and forget where its rows came from (the pulled rows themselves stay)."""
    actor.require_role([Role.admin])
    peer = await get_peer(session, actor=actor, peer_id=peer_id)
    # The row lock a pull holds while it applies a page: a page in flight commits first and its provenance goes too;
    # a page after this finds the peer gone and writes nothing.
    await session.refresh(peer, with_for_update=True)
    before = _safe(peer)
    await session.execute(delete(PulledRow).where(PulledRow.peer_id == peer_id))
    await session.delete(peer)
    await session.flush()
    await record_change(
        session, actor=actor, action="delete", entity="peer", entity_id=peer_id, before=before, after=None
    )


async def origin_of(session: AsyncSession, *, actor: Principal, table: str, row_id: int) -> dict[str, Any]:
    """Where a local row came from: the peer, its id there, when it was pulled, the peer's last good pull, the row."""
    actor.require_role(STAFF_ROLES)
    if table not in BY_TABLE:
        raise InvalidInput(f"{table} is not a federated table ({', '.join(BY_TABLE)})", field="table")
    found = (
        await session.execute(
            select(PulledRow, Peer)
            .join(Peer, Peer.id == PulledRow.peer_id)
            .where(PulledRow.table_name == table, PulledRow.local_id == row_id)
        )
    ).first()
    if found is None:
        raise NotFound(f"{table} {row_id} was not pulled from a peer (it was entered here, or does not exist)")
    pulled, peer = found
    await _visible(session, actor=actor, peer=peer, peer_id=peer.id)
    row = pulled.payload
    if not BY_TABLE[table].mirror_only:  # the local copy is the row (ids mapped to this instance's)
        copies = table_of(table)
        stored = (await session.execute(select(copies).where(copies.c.id == row_id))).first()
        if stored is None:
            raise NotFound(f"{table} {row_id} no longer exists here")
        row = canonical(table, dict(stored._mapping))
    return {
        "table": table,
        "id": row_id,
        "peer_id": peer.id,
        "peer": peer.name,
        "remote_id": pulled.remote_id,
        "pulled_at": pulled.pulled_at,
        "peer_last_success_at": peer.last_success_at,
        "row": row,
    }


async def peers_to_pull(session: AsyncSession, *, actor: Principal, names: list[str] | None) -> list[str]:
    """The names of the peers an admin asks to pull now (every active one of the subtree when none is named)."""
    actor.require_role([Role.admin])
    visible = {peer.name: peer for peer in await list_peers(session, actor=actor)}
    if not names:
        return [name for name, peer in visible.items() if peer.status == PeerStatus.active]
    unknown = [name for name in names if name not in visible]
    if unknown:
        raise NotFound(f"no peer named {', '.join(unknown)} in your subtree")
    return list(dict.fromkeys(names))
