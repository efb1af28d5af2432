"""Who may call each read endpoint, and where: the expectations the read-matrix test checks and the docs print.

The callers are the write matrix's (every role at 经八路街道, an admin of the whole tree, the unauthenticated ones)
plus the two that have no org unit and must not cover the tree for that: a resident as the WeChat login makes one
and a peer's API token. The target lies in the street's own subtree, in a sibling subtree or at the district.
"""

from dataclasses import dataclass

from shared.auth.models import Role
from tests.security.matrix import ADMIN, PLANNERS, ROLES, STAFF, UNAUTHENTICATED, Position

NO_UNIT_RESIDENT = "resident without org unit"
NO_UNIT_PEER = "peer token without org unit"
WHOLE_TREE_ADMIN = "whole-tree admin"
# Callers without an org unit, and the role each holds: the whole tree is theirs only if the route lets their role in.
WHOLE_TREE = {WHOLE_TREE_ADMIN: Role.admin, NO_UNIT_RESIDENT: Role.citizen, NO_UNIT_PEER: Role.peer}
CALLERS = (*(role.value for role in ROLES), *WHOLE_TREE, *UNAUTHENTICATED)
EVERYONE = ROLES
FEED_READERS = (Role.admin, Role.peer)

# GET routes that are no API of the domain: the schema, its pages, health and metrics.
EXEMPT = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/healthz", "/readyz", "/metrics"}


@dataclass(frozen=True, slots=True)
class Read:
    """One GET endpoint and the answer each caller gets."""

    path: str
    readers: tuple[Role, ...]
    action: str
    # What a reader gets for a target in a sibling subtree or at an ancestor; None: the request names no target.
    outside: int | None = 404
    success: int = 200
    refused: int = 403
    # No login at all: everyone, a bad token included, gets `success`.
    public: bool = False
    # Only a reader without an org unit (an admin of the whole tree): the rows span the whole tree.
    whole_tree_only: bool = False
    # Callers acting on their own rows (the street's resident placed the world's orders and bookings).
    anywhere: tuple[str, ...] = ()

    def expected(self, caller: str, position: Position) -> int:
        """The status this caller gets for a target in this position."""
        if self.public:
            return self.success
        if caller in UNAUTHENTICATED:
            return 401
        if caller in self.anywhere:
            return self.success
        if caller in WHOLE_TREE:
            return self.success if WHOLE_TREE[caller] in self.readers else self.refused
        if Role(caller) not in self.readers or self.whole_tree_only:
            return self.refused
        if position == Position.own or self.outside is None:
            return self.success
        return self.outside


def _staff(path: str, action: str, **more: object) -> Read:
    return Read(path, STAFF, action, **more)  # type: ignore[arg-type]


RESIDENT_AT_STREET = (Role.citizen.value,)

