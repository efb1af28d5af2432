"""Scope on the residents' side: a clerk orders no other branch's catalogue item (nor takes its places), a resident
joins only a team of the unit they serve or of a unit above it."""

from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.models import Role
from shared.clock import today_in
from shared.orders.models import OrderCapacity, ServiceOrder
from shared.volunteers.models import VolunteerTeam
from tests.support.factories import bearer, make_tree, make_user


async def _item(client: AsyncClient, clerk: dict[str, str], unit_id: int) -> dict:
    body = {
        "org_unit_id": unit_id,
        "title": "公益电影放映",
        "category": "film_screening",
        "provider_name": "市电影公司",
        "capacity_per_month": 1,
        "state": "published",
    }
    response = await client.post("/api/v1/service-items", json=body, headers=clerk)
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_clerk_cannot_order_another_streets_item_or_use_up_its_places(
    client: AsyncClient, session: AsyncSession
) -> None:
    tree = await make_tree(session)
    clerk_a = bearer(await make_user(session, username="clerk-a", role=Role.unit_clerk, unit=tree.street_a))
    clerk_b = bearer(await make_user(session, username="clerk-b", role=Role.unit_clerk, unit=tree.street_b))
    admin = bearer(await make_user(session, username="root", role=Role.admin))
    theirs = await _item(client, clerk_b, tree.street_b.id)
    district = await _item(client, admin, tree.district.id)
    order = {"org_unit_id": tree.community_a1.id, "wanted_on": today_in().isoformat()}
    refused = await client.post("/api/v1/orders", json=order | {"item_id": theirs["id"]}, headers=clerk_a)
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["errors"][0]["field"] == "item_id"
    assert await session.scalar(select(func.count()).select_from(ServiceOrder)) == 0
    assert await session.scalar(select(func.count()).select_from(OrderCapacity)) == 0
    # an item offered above the ordering unit (the district's) serves it; the owner still orders its own
    above = await client.post("/api/v1/orders", json=order | {"item_id": district["id"]}, headers=clerk_a)
    assert above.status_code == 201, above.text
    own = {"org_unit_id": tree.village_b1.id, "wanted_on": today_in().isoformat(), "item_id": theirs["id"]}
    assert (await client.post("/api/v1/orders", json=own, headers=clerk_b)).status_code == 201


async def test_a_resident_joins_only_a_team_of_the_unit_served_or_above_it(
    client: AsyncClient, session: AsyncSession
) -> None:
    tree = await make_tree(session)
    alice = bearer(await make_user(session, username="alice", role=Role.citizen))
    elsewhere = VolunteerTeam(org_unit_id=tree.village_b1.id, name="二七区志愿队")
    street = VolunteerTeam(org_unit_id=tree.street_a.id, name="街道志愿队")
    session.add_all([elsewhere, street])
    await session.flush()
    body = {"name": "小李", "org_unit_id": tree.community_a1.id, "consent": True}
    refused = await client.put("/api/v1/volunteers/me", json=body | {"team_id": elsewhere.id}, headers=alice)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "team_id"
    assert (await client.get("/api/v1/volunteers/me", headers=alice)).status_code == 404
    joined = await client.put("/api/v1/volunteers/me", json=body | {"team_id": street.id}, headers=alice)
    assert joined.status_code == 201, joined.text
    moved = await client.put("/api/v1/volunteers/me", json=body | {"team_id": elsewhere.id}, headers=alice)
    assert moved.status_code == 422 and moved.json()["errors"][0]["field"] == "team_id"
