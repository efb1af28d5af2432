"""Opening hours, free slots, and bookings that never overlap.

PostgreSQL: the exclusion constraint ex_booking_no_overlap refuses an overlapping insert (23P01) even between
concurrent transactions; the insert runs in a savepoint so the refusal becomes a 409. SQLite: every write request
holds the write lock from its first statement (BEGIN IMMEDIATE), so the overlap check and the insert cannot
interleave with another booking's."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit.service import record_change, snapshot
from shared.auth.models import Role
from shared.auth.scope import STAFF_ROLES, Principal
from shared.bookings.models import ACTIVE, Booking, BookingStatus, OpeningHours
from shared.bookings.schemas import BookingCreate, Slot, WeekHours
from shared.clock import FIRST_YEAR, LAST_YEAR, in_calendar, now
from shared.concurrency import bump_version
from shared.config import get_settings
from shared.db import is_postgres
from shared.errors import Conflict, InvalidInput, NotFound, ScopeDenied
from shared.facilities.models import Facility, FacilityStatus
from shared.orgunits.models import OrgUnit
from shared.pagination import decode_cursor, page_of

KEEPERS = (Role.admin, Role.plan_manager, Role.unit_clerk)
BOOKERS = (Role.citizen,)
EXCLUSION_VIOLATION = "23P01"


def _zone() -> ZoneInfo:
    return ZoneInfo(get_settings().default_timezone)


async def _facility(session: AsyncSession, facility_id: int, *, field: str | None = None) -> tuple[Facility, str]:
    row = (
        await session.execute(
            select(Facility, OrgUnit.path)
            .join(OrgUnit, OrgUnit.id == Facility.org_unit_id)
            .where(Facility.id == facility_id)
        )
    ).first()
    if row is None:
        if field:
            raise InvalidInput(f"facility {facility_id} does not exist", field=field)
        raise NotFound(f"facility {facility_id} does not exist")
    return row[0], row[1]


async def set_opening_hours(
    session: AsyncSession, *, actor: Principal, facility_id: int, data: WeekHours
) -> list[OpeningHours]:
    """Replace a facility's week of opening hours (staff of its subtree)."""
    actor.require_role(KEEPERS)
    facility, path = await _facility(session, facility_id)
    if not actor.covers(path):
        raise NotFound(f"facility {facility_id} does not exist")
    weekdays = [day.weekday for day in data.days]
    if len(set(weekdays)) != len(weekdays):
        raise InvalidInput("each weekday at most once", field="days")
    before = [_hours(row) for row in await opening_hours(session, facility_id=facility_id)]
    await session.execute(delete(OpeningHours).where(OpeningHours.facility_id == facility_id))
    rows = [OpeningHours(facility_id=facility_id, **day.model_dump()) for day in data.days]
    session.add_all(rows)
    await session.flush()
    await record_change(
        session,
        actor=actor,
        action="update",
        entity="opening_hours",
        entity_id=facility.id,
        before={"days": before},
        after={"days": [_hours(row) for row in rows]},
    )
    return rows


def _hours(row: OpeningHours) -> dict:
    return {"weekday": row.weekday, "opens": row.opens.isoformat(), "closes": row.closes.isoformat()}


async def opening_hours(session: AsyncSession, *, facility_id: int) -> list[OpeningHours]:
    """A facility's week, Monday first."""
    query = select(OpeningHours).where(OpeningHours.facility_id == facility_id).order_by(OpeningHours.weekday)
    return list((await session.scalars(query)).all())


async def free_slots(session: AsyncSession, *, facility_id: int, on: date, minutes: int) -> list[Slot]:
    """The day's slots of a facility from its opening hours, each marked free or taken (public)."""
    if not in_calendar(on):
        raise InvalidInput(f"year {on.year} is outside the years {FIRST_YEAR}–{LAST_YEAR}", field="on")
    facility, _path = await _facility(session, facility_id)
    hours = await session.scalar(
        select(OpeningHours).where(OpeningHours.facility_id == facility_id, OpeningHours.weekday == on.weekday())
    )
    if hours is None or facility.status != FacilityStatus.open:
        return []
    zone = _zone()
    start = datetime.combine(on, hours.opens, zone).astimezone(UTC)
    close = datetime.combine(on, hours.closes, zone).astimezone(UTC)
    taken = (
        await session.execute(
            select(Booking.starts_at, Booking.ends_at).where(
                Booking.facility_id == facility_id,
                Booking.status.in_(ACTIVE),
                Booking.starts_at < close,
                Booking.ends_at > start,
            )
        )
    ).all()
    slots, step = [], timedelta(minutes=minutes)
    while start + step <= close:
        end = start + step
        busy = any(s < end and e > start for s, e in taken)
        slots.append(Slot(starts_at=start.astimezone(zone), ends_at=end.astimezone(zone), free=not busy))
        start = end
    return slots


