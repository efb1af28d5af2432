"""The access matrix: every write endpoint × every role × (own, sibling, ancestor) plus the unauthenticated callers.

One small world is built once for the module; each cell sends one valid request and rolls it back afterwards.
"""

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from shared.activities.models import ActivityType
from shared.activities.schemas import ActivityCreate
from shared.activities.service import create_activity
from shared.audit.models import AuditEntry
from shared.auth.models import Role
from shared.auth.scope import SYSTEM
from shared.auth.security import issue_access_token
from shared.concurrency import etag_of
from shared.facilities.models import FacilityStatus, FacilityType
from shared.facilities.schemas import FacilityCreate
from shared.facilities.service import create_facility
from shared.federation.peers import register_peer
from shared.federation.schemas import PeerCreate
from shared.imports.service import ImportKind
from shared.notifications.models import Channel, ChannelKind, Notification
from shared.orgunits.models import Department, OrgUnit, OrgUnitKind
from shared.reports.models import Report, ReportKind, ReportStatus
from shared.tasks.models import TaskKind
from shared.tasks.schemas import AssigneeIn, TaskCreate
from shared.tasks.service import create_task
from tests.security.citizen_world import CitizenTargets, build_citizen_targets, citizen_requests
from tests.security.matrix import ENDPOINTS, POSITIONS, PUBLIC, ROLES, UNAUTHENTICATED, Endpoint, Position
from tests.security.render_matrix import DOC, render
from tests.support.factories import bearer, make_department, make_plan, make_tree, make_unit, make_user

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
PDF = b"%PDF-1.4\n% access matrix\n"
AT = datetime(2026, 3, 1, tzinfo=UTC)


@dataclass(slots=True)
class World:
    """Ids, codes and ETags of everything the requests aim at, by position; bearer headers by caller."""

    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    unit: dict[Position, int] = field(default_factory=dict)
    unit_code: dict[Position, str] = field(default_factory=dict)
    unit_etag: dict[Position, str] = field(default_factory=dict)
    child: dict[Position, tuple[str, int]] = field(default_factory=dict)
    leaf: dict[Position, int] = field(default_factory=dict)
    user: dict[Position, int] = field(default_factory=dict)
    plan: dict[Position, int] = field(default_factory=dict)
    plan_etag: dict[Position, str] = field(default_factory=dict)
    task: dict[Position, int] = field(default_factory=dict)
    task_etag: dict[Position, str] = field(default_factory=dict)
    facility: dict[Position, int] = field(default_factory=dict)
    facility_etag: dict[Position, str] = field(default_factory=dict)
    activity: dict[Position, int] = field(default_factory=dict)
    report: dict[Position, int] = field(default_factory=dict)
    report_etag: dict[Position, str] = field(default_factory=dict)
    submitted_report: dict[Position, int] = field(default_factory=dict)
    notification: dict[Position, int] = field(default_factory=dict)
    peer: dict[Position, int] = field(default_factory=dict)
    channel: dict[Position, int] = field(default_factory=dict)
    unassigned_task: int = 0
    citizen: dict[Position, CitizenTargets] = field(default_factory=dict)


async def _callers(session: AsyncSession, *, world: World, street: OrgUnit, department: Department) -> None:
    for role in ROLES:
        reporting = department if role == Role.department_reporter else None
        user = await make_user(session, username=f"caller-{role.value}", role=role, unit=street, department=reporting)
        world.headers[role.value] = bearer(user)
    admin = await make_user(session, username="caller-expired", role=Role.admin, unit=street)
    assert admin.id is not None
    expired = issue_access_token(user_id=admin.id, role="admin", now=datetime.now(UTC) - timedelta(days=2))
    revoked = await make_user(session, username="caller-revoked", role=Role.admin, unit=street)
    revoked_header = bearer(revoked)
    revoked.is_active, revoked.deactivated_at = False, datetime.now(UTC)
    world.headers |= {"no token": {}, "expired token": {"Authorization": f"Bearer {expired}"}}
    world.headers["revoked user"] = revoked_header


