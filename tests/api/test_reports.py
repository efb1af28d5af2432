"""Reports over HTTP: the workflow, its refusals, exports, the calendar; channels and the inbox."""

from datetime import date

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.models import Role
from shared.reports.models import Report
from tests.support.factories import bearer, make_plan, make_tree, make_user
from tests.support.pdf import embedded_fonts, page_text


async def _world(session: AsyncSession) -> tuple[dict, dict[str, int]]:
    tree = await make_tree(session)
    await make_plan(session, unit=tree.street_a, starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31))
    clerk = await make_user(session, username="clerk-a1", role=Role.unit_clerk, unit=tree.community_a1)
    street = await make_user(session, username="office-a", role=Role.plan_manager, unit=tree.street_a)
    other = await make_user(session, username="clerk-b1", role=Role.unit_clerk, unit=tree.village_b1)
    headers = {"clerk": bearer(clerk), "street": bearer(street), "other": bearer(other)}
    ids = {"a1": tree.community_a1.id, "street": tree.street_a.id}
    return headers, ids


async def _open(client: AsyncClient, headers: dict, unit_id: int, period: str = "2026-03") -> dict:
    response = await client.post(
        "/api/v1/reports",
        json={"org_unit_id": unit_id, "kind": "monthly_update", "period": period},
        headers=headers["street"],
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_report_goes_from_draft_to_submitted_to_returned_to_accepted(
    client: AsyncClient, session: AsyncSession
) -> None:
    headers, ids = await _world(session)
    report = await _open(client, headers, ids["a1"])
    edited = await client.patch(
        f"/api/v1/reports/{report['id']}",
        json={"text": "本月开展文化活动三场。"},
        headers=headers["clerk"] | {"If-Match": f'"{report["version"]}"'},
    )
    assert edited.status_code == 200 and edited.json()["text"] == "本月开展文化活动三场。"
    submitted = await client.post(
        f"/api/v1/reports/{report['id']}/submit", json={"comment": "请审阅"}, headers=headers["clerk"]
    )
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
    assert "activities" in submitted.json()["content"]
    refused = await client.post(f"/api/v1/reports/{report['id']}/return", headers=headers["clerk"])
    assert refused.status_code == 403  # the unit cannot judge its own report
    returned = await client.post(
        f"/api/v1/reports/{report['id']}/return", json={"comment": "补充佐证材料"}, headers=headers["street"]
    )
    assert returned.status_code == 200 and returned.json()["status"] == "returned"
    again = await client.post(f"/api/v1/reports/{report['id']}/submit", headers=headers["clerk"])
    assert again.status_code == 200
    accepted = await client.post(f"/api/v1/reports/{report['id']}/accept", headers=headers["street"])
    assert accepted.json()["status"] == "accepted"
    assert [c["action"] for c in accepted.json()["comments"]] == ["submit", "return", "submit", "accept"]


async def test_submitting_twice_editing_a_submitted_report_and_another_units_report_are_refused(
    client: AsyncClient, session: AsyncSession
) -> None:
    headers, ids = await _world(session)
    report = await _open(client, headers, ids["a1"])
    other = await client.post(f"/api/v1/reports/{report['id']}/submit", headers=headers["other"])
    assert other.status_code == 404
    assert other.headers["content-type"] == "application/problem+json"
    first = await client.post(f"/api/v1/reports/{report['id']}/submit", headers=headers["clerk"])
    assert first.status_code == 200
    twice = await client.post(f"/api/v1/reports/{report['id']}/submit", headers=headers["clerk"])
    assert twice.status_code == 409
    edit = await client.patch(
        f"/api/v1/reports/{report['id']}",
        json={"text": "改"},
        headers=headers["clerk"] | {"If-Match": first.headers["ETag"]},
    )
    assert edit.status_code == 409
    stored = await session.scalar(select(Report).where(Report.id == report["id"]))
    assert stored is not None and stored.text == ""


async def test_a_period_that_does_not_exist_for_the_kind_is_a_422_naming_the_field(
    client: AsyncClient, session: AsyncSession
) -> None:
    headers, ids = await _world(session)
    response = await client.post(
        "/api/v1/reports",
        json={"org_unit_id": ids["a1"], "kind": "quarterly", "period": "2026-03"},
        headers=headers["street"],
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "period"
    duplicate = await _open(client, headers, ids["a1"])
    again = await client.post(
        "/api/v1/reports",
        json={"org_unit_id": ids["a1"], "kind": "monthly_update", "period": "2026-03"},
        headers=headers["street"],
    )
    assert duplicate["id"] and again.status_code == 409


async def test_a_report_exports_to_xlsx_and_to_a_pdf_with_chinese_text(
    client: AsyncClient, session: AsyncSession
) -> None:
    headers, ids = await _world(session)
    report = await _open(client, headers, ids["a1"])
    xlsx = await client.get(
        f"/api/v1/reports/{report['id']}/export", params={"format": "xlsx"}, headers=headers["clerk"]
    )
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    pdf = await client.get(f"/api/v1/reports/{report['id']}/export", params={"format": "pdf"}, headers=headers["clerk"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert b"/Image" in pdf.content
    assert {font.base_font.split("+")[1] for font in embedded_fonts(pdf.content)} == {"NotoSansSC-Regular"}
    assert "工作动态" in page_text(pdf.content) and "报送单位" in page_text(pdf.content)


async def test_the_calendar_lists_what_is_due_next(client: AsyncClient, session: AsyncSession) -> None:
    headers, ids = await _world(session)
    await _open(client, headers, ids["a1"], period="2099-01")
    response = await client.get(
        f"/api/v1/org-units/{ids['a1']}/calendar", params={"days": 366}, headers=headers["clerk"]
    )
    assert response.status_code == 200
    assert any(item["what"] == "report" and item["status"] == "not_open" for item in response.json())


async def test_a_webhook_url_that_is_not_http_is_refused(client: AsyncClient, session: AsyncSession) -> None:
    headers, ids = await _world(session)
    for url in ("ftp://example.org/hook", "javascript:alert(1)", "not a url"):
        response = await client.post(
            "/api/v1/notification-channels",
            json={"org_unit_id": ids["a1"], "kind": "webhook", "url": url},
            headers=headers["street"],
        )
        assert response.status_code == 422, url
        assert response.json()["errors"][0]["field"] == "url"
    good = await client.post(
        "/api/v1/notification-channels",
        json={"org_unit_id": ids["a1"], "kind": "webhook", "url": "https://hooks.example.org/cz"},
        headers=headers["street"],
    )
    assert good.status_code == 201


async def test_a_self_assessment_exports_as_the_indicator_overview_table(
    client: AsyncClient, session: AsyncSession
) -> None:
    from io import BytesIO

    from openpyxl import load_workbook

    headers, ids = await _world(session)
    opened = await client.post(
        "/api/v1/reports",
        json={"org_unit_id": ids["a1"], "kind": "self_assessment", "period": "2026"},
        headers=headers["street"],
    )
    assert opened.status_code == 201 and opened.json()["due_on"] == "2026-11-30"
    xlsx = await client.get(f"/api/v1/reports/{opened.json()['id']}/export", headers=headers["clerk"])
    assert xlsx.status_code == 200
    assert load_workbook(BytesIO(xlsx.content)).sheetnames == ["主要指标一览表"]


async def test_timeliness_over_http_counts_the_subtree_and_hides_other_subtrees(
    client: AsyncClient, session: AsyncSession
) -> None:
    headers, ids = await _world(session)
    report = await _open(client, headers, ids["a1"])
    await client.post(f"/api/v1/reports/{report['id']}/submit", headers=headers["clerk"])
    figures = await client.get(
        f"/api/v1/org-units/{ids['street']}/reports/timeliness",
        params={"kind": "monthly_update", "period": "2026-03"},
        headers=headers["street"],
    )
    assert figures.status_code == 200
    body = figures.json()
    # The street and its two communities are expected; only one of them reported (late: it is December 2026).
    assert (body["expected"], body["late"], body["missing"]) == (3, 1, 2)
    assert body["reporting_rate"] <= 1
    hidden = await client.get(
        f"/api/v1/org-units/{ids['street']}/reports/timeliness",
        params={"kind": "monthly_update", "period": "2026-03"},
        headers=headers["other"],
    )
    assert hidden.status_code == 404
    bad = await client.get(
        f"/api/v1/org-units/{ids['street']}/reports/timeliness",
        params={"kind": "monthly_update", "period": "2026Q1"},
        headers=headers["street"],
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "period"
