"""Plans and tasks over HTTP: CRUD, filters, overdue, progress, roll-up, evidence, scope and ETags."""

from datetime import date, timedelta

from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.models import Role
from shared.tasks.models import Evidence, ProgressUpdate, Task
from tests.support.factories import Tree, bearer, make_department, make_plan, make_tree, make_user


async def _plan_with_tasks(client: AsyncClient, session: AsyncSession) -> tuple[Tree, dict, dict[str, dict]]:
    tree = await make_tree(session)
    propaganda = await make_department(session, unit=tree.district, name="宣传办")
    await make_department(session, unit=tree.district, name="住建局")
    manager = await make_user(session, username="office", role=Role.plan_manager, unit=tree.district)
    auth = bearer(manager)
    today = date.today()
    plan = await client.post(
        "/api/v1/plans",
        headers=auth,
        json={
            "name": "示范区创建方案",
            "org_unit_id": tree.district.id,
            "starts_on": (today - timedelta(days=400)).isoformat(),
            "ends_on": (today + timedelta(days=400)).isoformat(),
            "phases": [
                {
                    "kind": "mobilisation",
                    "name": "动员部署",
                    "starts_on": (today - timedelta(days=400)).isoformat(),
                    "ends_on": (today - timedelta(days=300)).isoformat(),
                }
            ],
        },
    )
    assert plan.status_code == 201, plan.text
    plan_id = plan.json()["id"]
    made: dict[str, dict] = {}
    for key, body in {
        "work": {"kind": "work_task", "title": "加强公共文化设施建设"},
        "late": {
            "kind": "breakdown_item",
            "title": "完善路牌标识。",
            "due_date": (today - timedelta(days=10)).isoformat(),
            "assignees": [{"name": "住建局", "is_lead": True}, {"name": "宣传办"}],
        },
        "soon": {
            "kind": "breakdown_item",
            "title": "建成自助图书馆。",
            "due_date": (today + timedelta(days=30)).isoformat(),
            "assignees": [{"name": "宣传办", "is_lead": True}, {"name": "各社区"}],
            "indicator_codes": ["g04"],
        },
    }.items():
        if body["kind"] == "breakdown_item":
            body["parent_id"] = made["work"]["id"]
        response = await client.post(f"/api/v1/plans/{plan_id}/tasks", json=body, headers=auth)
        assert response.status_code == 201, response.text
        made[key] = response.json()
    return tree, {"auth": auth, "plan_id": plan_id, "propaganda": propaganda}, made


async def test_tasks_get_codes_assignees_and_derived_overdue(client: AsyncClient, session: AsyncSession) -> None:
    _tree, ctx, made = await _plan_with_tasks(client, session)
    assert [made[k]["code"] for k in ("work", "late", "soon")] == ["1", "1.1", "1.2"]
    assert made["late"]["overdue"] is True and made["soon"]["overdue"] is False
    assert made["soon"]["assignees"][0]["department_id"] == ctx["propaganda"].id
    assert made["soon"]["assignees"][1]["collective_kind"] == "community"
    assert made["soon"]["indicator_codes"] == ["G04"]
    overdue = await client.get(f"/api/v1/plans/{ctx['plan_id']}/tasks", params={"overdue": True}, headers=ctx["auth"])
    assert [t["code"] for t in overdue.json()["items"]] == ["1.1"]
    led = await client.get(
        f"/api/v1/plans/{ctx['plan_id']}/tasks",
        headers=ctx["auth"],
        params={"department_id": ctx["propaganda"].id, "lead_only": True},
    )
    assert [t["code"] for t in led.json()["items"]] == ["1.2"]
    found = await client.get(
        "/api/v1/tasks", params={"q": "路牌", "org_unit_id": _tree.district.id}, headers=ctx["auth"]
    )
    assert [t["code"] for t in found.json()["items"]] == ["1.1"]
    ranged = await client.get(
        "/api/v1/tasks", headers=ctx["auth"], params={"due_from": date.today().isoformat(), "kind": "breakdown_item"}
    )
    assert [t["code"] for t in ranged.json()["items"]] == ["1.2"]


