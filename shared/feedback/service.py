"""Rating what was delivered or attended (once per rater and target), free feedback and replies, satisfaction."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.activities.models import Activity
from shared.audit.service import record_change, snapshot
from shared.auth.models import Role
from shared.auth.scope import STAFF_ROLES, Principal
from shared.bookings.models import Booking, BookingStatus
from shared.clock import now, today_in
from shared.concurrency import bump_version
from shared.config import get_settings
from shared.errors import Conflict, InvalidInput, ScopeDenied
from shared.facilities.models import Facility
from shared.feedback.models import Feedback, Rating, TargetKind
from shared.feedback.schemas import FeedbackCreate, KindSatisfaction, RatingCreate, Satisfaction
from shared.orders.models import OrderStatus, ServiceOrder
from shared.orgunits.models import OrgUnit
from shared.orgunits.scoped import get_in_scope
from shared.orgunits.service import get_org_unit
from shared.pagination import decode_cursor, page_of
from shared.statistics.periods import parse_period

REPLIERS = (Role.admin, Role.plan_manager, Role.unit_clerk)


async def _target(session: AsyncSession, *, actor: Principal, data: RatingCreate) -> tuple[int, int | None]:
    """The org unit (and catalogue item) a rating counts for, once the caller may rate the target."""
    missing = InvalidInput(f"{data.target_kind.value} {data.target_id} does not exist", field="target_id")
    if data.target_kind == TargetKind.order:
        order = await session.get(ServiceOrder, data.target_id)
        if order is None or order.orderer_id != actor.user_id:
            raise missing
        if order.status != OrderStatus.delivered:
            reason = "was rated already" if order.status == OrderStatus.rated else f"is {order.status.value}"
            raise (Conflict if order.status == OrderStatus.rated else InvalidInput)(
                f"order {order.id} {reason}; only a delivered order can be rated",
                errors=[{"field": "target_id", "message": f"order {reason}"}],
            )
        return order.org_unit_id, order.item_id
    if data.target_kind == TargetKind.booking:
        booking = await session.get(Booking, data.target_id)
        if booking is None or booking.user_id != actor.user_id:
            raise missing
        if booking.status != BookingStatus.checked_in:
            raise InvalidInput(
                f"booking {booking.id} is {booking.status.value}; only an attended booking can be rated",
                field="target_id",
            )
        facility = await session.get(Facility, booking.facility_id)
        assert facility is not None
        return facility.org_unit_id, None
    activity = await session.get(Activity, data.target_id)
    if activity is None:
        raise missing
    if activity.occurred_on > today_in():
        raise InvalidInput(f"activity {activity.id} has not happened yet", field="target_id")
    return activity.org_unit_id, None


async def rate(session: AsyncSession, *, actor: Principal, data: RatingCreate) -> Rating:
    """A resident scores a delivered order, an attended booking or an activity; one rating per rater and target."""
    actor.require_role([Role.citizen])
    if actor.user_id is None:
        raise ScopeDenied("ratings are given by a person's account")
    unit_id, item_id = await _target(session, actor=actor, data=data)
    taken = await session.scalar(
        select(Rating.id).where(
            Rating.target_kind == data.target_kind, Rating.target_id == data.target_id, Rating.rater_id == actor.user_id
        )
    )
    if taken is not None:
        raise Conflict(
            f"you already rated this {data.target_kind.value}",
            errors=[{"field": "target_id", "message": "rated twice"}],
        )
    rating = Rating(**data.model_dump(), rater_id=actor.user_id, org_unit_id=unit_id, item_id=item_id)
    session.add(rating)
    await session.flush()
    if data.target_kind == TargetKind.order:
        from shared.orders.service import mark_rated

        order = await session.get(ServiceOrder, data.target_id)
        assert order is not None
        await mark_rated(session, actor=actor, order=order)
    await record_change(
        session, actor=actor, action="create", entity="rating", entity_id=rating.id, before=None, after=snapshot(rating)
    )
    return rating


async def give_feedback(session: AsyncSession, *, actor: Principal, data: FeedbackCreate) -> Feedback:
    """A resident writes to an org unit."""
    actor.require_role([Role.citizen])
    if actor.user_id is None:
        raise ScopeDenied("feedback is given by a person's account")
    if await session.get(OrgUnit, data.org_unit_id) is None:
        raise InvalidInput(f"org unit {data.org_unit_id} does not exist", field="org_unit_id")
    feedback = Feedback(author_id=actor.user_id, **data.model_dump())
    session.add(feedback)
    await session.flush()
    await record_change(
        session,
        actor=actor,
        action="create",
        entity="feedback",
        entity_id=feedback.id,
        before=None,
        after=snapshot(feedback),
    )
    return feedback


async def reply_to(session: AsyncSession, *, actor: Principal, feedback_id: int, reply: str) -> Feedback:
    """The unit (staff of its subtree) answers."""
    actor.require_role(REPLIERS)
    feedback = await get_in_scope(session, actor=actor, model=Feedback, row_id=feedback_id, what="feedback")
    before = snapshot(feedback)
    feedback.reply, feedback.replied_by, feedback.replied_at = reply, actor.user_id, now()
    bump_version(feedback)
    await session.flush()
    await record_change(
        session,
        actor=actor,
        action="update",
        entity="feedback",
        entity_id=feedback.id,
        before=before,
        after=snapshot(feedback),
    )
    return feedback


async def list_feedback(
    session: AsyncSession, *, actor: Principal, limit: int, cursor: str | None
) -> tuple[list[Feedback], str | None]:
    """A resident's own feedback; for staff, the feedback to units of their subtree."""
    query = select(Feedback).order_by(Feedback.id)
    if actor.role in STAFF_ROLES:
        if actor.scope_path is not None:
            query = query.join(OrgUnit, OrgUnit.id == Feedback.org_unit_id).where(
                OrgUnit.path.startswith(actor.scope_path)
            )
    else:
        query = query.where(Feedback.author_id == actor.user_id)
    if (after := decode_cursor(cursor, size=1)) is not None:
        query = query.where(Feedback.id > after[0])
    rows = list((await session.scalars(query.limit(limit + 1))).all())
    return page_of(rows, limit=limit, key=lambda row: [row.id])


