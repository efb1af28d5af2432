"""Residents and peers read only what their own routes serve: every staff read refuses them (issue 17, finding 1).

A resident's account (made by the WeChat login) has no org unit, and neither may a peer's: before the fix such a
principal "covered" the whole tree, so reads that check only the scope handed them every street's data.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.models import Role
from shared.auth.scope import SYSTEM, Principal
from shared.auth.service import issue_api_token
from shared.tasks.evidence import store_evidence
from shared.tasks.models import TaskKind
from shared.tasks.schemas import AssigneeIn, TaskCreate
from shared.tasks.service import create_task
from tests.support.factories import bearer, make_department, make_plan, make_tree, make_user

PDF = b"%PDF-1.4\n% minutes of the street's leading group\n"


@dataclass(frozen=True, slots=True)
class Street:
    """Ids of another street's plan, task, evidence and unit, and the callers' headers."""

    unit: int
    plan: int
    task: int
    evidence: int
    headers: dict[str, dict[str, str]]


async def _one(content: bytes) -> AsyncIterator[bytes]:
    yield content


@pytest.fixture
async def street(session: AsyncSession) -> Street:
    """经八路街道's plan with a task and a PDF; a resident, peers with and without an org unit, and its viewer."""
    tree = await make_tree(session)
    await make_department(session, unit=tree.street_a, name="宣传办")
    plan = await make_plan(session, unit=tree.street_a)
    assert plan.id is not None
    task = await create_task(
        session,
        actor=SYSTEM,
        plan_id=plan.id,
        data=TaskCreate(kind=TaskKind.work_task, title="建立领导机制", assignees=[AssigneeIn(name="宣传办")]),
    )
    assert task.id is not None
    evidence = await store_evidence(
        session, actor=SYSTEM, task_id=task.id, filename="minutes.pdf", content_type="application/pdf", chunks=_one(PDF)
    )
    resident = await make_user(session, username="wx-resident", role=Role.citizen)
    viewer = await make_user(session, username="street-viewer", role=Role.viewer, unit=tree.street_a)
    headers = {"resident": bearer(resident), "viewer": bearer(viewer)}
    for name, unit in (("whole-tree peer", None), ("street peer", tree.street_b)):
        peer = await make_user(session, username=name.replace(" ", "-"), role=Role.peer, unit=unit)
        assert peer.id is not None
        _row, token = await issue_api_token(session, actor=SYSTEM, user_id=peer.id, name="city")
        headers[name] = {"Authorization": f"Bearer {token}"}
    assert tree.street_a.id is not None and evidence.id is not None
    return Street(unit=tree.street_a.id, plan=plan.id, task=task.id, evidence=evidence.id, headers=headers)


def _staff_reads(s: Street) -> list[str]:
    unit = s.unit
    return [
        f"/api/v1/evidence/{s.evidence}/download",
        f"/api/v1/tasks/{s.task}/evidence",
        f"/api/v1/tasks/{s.task}/progress",
        f"/api/v1/tasks/{s.task}",
        "/api/v1/tasks",
        f"/api/v1/plans/{s.plan}",
        f"/api/v1/plans/{s.plan}/tasks",
        f"/api/v1/plans/{s.plan}/targets",
        "/api/v1/plans",
        f"/api/v1/org-units/{unit}",
        f"/api/v1/org-units/{unit}/departments",
        f"/api/v1/org-units/{unit}/population/2019",
        "/api/v1/org-units",
        f"/api/v1/org-units/{unit}/indicators?period=2019",
        f"/api/v1/org-units/{unit}/indicators/export?period=2019",
        f"/api/v1/org-units/{unit}/indicators/K02/drill-down?period=2019",
        "/api/v1/facilities",
        "/api/v1/facilities/export",
        "/api/v1/data-values",
        "/api/v1/activities",
        "/api/v1/reports",
        "/api/v1/notifications",
        "/api/v1/users",
        "/api/v1/audit",
        "/api/v1/federation/peers",
    ]


CALLERS = ["resident", "whole-tree peer", "street peer"]


@pytest.mark.parametrize("caller", CALLERS)
async def test_another_streets_evidence_file_is_not_handed_to_a_resident_or_a_peer(
    client: AsyncClient, street: Street, caller: str
) -> None:
    response = await client.get(f"/api/v1/evidence/{street.evidence}/download", headers=street.headers[caller])
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert PDF not in response.content


@pytest.mark.parametrize("caller", CALLERS)
async def test_every_staff_read_refuses_residents_and_peers(client: AsyncClient, street: Street, caller: str) -> None:
    answers = {url: (await client.get(url, headers=street.headers[caller])).status_code for url in _staff_reads(street)}
    assert {url: status for url, status in answers.items() if status != 403} == {}


async def test_the_streets_own_viewer_still_reads_the_file(client: AsyncClient, street: Street) -> None:
    response = await client.get(f"/api/v1/evidence/{street.evidence}/download", headers=street.headers["viewer"])
    assert response.status_code == 200, response.text
    assert response.content == PDF


async def test_residents_keep_their_own_routes(client: AsyncClient, street: Street) -> None:
    headers = street.headers["resident"]
    for url in ("/api/v1/auth/me", "/api/v1/orders", "/api/v1/bookings", "/api/v1/feedback", "/api/v1/me/data"):
        response = await client.get(url, headers=headers)
        assert response.status_code == 200, f"{url}: {response.text}"
    assert (await client.get("/api/v1/public/service-items")).status_code == 200


@pytest.mark.parametrize("caller", ["whole-tree peer", "street peer"])
async def test_peers_keep_the_federation_feed(client: AsyncClient, street: Street, caller: str) -> None:
    headers = street.headers[caller]
    for url in ("/federation/v1/manifest", "/federation/v1/changes?limit=5", "/federation/v1/snapshot?limit=5"):
        response = await client.get(url, headers=headers)
        assert response.status_code == 200, f"{url}: {response.text}"


async def test_a_whole_tree_peer_may_ask_the_feed_for_a_subtree(client: AsyncClient, street: Street) -> None:
    response = await client.get(
        "/federation/v1/manifest?org_unit=410105001000", headers=street.headers["whole-tree peer"]
    )
    assert response.status_code == 200, response.text
    assert response.json()["root_org_unit_code"] == "410105001000"


@pytest.mark.parametrize(
    ("role", "covers"),
    [(Role.admin, True), (Role.viewer, True), (Role.unit_clerk, True), (Role.citizen, False), (Role.peer, False)],
)
def test_only_staff_without_an_org_unit_cover_the_whole_tree(role: Role, covers: bool) -> None:
    principal = Principal(user_id=1, username="someone", role=role, scope_path=None)
    assert principal.covers("/1/2/3/") is covers
    assert SYSTEM.covers("/1/2/3/")
