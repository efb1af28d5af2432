"""Who is calling and what they may touch: role plus org-unit subtree plus department."""

from collections.abc import Iterable
from dataclasses import dataclass

from shared.auth.models import Role
from shared.errors import ScopeDenied


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller of a request or command."""

    user_id: int | None
    username: str
    role: Role
    scope_path: str | None
    department_id: int | None = None

    @property
    def is_staff(self) -> bool:
        """Whether the caller works in the system (residents and peers do not)."""
        return self.role in STAFF_ROLES

    def covers(self, path: str) -> bool:
        """Whether an org unit with this materialised path lies inside the caller's subtree."""
        if self.scope_path is None:
            # No org unit means the whole tree only for staff: a resident's or peer's account has none either.
            return self.is_staff
        return path.startswith(self.scope_path)

    def require_staff(self) -> None:
        """Refuse residents and peers: they read only what their own routes serve."""
        if not self.is_staff:
            raise ScopeDenied(f"role {self.role.value} may not read staff data")

    def require_role(self, roles: Iterable[Role]) -> None:
        """Refuse callers whose role is not among those named."""
        allowed = set(roles)
        if self.role not in allowed:
            names = ", ".join(sorted(role.value for role in allowed))
            raise ScopeDenied(f"role {self.role.value} may not do this (needs one of: {names})")

    def require_covers(self, path: str, *, what: str = "org unit") -> None:
        """Refuse callers whose subtree does not include the path."""
        if not self.covers(path):
            raise ScopeDenied(f"the {what} lies outside your org-unit scope")


SYSTEM = Principal(user_id=None, username="system", role=Role.admin, scope_path=None)
STAFF_ROLES = (Role.admin, Role.plan_manager, Role.department_reporter, Role.unit_clerk, Role.viewer)
PLANNERS = (Role.admin, Role.plan_manager)
