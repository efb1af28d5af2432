"""The residents' side of the access-matrix world: per target position an item, orders in each state, a proposal,
an open hall with opening hours and bookings, a volunteer with an unconfirmed record, feedback; and the requests."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.activities.models import ActivityType
from shared.auth.models import Role, User
from shared.bookings.models import Booking, OpeningHours
from shared.catalogue.models import ItemState, ServiceItem
from shared.clock import now, today_in
from shared.concurrency import etag_of
from shared.facilities.models import Facility, FacilityType
from shared.feedback.models import Feedback
from shared.orders.models import OrderKind, OrderStatus, Proposal, ServiceOrder
from shared.orgunits.models import OrgUnit
from shared.volunteers.models import ServiceRecord, Volunteer
from tests.support.factories import make_user


@dataclass(slots=True)
class CitizenTargets:
    """Ids (and an ETag) of one position's residents' side."""

    item: int
    item_etag: str
    orders: dict[OrderStatus, int]
    proposal: int
    hall: int
    future_booking: int
    started_booking: int
    volunteer: int
    record: int
    feedback: int


def _tomorrow_at(hour: int) -> str:
    day = today_in() + timedelta(days=1)
    return f"{day.isoformat()}T{hour:02d}:00:00+08:00"


async def caller_citizen(session: AsyncSession) -> User:
    """The resident among the matrix's callers."""
    user = await session.scalar(select(User).where(User.username == f"caller-{Role.citizen.value}"))
    assert user is not None and user.id is not None
    return user


async def build_citizen_targets(session: AsyncSession, *, unit: OrgUnit, position: str) -> CitizenTargets:
    """Everything a residents' write request of one position aims at."""
    resident = await caller_citizen(session)
    if await session.scalar(select(Volunteer.id).where(Volunteer.user_id == resident.id)) is None:
        session.add(
            Volunteer(
                user_id=resident.id, org_unit_id=unit.id, name="韩梅梅", consent_at=now(), registered_on=today_in()
            )
        )
    item = ServiceItem(
        org_unit_id=unit.id, title="公益电影", category=ActivityType.film_screening, state=ItemState.published
    )
    hall = Facility(
        code=f"HALL-{unit.code}", name=f"{unit.name}多功能厅", type=FacilityType.grassroots_centre, org_unit_id=unit.id
    )
    proposal = Proposal(org_unit_id=unit.id, title="引进话剧")
    feedback = Feedback(author_id=resident.id, org_unit_id=unit.id, text="希望延长开放时间")
    session.add_all([item, hall, proposal, feedback])
    await session.flush()
    today = today_in()
    orders = {
        status: ServiceOrder(
            kind=OrderKind.menu,
            item_id=item.id,
            org_unit_id=unit.id,
            orderer_id=resident.id,
            status=status,
            wanted_on=today,
            period=today.strftime("%Y-%m"),
        )
        for status in (OrderStatus.requested, OrderStatus.accepted, OrderStatus.scheduled, OrderStatus.delivered)
    }
    session.add_all(list(orders.values()))
    session.add_all(
        [OpeningHours(facility_id=hall.id, weekday=day, opens=time(8), closes=time(21)) for day in range(7)]
    )
    holder = await make_user(session, username=f"hall-user-{position}", role=Role.citizen)
    started = now() - timedelta(minutes=10)
    future_start = datetime.fromisoformat(_tomorrow_at(10)).astimezone(UTC)
    future = Booking(
        facility_id=hall.id, user_id=resident.id, starts_at=future_start, ends_at=future_start + timedelta(hours=1)
    )
    running = Booking(facility_id=hall.id, user_id=holder.id, starts_at=started, ends_at=started + timedelta(hours=1))
    volunteer = Volunteer(user_id=holder.id, org_unit_id=unit.id, name="志愿者", consent_at=now(), registered_on=today)
    session.add_all([future, running, volunteer])
    await session.flush()
    record = ServiceRecord(volunteer_id=volunteer.id, org_unit_id=unit.id, served_on=today, hours=Decimal("2.5"))
    session.add(record)
    await session.flush()
    assert (
        item.id and hall.id and proposal.id and feedback.id and future.id and running.id and volunteer.id and record.id
    )
    return CitizenTargets(
        item=item.id,
        item_etag=etag_of(item),
        orders={status: order.id for status, order in orders.items()},  # type: ignore[misc]
        proposal=proposal.id,
        hall=hall.id,
        future_booking=future.id,
        started_booking=running.id,
        volunteer=volunteer.id,
        record=record.id,
        feedback=feedback.id,
    )