async def _targets(session: AsyncSession, *, world: World, position: Position, unit: OrgUnit, department: int) -> None:
    assert unit.id is not None
    world.unit[position], world.unit_code[position] = unit.id, unit.code
    world.child[position] = ("street", 3) if unit.kind == OrgUnitKind.district else ("service_point", 5)
    user = await make_user(session, username=f"target-{position}", role=Role.viewer, unit=unit)
    plan = await make_plan(session, unit=unit)
    assert user.id is not None and plan.id is not None
    assignee = AssigneeIn(name="文化室", department_id=department if position == Position.own else None)
    task = await create_task(
        session,
        actor=SYSTEM,
        plan_id=plan.id,
        data=TaskCreate(kind=TaskKind.work_task, title="建立领导机制", assignees=[assignee], due_text="2019年"),
    )
    facility, _unit = await create_facility(
        session,
        actor=SYSTEM,
        data=FacilityCreate(
            code=f"LIB-{unit.code}",
            name=f"{unit.name}图书室",
            type=FacilityType.public_library,
            org_unit_id=unit.id,
            status=FacilityStatus.planned,
        ),
    )
    activity = await create_activity(
        session,
        actor=SYSTEM,
        data=ActivityCreate(type=ActivityType.lecture, org_unit_id=unit.id, occurred_on=date(2019, 3, 12)),
    )
    peer = await register_peer(
        session,
        actor=SYSTEM,
        data=PeerCreate(
            name=f"peer-{position}", base_url="http://127.0.0.1:9", covered_org_unit_code=unit.code, token="czt_x" * 3
        ),
    )
    assert peer.id is not None
    world.peer[position] = peer.id
    assert task.id is not None and facility.id is not None and activity.id is not None
    world.user[position], world.plan[position], world.task[position] = user.id, plan.id, task.id
    world.facility[position], world.activity[position] = facility.id, activity.id
    world.unit_etag[position], world.plan_etag[position] = etag_of(unit), etag_of(plan)
    draft = Report(
        org_unit_id=unit.id,
        kind=ReportKind.monthly_update,
        period="2026-03",
        opens_on=date(2026, 3, 1),
        due_on=date(2026, 3, 20),
    )
    submitted = Report(
        org_unit_id=unit.id,
        kind=ReportKind.monthly_update,
        period="2026-04",
        opens_on=date(2026, 4, 1),
        due_on=date(2026, 4, 20),
        status=ReportStatus.submitted,
    )
    notice = Notification(key=f"matrix:{position}", kind="report_late", org_unit_id=unit.id, title="报告已逾期")
    channel = Channel(
        org_unit_id=unit.id, kind=ChannelKind.webhook, url="https://hooks.example.org/cz", active=False, created_at=AT
    )
    session.add_all([draft, submitted, notice, channel])
    await session.flush()
    assert draft.id is not None and submitted.id is not None and notice.id is not None and channel.id is not None
    world.channel[position] = channel.id
    world.report[position], world.report_etag[position] = draft.id, etag_of(draft)
    world.submitted_report[position], world.notification[position] = submitted.id, notice.id
    world.task_etag[position], world.facility_etag[position] = etag_of(task), etag_of(facility)
    world.citizen[position] = await build_citizen_targets(session, unit=unit, position=position.value)


async def build_world(session: AsyncSession) -> World:
    """Callers at 经八路街道; targets in its community, in the other street's village and at the district."""
    tree = await make_tree(session)
    spare = await make_unit(
        session, code="410105002002", name="东史赵村", kind=OrgUnitKind.village, parent=tree.street_b
    )
    department = await make_department(session, unit=tree.community_a1, name="文化室")
    leaves = {Position.own: tree.community_a2.id, Position.sibling: spare.id, Position.ancestor: tree.district.id}
    assert department.id is not None and None not in leaves.values()
    world = World(leaf={position: unit_id for position, unit_id in leaves.items() if unit_id is not None})
    await _callers(session, world=world, street=tree.street_a, department=department)
    world.headers["whole-tree admin"] = bearer(await make_user(session, username="caller-root", role=Role.admin))
    targets = {Position.own: tree.community_a1, Position.sibling: tree.village_b1, Position.ancestor: tree.district}
    for position, unit in targets.items():
        await _targets(session, world=world, position=position, unit=unit, department=department.id)
    unassigned = TaskCreate(kind=TaskKind.work_task, title="完善设施网络", assignees=[AssigneeIn(name="住建局")])
    task = await create_task(session, actor=SYSTEM, plan_id=world.plan[Position.own], data=unassigned)
    assert task.id is not None
    world.unassigned_task = task.id
    await session.flush()
    return world


