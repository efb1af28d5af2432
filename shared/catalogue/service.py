"""Keeping the catalogue and reading it (the public read needs no login)."""

from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.activities.models import ActivityType
from shared.audit.service import record_change, snapshot
from shared.auth.models import Role
from shared.auth.scope import STAFF_ROLES, Principal
from shared.catalogue.models import ItemState, PriceKind, ServiceItem
from shared.catalogue.schemas import ItemStats, MonthStats, ServiceItemCreate, ServiceItemUpdate
from shared.clock import now
from shared.concurrency import bump_version, check_if_match
from shared.errors import InvalidInput, NotFound
from shared.orgunits.models import OrgUnit
from shared.orgunits.scoped import get_in_scope
from shared.pagination import decode_cursor, page_of

WRITERS = (Role.admin, Role.plan_manager, Role.unit_clerk)


@dataclass(frozen=True, slots=True)
class ItemFilters:
    """What the public list filters by."""

    within: int | None = None
    for_unit: int | None = None
    category: ActivityType | None = None
    free: bool | None = None
    q: str | None = None


async def _unit(session: AsyncSession, unit_id: int, *, field: str) -> OrgUnit:
    unit = await session.get(OrgUnit, unit_id)
    if unit is None:
        raise InvalidInput(f"org unit {unit_id} does not exist", field=field)
    return unit


async def create_item(session: AsyncSession, *, actor: Principal, data: ServiceItemCreate) -> ServiceItem:
    """Add an item to the catalogue of an org unit the caller covers."""
    actor.require_role(WRITERS)
    unit = await _unit(session, data.org_unit_id, field="org_unit_id")
    actor.require_covers(unit.path)
    _check_price(data.price_kind, data.price_cents)
    item = ServiceItem(**data.model_dump())
    if item.state == ItemState.published:
        item.published_at = now()
    session.add(item)
    await session.flush()
    await record_change(
        session,
        actor=actor,
        action="create",
        entity="service_item",
        entity_id=item.id,
        before=None,
        after=snapshot(item),
    )
    return item


def _check_price(kind: PriceKind, cents: int) -> None:
    if kind == PriceKind.free and cents:
        raise InvalidInput("a free item has no price; set price_kind discounted or price_cents 0", field="price_cents")
    if kind == PriceKind.discounted and not cents:
        raise InvalidInput("a discounted item needs its price in cents", field="price_cents")


async def staff_item(session: AsyncSession, *, actor: Principal, item_id: int) -> ServiceItem:
    """An item of the caller's subtree (drafts too)."""
    actor.require_role(STAFF_ROLES)
    return await get_in_scope(session, actor=actor, model=ServiceItem, row_id=item_id, what="service item")


async def update_item(
    session: AsyncSession, *, actor: Principal, item_id: int, data: ServiceItemUpdate, if_match: str | None
) -> ServiceItem:
    """Change an item (If-Match), publish or withdraw it."""
    actor.require_role(WRITERS)
    item = await staff_item(session, actor=actor, item_id=item_id)
    await check_if_match(session, item, if_match)
    before = snapshot(item)
    changes = data.model_dump(exclude_unset=True)
    for name, value in changes.items():
        if value is None and name != "capacity_per_month":
            raise InvalidInput(f"{name} may not be null", field=name)
        setattr(item, name, value)
    _check_price(item.price_kind, item.price_cents)
    if changes.get("state") == ItemState.published and before and before["state"] != ItemState.published.value:
        item.published_at = now()
    if "capacity_per_month" in changes and item.capacity_per_month is not None:
        # Months already counted keep their orders: the capacity never drops below what is taken.
        from shared.orders.models import OrderCapacity

        new = item.capacity_per_month
        await session.execute(
            update(OrderCapacity)
            .where(OrderCapacity.item_id == item_id)
            .values(
                capacity=func.max(OrderCapacity.taken, new)
                if _sqlite(session)
                else func.greatest(OrderCapacity.taken, new)
            )
        )
    bump_version(item)
    await session.flush()
    await record_change(
        session,
        actor=actor,
        action="update",
        entity="service_item",
        entity_id=item.id,
        before=before,
        after=snapshot(item),
    )
    return item


def _sqlite(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "sqlite"


async def published_item(session: AsyncSession, *, item_id: int) -> ServiceItem:
    """A published item, for anyone."""
    item = await session.get(ServiceItem, item_id)
    if item is None or item.state != ItemState.published:
        raise NotFound(f"service item {item_id} is not in the published catalogue")
    return item


async def list_published(
    session: AsyncSession, *, filters: ItemFilters, limit: int, cursor: str | None
) -> tuple[list[ServiceItem], str | None]:
    """The published catalogue, filtered, by id, one page at a time."""
    query = select(ServiceItem).where(ServiceItem.state == ItemState.published).order_by(ServiceItem.id)
    if filters.within is not None or filters.for_unit is not None:
        query = query.join(OrgUnit, OrgUnit.id == ServiceItem.org_unit_id)
    if filters.within is not None:
        root = await _unit(session, filters.within, field="within")
        query = query.where(OrgUnit.path.startswith(root.path))
    if filters.for_unit is not None:
        unit = await _unit(session, filters.for_unit, field="for_unit")
        ancestors = [int(part) for part in unit.path.strip("/").split("/") if part]
        query = query.where(ServiceItem.org_unit_id.in_(ancestors))
    if filters.category is not None:
        query = query.where(ServiceItem.category == filters.category)
    if filters.free is not None:
        query = query.where((ServiceItem.price_kind == PriceKind.free) == filters.free)
    if filters.q:
        query = query.where(ServiceItem.title.contains(filters.q, autoescape=True))
    if (after := decode_cursor(cursor, size=1)) is not None:
        query = query.where(ServiceItem.id > after[0])
    rows = list((await session.scalars(query.limit(limit + 1))).all())
    return page_of(rows, limit=limit, key=lambda item: [item.id])


async def item_stats(session: AsyncSession, *, actor: Principal, item_id: int) -> ItemStats:
    """Orders and ratings of an item per month, for the office deciding what to keep."""
    from shared.feedback.models import Rating
    from shared.orders.models import OrderStatus, ServiceOrder

    item = await staff_item(session, actor=actor, item_id=item_id)
    delivered = (OrderStatus.delivered, OrderStatus.rated)
    orders = await session.execute(
        select(
            ServiceOrder.period,
            func.count(),
            func.count().filter(ServiceOrder.status.in_(delivered)),
        )
        .where(ServiceOrder.item_id == item.id)
        .group_by(ServiceOrder.period)
    )
    months = {
        period: MonthStats(period=period, orders=n, delivered=d, ratings=0, mean_score=None)
        for period, n, d in orders.all()
    }
    ratings = (await session.execute(select(Rating.rated_at, Rating.score).where(Rating.item_id == item.id))).all()
    sums: dict[str, list[int]] = {}
    for rated_at, score in ratings:
        sums.setdefault(rated_at.strftime("%Y-%m"), []).append(score)
    for period, scores in sums.items():
        month = months.setdefault(period, MonthStats(period=period, orders=0, delivered=0, ratings=0, mean_score=None))
        month.ratings, month.mean_score = len(scores), round(sum(scores) / len(scores), 2)
    every = [score for _at, score in ratings]
    assert item.id is not None
    return ItemStats(
        item_id=item.id,
        months=[months[key] for key in sorted(months)],
        orders=sum(month.orders for month in months.values()),
        mean_score=round(sum(every) / len(every), 2) if every else None,
    )
