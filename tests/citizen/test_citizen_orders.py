"""你点我送 from a resident's token: WeChat login, the catalogue, an order's whole life, ratings, isolation."""

from collections.abc import Iterator
from datetime import timedelta

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit.models import AuditEntry
from shared.auth.models import Role
from shared.clock import today_in
from shared.config import get_settings
from shared.indicators.engine.run import catalogue, live_results
from shared.orders.models import OrderCapacity
from shared.orgunits.models import OrgUnit
from tests.support.factories import bearer, make_tree, make_user
from tests.support.fake_wechat import fake_wechat

PROBLEM = "application/problem+json"


@pytest.fixture
def wechat(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, str]]]:
    """The settings point at a fake WeChat server on loopback."""
    with fake_wechat() as (url, calls):
        monkeypatch.setattr(get_settings(), "wechat_api_base_url", url)
        monkeypatch.setattr(get_settings(), "wechat_app_id", "wx-test-app")
        yield calls


async def _login(client: AsyncClient, code: str) -> dict[str, str]:
    response = await client.post("/api/v1/auth/wechat", json={"code": code})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def _item(client: AsyncClient, clerk: dict[str, str], unit: OrgUnit, **extra: object) -> dict:
    body = {
        "org_unit_id": unit.id,
        "title": "公益电影放映",
        "category": "film_screening",
        "provider_name": "市电影公司",
        "schedule_text": "每周六晚",
        "rules": "提前7天预约",
        "process": "社区下单→审核→排期→放映",
        "capacity_per_month": 2,
        "state": "published",
    } | extra
    response = await client.post("/api/v1/service-items", json=body, headers=clerk)
    assert response.status_code == 201, response.text
    return response.json()