def _check_times(*, facility: Facility, hours: OpeningHours | None, data: BookingCreate) -> None:
    settings = get_settings()
    if data.ends_at <= data.starts_at:
        raise InvalidInput("ends_at must lie after starts_at (a booking has a length)", field="ends_at")
    if data.starts_at < now():
        raise InvalidInput(f"{data.starts_at.isoformat()} lies in the past", field="starts_at")
    if data.starts_at > now() + timedelta(days=settings.booking_horizon_days):
        raise InvalidInput(f"bookings open {settings.booking_horizon_days} days ahead at most", field="starts_at")
    if data.ends_at - data.starts_at > timedelta(hours=settings.booking_max_hours):
        raise InvalidInput(f"a booking lasts {settings.booking_max_hours} hours at most", field="ends_at")
    if facility.status != FacilityStatus.open:
        raise InvalidInput(f"facility {facility.code} is not open", field="facility_id")
    zone = _zone()
    start, end = data.starts_at.astimezone(zone), data.ends_at.astimezone(zone)
    if hours is None:
        raise InvalidInput(f"{facility.name} is closed on {start.date()}", field="starts_at")
    opens = datetime.combine(start.date(), hours.opens, zone)
    closes = datetime.combine(start.date(), hours.closes, zone)
    if start < opens or end > closes:
        raise InvalidInput(
            f"outside the opening hours {hours.opens:%H:%M}–{hours.closes:%H:%M} of {start.date()}",
            field="starts_at" if start < opens else "ends_at",
        )


async def book(session: AsyncSession, *, actor: Principal, data: BookingCreate) -> Booking:
    """Hold a facility's span for the caller; 409 when an active booking overlaps it."""
    actor.require_role(BOOKERS)
    if actor.user_id is None:
        raise ScopeDenied("bookings are made by a person's account")
    weekday = data.starts_at.astimezone(_zone()).weekday()
    # The facility and that day's hours in one statement, and bookings of one facility queue here (FOR NO KEY UPDATE
    # of the facility row, which leaves reads and foreign keys alone), so the overlap check below sees every
    # committed competitor: concurrent inserts racing on the exclusion constraint alone can deadlock each other on
    # PostgreSQL. SQLite has no row locks: its write lock (BEGIN IMMEDIATE) already serialises.
    row = (
        await session.execute(
            select(Facility, OpeningHours)
            .outerjoin(OpeningHours, (OpeningHours.facility_id == Facility.id) & (OpeningHours.weekday == weekday))
            .where(Facility.id == data.facility_id)
            .with_for_update(of=Facility, key_share=True)
        )
    ).first()
    if row is None:
        raise InvalidInput(f"facility {data.facility_id} does not exist", field="facility_id")
    facility, hours = row
    _check_times(facility=facility, hours=hours, data=data)
    overlap = await session.scalar(
        select(Booking.id)
        .where(
            Booking.facility_id == facility.id,
            Booking.status.in_(ACTIVE),
            Booking.starts_at < data.ends_at,
            Booking.ends_at > data.starts_at,
        )
        .limit(1)
    )
    if overlap is not None:
        raise _taken()
    booking = Booking(**data.model_dump(), user_id=actor.user_id, status=BookingStatus.booked)
    session.add(booking)
    try:
        await session.flush()
    except IntegrityError as exc:  # the exclusion constraint, should anything write around this function
        if is_postgres(session) and getattr(exc.orig, "sqlstate", None) == EXCLUSION_VIOLATION:
            raise _taken() from exc
        raise
    await record_change(
        session,
        actor=actor,
        action="create",
        entity="booking",
        entity_id=booking.id,
        before=None,
        after=snapshot(booking),
    )
    return booking


def _taken() -> Conflict:
    return Conflict(
        "another booking holds part of this time", errors=[{"field": "starts_at", "message": "the slot is taken"}]
    )