async def satisfaction(session: AsyncSession, *, actor: Principal, unit_id: int, period: str) -> Satisfaction:
    """Ratings in a unit's subtree over a period (rating day in the local zone): share satisfied, mean, by kind."""
    actor.require_role(STAFF_ROLES)
    root = await get_org_unit(session, actor=actor, unit_id=unit_id)
    span = parse_period(period.strip())
    zone = ZoneInfo(get_settings().default_timezone)
    start = datetime.combine(span.start, time(), zone).astimezone(UTC)
    end = datetime.combine(span.end + timedelta(days=1), time(), zone).astimezone(UTC)
    rows = (
        await session.execute(
            select(Rating.target_kind, func.count(), func.sum(Rating.score), func.count().filter(Rating.score >= 4))
            .join(OrgUnit, OrgUnit.id == Rating.org_unit_id)
            .where(OrgUnit.path.startswith(root.path), Rating.rated_at >= start, Rating.rated_at < end)
            .group_by(Rating.target_kind)
        )
    ).all()
    kinds = {kind: (count, int(total or 0), int(happy)) for kind, count, total, happy in rows}
    count = sum(value[0] for value in kinds.values())
    total = sum(value[1] for value in kinds.values())
    happy = sum(value[2] for value in kinds.values())
    assert root.id is not None
    return Satisfaction(
        org_unit_id=root.id,
        period=span.code,
        ratings=count,
        satisfied=happy,
        satisfaction=round(happy / count, 4) if count else None,
        mean_score=round(total / count, 2) if count else None,
        by_kind=[
            KindSatisfaction(
                target_kind=kind,
                ratings=kinds.get(kind, (0, 0, 0))[0],
                mean_score=round(kinds[kind][1] / kinds[kind][0], 2) if kind in kinds else None,
            )
            for kind in TargetKind
        ],
    )
