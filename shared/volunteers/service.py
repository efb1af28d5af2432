"""Registering volunteers, recording and confirming their hours, and feeding the volunteer indicators.

registered_volunteers (year) and volunteer_hours (month) of an org unit are derived figures: every registration and
every confirmation recounts them from these tables and stores them as data values (source "volunteers"), so G41
(volunteers per 10,000 residents) and hours per volunteer read them like any other figure."""

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit.service import record_change, snapshot
from shared.auth.models import Role
from shared.auth.scope import STAFF_ROLES, Principal
from shared.clock import now, today_in
from shared.errors import Conflict, InvalidInput, NotFound, ScopeDenied
from shared.orgunits.models import OrgUnit
from shared.orgunits.scoped import get_in_scope
from shared.statistics.elements import Figure, sync_elements
from shared.statistics.periods import parse_period
from shared.statistics.service import record_figures
from shared.volunteers.models import ServiceRecord, Volunteer, VolunteerTeam
from shared.volunteers.schemas import RecordCreate, TeamCreate, VolunteerPublic, VolunteerRegistration

ORGANISERS = (Role.admin, Role.plan_manager, Role.unit_clerk)


async def _unit(session: AsyncSession, unit_id: int, *, field: str) -> OrgUnit:
    unit = await session.get(OrgUnit, unit_id)
    if unit is None:
        raise InvalidInput(f"org unit {unit_id} does not exist", field=field)
    return unit


async def _feed(
    session: AsyncSession, *, actor: Principal, element: str, unit_id: int, period: str, value: Decimal
) -> None:
    """Store a derived figure of an org unit and move the stored indicator results with it."""
    elements = await sync_elements(session)
    figure = Figure(
        row=0,
        element=elements[element],
        org_unit_id=unit_id,
        facility_id=None,
        period=parse_period(period),
        value=value,
    )
    await record_figures(session, actor=actor, figures=[figure], source="volunteers")


async def _feed_registered(session: AsyncSession, *, actor: Principal, unit_id: int, year: int) -> None:
    count = await session.scalar(
        select(func.count())
        .select_from(Volunteer)
        .where(Volunteer.org_unit_id == unit_id, Volunteer.registered_on <= date(year, 12, 31))
    )
    await _feed(
        session,
        actor=actor,
        element="registered_volunteers",
        unit_id=unit_id,
        period=str(year),
        value=Decimal(count or 0),
    )


async def _feed_hours(session: AsyncSession, *, actor: Principal, unit_id: int, served_on: date) -> None:
    month = served_on.strftime("%Y-%m")
    span = parse_period(month)
    total = await session.scalar(
        select(func.coalesce(func.sum(ServiceRecord.hours), 0)).where(
            ServiceRecord.org_unit_id == unit_id,
            ServiceRecord.confirmed_at.is_not(None),
            ServiceRecord.served_on.between(span.start, span.end),
        )
    )
    await _feed(
        session, actor=actor, element="volunteer_hours", unit_id=unit_id, period=month, value=Decimal(str(total))
    )


async def register(session: AsyncSession, *, actor: Principal, data: VolunteerRegistration) -> tuple[Volunteer, bool]:
    """A resident registers as a volunteer of an org unit with consent, or updates their registration; True if new."""
    actor.require_role([Role.citizen])
    if actor.user_id is None:
        raise ScopeDenied("volunteers register with a person's account")
    if not data.consent:
        raise InvalidInput("registration needs your consent to keep these data", field="consent")
    unit = await _unit(session, data.org_unit_id, field="org_unit_id")
    if data.team_id is not None:
        team = await session.get(VolunteerTeam, data.team_id)
        if team is None:
            raise InvalidInput(f"team {data.team_id} does not exist", field="team_id")
        team_unit = await session.get(OrgUnit, team.org_unit_id)
        assert team_unit is not None
        if not unit.path.startswith(team_unit.path):  # a team of the unit served or of a unit above it
            raise InvalidInput(
                f"team {data.team_id} belongs to {team_unit.name}, not to {unit.name} or a unit above it",
                field="team_id",
            )
    existing = await session.scalar(select(Volunteer).where(Volunteer.user_id == actor.user_id))
    if existing is not None:
        return await _update_registration(session, actor=actor, volunteer=existing, data=data), False
    today = today_in()
    volunteer = Volunteer(
        user_id=actor.user_id,
        org_unit_id=unit.id,
        team_id=data.team_id,
        name=data.name,
        skills=data.skills,
        consent_at=now(),
        registered_on=today,
    )
    session.add(volunteer)
    await session.flush()
    await record_change(
        session,
        actor=actor,
        action="create",
        entity="volunteer",
        entity_id=volunteer.id,
        before=None,
        after=snapshot(volunteer),
    )
    assert unit.id is not None
    await _feed_registered(session, actor=actor, unit_id=unit.id, year=today.year)
    return volunteer, True