async def test_wechat_login_makes_one_phone_less_citizen_account_per_openid(
    client: AsyncClient, wechat: list[dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await client.post("/api/v1/auth/wechat", json={"code": "good-alice"})
    again = await client.post("/api/v1/auth/wechat", json={"code": "good-alice"})
    assert first.status_code == again.status_code == 200, first.text
    assert first.json()["new_account"] is True and again.json()["new_account"] is False
    assert first.json()["user_id"] == again.json()["user_id"]
    assert wechat[0]["js_code"] == "good-alice" and wechat[0]["appid"] == "wx-test-app"
    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {first.json()['access_token']}"})
    assert me.json()["role"] == "citizen" and me.json()["org_unit_id"] is None

    refused = await client.post("/api/v1/auth/wechat", json={"code": "expired-code"})
    assert refused.status_code == 401 and refused.headers["content-type"] == PROBLEM
    assert "40029" in refused.json()["detail"]
    down = await client.post("/api/v1/auth/wechat", json={"code": "down-1"})
    assert down.status_code == 502 and down.headers["content-type"] == PROBLEM
    monkeypatch.setattr(get_settings(), "wechat_app_id", "")
    disabled = await client.post("/api/v1/auth/wechat", json={"code": "good-alice"})
    assert disabled.status_code == 404 and disabled.headers["content-type"] == PROBLEM
    bad = await client.post("/api/v1/auth/wechat", json={"code": "a b/c"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "code"


async def test_an_order_lives_from_request_to_rating_and_counts_in_its_units_month(
    client: AsyncClient, session: AsyncSession, wechat: list[dict[str, str]]
) -> None:
    tree = await make_tree(session)
    clerk = bearer(await make_user(session, username="clerk", role=Role.unit_clerk, unit=tree.street_a))
    resident = await _login(client, "good-resident")
    item = await _item(client, clerk, tree.street_a)
    today = today_in()

    placed = await client.post(
        "/api/v1/orders",
        json={
            "item_id": item["id"],
            "org_unit_id": tree.community_a1.id,
            "wanted_on": today.isoformat(),
            "audience": 60,
        },
        headers=resident,
    )
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert order["status"] == "requested" and order["period"] == today.strftime("%Y-%m")
    url = f"/api/v1/orders/{order['id']}"

    # The resident cannot move the order on; the provider can.
    assert (await client.post(f"{url}/accept", headers=resident)).status_code == 403
    assert (await client.post(f"{url}/accept", headers=clerk)).json()["status"] == "accepted"
    assert (await client.post(f"{url}/accept", headers=clerk)).status_code == 409
    early = await client.post(f"{url}/rating", json={"score": 5}, headers=resident)
    assert early.status_code == 422 and early.json()["errors"][0]["field"] == "target_id"
    when = f"{today.isoformat()}T19:30:00+08:00"
    scheduled = await client.post(f"{url}/schedule", json={"scheduled_for": when}, headers=clerk)
    assert scheduled.json()["status"] == "scheduled", scheduled.text
    future = (today + timedelta(days=2)).isoformat()
    refused = await client.post(f"{url}/deliver", json={"delivered_on": future}, headers=clerk)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "delivered_on"
    delivered = await client.post(
        f"{url}/deliver", json={"delivered_on": today.isoformat(), "attendance": 85}, headers=clerk
    )
    assert delivered.status_code == 200, delivered.text
    assert delivered.json()["status"] == "delivered" and delivered.json()["activity_id"] is not None

    rated = await client.post(f"{url}/rating", json={"score": 4, "comment": "很好"}, headers=resident)
    assert rated.status_code == 201, rated.text
    again = await client.post(f"{url}/rating", json={"score": 1}, headers=resident)
    assert again.status_code == 409 and again.headers["content-type"] == PROBLEM
    final = (await client.get(url, headers=resident)).json()
    assert final["status"] == "rated"

    actions = (
        await session.scalars(
            select(AuditEntry.action).where(
                AuditEntry.entity == "service_order", AuditEntry.entity_id == str(order["id"])
            )
        )
    ).all()
    assert list(actions) == ["create", "order.accepted", "order.scheduled", "order.delivered", "order.rated"]

    # The delivered order is an activity of the community in that month: G24 (a film a month) is met there.
    g24 = [indicator for indicator in catalogue().indicators if indicator.code == "G24"]
    results = await live_results(session, root=tree.community_a1, period=today.strftime("%Y-%m"), indicators=g24)
    assert [(r.org_unit_id, r.numerator, r.denominator) for r in results] == [(tree.community_a1.id, 1, 1)]
    elsewhere = await live_results(session, root=tree.community_a2, period=today.strftime("%Y-%m"), indicators=g24)
    assert [r.numerator for r in elsewhere] == [0]
    summary = await client.get(
        f"/api/v1/org-units/{tree.community_a1.id}/activities/summary",
        params={"period": today.strftime("%Y-%m")},
        headers=clerk,
    )
    assert summary.json()["total"] == {"count": 1, "attendance": 85, "domestic_new_films": 0}

    stats = await client.get(f"/api/v1/service-items/{item['id']}/stats", headers=clerk)
    assert stats.json()["orders"] == 1 and stats.json()["mean_score"] == 4.0
    assert stats.json()["months"][0]["delivered"] == 1
    satisfaction = await client.get(
        f"/api/v1/org-units/{tree.street_a.id}/satisfaction", params={"period": str(today.year)}, headers=clerk
    )
    assert satisfaction.json()["ratings"] == 1 and satisfaction.json()["satisfaction"] == 1.0


async def test_rejection_needs_a_reason_and_gives_the_place_back(
    client: AsyncClient, session: AsyncSession, wechat: list[dict[str, str]]
) -> None:
    tree = await make_tree(session)
    clerk = bearer(await make_user(session, username="clerk", role=Role.unit_clerk, unit=tree.street_a))
    item = await _item(client, clerk, tree.street_a, capacity_per_month=1)
    residents = [await _login(client, f"good-r{index}") for index in range(2)]
    order = {"item_id": item["id"], "org_unit_id": tree.community_a1.id, "wanted_on": today_in().isoformat()}
    first = await client.post("/api/v1/orders", json=order, headers=residents[0])
    assert first.status_code == 201
    full = await client.post("/api/v1/orders", json=order, headers=residents[1])
    assert full.status_code == 409 and full.json()["errors"][0]["field"] == "wanted_on"
    url = f"/api/v1/orders/{first.json()['id']}/reject"
    assert (await client.post(url, json={"reason": ""}, headers=clerk)).status_code == 422
    rejected = await client.post(url, json={"reason": "档期已满"}, headers=clerk)
    assert rejected.json()["status"] == "rejected" and rejected.json()["reason"] == "档期已满"
    assert (await client.post("/api/v1/orders", json=order, headers=residents[1])).status_code == 201
    taken = await session.scalar(select(OrderCapacity.taken).where(OrderCapacity.item_id == item["id"]))
    assert taken == 1


async def test_bad_orders_are_refused_and_write_nothing(
    client: AsyncClient, session: AsyncSession, wechat: list[dict[str, str]]
) -> None:
    tree = await make_tree(session)
    clerk = bearer(await make_user(session, username="clerk", role=Role.unit_clerk, unit=tree.street_a))
    resident = await _login(client, "good-bad")
    draft = await _item(client, clerk, tree.street_a, state="draft")
    item = await _item(client, clerk, tree.street_a)
    today = today_in().isoformat()
    before = await session.scalar(select(func.count()).select_from(AuditEntry))
    cases = [
        ({"item_id": draft["id"], "org_unit_id": tree.community_a1.id, "wanted_on": today}, "item_id"),
        ({"item_id": 999999, "org_unit_id": tree.community_a1.id, "wanted_on": today}, "item_id"),
        ({"item_id": item["id"], "org_unit_id": tree.community_a1.id, "wanted_on": "2020-01-01"}, "wanted_on"),
        ({"item_id": item["id"], "org_unit_id": 999999, "wanted_on": today}, "org_unit_id"),
        ({"kind": "custom", "org_unit_id": tree.community_a1.id, "wanted_on": today}, None),
        ({"item_id": item["id"], "org_unit_id": tree.community_a1.id, "wanted_on": "not a date"}, "wanted_on"),
    ]
    for body, field in cases:
        response = await client.post("/api/v1/orders", json=body, headers=resident)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == PROBLEM
        if field:
            assert response.json()["errors"][0]["field"] == field, response.json()
    malformed = await client.post(
        "/api/v1/orders", content=b'{"item_id": 1,', headers=resident | {"Content-Type": "application/json"}
    )
    assert malformed.status_code == 422 and malformed.headers["content-type"] == PROBLEM
    huge = await client.post(
        "/api/v1/orders",
        json={"kind": "custom", "org_unit_id": tree.community_a1.id, "wanted_on": today, "description": "长" * 70000},
        headers=resident,
    )
    assert huge.status_code == 413 and huge.headers["content-type"] == PROBLEM
    assert await session.scalar(select(func.count()).select_from(AuditEntry)) == before
    # A custom order (订单式) needs no item.
    custom = await client.post(
        "/api/v1/orders",
        json={"kind": "custom", "org_unit_id": tree.community_a1.id, "wanted_on": today, "description": "豫剧专场"},
        headers=resident,
    )
    assert custom.status_code == 201 and custom.json()["item_id"] is None


async def test_a_resident_never_sees_another_residents_orders_bookings_or_data(
    client: AsyncClient, session: AsyncSession, wechat: list[dict[str, str]]
) -> None:
    tree = await make_tree(session)
    clerk = bearer(await make_user(session, username="clerk", role=Role.unit_clerk, unit=tree.street_a))
    outsider_clerk = bearer(await make_user(session, username="clerk-b", role=Role.unit_clerk, unit=tree.street_b))
    item = await _item(client, clerk, tree.street_a)
    alice, bob = await _login(client, "good-alice"), await _login(client, "good-bob")
    body = {"item_id": item["id"], "org_unit_id": tree.community_a1.id, "wanted_on": today_in().isoformat()}
    order = (await client.post("/api/v1/orders", json=body | {"description": "王阿姨 138xxxx"}, headers=alice)).json()
    feedback = await client.post(
        "/api/v1/feedback", json={"org_unit_id": tree.street_a.id, "text": "希望多放电影"}, headers=alice
    )
    assert feedback.status_code == 201

    assert (await client.get(f"/api/v1/orders/{order['id']}", headers=bob)).status_code == 404
    assert (await client.get("/api/v1/orders", headers=bob)).json()["items"] == []
    assert (await client.post(f"/api/v1/orders/{order['id']}/cancel", headers=bob)).status_code == 404
    assert (await client.get("/api/v1/feedback", headers=bob)).json()["items"] == []
    assert (await client.get(f"/api/v1/orders/{order['id']}", headers=outsider_clerk)).status_code == 404
    assert (await client.get(f"/api/v1/orders/{order['id']}", headers=clerk)).status_code == 200
    # Staff routes stay closed to residents.
    assert (await client.get("/api/v1/users", headers=bob)).status_code == 403
    assert (
        await client.get(f"/api/v1/org-units/{tree.district.id}/activities/summary?period=2026", headers=bob)
    ).status_code == 403
    exported = (await client.get("/api/v1/me/data", headers=bob)).json()
    assert exported["orders"] == [] and exported["feedback"] == [] and exported["wechat"]["openid"] == "openid-bob"
    mine = (await client.get("/api/v1/me/data", headers=alice)).json()
    assert [row["id"] for row in mine["orders"]] == [order["id"]] and len(mine["feedback"]) == 1


async def _registered(session: AsyncSession, unit_id: int | None) -> float:
    from shared.statistics.models import DataElement, DataValue

    value = await session.scalar(
        select(DataValue.value)
        .join(DataElement, DataElement.id == DataValue.element_id)
        .where(DataElement.code == "registered_volunteers", DataValue.org_unit_id == unit_id)
    )
    return float(value) if value is not None else -1


async def test_a_resident_can_erase_their_account(
    client: AsyncClient, session: AsyncSession, wechat: list[dict[str, str]]
) -> None:
    tree = await make_tree(session)
    alice = await _login(client, "good-alice")
    registered = await client.put(
        "/api/v1/volunteers/me",
        json={"name": "李雷", "org_unit_id": tree.community_a1.id, "consent": True},
        headers=alice,
    )
    assert registered.status_code == 201, registered.text
    assert await _registered(session, tree.community_a1.id) == 1
    said = await client.post(
        "/api/v1/feedback", json={"org_unit_id": tree.street_a.id, "text": "我是李雷，住3号楼"}, headers=alice
    )
    assert said.status_code == 201
    assert (await client.delete("/api/v1/me", headers=alice)).status_code == 204
    assert await _registered(session, tree.community_a1.id) == 0
    trail = (await session.scalars(select(AuditEntry).where(AuditEntry.entity.in_(["volunteer", "feedback"])))).all()
    assert trail and all("李雷" not in str(entry.before) + str(entry.after) for entry in trail)
    assert (await client.get("/api/v1/me/data", headers=alice)).status_code == 401
    again = await client.post("/api/v1/auth/wechat", json={"code": "good-alice"})
    assert again.json()["new_account"] is True  # the old link is gone; a login starts afresh


async def test_the_public_catalogue_needs_no_login_and_is_cacheable(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    clerk = bearer(await make_user(session, username="clerk", role=Role.unit_clerk, unit=tree.street_a))
    published = await _item(client, clerk, tree.street_a)
    await _item(client, clerk, tree.street_a, title="草稿", state="draft")
    await _item(client, clerk, tree.street_b if False else tree.street_a, title="少儿书法培训", category="training")
    listed = await client.get("/api/v1/public/service-items", params={"for_unit": tree.community_a1.id})
    assert listed.status_code == 200
    assert [item["title"] for item in listed.json()["items"]] == ["公益电影放映", "少儿书法培训"]
    assert listed.headers["cache-control"].startswith("public, max-age=")
    etag = listed.headers["etag"]
    unchanged = await client.get(
        "/api/v1/public/service-items", params={"for_unit": tree.community_a1.id}, headers={"If-None-Match": etag}
    )
    assert unchanged.status_code == 304 and unchanged.content == b""
    trainings = await client.get("/api/v1/public/service-items", params={"category": "training", "limit": 1})
    assert [item["title"] for item in trainings.json()["items"]] == ["少儿书法培训"]
    elsewhere = await client.get("/api/v1/public/service-items", params={"for_unit": tree.village_b1.id})
    assert elsewhere.json()["items"] == []
    one = await client.get(f"/api/v1/public/service-items/{published['id']}")
    assert one.status_code == 200 and one.headers["etag"]
    capped = await client.get("/api/v1/public/service-items", params={"limit": 1000})
    assert capped.status_code == 422 and capped.json()["errors"][0]["field"] == "limit"

    # Editing changes the ETag, so the cached page is stale.
    item = await client.get(f"/api/v1/service-items/{published['id']}", headers=clerk)
    patched = await client.patch(
        f"/api/v1/service-items/{published['id']}",
        json={"title": "露天电影"},
        headers=clerk | {"If-Match": item.headers["etag"]},
    )
    assert patched.status_code == 200, patched.text
    fresh = await client.get(
        "/api/v1/public/service-items", params={"for_unit": tree.community_a1.id}, headers={"If-None-Match": etag}
    )
    assert fresh.status_code == 200 and fresh.headers["etag"] != etag


async def test_a_flood_gets_429_with_retry_after_not_a_crash(client: AsyncClient) -> None:
    from services.common.limits import limiter

    old = (limiter.rate, limiter.burst)
    limiter.configure(rate=0.5, burst=5)
    try:
        answers = [(await client.get("/api/v1/public/service-items")) for _ in range(12)]
    finally:
        limiter.configure(rate=old[0], burst=old[1])
    codes = [answer.status_code for answer in answers]
    assert codes[:5] == [200] * 5 and set(codes[5:]) == {429}
    assert answers[-1].headers["content-type"] == PROBLEM and int(answers[-1].headers["retry-after"]) >= 1
    assert (await client.get("/healthz")).status_code == 200


async def test_residents_vote_on_proposals_and_the_tally_is_public(
    client: AsyncClient, session: AsyncSession, wechat: list[dict[str, str]]
) -> None:
    tree = await make_tree(session)
    clerk = bearer(await make_user(session, username="clerk", role=Role.unit_clerk, unit=tree.street_a))
    created = await client.post(
        "/api/v1/proposals", json={"org_unit_id": tree.street_a.id, "title": "引进话剧《茶馆》"}, headers=clerk
    )
    assert created.status_code == 201, created.text
    url = f"/api/v1/proposals/{created.json()['id']}/votes"
    voters = [await _login(client, f"good-v{index}") for index in range(3)]
    for index, voter in enumerate(voters):
        assert (await client.post(url, json={"in_favour": index < 2}, headers=voter)).status_code == 201
    assert (await client.post(url, json={}, headers=voters[0])).status_code == 409
    assert (await client.post(url, json={}, headers=clerk)).status_code == 403
    tally = (await client.get(f"/api/v1/public/proposals/{created.json()['id']}")).json()
    assert (tally["votes_for"], tally["votes_against"]) == (2, 1)
    listed = (await client.get("/api/v1/public/proposals", params={"for_unit": tree.community_a1.id})).json()
    assert [(p["title"], p["votes_for"]) for p in listed["items"]] == [("引进话剧《茶馆》", 2)]
    assert (await client.get("/api/v1/public/proposals", params={"for_unit": tree.village_b1.id})).json()["items"] == []
