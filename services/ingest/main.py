"""The ingest service: file imports and indicator computations."""

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, File, Form, UploadFile, status

from services.common.app import create_service_app
from services.common.deps import CurrentUser, SessionDep
from shared.db import StoredId
from shared.federation.peers import peers_to_pull
from shared.federation.puller import pull_all_peers
from shared.federation.schemas import PullAccepted, PullRequest
from shared.imports.service import ImportKind, run_import
from shared.indicators.schemas import ComputationPublic, ComputationRequest
from shared.indicators.service import run_computation
from shared.tasks.schemas import ImportSummary

router = APIRouter(prefix="/ingest/v1", tags=["imports"])


@router.post(
    "/imports",
    response_model=ImportSummary,
    status_code=status.HTTP_201_CREATED,
    responses={422: {"description": "refused: every bad row with its column and why; nothing was written"}},
)
async def create_import(
    session: SessionDep,
    actor: CurrentUser,
    kind: Annotated[ImportKind, Form()],
    file: Annotated[UploadFile, File(description="xlsx or csv")],
    plan_id: Annotated[StoredId | None, Form()] = None,
) -> ImportSummary:
    """Import a file in one transaction: all rows or none."""
    content = await file.read()
    return await run_import(
        session, actor=actor, kind=kind, content=content, filename=file.filename or "upload", plan_id=plan_id
    )


@router.post("/computations", response_model=ComputationPublic, status_code=status.HTTP_201_CREATED)
async def create_computation(session: SessionDep, actor: CurrentUser, body: ComputationRequest) -> ComputationPublic:
    """Compute the catalogue (or some indicators) for every unit of a subtree and period; 201 once stored."""
    summary = await run_computation(
        session, actor=actor, org_unit_id=body.org_unit_id, period=body.period, codes=body.codes
    )
    return ComputationPublic(**asdict(summary))


@router.post(
    "/federation/pulls",
    response_model=PullAccepted,
    status_code=status.HTTP_202_ACCEPTED,
    tags=["federation"],
    responses={403: {"description": "admins only"}, 404: {"description": "a named peer is not in your subtree"}},
)
async def create_pull(
    session: SessionDep, actor: CurrentUser, body: PullRequest, background: BackgroundTasks
) -> PullAccepted:
    """Pull peers now, after answering (admins); GET /api/v1/federation/peers shows how it went."""
    names = await peers_to_pull(session, actor=actor, names=body.peers)
    if names:
        background.add_task(pull_all_peers, names=names)
    return PullAccepted(peers=names)


app = create_service_app(
    title="CultureZone ingest",
    description=(
        "File imports (all-or-nothing, with row errors), indicator computations and federation pulls for CultureZone."
    ),
    service="ingest",
)
app.include_router(router)
