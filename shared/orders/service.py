"""An order's life: requested → accepted/rejected → scheduled → delivered (an Activity) → rated; capacity per month.

Every write goes through a function here (the federation change feed will follow these tables)."""

from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.activities.models import Activity
from shared.audit.service import record_change, snapshot
from shared.auth.models import Role
from shared.auth.scope import STAFF_ROLES, Principal
from shared.catalogue.models import ItemState, ServiceItem
from shared.clock import today_in
from shared.concurrency import bump_version
from shared.config import get_settings
from shared.errors import Conflict, InvalidInput, NotFound, ScopeDenied
from shared.orders.models import (
    OrderCapacity,
    OrderKind,
    OrderStatus,
    Proposal,
    ProposalState,
    ProposalVote,
    ServiceOrder,
)
from shared.orders.schemas import Delivery, OrderCreate, ProposalCreate, ProposalPublic, Scheduling
from shared.orgunits.models import OrgUnit
from shared.pagination import decode_cursor, page_of
from shared.statistics.elements import dialect_insert

ORDERERS = (Role.citizen, Role.admin, Role.plan_manager, Role.unit_clerk)
PROVIDERS = (Role.admin, Role.plan_manager, Role.unit_clerk)


async def _take_place(session: AsyncSession, *, item: ServiceItem, period: str) -> None:
    """Take one place of the item's month with a conditional UPDATE: concurrent orders can never overbook."""
    assert item.id is not None and item.capacity_per_month is not None
    await session.execute(
        dialect_insert(session, OrderCapacity.__table__)
        .values(item_id=item.id, period=period, capacity=item.capacity_per_month, taken=0)
        .on_conflict_do_nothing()
    )
    taken = await session.execute(
        update(OrderCapacity)
        .where(
            OrderCapacity.item_id == item.id,
            OrderCapacity.period == period,
            OrderCapacity.taken < OrderCapacity.capacity,
        )
        .values(taken=OrderCapacity.taken + 1)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(
            f"{item.title} is fully booked for {period} ({item.capacity_per_month} per month)",
            errors=[{"field": "wanted_on", "message": f"no place left in {period}; pick another month"}],
        )


async def _release_place(session: AsyncSession, *, order: ServiceOrder) -> None:
    if order.item_id is None:
        return
    await session.execute(
        update(OrderCapacity)
        .where(OrderCapacity.item_id == order.item_id, OrderCapacity.period == order.period, OrderCapacity.taken > 0)
        .values(taken=OrderCapacity.taken - 1)
    )


async def _require_serves(session: AsyncSession, *, actor: Principal, item: ServiceItem, unit: OrgUnit) -> None:
    """Staff order an item of their own subtree or one offered above the ordering unit, never another branch's."""
    provider = await session.get(OrgUnit, item.org_unit_id)
    assert provider is not None
    if not (actor.covers(provider.path) or unit.path.startswith(provider.path)):
        message = f"service item {item.id} belongs to an org unit outside your scope"
        raise ScopeDenied(message, errors=[{"field": "item_id", "message": message}])


async def place_order(session: AsyncSession, *, actor: Principal, data: OrderCreate) -> ServiceOrder:
    """Order a published item (or something custom) for an org unit; takes a place of the item's month."""
    actor.require_role(ORDERERS)
    if actor.user_id is None:
        raise ScopeDenied("orders are placed by a person's account")
    unit = await session.get(OrgUnit, data.org_unit_id)
    if unit is None:
        raise InvalidInput(f"org unit {data.org_unit_id} does not exist", field="org_unit_id")
    if actor.role != Role.citizen:
        actor.require_covers(unit.path)  # a clerk orders for a community of their own subtree
    if data.wanted_on < today_in():
        raise InvalidInput(f"{data.wanted_on} lies in the past", field="wanted_on")
    period = data.wanted_on.strftime("%Y-%m")
    item = None
    if data.kind == OrderKind.menu:
        assert data.item_id is not None
        item = await session.get(ServiceItem, data.item_id)
        if item is None or item.state != ItemState.published:
            raise InvalidInput(f"service item {data.item_id} is not in the published catalogue", field="item_id")
        if actor.role != Role.citizen:
            await _require_serves(session, actor=actor, item=item, unit=unit)
        if item.capacity_per_month is not None:
            await _take_place(session, item=item, period=period)
    order = ServiceOrder(
        kind=data.kind,
        item_id=item.id if item else None,
        org_unit_id=unit.id,
        orderer_id=actor.user_id,
        wanted_on=data.wanted_on,
        period=period,
        description=data.description,
        audience=data.audience,
    )
    session.add(order)
    await session.flush()
    await _audit(session, actor=actor, order=order, action="create", before=None)
    return order


async def _audit(
    session: AsyncSession, *, actor: Principal, order: ServiceOrder, action: str, before: dict | None
) -> None:
    await record_change(
        session,
        actor=actor,
        action=action,
        entity="service_order",
        entity_id=order.id,
        before=before,
        after=snapshot(order),
    )


async def get_order(session: AsyncSession, *, actor: Principal, order_id: int) -> ServiceOrder:
    """An order its orderer placed, or one a staff member's subtree provides or receives; else 404."""
    order = await session.get(ServiceOrder, order_id)
    if order is None or not await _visible(session, actor=actor, order=order):
        raise NotFound(f"order {order_id} does not exist")
    return order


async def _visible(session: AsyncSession, *, actor: Principal, order: ServiceOrder) -> bool:
    if order.orderer_id == actor.user_id:
        return True
    if actor.role not in STAFF_ROLES:
        return False
    return any(actor.covers(path) for path in await _paths(session, order=order))


async def _paths(session: AsyncSession, *, order: ServiceOrder) -> list[str]:
    """The paths of the receiving unit and of the providing item's unit."""
    ids = [order.org_unit_id]
    if order.item_id is not None:
        item = await session.get(ServiceItem, order.item_id)
        if item is not None:
            ids.append(item.org_unit_id)
    return list((await session.scalars(select(OrgUnit.path).where(OrgUnit.id.in_(ids)))).all())


async def _provided(session: AsyncSession, *, actor: Principal, order_id: int) -> ServiceOrder:
    """An order the caller provides: the item's unit (menu) or the receiving unit (custom) lies in their subtree."""
    actor.require_role(PROVIDERS)
    order = await get_order(session, actor=actor, order_id=order_id)
    owner = order.org_unit_id
    if order.item_id is not None:
        item = await session.get(ServiceItem, order.item_id)
        owner = item.org_unit_id if item else owner
    unit = await session.get(OrgUnit, owner)
    if unit is None or not actor.covers(unit.path):
        raise ScopeDenied("only the provider of the item may move this order on")
    return order


def _require_status(order: ServiceOrder, *allowed: OrderStatus, to: str) -> None:
    if order.status not in allowed:
        wanted = " or ".join(status.value for status in allowed)
        raise Conflict(f"order {order.id} is {order.status.value}; it can be {to} only when {wanted}")


async def accept_order(session: AsyncSession, *, actor: Principal, order_id: int) -> ServiceOrder:
    """The provider accepts a requested order."""
    order = await _provided(session, actor=actor, order_id=order_id)
    _require_status(order, OrderStatus.requested, to="accepted")
    return await _move(session, actor=actor, order=order, status=OrderStatus.accepted)


async def reject_order(session: AsyncSession, *, actor: Principal, order_id: int, reason: str) -> ServiceOrder:
    """The provider refuses, saying why; the place of the month is given back."""
    order = await _provided(session, actor=actor, order_id=order_id)
    _require_status(order, OrderStatus.requested, OrderStatus.accepted, to="rejected")
    await _release_place(session, order=order)
    return await _move(session, actor=actor, order=order, status=OrderStatus.rejected, reason=reason)


async def schedule_order(session: AsyncSession, *, actor: Principal, order_id: int, data: Scheduling) -> ServiceOrder:
    """The provider fixes the time of an accepted order."""
    order = await _provided(session, actor=actor, order_id=order_id)
    _require_status(order, OrderStatus.accepted, OrderStatus.scheduled, to="scheduled")
    if data.scheduled_for.astimezone(ZoneInfo(get_settings().default_timezone)).date() < today_in():
        raise InvalidInput(f"{data.scheduled_for.isoformat()} lies in the past", field="scheduled_for")
    return await _move(
        session, actor=actor, order=order, status=OrderStatus.scheduled, scheduled_for=data.scheduled_for
    )


async def deliver_order(session: AsyncSession, *, actor: Principal, order_id: int, data: Delivery) -> ServiceOrder:
    """The provider records the delivery; it becomes an Activity of the receiving unit, so indicators count it."""
    order = await _provided(session, actor=actor, order_id=order_id)
    _require_status(order, OrderStatus.scheduled, to="delivered")
    if data.delivered_on > today_in():
        raise InvalidInput(f"{data.delivered_on} lies in the future", field="delivered_on")
    activity = await _activity_of(session, actor=actor, order=order, data=data)
    return await _move(
        session,
        actor=actor,
        order=order,
        status=OrderStatus.delivered,
        delivered_on=data.delivered_on,
        attendance=data.attendance,
        activity_id=activity.id,
    )


async def _activity_of(session: AsyncSession, *, actor: Principal, order: ServiceOrder, data: Delivery) -> Activity:
    from shared.activities.models import ActivityType, Provider

    item = await session.get(ServiceItem, order.item_id) if order.item_id is not None else None
    activity = Activity(
        type=item.category if item else ActivityType.performance,
        org_unit_id=order.org_unit_id,
        occurred_on=data.delivered_on,
        attendance=data.attendance,
        provider=item.provider_kind if item else Provider.government,
        title=(item.title if item else order.description)[:300],
        source="order",
    )
    session.add(activity)
    await session.flush()
    await record_change(
        session,
        actor=actor,
        action="create",
        entity="activity",
        entity_id=activity.id,
        before=None,
        after=snapshot(activity),
    )
    return activity


async def cancel_order(session: AsyncSession, *, actor: Principal, order_id: int) -> ServiceOrder:
    """The resident who placed an order withdraws it before it is scheduled; the place is given back."""
    actor.require_role([Role.citizen])
    order = await get_order(session, actor=actor, order_id=order_id)
    if order.orderer_id != actor.user_id:
        raise NotFound(f"order {order_id} does not exist")
    _require_status(order, OrderStatus.requested, OrderStatus.accepted, to="cancelled")
    await _release_place(session, order=order)
    return await _move(session, actor=actor, order=order, status=OrderStatus.cancelled)


async def mark_rated(session: AsyncSession, *, actor: Principal, order: ServiceOrder) -> ServiceOrder:
    """A delivered order its orderer rated (called by the feedback service)."""
    return await _move(session, actor=actor, order=order, status=OrderStatus.rated)


async def _move(
    session: AsyncSession, *, actor: Principal, order: ServiceOrder, status: OrderStatus, **values: object
) -> ServiceOrder:
    before = snapshot(order)
    order.status = status
    for name, value in values.items():
        setattr(order, name, value)
    bump_version(order)
    await session.flush()
    await _audit(session, actor=actor, order=order, action=f"order.{status.value}", before=before)
    return order


async def list_orders(
    session: AsyncSession, *, actor: Principal, status: OrderStatus | None, limit: int, cursor: str | None
) -> tuple[list[ServiceOrder], str | None]:
    """A resident's own orders; a staff member's orders received or provided in their subtree."""
    query = select(ServiceOrder).order_by(ServiceOrder.id)
    if actor.role in STAFF_ROLES:
        if actor.scope_path is not None:
            receiving = select(OrgUnit.id).where(OrgUnit.path.startswith(actor.scope_path))
            providing = select(ServiceItem.id).where(ServiceItem.org_unit_id.in_(receiving))
            query = query.where(ServiceOrder.org_unit_id.in_(receiving) | ServiceOrder.item_id.in_(providing))
    else:
        query = query.where(ServiceOrder.orderer_id == actor.user_id)
    if status is not None:
        query = query.where(ServiceOrder.status == status)
    if (after := decode_cursor(cursor, size=1)) is not None:
        query = query.where(ServiceOrder.id > after[0])
    rows = list((await session.scalars(query.limit(limit + 1))).all())
    return page_of(rows, limit=limit, key=lambda order: [order.id])


async def create_proposal(session: AsyncSession, *, actor: Principal, data: ProposalCreate) -> Proposal:
    """Put a programme to the residents' vote."""
    actor.require_role(PROVIDERS)
    unit = await session.get(OrgUnit, data.org_unit_id)
    if unit is None:
        raise InvalidInput(f"org unit {data.org_unit_id} does not exist", field="org_unit_id")
    actor.require_covers(unit.path)
    if data.closes_on is not None and data.closes_on < today_in():
        raise InvalidInput(f"{data.closes_on} lies in the past", field="closes_on")
    proposal = Proposal(**data.model_dump())
    session.add(proposal)
    await session.flush()
    await record_change(
        session,
        actor=actor,
        action="create",
        entity="proposal",
        entity_id=proposal.id,
        before=None,
        after=snapshot(proposal),
    )
    return proposal


async def cast_vote(session: AsyncSession, *, actor: Principal, proposal_id: int, in_favour: bool) -> ProposalPublic:
    """One vote per resident on an open proposal."""
    actor.require_role([Role.citizen])
    proposal = await session.get(Proposal, proposal_id)
    if proposal is None:
        raise NotFound(f"proposal {proposal_id} does not exist")
    closed = proposal.closes_on is not None and proposal.closes_on < today_in()
    if proposal.state != ProposalState.open or closed:
        raise Conflict(f"proposal {proposal_id} is closed")
    exists = await session.scalar(
        select(ProposalVote.id).where(ProposalVote.proposal_id == proposal_id, ProposalVote.voter_id == actor.user_id)
    )
    if exists is not None:
        raise Conflict("you already voted on this proposal")
    assert actor.user_id is not None
    session.add(ProposalVote(proposal_id=proposal_id, voter_id=actor.user_id, in_favour=in_favour))
    await session.flush()
    return await proposal_tally(session, proposal_id=proposal_id)


async def proposal_tally(session: AsyncSession, *, proposal_id: int) -> ProposalPublic:
    """A proposal and its public tally (counts only, never who voted)."""
    proposal = await session.get(Proposal, proposal_id)
    if proposal is None:
        raise NotFound(f"proposal {proposal_id} does not exist")
    votes = dict(
        (
            await session.execute(
                select(ProposalVote.in_favour, func.count())
                .where(ProposalVote.proposal_id == proposal_id)
                .group_by(ProposalVote.in_favour)
            )
        ).all()
    )
    assert proposal.id is not None
    return ProposalPublic(
        id=proposal.id,
        org_unit_id=proposal.org_unit_id,
        title=proposal.title,
        description=proposal.description,
        state=proposal.state,
        closes_on=proposal.closes_on,
        votes_for=votes.get(True, 0),
        votes_against=votes.get(False, 0),
    )


async def list_proposals(
    session: AsyncSession, *, for_unit: int | None, limit: int, cursor: str | None
) -> tuple[list[ProposalPublic], str | None]:
    """Open proposals with their tallies, newest last; `for_unit`: those of the unit and its ancestors."""
    query = select(Proposal.id).where(Proposal.state == ProposalState.open).order_by(Proposal.id)
    if for_unit is not None:
        unit = await session.get(OrgUnit, for_unit)
        if unit is None:
            raise InvalidInput(f"org unit {for_unit} does not exist", field="for_unit")
        query = query.where(Proposal.org_unit_id.in_([int(part) for part in unit.path.strip("/").split("/") if part]))
    if (after := decode_cursor(cursor, size=1)) is not None:
        query = query.where(Proposal.id > after[0])
    ids = list((await session.scalars(query.limit(limit + 1))).all())
    ids, next_cursor = page_of(ids, limit=limit, key=lambda proposal_id: [proposal_id])
    return [await proposal_tally(session, proposal_id=proposal_id) for proposal_id in ids], next_cursor