# path, who may read in their own subtree, what the request reads. Residents and peers read only what their own
# routes serve (the public ones, their own rows, the federation feed); every staff read refuses them with 403.
READS: tuple[Read, ...] = (
    Read("/api/v1/auth/me", EVERYONE, "read the caller's own account", outside=None),
    Read("/api/v1/users", ADMIN, "list the users of the caller's subtree", outside=None),
    _staff("/api/v1/org-units", "list the org units within the target unit"),
    _staff("/api/v1/org-units/{unit_id}", "read the target unit"),
    _staff("/api/v1/org-units/{unit_id}/departments", "list the target unit's departments"),
    _staff("/api/v1/org-units/{unit_id}/population/{year}", "read the target unit's population in 2019"),
    _staff(
        "/api/v1/org-units/{unit_id}/collectives/{collective_kind}", "resolve 各社区 (every community) under the target"
    ),
    _staff("/api/v1/plans", "list the target unit's plans"),
    _staff("/api/v1/plans/{plan_id}", "read the target unit's plan"),
    _staff("/api/v1/plans/{plan_id}/tasks", "list the tasks of the target unit's plan"),
    _staff("/api/v1/tasks", "list the tasks of the target unit's plan across plans"),
    _staff("/api/v1/tasks/{task_id}", "read a task of the target unit's plan"),
    _staff("/api/v1/tasks/{task_id}/progress", "list a task's progress reports"),
    _staff("/api/v1/tasks/{task_id}/evidence", "list a task's evidence files"),
    _staff("/api/v1/evidence/{evidence_id}/download", "download an evidence PDF of a task of the target unit"),
    _staff("/api/v1/facilities", "list the facilities within the target unit"),
    _staff("/api/v1/facilities/export", "export the facilities within the target unit as csv"),
    _staff("/api/v1/facilities/{facility_id}", "read the target unit's library"),
    _staff("/api/v1/org-units/{unit_id}/construction", "read the construction progress within the target unit"),
    _staff("/api/v1/data-elements", "list the data elements of the catalogue", outside=None),
    _staff("/api/v1/data-values", "list the figures within the target unit"),
    _staff("/api/v1/data-values/history", "read the history of the target unit's 2019 population"),
    _staff("/api/v1/org-units/{unit_id}/data-values/{element}", "read the target unit's 2019 population figure"),
    _staff("/api/v1/activities", "list the activities within the target unit"),
    _staff("/api/v1/activities/{activity_id}", "read the target unit's lecture"),
    _staff("/api/v1/org-units/{unit_id}/activities/summary", "summarise the target unit's 2019 activities"),
    _staff("/api/v1/indicators", "read the standards catalogue", outside=None),
    _staff("/api/v1/org-units/{unit_id}/indicators", "read the target unit's 2019 indicator results"),
    _staff("/api/v1/org-units/{unit_id}/indicators/export", "export the target unit's 2019 主要指标一览表"),
    _staff("/api/v1/org-units/{unit_id}/indicators/{code}/drill-down", "drill down into the target's 2019 K02"),
    _staff("/api/v1/plans/{plan_id}/targets", "read the targets of the target unit's plan"),
    Read("/api/v1/audit", ADMIN, "read the newest audit entries", outside=None, whole_tree_only=True),
    _staff("/api/v1/reports", "list the reports within the target unit"),
    _staff("/api/v1/reports/{report_id}", "read the target unit's draft monthly update"),
    _staff("/api/v1/reports/{report_id}/export", "export the target unit's draft monthly update as xlsx"),
    _staff("/api/v1/org-units/{unit_id}/reports/timeliness", "read who reported on time within the target unit"),
    _staff("/api/v1/org-units/{unit_id}/calendar", "read what the target unit has to deliver next"),
    _staff("/api/v1/notifications", "read the caller's inbox", outside=None),
    Read("/api/v1/notification-deliveries", PLANNERS, "read the delivery log of the caller's subtree", outside=None),
    Read("/api/v1/public/service-items", EVERYONE, "list the published catalogue within the target", public=True),
    Read("/api/v1/public/service-items/{item_id}", EVERYONE, "read the target unit's published item", public=True),
    _staff("/api/v1/service-items/{item_id}", "read the target unit's catalogue item as staff"),
    _staff("/api/v1/service-items/{item_id}/stats", "read the orders and ratings of the target unit's item"),
    Read("/api/v1/orders", EVERYONE, "list the caller's own orders (staff: their subtree's)", outside=None),
    _staff(
        "/api/v1/orders/{order_id}",
        "read an order for the target unit, placed by the street's resident",
        refused=404,
        anywhere=RESIDENT_AT_STREET,
    ),
    Read("/api/v1/public/proposals", EVERYONE, "list the open proposals for the target unit", public=True),
    Read("/api/v1/public/proposals/{proposal_id}", EVERYONE, "read the tally of the target's proposal", public=True),
    Read(
        "/api/v1/public/facilities/{facility_id}/slots",
        EVERYONE,
        "read tomorrow's slots of the target unit's hall",
        public=True,
    ),
    Read(
        "/api/v1/bookings", EVERYONE, "list the caller's own bookings of the target's hall (staff: all)", outside=None
    ),
    _staff(
        "/api/v1/bookings/{booking_id}",
        "read a booking of the target unit's hall, held by the street's resident",
        refused=404,
        anywhere=RESIDENT_AT_STREET,
    ),
    Read("/api/v1/me/data", EVERYONE, "export everything stored about the caller", outside=None),
    Read(
        "/api/v1/volunteers/me",
        (),
        "read the caller's own volunteer registration (only the street's resident has one)",
        refused=404,
        anywhere=RESIDENT_AT_STREET,
    ),
    _staff("/api/v1/volunteers/{volunteer_id}", "read a volunteer of the target unit"),
    Read("/api/v1/feedback", EVERYONE, "list the caller's own feedback (staff: their subtree's)", outside=None),
    _staff("/api/v1/org-units/{unit_id}/satisfaction", "read the target unit's 2026 satisfaction"),
    Read("/federation/v1/manifest", FEED_READERS, "read the feed's manifest of the target subtree", outside=403),
    Read("/federation/v1/changes", FEED_READERS, "read a page of the target subtree's change feed", outside=403),
    Read("/federation/v1/snapshot", FEED_READERS, "read a page of the target subtree's snapshot", outside=403),
    Read("/api/v1/notification-channels", PLANNERS, "list the channels of the caller's subtree", outside=None),
    _staff("/api/v1/federation/peers", "list the peers of the caller's subtree", outside=None),
    _staff("/api/v1/federation/peers/{peer_id}", "read the target unit's peer"),
    _staff(
        "/api/v1/federation/origins/{table}/{row_id}",
        "ask where the target unit's library came from (entered here: 404)",
        success=404,
    ),
)