async def test_bad_tasks_are_refused(client: AsyncClient, session: AsyncSession) -> None:
    tree, ctx, made = await _plan_with_tasks(client, session)
    url, auth = f"/api/v1/plans/{ctx['plan_id']}/tasks", ctx["auth"]
    outside = await client.post(
        url,
        headers=auth,
        json={"kind": "breakdown_item", "parent_id": made["work"]["id"], "title": "x", "due_date": "2099-01-01"},
    )
    assert outside.status_code == 422 and outside.json()["errors"][0]["field"] == "due_date"
    phrase = await client.post(
        url,
        headers=auth,
        json={"kind": "breakdown_item", "parent_id": made["work"]["id"], "title": "x", "due_text": "尽快"},
    )
    assert phrase.status_code == 422 and phrase.json()["errors"][0]["field"] == "due_text"
    other_plan = await make_plan(session, unit=tree.district)
    foreign = await client.post(
        f"/api/v1/plans/{other_plan.id}/tasks",
        headers=auth,
        json={"kind": "breakdown_item", "parent_id": made["work"]["id"], "title": "x"},
    )
    assert foreign.status_code == 422 and foreign.json()["errors"][0]["field"] == "parent_id"
    item_under_item = await client.post(
        url, headers=auth, json={"kind": "breakdown_item", "parent_id": made["late"]["id"], "title": "x"}
    )
    assert item_under_item.status_code == 422
    empty = await client.post(url, headers=auth, json={"kind": "work_task", "title": ""})
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "title"
    assert await session.scalar(select(func.count()).select_from(Task)) == 3


async def test_updates_need_the_current_etag(client: AsyncClient, session: AsyncSession) -> None:
    _tree, ctx, made = await _plan_with_tasks(client, session)
    url = f"/api/v1/tasks/{made['late']['id']}"
    etag = (await client.get(url, headers=ctx["auth"])).headers["etag"]
    changed = await client.patch(url, headers=ctx["auth"] | {"If-Match": etag}, json={"status": "blocked"})
    assert changed.status_code == 200 and changed.json()["status"] == "blocked"
    stale = await client.patch(url, headers=ctx["auth"] | {"If-Match": etag}, json={"title": "overwritten"})
    assert stale.status_code == 412
    assert (await client.get(url, headers=ctx["auth"])).json()["title"] == "完善路牌标识。"


async def test_progress_rolls_up_and_reporters_are_limited_to_their_department(
    client: AsyncClient,
    session: AsyncSession,
) -> None:
    tree, ctx, made = await _plan_with_tasks(client, session)
    reporter = bearer(
        await make_user(
            session, username="xcb", role=Role.department_reporter, unit=tree.district, department=ctx["propaganda"]
        )
    )
    housing = await make_department(session, unit=tree.district, name="财政分局")
    outsider = bearer(
        await make_user(session, username="czj", role=Role.department_reporter, unit=tree.district, department=housing)
    )
    body = {"note": "已完成，附会议纪要。", "percent_complete": 100}
    denied = await client.post(f"/api/v1/tasks/{made['soon']['id']}/progress", json=body, headers=outsider)
    assert denied.status_code == 403
    done = await client.post(f"/api/v1/tasks/{made['soon']['id']}/progress", json=body, headers=reporter)
    assert done.status_code == 201 and done.json()["status"] == "done"
    half = await client.post(
        f"/api/v1/tasks/{made['late']['id']}/progress",
        headers=reporter,
        json={"note": "推进中", "percent_complete": 50, "delay_reason": "资金未到位"},
    )
    assert half.status_code == 201
    parent = (await client.get(f"/api/v1/tasks/{made['work']['id']}", headers=ctx["auth"])).json()
    assert parent["status"] == "in_progress" and parent["percent_complete"] == 75
    for bad in (
        {"note": "x", "percent_complete": 101},
        {"note": "x", "percent_complete": -1},
        {"note": "x", "percent_complete": 50, "status": "done"},
    ):
        response = await client.post(f"/api/v1/tasks/{made['late']['id']}/progress", json=bad, headers=reporter)
        assert response.status_code == 422, bad
    assert await session.scalar(select(func.count()).select_from(ProgressUpdate)) == 2
    history = await client.get(f"/api/v1/tasks/{made['late']['id']}/progress", headers=ctx["auth"])
    assert [entry["delay_reason"] for entry in history.json()] == ["资金未到位"]