async def _update_registration(
    session: AsyncSession, *, actor: Principal, volunteer: Volunteer, data: VolunteerRegistration
) -> Volunteer:
    before = snapshot(volunteer)
    moved_from = volunteer.org_unit_id
    volunteer.name, volunteer.skills, volunteer.team_id = data.name, data.skills, data.team_id
    volunteer.org_unit_id, volunteer.consent_at = data.org_unit_id, now()
    volunteer.version += 1
    await session.flush()
    await record_change(
        session,
        actor=actor,
        action="update",
        entity="volunteer",
        entity_id=volunteer.id,
        before=before,
        after=snapshot(volunteer),
    )
    if moved_from != volunteer.org_unit_id:
        year = today_in().year
        for unit_id in (moved_from, volunteer.org_unit_id):
            await _feed_registered(session, actor=actor, unit_id=unit_id, year=year)
    return volunteer


async def own_volunteer(session: AsyncSession, *, actor: Principal) -> Volunteer:
    """The caller's own registration."""
    volunteer = await session.scalar(select(Volunteer).where(Volunteer.user_id == actor.user_id))
    if volunteer is None:
        raise NotFound("you are not registered as a volunteer")
    return volunteer


async def public_of(session: AsyncSession, *, volunteer: Volunteer) -> VolunteerPublic:
    """A volunteer with their confirmed hours."""
    hours, records = (
        await session.execute(
            select(func.coalesce(func.sum(ServiceRecord.hours), 0), func.count()).where(
                ServiceRecord.volunteer_id == volunteer.id, ServiceRecord.confirmed_at.is_not(None)
            )
        )
    ).one()
    assert volunteer.id is not None
    return VolunteerPublic(
        id=volunteer.id,
        name=volunteer.name,
        org_unit_id=volunteer.org_unit_id,
        team_id=volunteer.team_id,
        skills=volunteer.skills,
        consent_at=volunteer.consent_at,
        registered_on=volunteer.registered_on,
        confirmed_hours=float(hours),
        records=records,
    )


async def _staff_volunteer(session: AsyncSession, *, actor: Principal, volunteer_id: int) -> Volunteer:
    actor.require_role(STAFF_ROLES)
    return await get_in_scope(session, actor=actor, model=Volunteer, row_id=volunteer_id, what="volunteer")


async def staff_volunteer(session: AsyncSession, *, actor: Principal, volunteer_id: int) -> VolunteerPublic:
    """A volunteer of the caller's subtree with totals."""
    return await public_of(session, volunteer=await _staff_volunteer(session, actor=actor, volunteer_id=volunteer_id))


async def create_team(session: AsyncSession, *, actor: Principal, data: TeamCreate) -> VolunteerTeam:
    """A volunteer team of an org unit the organiser covers."""
    actor.require_role(ORGANISERS)
    unit = await _unit(session, data.org_unit_id, field="org_unit_id")
    actor.require_covers(unit.path)
    if await session.scalar(
        select(VolunteerTeam.id).where(VolunteerTeam.org_unit_id == unit.id, VolunteerTeam.name == data.name)
    ):
        raise Conflict(f"team {data.name} exists", errors=[{"field": "name", "message": "duplicate"}])
    team = VolunteerTeam(**data.model_dump())
    session.add(team)
    await session.flush()
    await record_change(
        session,
        actor=actor,
        action="create",
        entity="volunteer_team",
        entity_id=team.id,
        before=None,
        after=snapshot(team),
    )
    return team


