"""Import every table so that metadata is complete (Alembic, tests)."""

from shared.audit.models import AuditEntry
from shared.auth.models import ApiToken, User
from shared.orgunits.models import Department, OrgUnit
from shared.plans.models import Plan, PlanPhase
from shared.statistics.models import DataElement, DataValue
from shared.tasks.models import (
    Evidence,
    ProgressUpdate,
    Task,
    TaskAssignee,
    TaskIndicator,
    TaskOccurrence,
)

__all__ = [
    "ApiToken",
    "AuditEntry",
    "DataElement",
    "DataValue",
    "Department",
    "Evidence",
    "OrgUnit",
    "Plan",
    "PlanPhase",
    "ProgressUpdate",
    "Task",
    "TaskAssignee",
    "TaskIndicator",
    "TaskOccurrence",
    "User",
]
