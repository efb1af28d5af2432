"""Importing task tables through POST /ingest/v1/imports: the example workbook, unseen tables, refusals."""

import csv
import io
from pathlib import Path

import openpyxl
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.models import Role
from shared.orgunits.models import Department, OrgUnit
from shared.tasks.models import Task
from tests.support.factories import bearer, make_department, make_plan, make_tree, make_user

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _setup(session: AsyncSession, **plan_dates: object) -> tuple[dict[str, str], int]:
    tree = await make_tree(session)
    await make_department(session, unit=tree.district, name="宣传办")
    plan = await make_plan(session, unit=tree.district, **plan_dates)  # type: ignore[arg-type]
    manager = await make_user(session, username="office", role=Role.plan_manager, unit=tree.district)
    return bearer(manager), plan.id  # type: ignore[return-value]


async def _import(client: AsyncClient, auth: dict[str, str], plan_id: int, name: str, content: bytes):
    return await client.post(
        "/ingest/v1/imports",
        headers=auth,
        data={"kind": "tasks", "plan_id": str(plan_id)},
        files={"file": (name, content, XLSX if name.endswith("xlsx") else "text/csv")},
    )


async def _all_tasks(client: AsyncClient, auth: dict[str, str], plan_id: int) -> list[dict]:
    items, cursor = [], None
    while True:
        params = {"limit": 50} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(f"/api/v1/plans/{plan_id}/tasks", params=params, headers=auth)).json()
        items += page["items"]
        if not (cursor := page["next_cursor"]):
            return items


async def test_the_zhongshan_workbook_gives_36_tasks_and_71_items(
    client: AsyncClient,
    session: AsyncSession,
    fixtures: Path,
) -> None:
    auth, plan_id = await _setup(session)
    content = (fixtures / "zhongshan-xiqu-tasks.xlsx").read_bytes()
    response = await _import(client, auth, plan_id, "zhongshan-xiqu-tasks.xlsx", content)
    assert response.status_code == 201, response.text
    assert response.json()["created"] == {"areas": 0, "work_tasks": 36, "breakdown_items": 71}
    tasks = {task["code"]: task for task in await _all_tasks(client, auth, plan_id)}
    assert len(tasks) == 107
    assert tasks["10.2"]["parent_id"] == tasks["10"]["id"]
    assert (tasks["10.1"]["due_date"], tasks["10.2"]["due_date"]) == ("2019-12-31", "2020-12-31")
    assert [tasks[c]["due_date"] for c in ("12.1", "12.2", "12.3")] == ["2020-12-31", "2020-12-31", "2019-12-31"]
    assert tasks["12.1"]["starts_on"] == "2018-01-01"
    assert [a["name"] for a in tasks["17.2"]["assignees"]] == ["宣传办", "各社区"]
    assert tasks["17.2"]["assignees"][1]["collective_kind"] == "community"
    assert tasks["36.1"]["assignees"][1]["collective_kind"] == "member_departments"
    assert tasks["1.3"]["due_date"] == "2019-12-31" and tasks["1.3"]["starts_on"] == "2018-01-01"
    assert tasks["1"]["due_date"] == "2019-12-31"
    assert tasks["1"]["title"] == "建立和完善领导机制，落实政府创建工作主体责任"
    propaganda = await session.scalar(select(Department.id).where(Department.name == "宣传办"))
    led = await client.get(
        f"/api/v1/plans/{plan_id}/tasks", params={"department_id": propaganda, "limit": 500}, headers=auth
    )
    assert len(led.json()["items"]) > 40


