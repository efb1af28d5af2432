"""Indicators over HTTP: compute in ingest, read in the API, drill down, export, assess, targets."""

import io

import openpyxl
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.models import Role
from shared.facilities.models import Facility, FacilityStatus, FacilityType
from tests.indicators.conftest import value
from tests.support.factories import bearer, make_plan, make_tree, make_user


async def _district(session: AsyncSession):
    tree = await make_tree(session)
    for unit, population, books in (
        (tree.community_a1, 30000, 45000),
        (tree.community_a2, 20000, 10000),
        (tree.village_b1, 10000, 5000),
    ):
        await value(session, unit, "population", "2019", population)
        await value(session, unit, "book_holdings", "2019", books)
    session.add_all(
        [
            Facility(
                code="ST-A",
                name="经八路文化站",
                type=FacilityType.station,
                org_unit_id=tree.street_a.id,
                floor_area_m2=1600,
                outdoor_area_m2=700,
                staff_established=3,
                status=FacilityStatus.open,
            ),
            Facility(
                code="ST-B",
                name="丰庆路文化站",
                type=FacilityType.station,
                org_unit_id=tree.street_b.id,
                floor_area_m2=400,
                outdoor_area_m2=700,
                staff_established=1,
                status=FacilityStatus.open,
            ),
        ]
    )
    await session.flush()
    return tree


async def test_compute_then_read_every_indicator(client: AsyncClient, session: AsyncSession) -> None:
    tree = await _district(session)
    office = bearer(await make_user(session, username="office", role=Role.plan_manager, unit=tree.district))
    computed = await client.post(
        "/ingest/v1/computations", json={"org_unit_id": tree.district.id, "period": "2019"}, headers=office
    )
    assert computed.status_code == 201, computed.text
    assert computed.json()["indicators"] == 72
    listing = await client.get(
        f"/api/v1/org-units/{tree.district.id}/indicators", params={"period": "2019"}, headers=office
    )
    assert listing.status_code == 200
    items = {item["code"]: item for item in listing.json()["items"]}
    assert len(items) == 72
    g04 = items["G04"]
    assert (g04["numerator"], g04["denominator"]) == (60000, 60000)
    assert g04["value"] == 1 and g04["passed"] is True and g04["threshold"] == 1
    assert [point["period"] for point in g04["trend"]] == ["2019"]
    k03 = items["K03"]  # ST-B serves 10,000 residents and needs 500 m²; it has 400
    assert (k03["numerator"], k03["denominator"], k03["passed"]) == (1, 2, False)
    assert items["K11"]["missing"] == ["assessment"]
    drill = await client.get(
        f"/api/v1/org-units/{tree.district.id}/indicators/K03/drill-down",
        params={"period": "2019", "failing_only": True},
        headers=office,
    )
    assert [(row["code"], row["passed"]) for row in drill.json()] == [("ST-B", False)]
    assert "floor_area_m2 400" in drill.json()[0]["why"]
    children = await client.get(
        f"/api/v1/org-units/{tree.district.id}/indicators/G04/drill-down", params={"period": "2019"}, headers=office
    )
    by_code = {row["code"]: row for row in children.json()}
    assert by_code["410105001000"]["value"] == 1.1 and by_code["410105002000"]["passed"] is False


async def test_plan_targets_are_reported_beside_the_standard(client: AsyncClient, session: AsyncSession) -> None:
    tree = await _district(session)
    office = bearer(await make_user(session, username="office", role=Role.plan_manager, unit=tree.district))
    plan = await make_plan(session, unit=tree.district)
    loaded = await client.post(
        f"/api/v1/plans/{plan.id}/targets/from-catalogue", params={"target_set": "zhongshan_xiqu"}, headers=office
    )
    assert loaded.status_code == 200
    assert {"indicator_code": "G04", "op": ">=", "value": 1.5, "plan_id": plan.id} in loaded.json()
    await client.post(
        "/ingest/v1/computations", json={"org_unit_id": tree.district.id, "period": "2019"}, headers=office
    )
    items = {
        i["code"]: i
        for i in (
            await client.get(
                f"/api/v1/org-units/{tree.district.id}/indicators", params={"period": "2019"}, headers=office
            )
        ).json()["items"]
    }
    assert items["G04"]["passed"] is True and items["G04"]["target"] == 1.5 and items["G04"]["target_passed"] is False
    bad = await client.put(
        f"/api/v1/plans/{plan.id}/targets", headers=office, json=[{"indicator_code": "ZZ99", "op": ">=", "value": 1}]
    )
    assert bad.status_code == 422


