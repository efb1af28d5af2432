"""Concurrency through a real API server on loopback: separate connections, separate transactions, one database."""

import asyncio
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.models import Role
from shared.auth.security import issue_access_token
from shared.bookings.models import ACTIVE, Booking, OpeningHours
from shared.catalogue.models import ItemState, ServiceItem
from shared.clock import today_in
from shared.db import make_engine
from shared.facilities.models import Facility, FacilityType
from shared.orders.models import OrderCapacity, ServiceOrder
from tests.support.factories import make_tree, make_user
from tests.support.processes import environment, free_port, start_service

ZONE = ZoneInfo("Asia/Shanghai")


@dataclass
class World:
    """What the requests aim at."""

    base_url: str
    url: str
    item_id: int
    facility_id: int
    community_id: int
    tokens: list[str]


async def _seed(url: str) -> tuple[int, int, int, list[str]]:
    engine = make_engine(url)
    try:
        async with AsyncSession(engine, expire_on_commit=False) as session:
            tree = await make_tree(session)
            item = ServiceItem(
                org_unit_id=tree.street_a.id,
                title="送戏下乡",
                category="performance",
                capacity_per_month=10,
                state=ItemState.published,
            )
            facility = Facility(
                code="GC-C", name="文化中心", type=FacilityType.grassroots_centre, org_unit_id=tree.community_a1.id
            )
            session.add_all([item, facility])
            await session.flush()
            session.add_all(
                [OpeningHours(facility_id=facility.id, weekday=day, opens=time(8), closes=time(21)) for day in range(7)]
            )
            residents = [
                await make_user(session, username=f"resident-{index}", role=Role.citizen) for index in range(100)
            ]
            await session.commit()
            tokens = [issue_access_token(user_id=user.id, role="citizen") for user in residents]  # type: ignore[arg-type]
            return item.id, facility.id, tree.community_a1.id, tokens  # type: ignore[return-value]
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def world(own_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """A migrated database of its own, seeded, and `culturezone serve api` on it with the rate limit off."""
    item_id, facility_id, community_id, tokens = asyncio.run(_seed(own_database_url))
    data_dir: Path = tmp_path_factory.mktemp("citizen-server")
    port = free_port()
    env = environment(database_url=own_database_url, data_dir=data_dir, CITIZEN_RATE_PER_SECOND="0")
    server = start_service("api", port=port, env=env)
    try:
        yield World(f"http://127.0.0.1:{port}", own_database_url, item_id, facility_id, community_id, tokens)
    finally:
        server.terminate()
        server.wait(timeout=15)


async def _all_at_once(world: World, path: str, bodies: list[dict]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=len(bodies), max_keepalive_connections=len(bodies))
    async with httpx.AsyncClient(base_url=world.base_url, limits=limits, timeout=60) as client:
        return await asyncio.gather(
            *(
                client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
                for body, token in zip(bodies, world.tokens, strict=False)
            )
        )


async def _count(url: str, query: object) -> int:
    engine = make_engine(url)
    try:
        async with AsyncSession(engine) as session:
            return int(await session.scalar(query) or 0)  # type: ignore[arg-type]
    finally:
        await engine.dispose()


async def test_100_concurrent_orders_against_a_capacity_of_10_accept_exactly_10(world: World) -> None:
    day = (today_in() + timedelta(days=3)).isoformat()
    body = {"item_id": world.item_id, "org_unit_id": world.community_id, "wanted_on": day}
    answers = await _all_at_once(world, "/api/v1/orders", [body] * 100)
    codes = Counter(answer.status_code for answer in answers)
    assert codes == {201: 10, 409: 90}, {code: n for code, n in codes.items()} | {"sample": answers[0].text}
    refused = next(answer for answer in answers if answer.status_code == 409)
    assert refused.headers["content-type"] == "application/problem+json"
    stored = await _count(
        world.url, select(func.count()).select_from(ServiceOrder).where(ServiceOrder.item_id == world.item_id)
    )
    taken = await _count(world.url, select(OrderCapacity.taken).where(OrderCapacity.item_id == world.item_id))
    assert (stored, taken) == (10, 10)


async def test_50_concurrent_bookings_of_one_slot_give_exactly_one_201(world: World) -> None:
    day = today_in() + timedelta(days=2)
    start = f"{day.isoformat()}T15:00:00+08:00"
    end = f"{day.isoformat()}T16:00:00+08:00"
    # Half ask for the exact slot, half for overlapping spans of it: still only one may win.
    bodies = [
        {"facility_id": world.facility_id, "starts_at": start, "ends_at": end}
        if index % 2 == 0
        else {"facility_id": world.facility_id, "starts_at": f"{day.isoformat()}T15:30:00+08:00", "ends_at": end}
        for index in range(50)
    ]
    answers = await _all_at_once(world, "/api/v1/bookings", bodies)
    codes = Counter(answer.status_code for answer in answers)
    assert codes == {201: 1, 409: 49}, {code: n for code, n in codes.items()} | {"sample": answers[-1].text}
    active = await _count(
        world.url,
        select(func.count())
        .select_from(Booking)
        .where(Booking.facility_id == world.facility_id, Booking.status.in_(ACTIVE)),
    )
    assert active == 1
