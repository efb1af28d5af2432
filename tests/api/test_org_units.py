"""Org units over HTTP: the tree, scope, bad input, ETags, departments, population, collectives."""

from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit.models import AuditEntry
from shared.auth.models import Role
from shared.orgunits.models import OrgUnit
from tests.support.factories import bearer, make_department, make_tree, make_user

PROBLEM = "application/problem+json"


async def test_admin_builds_the_tree_and_lists_it(client: AsyncClient, session: AsyncSession) -> None:
    admin = await make_user(session, username="root", role=Role.admin)
    auth = bearer(admin)
    city = await client.post(
        "/api/v1/org-units", json={"code": "410100", "name": "郑州市", "level": 1, "kind": "city"}, headers=auth
    )
    assert city.status_code == 201, city.text
    district = await client.post(
        "/api/v1/org-units",
        headers=auth,
        json={"code": "410105", "name": "金水区", "level": 2, "kind": "district", "parent_id": city.json()["id"]},
    )
    assert district.status_code == 201
    assert district.json()["path"] == f"/{city.json()['id']}/{district.json()['id']}/"
    listed = await client.get("/api/v1/org-units", params={"code": "410105"}, headers=auth)
    assert listed.status_code == 200
    assert [item["name"] for item in listed.json()["items"]] == ["金水区"]
    assert listed.json()["next_cursor"] is None
    children = await client.get("/api/v1/org-units", params={"parent_id": city.json()["id"], "level": 2}, headers=auth)
    assert [item["code"] for item in children.json()["items"]] == ["410105"]
    audit = await session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.entity == "org_unit"))
    assert audit == 2


async def test_pagination_walks_every_unit_once(client: AsyncClient, session: AsyncSession) -> None:
    await make_tree(session)
    auth = bearer(await make_user(session, username="root", role=Role.admin))
    seen, cursor = [], None
    while True:
        page = (
            await client.get(
                "/api/v1/org-units", params={"limit": 3} | ({"cursor": cursor} if cursor else {}), headers=auth
            )
        ).json()
        seen += [item["code"] for item in page["items"]]
        if not (cursor := page["next_cursor"]):
            break
    assert len(seen) == len(set(seen)) == 8


