"""Import every table so that metadata is complete (Alembic, tests)."""

from shared.activities.models import Activity
from shared.audit.models import AuditEntry
from shared.auth.models import ApiToken, User
from shared.facilities.models import Facility
from shared.indicators.models import IndicatorResult, MilestoneAssessment, PlanTarget
from shared.notifications.models import Channel, Delivery, Notification, NotificationRead
from shared.orgunits.models import Department, OrgUnit
from shared.plans.models import Plan, PlanPhase
from shared.reports.models import JobRun, Report, ReportComment
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
    "Channel",
    "DataElement",
    "DataValue",
    "Delivery",
    "Department",
    "Evidence",
    "Facility",
    "IndicatorResult",
    "JobRun",
    "MilestoneAssessment",
    "Notification",
    "NotificationRead",
    "OrgUnit",
    "Plan",
    "PlanPhase",
    "PlanTarget",
    "ProgressUpdate",
    "Report",
    "ReportComment",
    "Task",
    "TaskAssignee",
    "TaskIndicator",
    "TaskOccurrence",
    "User",
]
