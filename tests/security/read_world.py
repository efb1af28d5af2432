"""The read side of the access-matrix world: the write matrix's world plus an evidence file per position and the
callers without an org unit (a resident as the WeChat login makes one, a peer's API token); and every GET request."""

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.models import Role
from shared.auth.scope import SYSTEM
from shared.auth.service import issue_api_token
from shared.clock import today_in
from shared.orders.models import OrderStatus
from shared.tasks.evidence import store_evidence
from tests.security.read_matrix import NO_UNIT_PEER, NO_UNIT_RESIDENT
from tests.security.test_access_matrix import World, build_world
from tests.support.factories import bearer, make_user

PDF = b"%PDF-1.4\n% read matrix\n"


@dataclass(slots=True)
class ReadWorld:
    """The write matrix's world and what only reads aim at."""

    base: World
    evidence: dict[Any, int] = field(default_factory=dict)


async def _one(content: bytes) -> AsyncIterator[bytes]:
    yield content


async def build_read_world(session: AsyncSession) -> ReadWorld:
    """The write matrix's world, an evidence file on each position's task, and the callers without an org unit."""
    world = ReadWorld(base=await build_world(session))
    for position, task_id in world.base.task.items():
        row = await store_evidence(
            session,
            actor=SYSTEM,
            task_id=task_id,
            filename=f"minutes-{position}.pdf",
            content_type="application/pdf",
            chunks=_one(PDF + str(position).encode()),
        )
        assert row.id is not None
        world.evidence[position] = row.id
    resident = await make_user(session, username="wx-read-matrix", role=Role.citizen)
    peer = await make_user(session, username="peer-read-matrix", role=Role.peer)
    assert peer.id is not None
    _row, token = await issue_api_token(session, actor=SYSTEM, user_id=peer.id, name="city")
    world.base.headers[NO_UNIT_RESIDENT] = bearer(resident)
    world.base.headers[NO_UNIT_PEER] = {"Authorization": f"Bearer {token}"}
    await session.flush()
    return world


Request = Callable[[ReadWorld, Any], tuple[str, dict[str, str] | None]]


def _tomorrow() -> str:
    return (today_in() + timedelta(days=1)).isoformat()


def _at(url: Callable[[World, Any], str], **params: str) -> Request:
    return lambda w, p: (url(w.base, p), params or None)