async def test_bad_input_is_a_clear_4xx_and_writes_nothing(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    auth = bearer(await make_user(session, username="root", role=Role.admin))
    before = await session.scalar(select(func.count()).select_from(OrgUnit))
    unknown_parent = await client.post(
        "/api/v1/org-units",
        headers=auth,
        json={"code": "410105009000", "name": "x", "level": 3, "kind": "street", "parent_id": 999999},
    )
    assert unknown_parent.status_code == 422
    assert unknown_parent.headers["content-type"] == PROBLEM
    assert unknown_parent.json()["errors"][0]["field"] == "parent_id"
    duplicate = await client.post(
        "/api/v1/org-units",
        headers=auth,
        json={"code": "410105001000", "name": "again", "level": 3, "kind": "street", "parent_id": tree.district.id},
    )
    assert duplicate.status_code == 409
    assert duplicate.json()["errors"] == [{"field": "code", "message": "duplicate"}]
    wrong_level = await client.post(
        "/api/v1/org-units",
        headers=auth,
        json={"code": "410105003000", "name": "x", "level": 4, "kind": "street", "parent_id": tree.district.id},
    )
    assert wrong_level.status_code == 422 and wrong_level.json()["errors"][0]["field"] == "level"
    bad_kind = await client.post(
        "/api/v1/org-units",
        headers=auth,
        json={"code": "410105003000", "name": "x", "level": 3, "kind": "hamlet", "parent_id": tree.district.id},
    )
    assert bad_kind.status_code == 422 and bad_kind.json()["errors"][0]["field"] == "kind"
    assert await session.scalar(select(func.count()).select_from(OrgUnit)) == before


async def test_moving_a_unit_under_its_own_child_is_a_cycle(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    auth = bearer(await make_user(session, username="root", role=Role.admin))
    street_etag = (await client.get(f"/api/v1/org-units/{tree.street_a.id}", headers=auth)).headers["etag"]
    cycle = await client.patch(
        f"/api/v1/org-units/{tree.street_a.id}",
        headers=auth | {"If-Match": street_etag},
        json={"parent_id": tree.community_a1.id},
    )
    assert cycle.status_code == 409
    assert cycle.json()["errors"][0]["message"] == "cycle"


async def test_moving_a_unit_moves_its_subtree(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    auth = bearer(await make_user(session, username="root", role=Role.admin))
    etag = (await client.get(f"/api/v1/org-units/{tree.street_a.id}", headers=auth)).headers["etag"]
    moved = await client.patch(
        f"/api/v1/org-units/{tree.street_a.id}",
        headers=auth | {"If-Match": etag},
        json={"parent_id": tree.other_district.id},
    )
    assert moved.status_code == 200, moved.text
    assert moved.headers["etag"] != etag
    community = (await client.get(f"/api/v1/org-units/{tree.community_a1.id}", headers=auth)).json()
    assert community["path"] == f"{tree.other_district.path}{tree.street_a.id}/{tree.community_a1.id}/"
    stale = await client.patch(
        f"/api/v1/org-units/{tree.street_a.id}", headers=auth | {"If-Match": etag}, json={"name": "lost update"}
    )
    assert stale.status_code == 412
    missing = await client.patch(f"/api/v1/org-units/{tree.street_a.id}", headers=auth, json={"name": "no etag"})
    assert missing.status_code == 428, missing.text


async def test_scope_limits_reads_and_writes(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    street_admin = bearer(await make_user(session, username="street", role=Role.admin, unit=tree.street_a))
    visible = (await client.get("/api/v1/org-units", headers=street_admin)).json()["items"]
    assert {item["code"] for item in visible} == {"410105001000", "410105001001", "410105001002"}
    assert (await client.get(f"/api/v1/org-units/{tree.street_b.id}", headers=street_admin)).status_code == 404
    sibling = await client.post(
        "/api/v1/org-units",
        headers=street_admin,
        json={"code": "410105002009", "name": "x", "level": 4, "kind": "community", "parent_id": tree.street_b.id},
    )
    assert sibling.status_code == 403
    viewer = bearer(await make_user(session, username="viewer", role=Role.viewer, unit=tree.district))
    denied = await client.post(
        "/api/v1/org-units",
        headers=viewer,
        json={"code": "410105001009", "name": "x", "level": 4, "kind": "community", "parent_id": tree.street_a.id},
    )
    assert denied.status_code == 403
    assert (await client.get("/api/v1/org-units")).status_code == 401


async def test_population_is_summed_up_the_tree(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    clerk = bearer(await make_user(session, username="clerk", role=Role.unit_clerk, unit=tree.district))
    for unit, value in ((tree.community_a1, 12000), (tree.community_a2, 8000), (tree.village_b1, 5000)):
        response = await client.put(
            f"/api/v1/org-units/{unit.id}/population/2019", json={"value": value}, headers=clerk
        )
        assert response.status_code == 200, response.text
    street = (await client.get(f"/api/v1/org-units/{tree.street_a.id}/population/2019", headers=clerk)).json()
    assert street["entered"] is None and street["subtree_total"] == 20000
    district = (await client.get(f"/api/v1/org-units/{tree.district.id}/population/2019", headers=clerk)).json()
    assert district["subtree_total"] == 25000
    negative = await client.put(
        f"/api/v1/org-units/{tree.village_b1.id}/population/2019", json={"value": -1}, headers=clerk
    )
    assert negative.status_code == 422


async def test_collective_assignees_resolve_to_units(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    await make_department(session, unit=tree.district, name="宣传办")
    await make_department(session, unit=tree.district, name="住建局")
    auth = bearer(await make_user(session, username="root", role=Role.admin))
    communities = (await client.get(f"/api/v1/org-units/{tree.district.id}/collectives/community", headers=auth)).json()
    assert [unit["name"] for unit in communities["units"]] == ["四月天社区", "安泰社区"]
    members = (
        await client.get(f"/api/v1/org-units/{tree.district.id}/collectives/member_departments", headers=auth)
    ).json()
    assert [unit["name"] for unit in members["units"]] == ["宣传办", "住建局"]
    districts = (
        await client.get(f"/api/v1/org-units/{tree.city.id}/collectives/district_or_county", headers=auth)
    ).json()
    assert {unit["name"] for unit in districts["units"]} == {"金水区", "中原区"}
