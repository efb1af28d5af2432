"""Venue booking: opening hours, free slots (public), bookings, cancellation, check-in and no-shows."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from services.common.deps import CurrentUser, SessionDep
from shared.bookings import service
from shared.bookings.schemas import BookingCreate, BookingPublic, DayHours, Slot, WeekHours
from shared.concurrency import etag_of
from shared.db import StoredId
from shared.pagination import MAX_LIMIT, Page

router = APIRouter(prefix="/api/v1", tags=["bookings"])
PROBLEMS = {
    403: {"description": "your role or org-unit scope does not allow this"},
    404: {"description": "no such booking among yours (or your subtree's facilities)"},
    409: {"description": "the time is taken, or the booking is in another state"},
}


def _answer(booking: object, response: Response) -> BookingPublic:
    response.headers["ETag"] = etag_of(booking)  # type: ignore[arg-type]
    return BookingPublic.model_validate(booking)


@router.put("/facilities/{facility_id}/opening-hours", response_model=WeekHours, responses=PROBLEMS)
async def set_opening_hours(
    session: SessionDep, actor: CurrentUser, facility_id: StoredId, body: WeekHours
) -> WeekHours:
    """Replace a facility's weekly opening hours (local time)."""
    rows = await service.set_opening_hours(session, actor=actor, facility_id=facility_id, data=body)
    return WeekHours(days=[DayHours(weekday=row.weekday, opens=row.opens, closes=row.closes) for row in rows])


@router.get("/public/facilities/{facility_id}/slots", response_model=list[Slot], responses=PROBLEMS)
async def slots(
    session: SessionDep,
    facility_id: StoredId,
    on: Annotated[date, Query(description="the day, local time")],
    minutes: Annotated[int, Query(ge=15, le=480)] = 60,
) -> list[Slot]:
    """A day's slots of a facility from its opening hours, free or taken (no login; nobody's name)."""
    return await service.free_slots(session, facility_id=facility_id, on=on, minutes=minutes)


@router.post("/bookings", response_model=BookingPublic, status_code=status.HTTP_201_CREATED, responses=PROBLEMS)
async def book(session: SessionDep, actor: CurrentUser, body: BookingCreate, response: Response) -> BookingPublic:
    """Book a facility within its opening hours; 409 when another booking overlaps."""
    return _answer(await service.book(session, actor=actor, data=body), response)


@router.get("/bookings", response_model=Page[BookingPublic], responses=PROBLEMS)
async def list_bookings(
    session: SessionDep,
    actor: CurrentUser,
    facility_id: StoredId | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[BookingPublic]:
    """A resident's own bookings; staff: the bookings of their subtree's facilities."""
    rows, next_cursor = await service.list_bookings(
        session, actor=actor, facility_id=facility_id, limit=limit, cursor=cursor
    )
    return Page(items=[BookingPublic.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.get("/bookings/{booking_id}", response_model=BookingPublic, responses=PROBLEMS)
async def get_booking(
    session: SessionDep, actor: CurrentUser, booking_id: StoredId, response: Response
) -> BookingPublic:
    """One booking."""
    return _answer(await service.get_booking(session, actor=actor, booking_id=booking_id), response)


@router.post("/bookings/{booking_id}/cancel", response_model=BookingPublic, responses=PROBLEMS)
async def cancel(session: SessionDep, actor: CurrentUser, booking_id: StoredId, response: Response) -> BookingPublic:
    """The holder gives the booking back before it starts."""
    return _answer(await service.cancel_booking(session, actor=actor, booking_id=booking_id), response)


@router.post("/bookings/{booking_id}/check-in", response_model=BookingPublic, responses=PROBLEMS)
async def check_in(session: SessionDep, actor: CurrentUser, booking_id: StoredId, response: Response) -> BookingPublic:
    """The facility's staff let the holder in."""
    return _answer(await service.check_in(session, actor=actor, booking_id=booking_id), response)


@router.post("/bookings/{booking_id}/no-show", response_model=BookingPublic, responses=PROBLEMS)
async def no_show(session: SessionDep, actor: CurrentUser, booking_id: StoredId, response: Response) -> BookingPublic:
    """The facility's staff record that nobody came."""
    return _answer(await service.mark_no_show(session, actor=actor, booking_id=booking_id), response)