# The request of each GET route (w: ReadWorld, p: Position) → (url, query): the target at the position named in the
# url or, for a list, in its subtree filter; a route with neither reads the same whatever the position.
READ_REQUESTS: dict[str, Request] = {
    "/api/v1/auth/me": _at(lambda w, p: "/api/v1/auth/me"),
    "/api/v1/users": _at(lambda w, p: "/api/v1/users"),
    "/api/v1/org-units": lambda w, p: ("/api/v1/org-units", {"within": str(w.base.unit[p])}),
    "/api/v1/org-units/{unit_id}": _at(lambda w, p: f"/api/v1/org-units/{w.unit[p]}"),
    "/api/v1/org-units/{unit_id}/departments": _at(lambda w, p: f"/api/v1/org-units/{w.unit[p]}/departments"),
    "/api/v1/org-units/{unit_id}/population/{year}": _at(lambda w, p: f"/api/v1/org-units/{w.unit[p]}/population/2019"),
    "/api/v1/org-units/{unit_id}/collectives/{collective_kind}": _at(
        lambda w, p: f"/api/v1/org-units/{w.unit[p]}/collectives/community"
    ),
    "/api/v1/plans": lambda w, p: ("/api/v1/plans", {"org_unit_id": str(w.base.unit[p])}),
    "/api/v1/plans/{plan_id}": _at(lambda w, p: f"/api/v1/plans/{w.plan[p]}"),
    "/api/v1/plans/{plan_id}/tasks": _at(lambda w, p: f"/api/v1/plans/{w.plan[p]}/tasks"),
    "/api/v1/tasks": lambda w, p: ("/api/v1/tasks", {"plan_id": str(w.base.plan[p])}),
    "/api/v1/tasks/{task_id}": _at(lambda w, p: f"/api/v1/tasks/{w.task[p]}"),
    "/api/v1/tasks/{task_id}/progress": _at(lambda w, p: f"/api/v1/tasks/{w.task[p]}/progress"),
    "/api/v1/tasks/{task_id}/evidence": _at(lambda w, p: f"/api/v1/tasks/{w.task[p]}/evidence"),
    "/api/v1/evidence/{evidence_id}/download": lambda w, p: (f"/api/v1/evidence/{w.evidence[p]}/download", None),
    "/api/v1/facilities": lambda w, p: ("/api/v1/facilities", {"within": str(w.base.unit[p])}),
    "/api/v1/facilities/export": lambda w, p: (
        "/api/v1/facilities/export",
        {"within": str(w.base.unit[p]), "format": "csv"},
    ),
    "/api/v1/facilities/{facility_id}": _at(lambda w, p: f"/api/v1/facilities/{w.facility[p]}"),
    "/api/v1/org-units/{unit_id}/construction": _at(lambda w, p: f"/api/v1/org-units/{w.unit[p]}/construction"),
    "/api/v1/data-elements": _at(lambda w, p: "/api/v1/data-elements"),
    "/api/v1/data-values": lambda w, p: ("/api/v1/data-values", {"within": str(w.base.unit[p])}),
    "/api/v1/data-values/history": lambda w, p: (
        "/api/v1/data-values/history",
        {"element": "population", "period": "2019", "org_unit_id": str(w.base.unit[p])},
    ),
    "/api/v1/org-units/{unit_id}/data-values/{element}": _at(
        lambda w, p: f"/api/v1/org-units/{w.unit[p]}/data-values/population", period="2019"
    ),
    "/api/v1/activities": lambda w, p: ("/api/v1/activities", {"within": str(w.base.unit[p])}),
    "/api/v1/activities/{activity_id}": _at(lambda w, p: f"/api/v1/activities/{w.activity[p]}"),
    "/api/v1/org-units/{unit_id}/activities/summary": _at(
        lambda w, p: f"/api/v1/org-units/{w.unit[p]}/activities/summary", period="2019"
    ),
    "/api/v1/indicators": _at(lambda w, p: "/api/v1/indicators"),
    "/api/v1/org-units/{unit_id}/indicators": _at(
        lambda w, p: f"/api/v1/org-units/{w.unit[p]}/indicators", period="2019"
    ),
    "/api/v1/org-units/{unit_id}/indicators/export": _at(
        lambda w, p: f"/api/v1/org-units/{w.unit[p]}/indicators/export", period="2019"
    ),
    "/api/v1/org-units/{unit_id}/indicators/{code}/drill-down": _at(
        lambda w, p: f"/api/v1/org-units/{w.unit[p]}/indicators/K02/drill-down", period="2019"
    ),
    "/api/v1/plans/{plan_id}/targets": _at(lambda w, p: f"/api/v1/plans/{w.plan[p]}/targets"),
    "/api/v1/audit": _at(lambda w, p: "/api/v1/audit", limit="5"),
    "/api/v1/reports": lambda w, p: ("/api/v1/reports", {"within": str(w.base.unit[p])}),
    "/api/v1/reports/{report_id}": _at(lambda w, p: f"/api/v1/reports/{w.report[p]}"),
    "/api/v1/reports/{report_id}/export": _at(lambda w, p: f"/api/v1/reports/{w.report[p]}/export"),
    "/api/v1/org-units/{unit_id}/reports/timeliness": _at(
        lambda w, p: f"/api/v1/org-units/{w.unit[p]}/reports/timeliness", kind="monthly_update", period="2026-03"
    ),
    "/api/v1/org-units/{unit_id}/calendar": _at(lambda w, p: f"/api/v1/org-units/{w.unit[p]}/calendar"),
    "/api/v1/notifications": _at(lambda w, p: "/api/v1/notifications"),
    "/api/v1/notification-deliveries": _at(lambda w, p: "/api/v1/notification-deliveries"),
    "/api/v1/public/service-items": lambda w, p: ("/api/v1/public/service-items", {"within": str(w.base.unit[p])}),
    "/api/v1/public/service-items/{item_id}": _at(lambda w, p: f"/api/v1/public/service-items/{w.citizen[p].item}"),
    "/api/v1/service-items/{item_id}": _at(lambda w, p: f"/api/v1/service-items/{w.citizen[p].item}"),
    "/api/v1/service-items/{item_id}/stats": _at(lambda w, p: f"/api/v1/service-items/{w.citizen[p].item}/stats"),
    "/api/v1/orders": _at(lambda w, p: "/api/v1/orders"),
    "/api/v1/orders/{order_id}": _at(lambda w, p: f"/api/v1/orders/{w.citizen[p].orders[OrderStatus.requested]}"),
    "/api/v1/public/proposals": lambda w, p: ("/api/v1/public/proposals", {"for_unit": str(w.base.unit[p])}),
    "/api/v1/public/proposals/{proposal_id}": _at(lambda w, p: f"/api/v1/public/proposals/{w.citizen[p].proposal}"),
    "/api/v1/public/facilities/{facility_id}/slots": lambda w, p: (
        f"/api/v1/public/facilities/{w.base.citizen[p].hall}/slots",
        {"on": _tomorrow()},
    ),
    "/api/v1/bookings": lambda w, p: ("/api/v1/bookings", {"facility_id": str(w.base.citizen[p].hall)}),
    "/api/v1/bookings/{booking_id}": _at(lambda w, p: f"/api/v1/bookings/{w.citizen[p].future_booking}"),
    "/api/v1/me/data": _at(lambda w, p: "/api/v1/me/data"),
    "/api/v1/volunteers/me": _at(lambda w, p: "/api/v1/volunteers/me"),
    "/api/v1/volunteers/{volunteer_id}": _at(lambda w, p: f"/api/v1/volunteers/{w.citizen[p].volunteer}"),
    "/api/v1/feedback": _at(lambda w, p: "/api/v1/feedback"),
    "/api/v1/org-units/{unit_id}/satisfaction": _at(
        lambda w, p: f"/api/v1/org-units/{w.unit[p]}/satisfaction", period="2026"
    ),
    "/federation/v1/manifest": lambda w, p: ("/federation/v1/manifest", {"org_unit": w.base.unit_code[p]}),
    "/federation/v1/changes": lambda w, p: (
        "/federation/v1/changes",
        {"org_unit": w.base.unit_code[p], "limit": "5"},
    ),
    "/federation/v1/snapshot": lambda w, p: (
        "/federation/v1/snapshot",
        {"org_unit": w.base.unit_code[p], "limit": "5"},
    ),
    "/api/v1/notification-channels": _at(lambda w, p: "/api/v1/notification-channels"),
    "/api/v1/federation/peers": _at(lambda w, p: "/api/v1/federation/peers"),
    "/api/v1/federation/peers/{peer_id}": _at(lambda w, p: f"/api/v1/federation/peers/{w.peer[p]}"),
    "/api/v1/federation/origins/{table}/{row_id}": _at(
        lambda w, p: f"/api/v1/federation/origins/facility/{w.facility[p]}"
    ),
}
