"""Who may call each write endpoint, and where: the expectations the access-matrix test checks and the docs print.

Every caller sits at the same street (经八路街道); the target of a request lies in that street's own subtree
(a community of it), in a sibling subtree (a village of the other street), or at an ancestor (the district).
"""

from dataclasses import dataclass
from enum import StrEnum

from shared.auth.models import Role


class Position(StrEnum):
    """Where the target of a request lies, seen from the caller's org unit."""

    own = "own"
    sibling = "sibling"
    ancestor = "ancestor"


ROLES = tuple(Role)
POSITIONS = tuple(Position)
UNAUTHENTICATED = ("no token", "expired token", "revoked user")

ADMIN = (Role.admin,)
PLANNERS = (Role.admin, Role.plan_manager)
DATA_WRITERS = (Role.admin, Role.plan_manager, Role.unit_clerk)
REPORTERS = (Role.admin, Role.plan_manager, Role.department_reporter)
SUBMITTERS = (Role.admin, Role.plan_manager, Role.department_reporter, Role.unit_clerk)
STAFF = (*SUBMITTERS, Role.viewer)

RESIDENT = (Role.citizen,)

# Write routes that need no bearer token at all.
PUBLIC = {
    ("POST", "/api/v1/auth/token"): "the password login itself: it hands out the bearer token",
    ("POST", "/api/v1/auth/wechat"): (
        "the residents' WeChat mini-program login: a code WeChat vouches for is exchanged for a citizen's token"
    ),
}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One write endpoint (or one kind of a multi-kind endpoint) and the answer each caller gets."""

    method: str
    path: str
    allowed: tuple[Role, ...]
    success: int
    outside: int
    action: str
    variant: str = ""
    # The target is looked up before the role is checked: outside their subtree every role gets `outside`.
    hidden_first: bool = False
    # Roles acting on their own behalf (a resident's order, booking, vote …): `success` wherever the target lies.
    anywhere: tuple[Role, ...] = ()
    # What an admin of the whole tree gets for the sibling and ancestor targets (default: `success`).
    control: int | None = None

    @property
    def route(self) -> tuple[str, str]:
        """The route as the app's route table names it."""
        return self.method, self.path

    @property
    def title(self) -> str:
        """The endpoint as people write it."""
        return f"{self.method} {self.path}" + (f" ({self.variant})" if self.variant else "")

    def expected(self, role: Role, position: Position) -> int:
        """The status a caller of this role gets for a target in this position."""
        if role in self.anywhere:
            return self.success
        if position == Position.own:
            return self.success if role in self.allowed else 403
        return self.outside if role in self.allowed or self.hidden_first else 403


def _import(kind: str, allowed: tuple[Role, ...], what: str) -> Endpoint:
    outside = 404 if kind == "tasks" else 422
    action = f"import a csv of {kind} with one row {what}"
    return Endpoint("POST", "/ingest/v1/imports", allowed, 201, outside, action, variant=f"kind={kind}")


