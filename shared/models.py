"""Import every table so that metadata is complete (Alembic, tests)."""

from shared.activities.models import Activity
from shared.audit.models import AuditEntry
from shared.auth.models import ApiToken, User
from shared.bookings.models import Booking, OpeningHours
from shared.catalogue.models import ServiceItem
from shared.facilities.models import Facility
from shared.federation.models import ChangeLogEntry, Compaction, Instance, Peer, PulledRow
from shared.feedback.models import Feedback, Rating
from shared.indicators.models import IndicatorResult, MilestoneAssessment, PlanTarget
from shared.notifications.models import Channel, Delivery, Notification, NotificationRead
from shared.orders.models import OrderCapacity, Proposal, ProposalVote, ServiceOrder
from shared.orgunits.models import Department, OrgUnit
from shared.plans.models import Plan, PlanPhase
from shared.reports.models import JobRun, Report, ReportComment
from shared.residents.models import WechatIdentity
from shared.statistics.models import DataElement, DataValue
from shared.tasks.models import (
    Evidence,
    ProgressUpdate,
    Task,
    TaskAssignee,
    TaskIndicator,
    TaskOccurrence,
)
from shared.volunteers.models import ServiceRecord, Volunteer, VolunteerTeam

__all__ = [
    "Activity",
    "ApiToken",
    "AuditEntry",
    "Booking",
    "ChangeLogEntry",
    "Channel",
    "Compaction",
    "DataElement",
    "DataValue",
    "Delivery",
    "Department",
    "Evidence",
    "Facility",
    "Feedback",
    "IndicatorResult",
    "Instance",
    "JobRun",
    "MilestoneAssessment",
    "Notification",
    "NotificationRead",
    "OpeningHours",
    "OrderCapacity",
    "OrgUnit",
    "Peer",
    "Plan",
    "PlanPhase",
    "PlanTarget",
    "ProgressUpdate",
    "Proposal",
    "ProposalVote",
    "PulledRow",
    "Rating",
    "Report",
    "ReportComment",
    "ServiceItem",
    "ServiceOrder",
    "ServiceRecord",
    "Task",
    "TaskAssignee",
    "TaskIndicator",
    "TaskOccurrence",
    "User",
    "Volunteer",
    "VolunteerTeam",
    "WechatIdentity",
]
