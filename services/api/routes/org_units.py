"""Org units, their departments, population and collective assignees."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status

from services.common.deps import CurrentUser, IfMatch, SessionDep, StaffUser
from shared.concurrency import etag_of
from shared.db import StoredId
from shared.orgunits import service
from shared.orgunits.collective import resolve_collective
from shared.orgunits.models import OrgUnitKind
from shared.orgunits.population import get_population, set_population
from shared.orgunits.schemas import (
    CollectiveKind,
    CollectivePublic,
    CollectiveUnit,
    DepartmentCreate,
    DepartmentPublic,
    OrgUnitCreate,
    OrgUnitPublic,
    OrgUnitUpdate,
    PopulationPublic,
    PopulationSet,
)
from shared.pagination import MAX_LIMIT, Page

router = APIRouter(prefix="/api/v1/org-units", tags=["org units"])
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Year = Annotated[int, Path(ge=1949, le=2200)]


@router.get("", response_model=Page[OrgUnitPublic])
async def list_org_units(
    session: SessionDep,
    actor: StaffUser,
    code: str | None = None,
    parent_id: StoredId | None = None,
    level: Annotated[int | None, Query(ge=0, le=5)] = None,
    kind: OrgUnitKind | None = None,
    within: Annotated[StoredId | None, Query(description="only this unit's subtree")] = None,
    q: Annotated[str | None, Query(max_length=100, description="name contains")] = None,
    limit: Limit = 100,
    cursor: str | None = None,
) -> Page[OrgUnitPublic]:
    """Org units inside the caller's subtree."""
    rows, next_cursor = await service.list_org_units(
        session,
        actor=actor,
        code=code,
        parent_id=parent_id,
        level=level,
        kind=kind,
        within=within,
        name_contains=q,
        limit=limit,
        cursor=cursor,
    )
    return Page(items=[OrgUnitPublic.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.post("", response_model=OrgUnitPublic, status_code=status.HTTP_201_CREATED)
async def create_org_unit(
    session: SessionDep, actor: CurrentUser, body: OrgUnitCreate, response: Response
) -> OrgUnitPublic:
    """Add an org unit (admins, under a parent in their subtree)."""
    unit = await service.create_org_unit(session, actor=actor, data=body)
    response.headers["ETag"] = etag_of(unit)
    return OrgUnitPublic.model_validate(unit)


@router.get("/{unit_id}", response_model=OrgUnitPublic)
async def get_org_unit(session: SessionDep, actor: StaffUser, unit_id: StoredId, response: Response) -> OrgUnitPublic:
    """One org unit, with its ETag."""
    unit = await service.get_org_unit(session, actor=actor, unit_id=unit_id)
    response.headers["ETag"] = etag_of(unit)
    return OrgUnitPublic.model_validate(unit)


@router.patch("/{unit_id}", response_model=OrgUnitPublic)
async def update_org_unit(
    session: SessionDep,
    actor: CurrentUser,
    unit_id: StoredId,
    body: OrgUnitUpdate,
    response: Response,
    if_match: IfMatch = None,
) -> OrgUnitPublic:
    """Rename, re-date or move an org unit; needs If-Match."""
    unit = await service.update_org_unit(session, actor=actor, unit_id=unit_id, data=body, if_match=if_match)
    response.headers["ETag"] = etag_of(unit)
    return OrgUnitPublic.model_validate(unit)


@router.delete("/{unit_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_org_unit(session: SessionDep, actor: CurrentUser, unit_id: StoredId) -> None:
    """Remove a leaf org unit nothing refers to."""
    await service.delete_org_unit(session, actor=actor, unit_id=unit_id)


@router.get("/{unit_id}/departments", response_model=list[DepartmentPublic])
async def list_departments(session: SessionDep, actor: StaffUser, unit_id: StoredId) -> list[DepartmentPublic]:
    """The responsible units of an org unit."""
    rows = await service.list_departments(session, actor=actor, org_unit_id=unit_id)
    return [DepartmentPublic.model_validate(row) for row in rows]


@router.post("/{unit_id}/departments", response_model=DepartmentPublic, status_code=status.HTTP_201_CREATED)
async def create_department(
    session: SessionDep, actor: CurrentUser, unit_id: StoredId, body: DepartmentCreate
) -> DepartmentPublic:
    """Add a responsible unit."""
    row = await service.create_department(session, actor=actor, org_unit_id=unit_id, data=body)
    return DepartmentPublic.model_validate(row)


@router.get("/{unit_id}/population/{year}", response_model=PopulationPublic)
async def read_population(
    session: SessionDep,
    actor: StaffUser,
    unit_id: StoredId,
    year: Year,
) -> PopulationPublic:
    """Resident population entered at the unit and summed over its subtree."""
    return await get_population(session, actor=actor, unit_id=unit_id, year=year)


@router.put("/{unit_id}/population/{year}", response_model=PopulationPublic)
async def write_population(
    session: SessionDep,
    actor: CurrentUser,
    unit_id: StoredId,
    year: Year,
    body: PopulationSet,
) -> PopulationPublic:
    """Enter the resident population of the unit itself for a year."""
    return await set_population(session, actor=actor, unit_id=unit_id, year=year, value=body.value)


@router.get("/{unit_id}/collectives/{collective_kind}", response_model=CollectivePublic)
async def resolve_collective_assignee(
    session: SessionDep,
    actor: StaffUser,
    unit_id: StoredId,
    collective_kind: CollectiveKind,
) -> CollectivePublic:
    """What a collective assignee (各社区, 各县（市、区）政府, 各成员单位) means under this unit."""
    unit = await service.get_org_unit(session, actor=actor, unit_id=unit_id)
    units = await resolve_collective(session, org_unit=unit, collective_kind=collective_kind.value)
    return CollectivePublic(
        collective_kind=collective_kind.value,
        units=[CollectiveUnit(kind=u.kind, id=u.id, name=u.name) for u in units],
    )