def _wenzhou_workbook() -> bytes:
    """A table in the municipal layout: 项目 · 工作任务 · 任务分解 · 责任单位 · 完成时限, areas and tasks merged."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["温州市创建国家公共文化服务体系示范区责任分解表"])
    sheet.append(["项目", "工作任务", "任务分解", "责任单位", "完成时限"])
    area = "一、\n公共文化设施网络建设"
    first = "1．公共图书馆、文化馆(站)、博物馆等公共文化设施完善，布局合理。"
    second = "2．推进公共图书馆建设。人均占有藏书1.5册；平均每册藏书年流通率1.1次以上。"
    rows = [
        [area, first, "【1．1】出台温州市城市公共文化设施专项规划。", "▲市规划局、市文广新局", "2019年10月"],
        [area, first, "【1．2】启动建设温州市美术馆。", "▲市机关事务管理局、市发改委、市文广新局", "2021年12月"],
        [area, first, "【1．9】加强市、县两级工人文化宫建设。", "市总工会、市妇联，各县（市、区）政府", "2020年6月"],
        [area, second, "【2．1】市级图书馆的各项指标实现达标。", "市文广新局", "每年"],
        [
            "二、\n公共文化服务供给",
            "3．开展全民阅读。",
            "【3．1】每年组织阅读推广活动。",
            "▲市文广新局，各县（市、区）政府",
            "2017.06",
        ],
    ]
    for row in rows:
        sheet.append(row)
    sheet.merge_cells("A3:A6")
    sheet.merge_cells("B3:B5")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


async def test_an_unseen_municipal_table_imports_with_leads_and_yearly_items(
    client: AsyncClient,
    session: AsyncSession,
) -> None:
    auth, plan_id = await _setup(session, ends_on=__import__("datetime").date(2021, 12, 31))
    response = await _import(client, auth, plan_id, "wenzhou.xlsx", _wenzhou_workbook())
    assert response.status_code == 422  # 2017.06 falls before the plan starts in 2018
    errors = response.json()["errors"]
    assert [(error["row"], error["column"]) for error in errors] == [(7, "完成时间")]
    assert "2017-06-30" in errors[0]["message"]
    assert await session.scalar(select(func.count()).select_from(Task)) == 0


async def test_a_municipal_table_within_the_plan(client: AsyncClient, session: AsyncSession) -> None:
    from datetime import date

    auth, plan_id = await _setup(session, starts_on=date(2017, 1, 1), ends_on=date(2021, 12, 31))
    response = await _import(client, auth, plan_id, "wenzhou.xlsx", _wenzhou_workbook())
    assert response.status_code == 201, response.text
    assert response.json()["created"] == {"areas": 2, "work_tasks": 3, "breakdown_items": 5}
    tasks = {task["code"]: task for task in await _all_tasks(client, auth, plan_id)}
    assert tasks["A1"]["kind"] == "area" and tasks["1"]["parent_id"] == tasks["A1"]["id"]
    assert tasks["1.1"]["assignees"][0] == {
        "name": "市规划局",
        "is_lead": True,
        "department_id": tasks["1.1"]["assignees"][0]["department_id"],
        "collective_kind": None,
    }
    assert [a["is_lead"] for a in tasks["1.2"]["assignees"]] == [True, False, False]
    assert tasks["1.2"]["due_date"] == "2021-12-31"
    assert tasks["1.9"]["assignees"][2]["collective_kind"] == "district_or_county"
    yearly = tasks["2.1"]
    assert yearly["recurrence"] == "yearly"
    assert [o["year"] for o in yearly["occurrences"]] == [2017, 2018, 2019, 2020, 2021]
    assert yearly["due_date"] == "2017-12-31"
    leads = await client.get(
        f"/api/v1/plans/{plan_id}/tasks", params={"assignee": "市文广新局", "lead_only": True}, headers=auth
    )
    assert [task["code"] for task in leads.json()["items"]] == ["3.1"]


async def test_a_refused_csv_lists_every_bad_row_and_writes_nothing(client: AsyncClient, session: AsyncSession) -> None:
    auth, plan_id = await _setup(session)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["序号", "工作任务", "具体内容", "责任单位", "完成时间"])
    writer.writerow(["1", "建立领导机制", "1.1 设立领导小组。", "宣传办", "2018年"])
    writer.writerow(["", "", "1.2 制定考核办法。", "组织人事办", "明年再说"])
    writer.writerow(["2", "加强设施建设", "2.1 编制规划。", "住建局", "2025年"])
    writer.writerow(["", "", "2.2 ", "住建局", "2019年"])
    response = await _import(client, auth, plan_id, "tasks.csv", buffer.getvalue().encode())
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    rows = sorted(error["row"] for error in response.json()["errors"])
    assert rows == [3, 5], response.json()
    assert await session.scalar(select(func.count()).select_from(Task)) == 0


async def test_files_that_are_not_task_tables_are_refused(client: AsyncClient, session: AsyncSession) -> None:
    auth, plan_id = await _setup(session)
    not_xlsx = await _import(client, auth, plan_id, "plan.xlsx", b"PK\x03\x04 this is no workbook")
    assert not_xlsx.status_code == 422 and "xlsx" in not_xlsx.json()["detail"]
    no_header = await _import(client, auth, plan_id, "x.csv", "名称,数量\n图书馆,3\n".encode())
    assert no_header.status_code == 422 and "header" in no_header.json()["errors"][0]["message"]
    no_plan = await client.post(
        "/ingest/v1/imports", headers=auth, data={"kind": "tasks"}, files={"file": ("t.csv", b"a,b\n", "text/csv")}
    )
    assert no_plan.status_code == 422 and no_plan.json()["errors"][0]["field"] == "plan_id"


async def test_importing_the_same_table_twice_is_refused(client: AsyncClient, session: AsyncSession) -> None:
    auth, plan_id = await _setup(session)
    content = "序号,工作任务,具体内容,责任单位,完成时间\n1,建立机制,1.1 设立小组。,宣传办,2018年\n".encode()
    assert (await _import(client, auth, plan_id, "t.csv", content)).status_code == 201
    again = await _import(client, auth, plan_id, "t.csv", content)
    assert again.status_code == 422
    assert {e["message"] for e in again.json()["errors"]} == {
        "task 1 already exists in this plan",
        "task 1.1 already exists in this plan",
    }


async def test_other_subtrees_cannot_import_into_a_plan(client: AsyncClient, session: AsyncSession) -> None:
    _auth, plan_id = await _setup(session)
    other = await session.scalar(select(OrgUnit).where(OrgUnit.code == "410102"))
    outsider = bearer(await make_user(session, username="outsider", role=Role.plan_manager, unit=other))
    content = "序号,工作任务,具体内容,责任单位,完成时间\n1,建立机制,1.1 设立小组。,宣传办,2018年\n".encode()
    assert (await _import(client, outsider, plan_id, "t.csv", content)).status_code == 404
    viewer = bearer(await make_user(session, username="viewer", role=Role.viewer))
    assert (await _import(client, viewer, plan_id, "t.csv", content)).status_code == 403