@pytest.fixture(scope="module")
async def world_connection(engine: AsyncEngine) -> AsyncIterator[tuple[AsyncConnection, World]]:
    """One connection for the module, holding the world in a transaction rolled back at the end."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        setup = AsyncSession(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
        world = await build_world(setup)
        await setup.commit()
        await setup.close()
        yield connection, world
        await transaction.rollback()


@pytest.fixture
def world(world_connection: tuple[AsyncConnection, World]) -> World:
    """The module's world."""
    return world_connection[1]


@pytest.fixture
async def session(world_connection: tuple[AsyncConnection, World]) -> AsyncIterator[AsyncSession]:
    """A session on the world's connection; whatever a cell wrote is rolled back when it closes."""
    session = AsyncSession(bind=world_connection[0], join_transaction_mode="create_savepoint", expire_on_commit=False)
    yield session
    await session.close()


@dataclass(frozen=True, slots=True)
class Call:
    """One HTTP request."""

    url: str
    json: Any = None
    data: dict[str, str] | None = None
    files: dict[str, tuple[str, bytes, str]] | None = None
    params: dict[str, str] | None = None
    if_match: str | None = None


def _csv(kind: str, header: str, row: str) -> Call:
    return Call(
        "/ingest/v1/imports",
        data={"kind": kind},
        files={"file": (f"{kind}.csv", f"{header}\n{row}\n".encode(), "text/csv")},
    )


def _new_unit(w: World, p: Position) -> dict[str, Any]:
    kind, level = w.child[p]
    return {"code": f"{w.unit_code[p]}9", "name": "新设单位", "level": level, "kind": kind, "parent_id": w.unit[p]}


def _task_table(w: World, p: Position) -> Call:
    table = "序号,工作任务,具体内容,责任单位,完成时间\n5,加强设施建设,5.1 编制设施规划。,文化室,2019年\n".encode()
    return Call(
        "/ingest/v1/imports",
        data={"kind": "tasks", "plan_id": str(w.plan[p])},
        files={"file": ("tasks.csv", table, "text/csv")},
    )


def _org_unit_file(w: World, p: Position) -> Call:
    unit = _new_unit(w, p)
    return _csv(
        "org_units",
        "code,name,level,kind,parent_code",
        f"{unit['code']},新设单位,{unit['level']},{unit['kind']},{w.unit_code[p]}",
    )