def citizen_requests(call: Callable[..., Any]) -> dict[str, Callable[[Any, Any], Any]]:
    """The request of each residents' write endpoint, as the matrix test's REQUESTS (w: World, p: Position)."""
    today = today_in().isoformat()

    def order(status: OrderStatus, action: str, body: Any = None) -> Callable[[Any, Any], Any]:
        return lambda w, p: call(f"/api/v1/orders/{w.citizen[p].orders[status]}/{action}", json=body)

    return {
        "POST /api/v1/service-items": lambda w, p: call(
            "/api/v1/service-items",
            json={"org_unit_id": w.unit[p], "title": "少儿书法", "category": "training", "state": "published"},
        ),
        "PATCH /api/v1/service-items/{item_id}": lambda w, p: call(
            f"/api/v1/service-items/{w.citizen[p].item}", json={"title": "露天电影"}, if_match=w.citizen[p].item_etag
        ),
        "POST /api/v1/orders": lambda w, p: call(
            "/api/v1/orders", json={"item_id": w.citizen[p].item, "org_unit_id": w.unit[p], "wanted_on": today}
        ),
        "POST /api/v1/orders/{order_id}/accept": order(OrderStatus.requested, "accept"),
        "POST /api/v1/orders/{order_id}/reject": order(OrderStatus.requested, "reject", {"reason": "档期冲突"}),
        "POST /api/v1/orders/{order_id}/schedule": order(
            OrderStatus.accepted, "schedule", {"scheduled_for": _tomorrow_at(19)}
        ),
        "POST /api/v1/orders/{order_id}/deliver": order(
            OrderStatus.scheduled, "deliver", {"delivered_on": today, "attendance": 50}
        ),
        "POST /api/v1/orders/{order_id}/cancel": order(OrderStatus.requested, "cancel"),
        "POST /api/v1/orders/{order_id}/rating": order(OrderStatus.delivered, "rating", {"score": 5}),
        "POST /api/v1/proposals": lambda w, p: call(
            "/api/v1/proposals", json={"org_unit_id": w.unit[p], "title": "引进京剧"}
        ),
        "POST /api/v1/proposals/{proposal_id}/votes": lambda w, p: call(
            f"/api/v1/proposals/{w.citizen[p].proposal}/votes", json={"in_favour": True}
        ),
        "PUT /api/v1/facilities/{facility_id}/opening-hours": lambda w, p: call(
            f"/api/v1/facilities/{w.citizen[p].hall}/opening-hours",
            json={"days": [{"weekday": 0, "opens": "09:00", "closes": "17:00"}]},
        ),
        "POST /api/v1/bookings": lambda w, p: call(
            "/api/v1/bookings",
            json={"facility_id": w.citizen[p].hall, "starts_at": _tomorrow_at(14), "ends_at": _tomorrow_at(15)},
        ),
        "POST /api/v1/bookings/{booking_id}/cancel": lambda w, p: call(
            f"/api/v1/bookings/{w.citizen[p].future_booking}/cancel"
        ),
        "POST /api/v1/bookings/{booking_id}/check-in": lambda w, p: call(
            f"/api/v1/bookings/{w.citizen[p].started_booking}/check-in"
        ),
        "POST /api/v1/bookings/{booking_id}/no-show": lambda w, p: call(
            f"/api/v1/bookings/{w.citizen[p].started_booking}/no-show"
        ),
        "PUT /api/v1/volunteers/me": lambda w, p: call(
            "/api/v1/volunteers/me", json={"name": "韩梅梅", "org_unit_id": w.unit[p], "consent": True}
        ),
        "POST /api/v1/volunteers/me/records": lambda w, p: call(
            "/api/v1/volunteers/me/records", json={"served_on": today, "hours": 2, "org_unit_id": w.unit[p]}
        ),
        "POST /api/v1/volunteers/{volunteer_id}/records": lambda w, p: call(
            f"/api/v1/volunteers/{w.citizen[p].volunteer}/records", json={"served_on": today, "hours": 3}
        ),
        "POST /api/v1/volunteer-records/{record_id}/confirm": lambda w, p: call(
            f"/api/v1/volunteer-records/{w.citizen[p].record}/confirm"
        ),
        "POST /api/v1/volunteer-teams": lambda w, p: call(
            "/api/v1/volunteer-teams", json={"org_unit_id": w.unit[p], "name": "文化志愿服务队"}
        ),
        "POST /api/v1/ratings": lambda w, p: call(
            "/api/v1/ratings", json={"target_kind": "activity", "target_id": w.activity[p], "score": 4}
        ),
        "POST /api/v1/feedback": lambda w, p: call("/api/v1/feedback", json={"org_unit_id": w.unit[p], "text": "很好"}),
        "POST /api/v1/feedback/{feedback_id}/reply": lambda w, p: call(
            f"/api/v1/feedback/{w.citizen[p].feedback}/reply", json={"reply": "谢谢"}
        ),
        "DELETE /api/v1/me": lambda w, p: call("/api/v1/me"),
    }
