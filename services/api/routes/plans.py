"""Creation plans and the task list of a plan."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from services.common.deps import CurrentUser, IfMatch, SessionDep, StaffUser
from shared.concurrency import etag_of
from shared.db import StoredId
from shared.pagination import MAX_LIMIT, Page
from shared.plans import service
from shared.plans.schemas import PlanCreate, PlanPublic, PlanUpdate
from shared.tasks.filters import TaskFilters
from shared.tasks.models import TaskKind, TaskStatus
from shared.tasks.schemas import TaskCreate, TaskPublic
from shared.tasks.service import create_task, list_tasks, task_view, tasks_public

router = APIRouter(prefix="/api/v1/plans", tags=["plans"])


@router.get("", response_model=list[PlanPublic])
async def list_plans(session: SessionDep, actor: StaffUser, org_unit_id: StoredId | None = None) -> list[PlanPublic]:
    """Plans of the caller's subtree."""
    plans = await service.list_plans(session, actor=actor, org_unit_id=org_unit_id)
    return [await service.plan_public(session, plan=plan) for plan in plans]


@router.post("", response_model=PlanPublic, status_code=status.HTTP_201_CREATED)
async def create_plan(session: SessionDep, actor: CurrentUser, body: PlanCreate, response: Response) -> PlanPublic:
    """A new plan for an org unit (admins and plan managers of its subtree)."""
    plan = await service.create_plan(session, actor=actor, data=body)
    response.headers["ETag"] = etag_of(plan)
    return await service.plan_public(session, plan=plan)


@router.get("/{plan_id}", response_model=PlanPublic)
async def get_plan(session: SessionDep, actor: StaffUser, plan_id: StoredId, response: Response) -> PlanPublic:
    """One plan with its phases."""
    plan, _unit = await service.get_plan(session, actor=actor, plan_id=plan_id)
    response.headers["ETag"] = etag_of(plan)
    return await service.plan_public(session, plan=plan)


@router.patch("/{plan_id}", response_model=PlanPublic)
async def update_plan(
    session: SessionDep,
    actor: CurrentUser,
    plan_id: StoredId,
    body: PlanUpdate,
    response: Response,
    if_match: IfMatch = None,
) -> PlanPublic:
    """Change a plan; needs If-Match."""
    plan = await service.update_plan(session, actor=actor, plan_id=plan_id, data=body, if_match=if_match)
    response.headers["ETag"] = etag_of(plan)
    return await service.plan_public(session, plan=plan)


@router.get("/{plan_id}/tasks", response_model=Page[TaskPublic])
async def list_plan_tasks(
    session: SessionDep,
    actor: StaffUser,
    plan_id: StoredId,
    kind: TaskKind | None = None,
    status: TaskStatus | None = None,
    parent_id: StoredId | None = None,
    overdue: bool | None = None,
    due_from: date | None = None,
    due_to: date | None = None,
    q: Annotated[str | None, Query(max_length=200, description="text in title, or a task code")] = None,
    department_id: StoredId | None = None,
    assignee: Annotated[str | None, Query(max_length=200, description="assignee name contains")] = None,
    lead_only: Annotated[bool, Query(description="only where the matched assignee leads (▲)")] = False,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
    cursor: str | None = None,
) -> Page[TaskPublic]:
    """The plan's tasks in table order, filtered, one page at a time."""
    filters = TaskFilters(
        plan_id=plan_id,
        kind=kind,
        status=status,
        parent_id=parent_id,
        overdue=overdue,
        due_from=due_from,
        due_to=due_to,
        q=q,
        department_id=department_id,
        assignee=assignee,
        lead_only=lead_only,
    )
    rows, next_cursor, today = await list_tasks(session, actor=actor, filters=filters, limit=limit, cursor=cursor)
    return Page(items=await tasks_public(session, tasks=rows, today=today), next_cursor=next_cursor)


@router.post("/{plan_id}/tasks", response_model=TaskPublic, status_code=status.HTTP_201_CREATED)
async def create_plan_task(
    session: SessionDep,
    actor: CurrentUser,
    plan_id: StoredId,
    body: TaskCreate,
    response: Response,
) -> TaskPublic:
    """Add an area, work task or breakdown item."""
    task = await create_task(session, actor=actor, plan_id=plan_id, data=body)
    response.headers["ETag"] = etag_of(task)
    return await task_view(session, task=task)
