"""Federation: the change feed this instance serves to the level above, and the peers it pulls itself."""

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, status
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.deps import CurrentUser, SessionDep, StaffUser
from shared.auth.scope import Principal
from shared.config import FEDERATION_MAX_PAGE
from shared.db import StoredId
from shared.federation import feed, peers
from shared.federation.models import PeerStatus
from shared.federation.payloads import paused_gc
from shared.federation.schemas import (
    ChangesPublic,
    ManifestPublic,
    OriginPublic,
    PeerCreate,
    PeerPublic,
    SnapshotPublic,
)

router = APIRouter(prefix="/federation/v1", tags=["federation"])
peer_router = APIRouter(prefix="/api/v1/federation", tags=["federation"])
FEED_PROBLEMS = {
    400: {"description": "the cursor or page token is garbage or from the future"},
    401: {"description": "the token is unknown or revoked"},
    403: {"description": "the org unit asked for lies outside the token's tree"},
}


def _json(body: dict) -> Response:
    """A feed page rendered once with orjson: its rows are already in their canonical JSON form."""
    return Response(orjson.dumps(body), media_type="application/json")


OrgUnitParam = Annotated[str | None, Query(max_length=20, description="subtree root code (default: the token's)")]


@router.get("/manifest", response_model=ManifestPublic, responses=FEED_PROBLEMS)
async def get_manifest(session: SessionDep, actor: CurrentUser, org_unit: OrgUnitParam = None) -> ManifestPublic:
    """Instance id, schema version, root org unit code and catalogue version (peer tokens and admins)."""
    return ManifestPublic(**await feed.manifest(session, actor=actor, org_unit=org_unit))


@router.get(
    "/changes",
    response_model=ChangesPublic,
    responses=FEED_PROBLEMS | {410: {"description": "the log was compacted past the cursor: resync from the snapshot"}},
)
async def get_changes(
    session: SessionDep,
    actor: CurrentUser,
    since: Annotated[str | None, Query(max_length=200, description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=FEDERATION_MAX_PAGE)] = 1000,
    org_unit: OrgUnitParam = None,
) -> Response:
    """Every row created, changed or deleted after the cursor, in commit order, never past a running transaction."""
    # The collector resumes once the page's rows are freed: resumed while they lived, it went over every one of them
    # (a tenth of the cost of serving a page).
    with paused_gc():
        return await _rendered_changes(session, actor=actor, since=since, limit=limit, org_unit=org_unit)


async def _rendered_changes(session: AsyncSession, *, actor: Principal, since: str | None, **query: Any) -> Response:
    page = await feed.changes(session, actor=actor, since=since, **query)
    # Rows are already in their canonical JSON form: rendered once, without a second pass through the models.
    return _json(
        {
            "since": since or "",
            "items": page.items,
            "next_cursor": page.next_cursor,
            "has_more": page.has_more,
            "remaining": page.remaining,
        }
    )


@router.get("/snapshot", response_model=SnapshotPublic, responses=FEED_PROBLEMS)
async def get_snapshot(
    session: SessionDep,
    actor: CurrentUser,
    page: Annotated[str | None, Query(max_length=300, description="next_page of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=FEDERATION_MAX_PAGE)] = 1000,
    org_unit: OrgUnitParam = None,
) -> Response:
    """The current rows of the subtree a page at a time; the last page's cursor continues in /changes."""
    with paused_gc():
        return _json(await feed.snapshot(session, actor=actor, page=page, limit=limit, org_unit=org_unit))


PEER_PROBLEMS = {
    403: {"description": "only admins manage peers, inside their subtree"},
    404: {"description": "no such peer in your subtree"},
}


@peer_router.post("/peers", response_model=PeerPublic, status_code=status.HTTP_201_CREATED, responses=PEER_PROBLEMS)
async def create_peer(session: SessionDep, actor: CurrentUser, body: PeerCreate) -> PeerPublic:
    """Register a lower instance to pull (admins); its token is stored encrypted and never shown again."""
    return PeerPublic.model_validate(await peers.register_peer(session, actor=actor, data=body))


@peer_router.get("/peers", response_model=list[PeerPublic], responses=PEER_PROBLEMS)
async def list_peers(session: SessionDep, actor: StaffUser) -> list[PeerPublic]:
    """Every peer of your subtree with its health: last success, lag in rows and seconds, last error."""
    return [PeerPublic.model_validate(peer) for peer in await peers.list_peers(session, actor=actor)]


@peer_router.get("/peers/{peer_id}", response_model=PeerPublic, responses=PEER_PROBLEMS)
async def get_peer(session: SessionDep, actor: StaffUser, peer_id: StoredId) -> PeerPublic:
    """One peer with its health."""
    return PeerPublic.model_validate(await peers.get_peer(session, actor=actor, peer_id=peer_id))


@peer_router.post("/peers/{peer_id}/pause", response_model=PeerPublic, responses=PEER_PROBLEMS)
async def pause_peer(session: SessionDep, actor: CurrentUser, peer_id: StoredId) -> PeerPublic:
    """Stop pulling a peer (its data stays, marked with the last successful pull)."""
    peer = await peers.set_peer_status(session, actor=actor, peer_id=peer_id, status=PeerStatus.paused)
    return PeerPublic.model_validate(peer)


@peer_router.post("/peers/{peer_id}/resume", response_model=PeerPublic, responses=PEER_PROBLEMS)
async def resume_peer(session: SessionDep, actor: CurrentUser, peer_id: StoredId) -> PeerPublic:
    """Pull a paused peer again."""
    peer = await peers.set_peer_status(session, actor=actor, peer_id=peer_id, status=PeerStatus.active)
    return PeerPublic.model_validate(peer)


@peer_router.delete("/peers/{peer_id}", status_code=status.HTTP_204_NO_CONTENT, responses=PEER_PROBLEMS)
async def delete_peer(session: SessionDep, actor: CurrentUser, peer_id: StoredId) -> None:
    """Stop pulling a peer and forget its provenance rows (the pulled rows stay)."""
    await peers.remove_peer(session, actor=actor, peer_id=peer_id)


@peer_router.get(
    "/origins/{table}/{row_id}",
    response_model=OriginPublic,
    responses={404: {"description": "the row was entered here (or does not exist)"}},
)
async def get_origin(
    session: SessionDep, actor: StaffUser, table: Annotated[str, Path(max_length=60)], row_id: StoredId
) -> OriginPublic:
    """Where a row of this instance came from: the peer, its id there, when it was pulled."""
    return OriginPublic(**await peers.origin_of(session, actor=actor, table=table, row_id=row_id))