LECTURE = {"type": "lecture", "occurred_on": "2019-03-12", "attendance": 40}
REQUESTS: dict[str, Callable[[World, Position], Call]] = {
    "POST /api/v1/users": lambda w, p: Call(
        "/api/v1/users",
        json={"username": "new-viewer", "password": "a long passphrase", "role": "viewer", "org_unit_id": w.unit[p]},
    ),
    "POST /api/v1/users/{user_id}/deactivate": lambda w, p: Call(f"/api/v1/users/{w.user[p]}/deactivate"),
    "POST /api/v1/users/{user_id}/reactivate": lambda w, p: Call(f"/api/v1/users/{w.user[p]}/reactivate"),
    "POST /api/v1/users/{user_id}/api-tokens": lambda w, p: Call(
        f"/api/v1/users/{w.user[p]}/api-tokens", json={"name": "integration"}
    ),
    "POST /api/v1/org-units": lambda w, p: Call("/api/v1/org-units", json=_new_unit(w, p)),
    "PATCH /api/v1/org-units/{unit_id}": lambda w, p: Call(
        f"/api/v1/org-units/{w.unit[p]}", json={"name": "改名单位"}, if_match=w.unit_etag[p]
    ),
    "DELETE /api/v1/org-units/{unit_id}": lambda w, p: Call(f"/api/v1/org-units/{w.leaf[p]}"),
    "POST /api/v1/org-units/{unit_id}/departments": lambda w, p: Call(
        f"/api/v1/org-units/{w.unit[p]}/departments", json={"name": "宣传办"}
    ),
    "PUT /api/v1/org-units/{unit_id}/population/{year}": lambda w, p: Call(
        f"/api/v1/org-units/{w.unit[p]}/population/2019", json={"value": 12000}
    ),
    "POST /api/v1/plans": lambda w, p: Call(
        "/api/v1/plans",
        json={"name": "创建方案", "org_unit_id": w.unit[p], "starts_on": "2018-01-01", "ends_on": "2020-12-31"},
    ),
    "PATCH /api/v1/plans/{plan_id}": lambda w, p: Call(
        f"/api/v1/plans/{w.plan[p]}", json={"name": "创建方案（修订）"}, if_match=w.plan_etag[p]
    ),
    "POST /api/v1/plans/{plan_id}/tasks": lambda w, p: Call(
        f"/api/v1/plans/{w.plan[p]}/tasks", json={"kind": "work_task", "title": "完善设施网络"}
    ),
    "PATCH /api/v1/tasks/{task_id}": lambda w, p: Call(
        f"/api/v1/tasks/{w.task[p]}", json={"title": "建立健全领导机制"}, if_match=w.task_etag[p]
    ),
    "DELETE /api/v1/tasks/{task_id}": lambda w, p: Call(f"/api/v1/tasks/{w.task[p]}"),
    "POST /api/v1/tasks/{task_id}/progress": lambda w, p: Call(
        f"/api/v1/tasks/{w.task[p]}/progress", json={"note": "已召开专题会议。", "percent_complete": 60}
    ),
    "POST /api/v1/tasks/{task_id}/evidence": lambda w, p: Call(
        f"/api/v1/tasks/{w.task[p]}/evidence",
        data={"description": "会议纪要"},
        files={"file": ("minutes.pdf", PDF, "application/pdf")},
    ),
    "POST /api/v1/facilities": lambda w, p: Call(
        "/api/v1/facilities",
        json={"code": "LIB-NEW", "name": "新图书室", "type": "public_library", "org_unit_id": w.unit[p]},
    ),
    "PATCH /api/v1/facilities/{facility_id}": lambda w, p: Call(
        f"/api/v1/facilities/{w.facility[p]}", json={"name": "改名图书室"}, if_match=w.facility_etag[p]
    ),
    "DELETE /api/v1/facilities/{facility_id}": lambda w, p: Call(f"/api/v1/facilities/{w.facility[p]}"),
    "POST /api/v1/facilities/{facility_id}/status": lambda w, p: Call(
        f"/api/v1/facilities/{w.facility[p]}/status", json={"status": "building"}, if_match=w.facility_etag[p]
    ),
    "PUT /api/v1/data-values": lambda w, p: Call(
        "/api/v1/data-values",
        json={"values": [{"element": "population", "org_unit_id": w.unit[p], "period": "2019", "value": 12000}]},
    ),
    "POST /api/v1/activities": lambda w, p: Call("/api/v1/activities", json=LECTURE | {"org_unit_id": w.unit[p]}),
    "POST /api/v1/activities/batch": lambda w, p: Call(
        "/api/v1/activities/batch", json={"activities": [LECTURE | {"org_unit_id": w.unit[p]}]}
    ),
    "DELETE /api/v1/activities/{activity_id}": lambda w, p: Call(f"/api/v1/activities/{w.activity[p]}"),
    "PUT /api/v1/org-units/{unit_id}/indicators/{code}/assessment": lambda w, p: Call(
        f"/api/v1/org-units/{w.unit[p]}/indicators/K05/assessment", json={"period": "2019", "met": False}
    ),
    "PUT /api/v1/plans/{plan_id}/targets": lambda w, p: Call(
        f"/api/v1/plans/{w.plan[p]}/targets", json=[{"indicator_code": "K01", "op": ">=", "value": 1}]
    ),
    "POST /api/v1/plans/{plan_id}/targets/from-catalogue": lambda w, p: Call(
        f"/api/v1/plans/{w.plan[p]}/targets/from-catalogue", params={"target_set": "wenzhou"}
    ),
    "POST /api/v1/reports": lambda w, p: Call(
        "/api/v1/reports", json={"org_unit_id": w.unit[p], "kind": "self_assessment", "period": "2026"}
    ),
    "PATCH /api/v1/reports/{report_id}": lambda w, p: Call(
        f"/api/v1/reports/{w.report[p]}", json={"text": "本月工作动态。"}, if_match=w.report_etag[p]
    ),
    "POST /api/v1/reports/{report_id}/submit": lambda w, p: Call(f"/api/v1/reports/{w.report[p]}/submit"),
    "POST /api/v1/reports/{report_id}/return": lambda w, p: Call(
        f"/api/v1/reports/{w.submitted_report[p]}/return", json={"comment": "请补充佐证材料"}
    ),
    "POST /api/v1/reports/{report_id}/accept": lambda w, p: Call(f"/api/v1/reports/{w.submitted_report[p]}/accept"),
    "POST /api/v1/notification-channels": lambda w, p: Call(
        "/api/v1/notification-channels",
        json={"org_unit_id": w.unit[p], "kind": "webhook", "url": "https://hooks.example.org/cz"},
    ),
    "POST /api/v1/notification-channels/{channel_id}/deactivate": lambda w, p: Call(
        f"/api/v1/notification-channels/{w.channel[p]}/deactivate"
    ),
    "POST /api/v1/notification-channels/{channel_id}/reactivate": lambda w, p: Call(
        f"/api/v1/notification-channels/{w.channel[p]}/reactivate"
    ),
    "DELETE /api/v1/notification-channels/{channel_id}": lambda w, p: Call(
        f"/api/v1/notification-channels/{w.channel[p]}"
    ),
    "POST /api/v1/notifications/{notification_id}/read": lambda w, p: Call(
        f"/api/v1/notifications/{w.notification[p]}/read"
    ),
    "POST /api/v1/federation/peers": lambda w, p: Call(
        "/api/v1/federation/peers",
        json={
            "name": "new-peer",
            "base_url": "https://district.example",
            "covered_org_unit_code": w.unit_code[p],
            "token": "czt_new-peer-token",
        },
    ),
    "POST /api/v1/federation/peers/{peer_id}/pause": lambda w, p: Call(f"/api/v1/federation/peers/{w.peer[p]}/pause"),
    "POST /api/v1/federation/peers/{peer_id}/resume": lambda w, p: Call(f"/api/v1/federation/peers/{w.peer[p]}/resume"),
    "DELETE /api/v1/federation/peers/{peer_id}": lambda w, p: Call(f"/api/v1/federation/peers/{w.peer[p]}"),
    "POST /ingest/v1/federation/pulls": lambda w, p: Call("/ingest/v1/federation/pulls", json={"peers": [f"peer-{p}"]}),
    "POST /ingest/v1/imports (kind=tasks)": _task_table,
    "POST /ingest/v1/imports (kind=org_units)": _org_unit_file,
    "POST /ingest/v1/imports (kind=facilities)": lambda w, p: _csv(
        "facilities", "code,name,type,org_unit_code", f"LIB-IMPORT,导入图书室,public_library,{w.unit_code[p]}"
    ),
    "POST /ingest/v1/imports (kind=data_values)": lambda w, p: _csv(
        "data_values", "element,org_unit_code,period,value", f"population,{w.unit_code[p]},2019,12000"
    ),
    "POST /ingest/v1/imports (kind=activities)": lambda w, p: _csv(
        "activities", "type,org_unit_code,date,attendance", f"lecture,{w.unit_code[p]},2019-03-12,40"
    ),
    "POST /ingest/v1/computations": lambda w, p: Call(
        "/ingest/v1/computations", json={"org_unit_id": w.unit[p], "period": "2019"}
    ),
} | citizen_requests(Call)