async def test_the_overview_table_exports_in_the_seed_layout(client: AsyncClient, session: AsyncSession) -> None:
    tree = await _district(session)
    office = bearer(await make_user(session, username="office", role=Role.plan_manager, unit=tree.district))
    await client.post(
        "/ingest/v1/computations", json={"org_unit_id": tree.district.id, "period": "2019"}, headers=office
    )
    response = await client.get(
        f"/api/v1/org-units/{tree.district.id}/indicators/export", params={"period": "2019"}, headers=office
    )
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[1]) == ["序号", "指标项目", "创建标准", "项目现状", "创建目标", "是否达标"]
    assert rows[2][0] == "一、重点指标项目（共15项）"
    assert sum(1 for row in rows if isinstance(row[0], int)) == 72
    books = next(row for row in rows if row[1] == "人均占有藏书")
    assert books[3].startswith("1 册/人") and books[5] == "达标"


async def test_bad_computations_and_assessments_are_refused(client: AsyncClient, session: AsyncSession) -> None:
    tree = await _district(session)
    office = bearer(await make_user(session, username="office", role=Role.plan_manager, unit=tree.district))
    viewer = bearer(await make_user(session, username="viewer", role=Role.viewer, unit=tree.district))
    outsider = bearer(await make_user(session, username="o", role=Role.plan_manager, unit=tree.other_district))
    url = "/ingest/v1/computations"
    assert (
        await client.post(url, json={"org_unit_id": tree.district.id, "period": "2019-13"}, headers=office)
    ).status_code == 422
    assert (
        await client.post(
            url, json={"org_unit_id": tree.district.id, "period": "2019", "codes": ["X1"]}, headers=office
        )
    ).status_code == 422
    assert (
        await client.post(url, json={"org_unit_id": tree.district.id, "period": "2019"}, headers=viewer)
    ).status_code == 403
    assert (
        await client.post(url, json={"org_unit_id": tree.district.id, "period": "2019"}, headers=outsider)
    ).status_code == 404
    assess = f"/api/v1/org-units/{tree.district.id}/indicators/K11/assessment"
    no_evidence = await client.put(assess, json={"period": "2019", "met": True}, headers=office)
    assert no_evidence.status_code == 422 and no_evidence.json()["errors"][0]["field"] == "evidence_ids"
    not_linked = await client.put(
        assess, json={"period": "2019", "met": True, "evidence_ids": [424242]}, headers=office
    )
    assert not_linked.status_code == 422
    quantitative = await client.put(
        f"/api/v1/org-units/{tree.district.id}/indicators/G04/assessment",
        json={"period": "2019", "met": True, "evidence_ids": [1]},
        headers=office,
    )
    assert quantitative.status_code == 422
    assert (await client.put(assess, json={"period": "2019", "met": False}, headers=viewer)).status_code == 403


