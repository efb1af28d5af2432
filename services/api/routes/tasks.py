"""Tasks across plans: read, change, report progress, attach evidence."""

from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Response, UploadFile, status
from fastapi.responses import FileResponse

from services.common.deps import CurrentUser, IfMatch, SessionDep, StaffUser
from shared.concurrency import etag_of
from shared.db import StoredId
from shared.filenames import content_disposition
from shared.pagination import MAX_LIMIT, Page
from shared.tasks import evidence as evidence_service
from shared.tasks import progress as progress_service
from shared.tasks import service
from shared.tasks.filters import TaskFilters
from shared.tasks.models import TaskKind, TaskStatus
from shared.tasks.schemas import EvidencePublic, ProgressCreate, ProgressPublic, TaskPublic, TaskUpdate

router = APIRouter(prefix="/api/v1", tags=["tasks"])


@router.get("/tasks", response_model=Page[TaskPublic])
async def list_tasks(
    session: SessionDep,
    actor: StaffUser,
    org_unit_id: Annotated[StoredId | None, Query(description="plans of this unit's subtree")] = None,
    plan_id: StoredId | None = None,
    kind: TaskKind | None = None,
    status: TaskStatus | None = None,
    overdue: bool | None = None,
    due_from: date | None = None,
    due_to: date | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    department_id: StoredId | None = None,
    assignee: Annotated[str | None, Query(max_length=200)] = None,
    lead_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    cursor: str | None = None,
) -> Page[TaskPublic]:
    """Tasks of every plan the caller can see, filtered (e.g. everything overdue in a subtree)."""
    filters = TaskFilters(
        plan_id=plan_id,
        org_unit_id=org_unit_id,
        kind=kind,
        status=status,
        overdue=overdue,
        due_from=due_from,
        due_to=due_to,
        q=q,
        department_id=department_id,
        assignee=assignee,
        lead_only=lead_only,
    )
    rows, next_cursor, today = await service.list_tasks(
        session, actor=actor, filters=filters, limit=limit, cursor=cursor
    )
    return Page(items=await service.tasks_public(session, tasks=rows, today=today), next_cursor=next_cursor)


@router.get("/tasks/{task_id}", response_model=TaskPublic)
async def get_task(session: SessionDep, actor: StaffUser, task_id: StoredId, response: Response) -> TaskPublic:
    """One task, with its ETag."""
    task, _plan, _unit = await service.get_task(session, actor=actor, task_id=task_id)
    response.headers["ETag"] = etag_of(task)
    return await service.task_view(session, task=task)


@router.patch("/tasks/{task_id}", response_model=TaskPublic)
async def update_task(
    session: SessionDep,
    actor: CurrentUser,
    task_id: StoredId,
    body: TaskUpdate,
    response: Response,
    if_match: IfMatch = None,
) -> TaskPublic:
    """Change a task; needs If-Match (412 when someone changed it since you read it)."""
    task = await service.update_task(session, actor=actor, task_id=task_id, data=body, if_match=if_match)
    response.headers["ETag"] = etag_of(task)
    return await service.task_view(session, task=task)


@router.delete("/tasks/{task_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_task(session: SessionDep, actor: CurrentUser, task_id: StoredId) -> None:
    """Remove a task and its children."""
    await service.delete_task(session, actor=actor, task_id=task_id)


@router.get("/tasks/{task_id}/progress", response_model=list[ProgressPublic])
async def list_progress(session: SessionDep, actor: StaffUser, task_id: StoredId) -> list[ProgressPublic]:
    """A task's progress reports, newest first."""
    rows = await progress_service.list_progress(session, actor=actor, task_id=task_id)
    return [ProgressPublic.model_validate(row) for row in rows]


@router.post("/tasks/{task_id}/progress", response_model=ProgressPublic, status_code=status.HTTP_201_CREATED)
async def add_progress(
    session: SessionDep, actor: CurrentUser, task_id: StoredId, body: ProgressCreate
) -> ProgressPublic:
    """Report progress (planners, or reporters of an assigned department)."""
    row = await progress_service.add_progress(session, actor=actor, task_id=task_id, data=body)
    return ProgressPublic.model_validate(row)


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(256 * 1024):
        yield chunk


@router.post("/tasks/{task_id}/evidence", response_model=EvidencePublic, status_code=status.HTTP_201_CREATED)
async def upload_evidence(
    session: SessionDep,
    actor: CurrentUser,
    task_id: StoredId,
    file: Annotated[UploadFile, File()],
    description: Annotated[str, Form(max_length=500)] = "",
    progress_update_id: Annotated[StoredId | None, Form()] = None,
) -> EvidencePublic:
    """Attach a 佐证材料 file (PDF, image, Word, Excel, text) to a task."""
    row = await evidence_service.store_evidence(
        session,
        actor=actor,
        task_id=task_id,
        filename=file.filename or "evidence",
        content_type=file.content_type or "application/octet-stream",
        chunks=_chunks(file),
        description=description,
        progress_update_id=progress_update_id,
    )
    return EvidencePublic.model_validate(row)


@router.get("/tasks/{task_id}/evidence", response_model=list[EvidencePublic])
async def list_evidence(session: SessionDep, actor: StaffUser, task_id: StoredId) -> list[EvidencePublic]:
    """A task's evidence files."""
    rows = await evidence_service.list_evidence(session, actor=actor, task_id=task_id)
    return [EvidencePublic.model_validate(row) for row in rows]


@router.get("/evidence/{evidence_id}/download", response_class=FileResponse)
async def download_evidence(session: SessionDep, actor: StaffUser, evidence_id: StoredId) -> FileResponse:
    """The evidence file itself."""
    row, path = await evidence_service.open_evidence(session, actor=actor, evidence_id=evidence_id)
    return FileResponse(
        path,
        media_type=row.content_type,
        headers={"X-Content-SHA256": row.sha256, "Content-Disposition": content_disposition(row.filename)},
    )