async def _send(client: AsyncClient, endpoint: Endpoint, call: Call, headers: dict[str, str]) -> Any:
    if call.if_match is not None:
        headers = headers | {"If-Match": call.if_match}
    return await client.request(
        endpoint.method, call.url, json=call.json, data=call.data, files=call.files, params=call.params, headers=headers
    )


async def _audit_count(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(AuditEntry)) or 0


ROLE_CELLS = [
    pytest.param(endpoint, role, position, id=f"{endpoint.title}-{role.value}-{position}")
    for endpoint in ENDPOINTS
    for role in ROLES
    for position in POSITIONS
]


@pytest.mark.parametrize(("endpoint", "role", "position"), ROLE_CELLS)
async def test_each_role_gets_the_expected_answer_in_each_position(
    client: AsyncClient, session: AsyncSession, world: World, endpoint: Endpoint, role: Role, position: Position
) -> None:
    expected = endpoint.expected(role, position)
    before = await _audit_count(session)
    response = await _send(client, endpoint, REQUESTS[endpoint.title](world, position), world.headers[role.value])
    assert response.status_code == expected, f"{endpoint.title} as {role.value} ({position}): {response.text}"
    if expected >= 400:
        assert response.headers["content-type"] == "application/problem+json"
        assert await _audit_count(session) == before, "a refused request left an audited change behind"