def _check_day(data: RecordCreate) -> None:
    if data.served_on > today_in():
        raise InvalidInput(f"{data.served_on} lies in the future", field="served_on")


async def claim_hours(session: AsyncSession, *, actor: Principal, data: RecordCreate) -> ServiceRecord:
    """A volunteer reports hours served; they count once the organiser confirms them."""
    actor.require_role([Role.citizen])
    volunteer = await own_volunteer(session, actor=actor)
    _check_day(data)
    unit_id = data.org_unit_id or volunteer.org_unit_id
    await _unit(session, unit_id, field="org_unit_id")
    record = ServiceRecord(
        volunteer_id=volunteer.id,
        org_unit_id=unit_id,
        served_on=data.served_on,
        hours=Decimal(str(data.hours)),
        description=data.description,
    )
    session.add(record)
    await session.flush()
    await record_change(
        session,
        actor=actor,
        action="create",
        entity="volunteer_service_record",
        entity_id=record.id,
        before=None,
        after=snapshot(record),
    )
    return record


async def record_hours(
    session: AsyncSession, *, actor: Principal, volunteer_id: int, data: RecordCreate
) -> ServiceRecord:
    """The organiser records (and so confirms) hours a volunteer of their subtree served."""
    actor.require_role(ORGANISERS)
    volunteer = await _staff_volunteer(session, actor=actor, volunteer_id=volunteer_id)
    _check_day(data)
    unit = await _unit(session, data.org_unit_id or volunteer.org_unit_id, field="org_unit_id")
    actor.require_covers(unit.path)
    record = ServiceRecord(
        volunteer_id=volunteer.id,
        org_unit_id=unit.id,
        served_on=data.served_on,
        hours=Decimal(str(data.hours)),
        description=data.description,
        confirmed_by=actor.user_id,
        confirmed_at=now(),
    )
    session.add(record)
    await session.flush()
    await record_change(
        session,
        actor=actor,
        action="create",
        entity="volunteer_service_record",
        entity_id=record.id,
        before=None,
        after=snapshot(record),
    )
    assert unit.id is not None
    await _feed_hours(session, actor=actor, unit_id=unit.id, served_on=data.served_on)
    return record


async def confirm_hours(session: AsyncSession, *, actor: Principal, record_id: int) -> ServiceRecord:
    """The organiser confirms hours a volunteer reported at a unit of their subtree."""
    actor.require_role(ORGANISERS)
    record = await get_in_scope(session, actor=actor, model=ServiceRecord, row_id=record_id, what="service record")
    if record.confirmed_at is not None:
        raise Conflict(f"service record {record_id} is confirmed already")
    before = snapshot(record)
    record.confirmed_by, record.confirmed_at = actor.user_id, now()
    record.version += 1
    await session.flush()
    await record_change(
        session,
        actor=actor,
        action="update",
        entity="volunteer_service_record",
        entity_id=record.id,
        before=before,
        after=snapshot(record),
    )
    await _feed_hours(session, actor=actor, unit_id=record.org_unit_id, served_on=record.served_on)
    return record


async def forget_volunteer(session: AsyncSession, *, actor: Principal, user_id: int) -> None:
    """Delete a resident's registration and records (erasure on request) and recount their unit's volunteers."""
    volunteer = await session.scalar(select(Volunteer).where(Volunteer.user_id == user_id))
    if volunteer is None:
        return
    unit_id = volunteer.org_unit_id
    served = (
        await session.execute(
            select(ServiceRecord.org_unit_id, ServiceRecord.served_on).where(
                ServiceRecord.volunteer_id == volunteer.id, ServiceRecord.confirmed_at.is_not(None)
            )
        )
    ).all()
    await session.delete(volunteer)
    await session.flush()
    await _feed_registered(session, actor=actor, unit_id=unit_id, year=today_in().year)
    for record_unit, served_on in {(row[0], row[1].replace(day=1)) for row in served}:
        await _feed_hours(session, actor=actor, unit_id=record_unit, served_on=served_on)
