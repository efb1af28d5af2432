"""What the contract fuzz found, each pinned by a plain request: a 4xx problem+json naming the field, never a 500."""

import io
from typing import Any

import openpyxl
import pytest
from httpx import AsyncClient, Response
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.ingest.main import app as ingest_app
from shared.auth.models import Role
from shared.orgunits.models import OrgUnitKind
from shared.plans.models import Plan
from shared.statistics.models import DataValue
from tests.support.factories import bearer, make_plan, make_tree, make_unit, make_user

PROBLEM = "application/problem+json"
BEYOND_BIGINT = 2**63


async def _admin(session: AsyncSession) -> dict[str, str]:
    return bearer(await make_user(session, username="root", role=Role.admin))


def _refused(response: Response, *, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert field in [error["field"] for error in response.json()["errors"]], response.json()


async def test_ids_beyond_64_bits_are_refused_naming_the_field(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    auth = await _admin(session)
    plan = {"name": "创建方案", "org_unit_id": BEYOND_BIGINT, "starts_on": "2018-01-01", "ends_on": "2020-12-31"}
    requests: list[tuple[str, str, Any, str]] = [
        ("GET", f"/api/v1/org-units/{BEYOND_BIGINT}", None, "unit_id"),
        ("GET", f"/api/v1/plans?org_unit_id={BEYOND_BIGINT}", None, "org_unit_id"),
        ("GET", f"/api/v1/facilities/export?within={BEYOND_BIGINT}", None, "within"),
        ("GET", f"/api/v1/audit?before_id=-{BEYOND_BIGINT}", None, "before_id"),
        ("PUT", f"/api/v1/org-units/{BEYOND_BIGINT}/population/2019", {"value": 100}, "unit_id"),
        ("POST", "/api/v1/plans", plan, "org_unit_id"),
        ("POST", "/ingest/v1/computations", {"org_unit_id": BEYOND_BIGINT, "period": "2019"}, "org_unit_id"),
    ]
    for method, url, body, field in requests:
        _refused(await client.request(method, url, json=body, headers=auth), field=field)
    assert await session.scalar(select(func.count()).select_from(Plan)) == 0
    largest = await client.get(f"/api/v1/org-units/{2**63 - 1}", headers=auth)
    assert largest.status_code == 404 and largest.headers["content-type"] == PROBLEM
    assert (await client.get(f"/api/v1/org-units/{tree.district.id}", headers=auth)).status_code == 200


async def test_year_zero_is_not_a_period(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    auth = await _admin(session)
    for url in (
        f"/api/v1/org-units/{tree.district.id}/indicators?period=0000",
        f"/api/v1/org-units/{tree.district.id}/indicators/export?period=0000Q1",
        f"/api/v1/org-units/{tree.district.id}/activities/summary?period=0000",
        f"/api/v1/org-units/{tree.district.id}/data-values/population?period=0000",
    ):
        _refused(await client.get(url, headers=auth), field="period")
    summary = await client.get(f"/api/v1/org-units/{tree.district.id}/activities/summary?period=2019", headers=auth)
    assert summary.status_code == 200


@pytest.mark.postgres
async def test_nul_characters_are_refused_and_nothing_is_written(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    auth = await _admin(session)
    plan = await make_plan(session, unit=tree.district)
    listing = await client.get(f"/api/v1/plans/{plan.id}/tasks", params={"assignee": "宣传\x00部"}, headers=auth)
    _refused(listing, field="assignee")
    value = {"element": "population", "org_unit_code": "410105001001\x00", "period": "2019", "value": 3000}
    written = await client.put("/api/v1/data-values", json={"values": [value]}, headers=auth)
    assert written.status_code == 422 and written.headers["content-type"] == PROBLEM
    assert "NUL" in written.json()["detail"]
    assert await session.scalar(select(func.count()).select_from(DataValue)) == 0


async def test_facility_export_drops_characters_xlsx_cannot_hold(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    auth = await _admin(session)
    body = {
        "code": "GC-410105001001",
        "name": "四月天社区\x01综合性文化服务中心",
        "type": "grassroots_centre",
        "org_unit_id": tree.community_a1.id,
        "status": "planned",
    }
    assert (await client.post("/api/v1/facilities", json=body, headers=auth)).status_code == 201
    exported = await client.get("/api/v1/facilities/export", params={"format": "xlsx"}, headers=auth)
    assert exported.status_code == 200, exported.text
    sheet = openpyxl.load_workbook(io.BytesIO(exported.content)).active
    header = [cell.value for cell in sheet[1]]
    assert sheet.cell(row=2, column=header.index("name") + 1).value == "四月天社区综合性文化服务中心"
    as_csv = await client.get("/api/v1/facilities/export", params={"format": "csv"}, headers=auth)
    assert "四月天社区\x01综合性文化服务中心" in as_csv.content.decode("utf-8-sig")


async def test_overview_export_of_a_unit_named_with_a_control_character(
    client: AsyncClient, session: AsyncSession
) -> None:
    tree = await make_tree(session)
    auth = await _admin(session)
    unit = await make_unit(
        session, code="410105003000", name="花园路\x07街道", kind=OrgUnitKind.street, parent=tree.district
    )
    exported = await client.get(f"/api/v1/org-units/{unit.id}/indicators/export?period=2019", headers=auth)
    assert exported.status_code == 200, exported.text
    title = openpyxl.load_workbook(io.BytesIO(exported.content)).active["A1"].value
    assert title.startswith("花园路街道创建国家公共文化服务体系示范区主要指标一览表")


async def test_every_refusal_is_documented_as_problem_json(client: AsyncClient, session: AsyncSession) -> None:
    api = (await client.get("/openapi.json")).json()
    documented = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for schema in (api, ingest_app.openapi()):
        assert "HTTPValidationError" not in schema["components"]["schemas"]
        assert schema["components"]["schemas"]["Problem"]["required"] == ["type", "title", "status", "detail"]
        for path, item in schema["paths"].items():
            for method, operation in item.items():
                refusals = {code: response for code, response in operation["responses"].items() if code[0] == "4"}
                assert "4XX" in refusals, (method, path)
                assert all(response["content"] == documented for response in refusals.values()), (method, path)
    unit_id = api["paths"]["/api/v1/org-units/{unit_id}"]["get"]["parameters"][0]["schema"]
    assert (unit_id["minimum"], unit_id["maximum"]) == (1, 2**63 - 1)
    refusal = await client.get("/api/v1/org-units/0", headers=await _admin(session))
    assert set(refusal.json()) >= {"type", "title", "status", "detail"} and refusal.json()["status"] == 422