UNAUTHENTICATED_CELLS = [
    pytest.param(endpoint, caller, position, id=f"{endpoint.title}-{caller}-{position}")
    for endpoint in ENDPOINTS
    for caller in UNAUTHENTICATED
    for position in POSITIONS
]


@pytest.mark.parametrize(("endpoint", "caller", "position"), UNAUTHENTICATED_CELLS)
async def test_callers_without_a_valid_token_get_401(
    client: AsyncClient, world: World, endpoint: Endpoint, caller: str, position: Position
) -> None:
    response = await _send(client, endpoint, REQUESTS[endpoint.title](world, position), world.headers[caller])
    assert response.status_code == 401, f"{endpoint.title} with {caller} ({position}): {response.text}"
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("what", ["progress", "evidence"])
async def test_a_department_reporter_is_refused_on_tasks_of_other_departments(
    client: AsyncClient, world: World, what: str
) -> None:
    endpoint = next(endpoint for endpoint in ENDPOINTS if endpoint.path == f"/api/v1/tasks/{{task_id}}/{what}")
    call = REQUESTS[endpoint.title](world, Position.own)
    call = Call(f"/api/v1/tasks/{world.unassigned_task}/{what}", json=call.json, data=call.data, files=call.files)
    response = await _send(client, endpoint, call, world.headers[Role.department_reporter.value])
    assert response.status_code == 403, response.text
    assert "not assigned" in response.json()["detail"]


# The ancestor of a unit is never a leaf, so not even an admin of the whole tree may remove it.
CONTROL_EXCEPTIONS = {("DELETE /api/v1/org-units/{unit_id}", Position.ancestor): 409}
CONTROL_CELLS = [
    pytest.param(endpoint, position, id=f"{endpoint.title}-{position}")
    for endpoint in ENDPOINTS
    for position in (Position.sibling, Position.ancestor)
]


@pytest.mark.parametrize(("endpoint", "position"), CONTROL_CELLS)
async def test_an_admin_of_the_whole_tree_succeeds_where_the_street_is_refused(
    client: AsyncClient, world: World, endpoint: Endpoint, position: Position
) -> None:
    call = REQUESTS[endpoint.title](world, position)
    response = await _send(client, endpoint, call, world.headers["whole-tree admin"])
    default = endpoint.success if endpoint.control is None else endpoint.control
    expected = CONTROL_EXCEPTIONS.get((endpoint.title, position), default)
    assert response.status_code == expected, f"{endpoint.title} ({position}): {response.text}"


def _write_routes(*apps: FastAPI) -> set[tuple[str, str]]:
    return {
        (method, str(route.path))
        for app in apps
        for route in iter_route_contexts(app.routes)
        for method in (route.methods or set()) & WRITE_METHODS
    }


def test_every_write_route_has_expectations_and_a_request() -> None:
    from services.api.main import app as api_app
    from services.ingest.main import app as ingest_app

    covered = {endpoint.route for endpoint in ENDPOINTS}
    routes = _write_routes(api_app, ingest_app)
    assert routes - covered - set(PUBLIC) == set(), "write routes without a row in tests/security/matrix.py"
    assert covered - routes == set(), "rows in tests/security/matrix.py for routes that no longer exist"
    assert set(REQUESTS) == {endpoint.title for endpoint in ENDPOINTS}
    imports = {endpoint.variant for endpoint in ENDPOINTS if endpoint.path == "/ingest/v1/imports"}
    assert imports == {f"kind={kind.value}" for kind in ImportKind}, "every import kind needs its own row"


def test_the_committed_matrix_document_is_up_to_date() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/access-matrix.md is stale: python -m tests.security.render_matrix"
    )
