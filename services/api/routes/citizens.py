"""Residents' accounts (WeChat login, export, deletion), volunteers, ratings, feedback and satisfaction."""

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from services.common.deps import CurrentUser, SessionDep, StaffUser
from shared.db import StoredId
from shared.feedback import service as feedback
from shared.feedback.schemas import FeedbackCreate, FeedbackPublic, RatingCreate, RatingPublic, Reply, Satisfaction
from shared.pagination import MAX_LIMIT, Page
from shared.residents import service as residents
from shared.residents.schemas import DataExport, ResidentToken, WechatLogin
from shared.volunteers import service as volunteers
from shared.volunteers.schemas import (
    RecordCreate,
    RecordPublic,
    TeamCreate,
    TeamPublic,
    VolunteerPublic,
    VolunteerRegistration,
)

router = APIRouter(prefix="/api/v1", tags=["residents"])
PROBLEMS = {
    403: {"description": "your role or org-unit scope does not allow this"},
    404: {"description": "no such thing among yours (or your subtree's)"},
}


@router.post(
    "/auth/wechat",
    response_model=ResidentToken,
    responses={
        401: {"description": "WeChat rejected the code"},
        404: {"description": "WeChat login is not enabled here (no WECHAT_APP_ID)"},
        502: {"description": "WeChat did not answer"},
    },
)
async def wechat_login(session: SessionDep, body: WechatLogin) -> ResidentToken:
    """Mini-program login: the code from wx.login() → a resident's bearer token (a phone-less citizen account)."""
    return await residents.wechat_login(session, code=body.code)


@router.get("/me/data", response_model=DataExport, responses=PROBLEMS)
async def export_my_data(session: SessionDep, actor: CurrentUser) -> DataExport:
    """Everything stored about the caller."""
    return await residents.export_data(session, actor=actor)


@router.delete("/me", status_code=status.HTTP_204_NO_CONTENT, responses=PROBLEMS)
async def delete_me(session: SessionDep, actor: CurrentUser) -> None:
    """A resident erases their account and personal data."""
    await residents.delete_account(session, actor=actor)


@router.put(
    "/volunteers/me",
    response_model=VolunteerPublic,
    responses=PROBLEMS | {201: {"description": "registered (200: the registration was updated)"}},
)
async def register_volunteer(
    session: SessionDep, actor: CurrentUser, body: VolunteerRegistration, response: Response
) -> VolunteerPublic:
    """Register the caller as a volunteer, or update the registration (consent required; a name and a unit)."""
    volunteer, created = await volunteers.register(session, actor=actor, data=body)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return await volunteers.public_of(session, volunteer=volunteer)


@router.get("/volunteers/me", response_model=VolunteerPublic, responses=PROBLEMS)
async def my_volunteering(session: SessionDep, actor: CurrentUser) -> VolunteerPublic:
    """The caller's registration and confirmed hours."""
    return await volunteers.public_of(session, volunteer=await volunteers.own_volunteer(session, actor=actor))


@router.post(
    "/volunteers/me/records", response_model=RecordPublic, status_code=status.HTTP_201_CREATED, responses=PROBLEMS
)
async def claim_hours(session: SessionDep, actor: CurrentUser, body: RecordCreate) -> RecordPublic:
    """A volunteer reports hours; they count once confirmed."""
    return RecordPublic.model_validate(await volunteers.claim_hours(session, actor=actor, data=body))


@router.get("/volunteers/{volunteer_id}", response_model=VolunteerPublic, responses=PROBLEMS)
async def get_volunteer(session: SessionDep, actor: StaffUser, volunteer_id: StoredId) -> VolunteerPublic:
    """A volunteer of the caller's subtree with totals (staff)."""
    return await volunteers.staff_volunteer(session, actor=actor, volunteer_id=volunteer_id)


@router.post(
    "/volunteers/{volunteer_id}/records",
    response_model=RecordPublic,
    status_code=status.HTTP_201_CREATED,
    responses=PROBLEMS,
)
async def record_hours(
    session: SessionDep, actor: CurrentUser, volunteer_id: StoredId, body: RecordCreate
) -> RecordPublic:
    """The organiser records confirmed hours of a volunteer of their subtree."""
    return RecordPublic.model_validate(
        await volunteers.record_hours(session, actor=actor, volunteer_id=volunteer_id, data=body)
    )


@router.post("/volunteer-records/{record_id}/confirm", response_model=RecordPublic, responses=PROBLEMS)
async def confirm_hours(session: SessionDep, actor: CurrentUser, record_id: StoredId) -> RecordPublic:
    """The organiser confirms hours a volunteer reported."""
    return RecordPublic.model_validate(await volunteers.confirm_hours(session, actor=actor, record_id=record_id))


@router.post("/volunteer-teams", response_model=TeamPublic, status_code=status.HTTP_201_CREATED, responses=PROBLEMS)
async def create_team(session: SessionDep, actor: CurrentUser, body: TeamCreate) -> TeamPublic:
    """A volunteer team of an org unit."""
    return TeamPublic.model_validate(await volunteers.create_team(session, actor=actor, data=body))


@router.post("/ratings", response_model=RatingPublic, status_code=status.HTTP_201_CREATED, responses=PROBLEMS)
async def rate(session: SessionDep, actor: CurrentUser, body: RatingCreate) -> RatingPublic:
    """Rate a delivered order, an attended booking or an activity (once each)."""
    return RatingPublic.model_validate(await feedback.rate(session, actor=actor, data=body))


@router.post("/feedback", response_model=FeedbackPublic, status_code=status.HTTP_201_CREATED, responses=PROBLEMS)
async def give_feedback(session: SessionDep, actor: CurrentUser, body: FeedbackCreate) -> FeedbackPublic:
    """Write to an org unit."""
    return FeedbackPublic.model_validate(await feedback.give_feedback(session, actor=actor, data=body))


@router.get("/feedback", response_model=Page[FeedbackPublic], responses=PROBLEMS)
async def list_feedback(
    session: SessionDep,
    actor: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[FeedbackPublic]:
    """A resident's own feedback; staff: feedback to their subtree."""
    rows, next_cursor = await feedback.list_feedback(session, actor=actor, limit=limit, cursor=cursor)
    return Page(items=[FeedbackPublic.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.post("/feedback/{feedback_id}/reply", response_model=FeedbackPublic, responses=PROBLEMS)
async def reply(session: SessionDep, actor: CurrentUser, feedback_id: StoredId, body: Reply) -> FeedbackPublic:
    """The unit answers."""
    return FeedbackPublic.model_validate(
        await feedback.reply_to(session, actor=actor, feedback_id=feedback_id, reply=body.reply)
    )


@router.get("/org-units/{unit_id}/satisfaction", response_model=Satisfaction, responses=PROBLEMS)
async def satisfaction(
    session: SessionDep,
    actor: StaffUser,
    unit_id: StoredId,
    period: Annotated[str, Query(max_length=10, description="2026, 2026Q4 or 2026-12")],
) -> Satisfaction:
    """Satisfaction of a unit's subtree over a period."""
    return await feedback.satisfaction(session, actor=actor, unit_id=unit_id, period=period)