async def get_booking(session: AsyncSession, *, actor: Principal, booking_id: int) -> Booking:
    """The caller's own booking, or one at a facility of a staff member's subtree; else 404."""
    booking = await session.get(Booking, booking_id)
    if booking is None:
        raise NotFound(f"booking {booking_id} does not exist")
    if booking.user_id == actor.user_id:
        return booking
    if actor.role in STAFF_ROLES:
        _facility_row, path = await _facility(session, booking.facility_id)
        if actor.covers(path):
            return booking
    raise NotFound(f"booking {booking_id} does not exist")


async def cancel_booking(session: AsyncSession, *, actor: Principal, booking_id: int) -> Booking:
    """The holder gives a booking back before it starts."""
    actor.require_role(BOOKERS)
    booking = await get_booking(session, actor=actor, booking_id=booking_id)
    if booking.user_id != actor.user_id:
        raise NotFound(f"booking {booking_id} does not exist")
    if booking.status != BookingStatus.booked:
        raise Conflict(f"booking {booking_id} is {booking.status.value}; only a booked one can be cancelled")
    if booking.starts_at <= now():
        raise Conflict(f"booking {booking_id} has started; it can no longer be cancelled")
    return await _move(session, actor=actor, booking=booking, status=BookingStatus.cancelled)


async def _staff_booking(session: AsyncSession, *, actor: Principal, booking_id: int) -> Booking:
    actor.require_role(KEEPERS)
    booking = await get_booking(session, actor=actor, booking_id=booking_id)
    _facility_row, path = await _facility(session, booking.facility_id)
    actor.require_covers(path, what="facility")
    if booking.status != BookingStatus.booked:
        raise Conflict(f"booking {booking_id} is {booking.status.value}, not booked")
    return booking


async def check_in(session: AsyncSession, *, actor: Principal, booking_id: int) -> Booking:
    """The facility's staff let the holder in (from 30 minutes before the start until the end)."""
    booking = await _staff_booking(session, actor=actor, booking_id=booking_id)
    moment = now()
    if not booking.starts_at - timedelta(minutes=30) <= moment <= booking.ends_at:
        raise Conflict(f"booking {booking_id} runs {booking.starts_at.isoformat()}–{booking.ends_at.isoformat()}")
    return await _move(session, actor=actor, booking=booking, status=BookingStatus.checked_in, checked_in_at=moment)


async def mark_no_show(session: AsyncSession, *, actor: Principal, booking_id: int) -> Booking:
    """The facility's staff record that nobody came (once the booking has started)."""
    booking = await _staff_booking(session, actor=actor, booking_id=booking_id)
    if booking.starts_at > now():
        raise Conflict(f"booking {booking_id} has not started yet")
    return await _move(session, actor=actor, booking=booking, status=BookingStatus.no_show)


async def _move(
    session: AsyncSession, *, actor: Principal, booking: Booking, status: BookingStatus, **values: object
) -> Booking:
    before = snapshot(booking)
    booking.status = status
    for name, value in values.items():
        setattr(booking, name, value)
    bump_version(booking)
    await session.flush()
    await record_change(
        session,
        actor=actor,
        action=f"booking.{status.value}",
        entity="booking",
        entity_id=booking.id,
        before=before,
        after=snapshot(booking),
    )
    return booking


async def list_bookings(
    session: AsyncSession, *, actor: Principal, facility_id: int | None, limit: int, cursor: str | None
) -> tuple[list[Booking], str | None]:
    """The caller's own bookings; for staff, the bookings of facilities in their subtree."""
    query = select(Booking).order_by(Booking.id)
    if actor.role in STAFF_ROLES:
        if actor.scope_path is not None:
            facilities = (
                select(Facility.id)
                .join(OrgUnit, OrgUnit.id == Facility.org_unit_id)
                .where(OrgUnit.path.startswith(actor.scope_path))
            )
            query = query.where(Booking.facility_id.in_(facilities))
    else:
        query = query.where(Booking.user_id == actor.user_id)
    if facility_id is not None:
        query = query.where(Booking.facility_id == facility_id)
    if (after := decode_cursor(cursor, size=1)) is not None:
        query = query.where(Booking.id > after[0])
    rows = list((await session.scalars(query.limit(limit + 1))).all())
    return page_of(rows, limit=limit, key=lambda booking: [booking.id])
