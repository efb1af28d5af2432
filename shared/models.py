"""Import every table so that metadata is complete (Alembic, tests)."""

from shared.activities.models import Activity
from shared.audit.models import AuditEntry
from shared.auth.models import ApiToken, User
from shared.facilities.models import Facility
from shared.federation.models import ChangeLogEntry, Compaction, Instance, Peer, PulledRow
from shared.indicators.models import IndicatorResult, MilestoneAssessment, PlanTarget
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
    "Activity",
    "ApiToken",
    "AuditEntry",
    "ChangeLogEntry",
    "Compaction",
    "DataElement",
    "DataValue",
    "Department",
    "Evidence",
    "Facility",
    "IndicatorResult",
    "Instance",
    "MilestoneAssessment",
    "OrgUnit",
    "Peer",
    "Plan",
    "PlanPhase",
    "PlanTarget",
    "ProgressUpdate",
    "PulledRow",
    "Task",
    "TaskAssignee",
    "TaskIndicator",
    "TaskOccurrence",
    "User",
]