async def test_a_milestone_assessed_with_linked_evidence_passes(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    office = bearer(await make_user(session, username="office", role=Role.plan_manager, unit=tree.district))
    plan = await make_plan(session, unit=tree.district)
    work = (
        await client.post(
            f"/api/v1/plans/{plan.id}/tasks",
            headers=office,
            json={"kind": "work_task", "title": "建立协调机制", "indicator_codes": ["K11"]},
        )
    ).json()
    evidence = await client.post(
        f"/api/v1/tasks/{work['id']}/evidence",
        headers=office,
        files={"file": ("纪要.pdf", b"%PDF-1.4 minutes", "application/pdf")},
    )
    assert evidence.status_code == 201
    assessed = await client.put(
        f"/api/v1/org-units/{tree.district.id}/indicators/K11/assessment",
        headers=office,
        json={"period": "2019", "met": True, "evidence_ids": [evidence.json()["id"]]},
    )
    assert assessed.status_code == 200, assessed.text
    await client.post(
        "/ingest/v1/computations",
        json={"org_unit_id": tree.district.id, "period": "2019", "codes": ["K11"]},
        headers=office,
    )
    items = {
        i["code"]: i
        for i in (
            await client.get(
                f"/api/v1/org-units/{tree.district.id}/indicators", params={"period": "2019"}, headers=office
            )
        ).json()["items"]
    }
    assert items["K11"]["value"] == 1 and items["K11"]["passed"] is True


async def test_a_hand_entered_value_moves_the_stored_results(client: AsyncClient, session: AsyncSession) -> None:
    tree = await _district(session)
    clerk = bearer(await make_user(session, username="clerk", role=Role.unit_clerk, unit=tree.district))
    await client.post(
        "/ingest/v1/computations", json={"org_unit_id": tree.district.id, "period": "2019"}, headers=clerk
    )
    written = await client.put(
        "/api/v1/data-values",
        headers=clerk,
        json={
            "values": [{"element": "book_holdings", "org_unit_code": "410105002001", "period": "2019", "value": 35000}]
        },
    )
    assert written.status_code == 200, written.text
    items = {
        i["code"]: i
        for i in (
            await client.get(
                f"/api/v1/org-units/{tree.district.id}/indicators", params={"period": "2019"}, headers=clerk
            )
        ).json()["items"]
    }
    assert (items["G04"]["numerator"], items["G04"]["denominator"]) == (90000, 60000)
    assert items["G04"]["value"] == 1.5


async def test_evidence_from_another_subtree_does_not_prove_a_milestone(
    client: AsyncClient, session: AsyncSession
) -> None:
    tree = await make_tree(session)
    office = bearer(await make_user(session, username="office", role=Role.plan_manager, unit=tree.district))
    other_plan = await make_plan(session, unit=tree.other_district)
    admin = bearer(await make_user(session, username="root", role=Role.admin))
    task = (
        await client.post(
            f"/api/v1/plans/{other_plan.id}/tasks",
            headers=admin,
            json={"kind": "work_task", "title": "协调机制", "indicator_codes": ["K11"]},
        )
    ).json()
    evidence = await client.post(
        f"/api/v1/tasks/{task['id']}/evidence",
        headers=admin,
        files={"file": ("纪要.pdf", b"%PDF-1.4 minutes", "application/pdf")},
    )
    assessed = await client.put(
        f"/api/v1/org-units/{tree.district.id}/indicators/K11/assessment",
        headers=office,
        json={"period": "2019", "met": True, "evidence_ids": [evidence.json()["id"]]},
    )
    assert assessed.status_code == 422 and assessed.json()["errors"][0]["field"] == "evidence_ids"


async def _stored_g04(client: AsyncClient, unit_id: int, auth: dict[str, str]) -> tuple[float, float]:
    listing = await client.get(f"/api/v1/org-units/{unit_id}/indicators", params={"period": "2019"}, headers=auth)
    g04 = next(item for item in listing.json()["items"] if item["code"] == "G04")
    return g04["numerator"], g04["denominator"]


async def test_a_population_change_moves_the_city_results_at_once(client: AsyncClient, session: AsyncSession) -> None:
    tree = await _district(session)
    admin = bearer(await make_user(session, username="admin", role=Role.admin, unit=tree.city))
    computed = await client.post(
        "/ingest/v1/computations", json={"org_unit_id": tree.city.id, "period": "2019"}, headers=admin
    )
    assert computed.status_code == 201, computed.text
    assert await _stored_g04(client, tree.city.id, admin) == (60000, 60000)
    written = await client.put(
        f"/api/v1/org-units/{tree.village_b1.id}/population/2019", json={"value": 40000}, headers=admin
    )
    assert written.status_code == 200, written.text
    assert await _stored_g04(client, tree.city.id, admin) == (60000, 90000)
    assert await _stored_g04(client, tree.district.id, admin) == (60000, 90000)


def _data_values_csv(rows: list[tuple[str, str, str, int]]) -> bytes:
    lines = ["element,org_unit_code,facility_code,period,value"]
    lines += [f"{element},{unit},,{period},{value}" for element, unit, period, value in rows]
    return ("\n".join(lines) + "\n").encode()


async def test_an_imported_file_of_figures_moves_the_city_results_at_once(
    client: AsyncClient, session: AsyncSession
) -> None:
    tree = await _district(session)
    admin = bearer(await make_user(session, username="admin", role=Role.admin, unit=tree.city))
    await client.post("/ingest/v1/computations", json={"org_unit_id": tree.city.id, "period": "2019"}, headers=admin)
    small = _data_values_csv([("book_holdings", "410105002001", "2019", 35000)])
    # Sixty figures: past the number applied one by one, so the stored results are recomputed per tree instead.
    large = _data_values_csv(
        [("book_holdings", "410105001001", str(year), 1000) for year in range(1960, 2019)]
        + [("book_holdings", "410105001002", "2019", 40000)]
    )
    expected = {"small.csv": (90000, 60000), "large.csv": (120000, 60000)}
    for name, content in (("small.csv", small), ("large.csv", large)):
        imported = await client.post(
            "/ingest/v1/imports", data={"kind": "data_values"}, files={"file": (name, content)}, headers=admin
        )
        assert imported.status_code == 201, imported.text
        assert await _stored_g04(client, tree.city.id, admin) == expected[name]