async def test_yearly_tasks_have_one_occurrence_per_plan_year(client: AsyncClient, session: AsyncSession) -> None:
    tree = await make_tree(session)
    auth = bearer(await make_user(session, username="office", role=Role.plan_manager, unit=tree.district))
    plan = await make_plan(session, unit=tree.district)
    work = (
        await client.post(
            f"/api/v1/plans/{plan.id}/tasks", headers=auth, json={"kind": "work_task", "title": "阅读推广"}
        )
    ).json()
    yearly = await client.post(
        f"/api/v1/plans/{plan.id}/tasks",
        headers=auth,
        json={
            "kind": "breakdown_item",
            "parent_id": work["id"],
            "title": "每年开展阅读推广活动不少于20场。",
            "due_text": "每年",
            "assignees": [{"name": "宣传办"}],
        },
    )
    assert yearly.status_code == 201, yearly.text
    task = yearly.json()
    assert task["recurrence"] == "yearly"
    assert [(o["year"], o["due_date"]) for o in task["occurrences"]] == [
        (2018, "2018-12-31"),
        (2019, "2019-12-31"),
        (2020, "2020-12-31"),
    ]
    first = await client.post(
        f"/api/v1/tasks/{task['id']}/progress",
        headers=auth,
        json={"note": "2018年完成22场", "percent_complete": 100, "occurrence_year": 2018},
    )
    assert first.status_code == 201
    after = (await client.get(f"/api/v1/tasks/{task['id']}", headers=auth)).json()
    assert after["due_date"] == "2019-12-31" and after["status"] == "in_progress"
    assert after["occurrences"][0]["status"] == "done"
    wrong_year = await client.post(
        f"/api/v1/tasks/{task['id']}/progress",
        headers=auth,
        json={"note": "x", "percent_complete": 100, "occurrence_year": 2025},
    )
    assert wrong_year.status_code == 422


async def test_evidence_is_hashed_stored_and_downloadable(client: AsyncClient, session: AsyncSession) -> None:
    _tree, ctx, made = await _plan_with_tasks(client, session)
    url = f"/api/v1/tasks/{made['late']['id']}/evidence"
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    stored = await client.post(
        url, headers=ctx["auth"], data={"description": "会议纪要"}, files={"file": ("纪要.pdf", pdf, "application/pdf")}
    )
    assert stored.status_code == 201, stored.text
    import hashlib

    assert stored.json()["sha256"] == hashlib.sha256(pdf).hexdigest()
    download = await client.get(f"/api/v1/evidence/{stored.json()['id']}/download", headers=ctx["auth"])
    assert download.status_code == 200 and download.content == pdf
    disguised = await client.post(url, headers=ctx["auth"], files={"file": ("x.pdf", b"MZ\x90\x00", "application/pdf")})
    assert disguised.status_code == 415
    script = await client.post(url, headers=ctx["auth"], files={"file": ("x.sh", b"#!/bin/sh", "application/x-sh")})
    assert script.status_code == 415
    from shared.config import get_settings

    too_big = b"%PDF" + b"0" * get_settings().evidence_max_bytes
    large = await client.post(url, headers=ctx["auth"], files={"file": ("big.pdf", too_big, "application/pdf")})
    assert large.status_code == 413
    assert await session.scalar(select(func.count()).select_from(Evidence)) == 1
    leftovers = list((get_settings().evidence_dir / "tmp").iterdir())
    assert leftovers == []


async def test_plans_and_tasks_of_other_subtrees_stay_hidden(client: AsyncClient, session: AsyncSession) -> None:
    tree, ctx, made = await _plan_with_tasks(client, session)
    outsider = bearer(await make_user(session, username="zy", role=Role.plan_manager, unit=tree.other_district))
    assert (await client.get(f"/api/v1/plans/{ctx['plan_id']}", headers=outsider)).status_code == 404
    assert (await client.get(f"/api/v1/tasks/{made['late']['id']}", headers=outsider)).status_code == 404
    assert (await client.get("/api/v1/tasks", headers=outsider)).json()["items"] == []
    create = await client.post(
        "/api/v1/plans",
        headers=outsider,
        json={"name": "x", "org_unit_id": tree.district.id, "starts_on": "2018-01-01", "ends_on": "2020-12-31"},
    )
    assert create.status_code == 403
    viewer = bearer(await make_user(session, username="v", role=Role.viewer, unit=tree.district))
    assert (await client.delete(f"/api/v1/tasks/{made['late']['id']}", headers=viewer)).status_code == 403
    assert (await client.get(f"/api/v1/tasks/{made['late']['id']}", headers=viewer)).status_code == 200
    garbage = await client.get("/api/v1/tasks", params={"cursor": "not-a-cursor"}, headers=viewer)
    assert garbage.status_code == 422 and garbage.json()["errors"][0]["field"] == "cursor"
