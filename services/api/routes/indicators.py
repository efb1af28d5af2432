"""Indicator results, drill-down, the overview export, milestone verdicts and plan targets."""

from typing import Annotated

from fastapi import APIRouter, Query, Response

from services.common.deps import CurrentUser, SessionDep, StaffUser
from shared.db import StoredId
from shared.filenames import content_disposition
from shared.indicators.assessments import assess_milestone, list_plan_targets, set_plan_targets, targets_from_catalogue
from shared.indicators.catalogue_view import CatalogueIndicator, list_catalogue
from shared.indicators.export import overview_workbook
from shared.indicators.schemas import (
    AssessmentCreate,
    AssessmentPublic,
    DrillDownRow,
    IndicatorList,
    TargetIn,
    TargetPublic,
)
from shared.indicators.service import drill_down, read_indicators

router = APIRouter(prefix="/api/v1", tags=["indicators"])
Period = Annotated[str, Query(pattern=r"^[1-9]\d{3}(Q[1-4]|-(0[1-9]|1[0-2]))?$", examples=["2019"])]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/indicators", response_model=list[CatalogueIndicator])
async def catalogue_indicators(_actor: StaffUser) -> list[CatalogueIndicator]:
    """The standards catalogue: every indicator with its standard text, kind and threshold."""
    return list_catalogue()


@router.get("/org-units/{unit_id}/indicators", response_model=IndicatorList)
async def unit_indicators(session: SessionDep, actor: StaffUser, unit_id: StoredId, period: Period) -> IndicatorList:
    """Every indicator for a unit and period: value, standard, target, pass/fail, missing inputs, trend."""
    return await read_indicators(session, actor=actor, unit_id=unit_id, period=period)


@router.get(
    "/org-units/{unit_id}/indicators/export",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "主要指标一览表"}},
)
async def export_overview(session: SessionDep, actor: StaffUser, unit_id: StoredId, period: Period) -> Response:
    """The 主要指标一览表 (序号 · 指标项目 · 创建标准 · 项目现状 · 创建目标 · 是否达标) as xlsx."""
    content = await overview_workbook(session, actor=actor, unit_id=unit_id, period=period)
    headers = {"Content-Disposition": content_disposition(f"indicators-{unit_id}-{period}.xlsx")}
    return Response(content, media_type=XLSX, headers=headers)


@router.get("/org-units/{unit_id}/indicators/{code}/drill-down", response_model=list[DrillDownRow])
async def indicator_drill_down(
    session: SessionDep,
    actor: StaffUser,
    unit_id: StoredId,
    code: str,
    period: Period,
    failing_only: bool = False,
) -> list[DrillDownRow]:
    """The child units (or facilities, for facility rules) behind a result, and why each passes or fails."""
    return await drill_down(session, actor=actor, unit_id=unit_id, code=code, period=period, failing_only=failing_only)


@router.put("/org-units/{unit_id}/indicators/{code}/assessment", response_model=AssessmentPublic)
async def assess(
    session: SessionDep,
    actor: CurrentUser,
    unit_id: StoredId,
    code: str,
    body: AssessmentCreate,
) -> AssessmentPublic:
    """An assessor's verdict on a milestone indicator (met needs evidence of tasks linked to it)."""
    row = await assess_milestone(session, actor=actor, unit_id=unit_id, code=code, data=body)
    return AssessmentPublic.model_validate(row)


@router.get("/plans/{plan_id}/targets", response_model=list[TargetPublic])
async def plan_targets(session: SessionDep, actor: StaffUser, plan_id: StoredId) -> list[TargetPublic]:
    """A plan's own targets."""
    return [TargetPublic.model_validate(row) for row in await list_plan_targets(session, actor=actor, plan_id=plan_id)]


@router.put("/plans/{plan_id}/targets", response_model=list[TargetPublic])
async def replace_plan_targets(
    session: SessionDep,
    actor: CurrentUser,
    plan_id: StoredId,
    body: list[TargetIn],
) -> list[TargetPublic]:
    """Replace a plan's own targets (above the standard)."""
    rows = await set_plan_targets(session, actor=actor, plan_id=plan_id, targets=body)
    return [TargetPublic.model_validate(row) for row in rows]


@router.post("/plans/{plan_id}/targets/from-catalogue", response_model=list[TargetPublic])
async def plan_targets_from_catalogue(
    session: SessionDep,
    actor: CurrentUser,
    plan_id: StoredId,
    target_set: Annotated[str, Query(examples=["zhongshan_xiqu", "wenzhou"])],
) -> list[TargetPublic]:
    """Take the targets a seed plan wrote (the catalogue keeps them) as this plan's targets."""
    rows = await targets_from_catalogue(session, actor=actor, plan_id=plan_id, target_set=target_set)
    return [TargetPublic.model_validate(row) for row in rows]