# method, path, who may (in their own subtree), the status they get there, the status they get for a target in a
# sibling subtree or at an ancestor, and what the test's request does. Every other role gets 403 (but see
# hidden_first).
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("POST", "/api/v1/users", ADMIN, 201, 403, "add a viewer at the target unit"),
    Endpoint("POST", "/api/v1/users/{user_id}/deactivate", ADMIN, 200, 404, "deactivate a viewer of the target unit"),
    Endpoint("POST", "/api/v1/users/{user_id}/reactivate", ADMIN, 200, 404, "reactivate a viewer of the target unit"),
    Endpoint(
        "POST",
        "/api/v1/users/{user_id}/api-tokens",
        ADMIN,
        201,
        404,
        "issue an API token to a viewer of the target unit",
    ),
    Endpoint("POST", "/api/v1/org-units", ADMIN, 201, 403, "add a child unit under the target unit"),
    Endpoint("PATCH", "/api/v1/org-units/{unit_id}", ADMIN, 200, 404, "rename the target unit"),
    Endpoint(
        "DELETE",
        "/api/v1/org-units/{unit_id}",
        ADMIN,
        204,
        404,
        "remove a leaf unit nothing refers to (own, sibling) or the district (ancestor)",
    ),
    Endpoint(
        "POST", "/api/v1/org-units/{unit_id}/departments", PLANNERS, 201, 404, "add a department to the target unit"
    ),
    Endpoint(
        "PUT",
        "/api/v1/org-units/{unit_id}/population/{year}",
        DATA_WRITERS,
        200,
        404,
        "enter the target unit's population for 2019",
    ),
    Endpoint("POST", "/api/v1/plans", PLANNERS, 201, 403, "create a plan for the target unit"),
    Endpoint("PATCH", "/api/v1/plans/{plan_id}", PLANNERS, 200, 404, "rename the target unit's plan"),
    Endpoint("POST", "/api/v1/plans/{plan_id}/tasks", PLANNERS, 201, 404, "add a work task to the target unit's plan"),
    Endpoint("PATCH", "/api/v1/tasks/{task_id}", PLANNERS, 200, 404, "retitle a task of the target unit's plan"),
    Endpoint("DELETE", "/api/v1/tasks/{task_id}", PLANNERS, 204, 404, "remove a task of the target unit's plan"),
    Endpoint(
        "POST",
        "/api/v1/tasks/{task_id}/progress",
        REPORTERS,
        201,
        404,
        "report progress on a task of the target unit's plan (the own one is assigned to the reporter's department)",
        hidden_first=True,
    ),
    Endpoint(
        "POST",
        "/api/v1/tasks/{task_id}/evidence",
        REPORTERS,
        201,
        404,
        "attach a PDF to a task of the target unit's plan (the own one is assigned to the reporter's department)",
        hidden_first=True,
    ),
    Endpoint("POST", "/api/v1/facilities", DATA_WRITERS, 201, 403, "register a library at the target unit"),
    Endpoint("PATCH", "/api/v1/facilities/{facility_id}", DATA_WRITERS, 200, 404, "rename the target unit's library"),
    Endpoint("DELETE", "/api/v1/facilities/{facility_id}", DATA_WRITERS, 204, 404, "remove the target unit's library"),
    Endpoint(
        "POST",
        "/api/v1/facilities/{facility_id}/status",
        DATA_WRITERS,
        200,
        404,
        "move the target unit's library from planned to building",
    ),
    Endpoint("PUT", "/api/v1/data-values", DATA_WRITERS, 200, 403, "write the target unit's population"),
    Endpoint("POST", "/api/v1/activities", DATA_WRITERS, 201, 403, "record a lecture at the target unit"),
    Endpoint(
        "POST", "/api/v1/activities/batch", DATA_WRITERS, 201, 403, "record a batch of one lecture at the target unit"
    ),
    Endpoint(
        "DELETE", "/api/v1/activities/{activity_id}", DATA_WRITERS, 204, 404, "remove an activity of the target unit"
    ),
    Endpoint(
        "PUT",
        "/api/v1/org-units/{unit_id}/indicators/{code}/assessment",
        PLANNERS,
        200,
        404,
        "assess the milestone indicator K05 (not met) for the target unit",
    ),
    Endpoint(
        "PUT", "/api/v1/plans/{plan_id}/targets", PLANNERS, 200, 404, "replace the targets of the target unit's plan"
    ),
    Endpoint(
        "POST",
        "/api/v1/plans/{plan_id}/targets/from-catalogue",
        PLANNERS,
        200,
        404,
        "set the target unit's plan's targets to the catalogue's wenzhou targets",
    ),
    _import("tasks", PLANNERS, "into the target unit's plan"),
    _import("org_units", ADMIN, "under the target unit"),
    _import("facilities", DATA_WRITERS, "at the target unit"),
    _import("data_values", DATA_WRITERS, "for the target unit"),
    _import("activities", DATA_WRITERS, "at the target unit"),
    Endpoint("POST", "/api/v1/reports", PLANNERS, 201, 403, "open the target unit's 2026 self-assessment"),
    Endpoint("PATCH", "/api/v1/reports/{report_id}", SUBMITTERS, 200, 404, "write the text of the target's draft"),
    Endpoint("POST", "/api/v1/reports/{report_id}/submit", SUBMITTERS, 200, 404, "submit the target unit's draft"),
    Endpoint("POST", "/api/v1/reports/{report_id}/return", PLANNERS, 200, 404, "return the target's submitted report"),
    Endpoint("POST", "/api/v1/reports/{report_id}/accept", PLANNERS, 200, 404, "accept the target's submitted report"),
    Endpoint(
        "POST", "/api/v1/notification-channels", PLANNERS, 201, 403, "send the target unit's notices to a webhook"
    ),
    Endpoint(
        "POST",
        "/api/v1/notification-channels/{channel_id}/deactivate",
        PLANNERS,
        200,
        404,
        "stop sending the target unit's notices to its webhook",
    ),
    Endpoint(
        "POST",
        "/api/v1/notification-channels/{channel_id}/reactivate",
        PLANNERS,
        200,
        404,
        "send the target unit's notices to its deactivated webhook again",
    ),
    Endpoint(
        "DELETE",
        "/api/v1/notification-channels/{channel_id}",
        PLANNERS,
        204,
        404,
        "remove the target unit's webhook channel",
    ),
    Endpoint(
        "POST",
        "/api/v1/notifications/{notification_id}/read",
        STAFF,
        204,
        404,
        "mark a notice to the target unit read",
    ),
    Endpoint(
        "POST",
        "/api/v1/federation/peers",
        ADMIN,
        201,
        403,
        "register a lower instance whose root attaches under the target unit",
    ),
    Endpoint("POST", "/api/v1/federation/peers/{peer_id}/pause", ADMIN, 200, 404, "pause the target unit's peer"),
    Endpoint("POST", "/api/v1/federation/peers/{peer_id}/resume", ADMIN, 200, 404, "resume the target unit's peer"),
    Endpoint("DELETE", "/api/v1/federation/peers/{peer_id}", ADMIN, 204, 404, "remove the target unit's peer"),
    Endpoint("POST", "/ingest/v1/federation/pulls", ADMIN, 202, 404, "pull the target unit's peer now"),
    Endpoint(
        "POST",
        "/ingest/v1/computations",
        (*PLANNERS, Role.unit_clerk),
        201,
        404,
        "compute the indicators of the target unit's subtree for 2019",
    ),
    # The residents' side: catalogue, orders (你点我送), proposals, bookings, volunteers, feedback.
    Endpoint(
        "POST", "/api/v1/service-items", DATA_WRITERS, 201, 403, "add a published item to the target unit's catalogue"
    ),
    Endpoint(
        "PATCH", "/api/v1/service-items/{item_id}", DATA_WRITERS, 200, 404, "retitle the target unit's catalogue item"
    ),
    Endpoint(
        "POST",
        "/api/v1/orders",
        DATA_WRITERS,
        201,
        403,
        "order the target unit's item for the target unit (a resident may order for any unit)",
        anywhere=RESIDENT,
    ),
    Endpoint(
        "POST",
        "/api/v1/orders/{order_id}/accept",
        DATA_WRITERS,
        200,
        404,
        "accept a requested order of the target unit's item",
    ),
    Endpoint(
        "POST",
        "/api/v1/orders/{order_id}/reject",
        DATA_WRITERS,
        200,
        404,
        "reject a requested order of the target unit's item",
    ),
    Endpoint(
        "POST",
        "/api/v1/orders/{order_id}/schedule",
        DATA_WRITERS,
        200,
        404,
        "schedule an accepted order of the target unit's item",
    ),
    Endpoint(
        "POST",
        "/api/v1/orders/{order_id}/deliver",
        DATA_WRITERS,
        200,
        404,
        "deliver a scheduled order of the target unit's item",
    ),
    Endpoint(
        "POST",
        "/api/v1/orders/{order_id}/cancel",
        (),
        200,
        403,
        "cancel the calling resident's own requested order for the target unit",
        anywhere=RESIDENT,
        control=403,
    ),
    Endpoint(
        "POST",
        "/api/v1/orders/{order_id}/rating",
        (),
        201,
        403,
        "rate the calling resident's own delivered order for the target unit",
        anywhere=RESIDENT,
        control=403,
    ),
    Endpoint("POST", "/api/v1/proposals", DATA_WRITERS, 201, 403, "put a programme for the target unit to the vote"),
    Endpoint(
        "POST",
        "/api/v1/proposals/{proposal_id}/votes",
        (),
        201,
        403,
        "vote on the target unit's open proposal",
        anywhere=RESIDENT,
        control=403,
    ),
    Endpoint(
        "PUT",
        "/api/v1/facilities/{facility_id}/opening-hours",
        DATA_WRITERS,
        200,
        404,
        "set the opening hours of the target unit's hall",
    ),
    Endpoint(
        "POST",
        "/api/v1/bookings",
        (),
        201,
        403,
        "book the target unit's hall tomorrow 14–15",
        anywhere=RESIDENT,
        control=403,
    ),
    Endpoint(
        "POST",
        "/api/v1/bookings/{booking_id}/cancel",
        (),
        200,
        403,
        "cancel the calling resident's own booking of the target unit's hall",
        anywhere=RESIDENT,
        control=403,
    ),
    Endpoint(
        "POST",
        "/api/v1/bookings/{booking_id}/check-in",
        DATA_WRITERS,
        200,
        404,
        "check in a booking of the target unit's hall that started",
    ),
    Endpoint(
        "POST",
        "/api/v1/bookings/{booking_id}/no-show",
        DATA_WRITERS,
        200,
        404,
        "mark a booking of the target unit's hall that started as a no-show",
    ),
    Endpoint(
        "PUT",
        "/api/v1/volunteers/me",
        (),
        200,
        403,
        "move the calling resident's volunteer registration to the target unit",
        anywhere=RESIDENT,
        control=403,
    ),
    Endpoint(
        "POST",
        "/api/v1/volunteers/me/records",
        (),
        201,
        403,
        "report two hours the calling resident served at the target unit",
        anywhere=RESIDENT,
        control=403,
    ),
    Endpoint(
        "POST",
        "/api/v1/volunteers/{volunteer_id}/records",
        DATA_WRITERS,
        201,
        404,
        "record confirmed hours of a volunteer of the target unit",
    ),
    Endpoint(
        "POST",
        "/api/v1/volunteer-records/{record_id}/confirm",
        DATA_WRITERS,
        200,
        404,
        "confirm hours a volunteer reported at the target unit",
    ),
    Endpoint("POST", "/api/v1/volunteer-teams", DATA_WRITERS, 201, 403, "add a volunteer team to the target unit"),
    Endpoint("POST", "/api/v1/ratings", (), 201, 403, "rate the target unit's lecture", anywhere=RESIDENT, control=403),
    Endpoint(
        "POST", "/api/v1/feedback", (), 201, 403, "write feedback to the target unit", anywhere=RESIDENT, control=403
    ),
    Endpoint(
        "POST",
        "/api/v1/feedback/{feedback_id}/reply",
        DATA_WRITERS,
        200,
        404,
        "reply to feedback written to the target unit",
    ),
    Endpoint(
        "DELETE",
        "/api/v1/me",
        (),
        204,
        403,
        "erase the calling resident's own account (the target plays no part)",
        anywhere=RESIDENT,
        control=403,
    ),
)
