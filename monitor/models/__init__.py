"""ORM models: one table per noun of DESIGN.md section 2, one module per group of nouns.

Import them from here (``from monitor.models import Case``): importing the package
registers every table on ``Base.metadata``, which the migrations compare against.
"""

from monitor.models.alerts import Alert, WebhookDelivery, WebhookSubscription
from monitor.models.bookkeeping import Event, Lease, Quarantine, SourceCursor
from monitor.models.cases import Case, CaseViewer, Mention
from monitor.models.connections import OAuthFlow, OAuthGrant, XUsage
from monitor.models.customers import Customer, Identity
from monitor.models.enums import (
    AlertState,
    CaseStatus,
    IncidentState,
    PromiseState,
    ReplyState,
    Role,
    Stage,
)
from monitor.models.incidents import Incident, IncidentCase
from monitor.models.promises import Promise
from monitor.models.replies import Reply
from monitor.models.reports import CaseTag, Survey
from monitor.models.staff import ApiToken, SignInFailure, Staff, StaffSession

__all__ = [
    "Alert",
    "AlertState",
    "ApiToken",
    "Case",
    "CaseStatus",
    "CaseTag",
    "CaseViewer",
    "Customer",
    "Event",
    "Identity",
    "Incident",
    "IncidentCase",
    "IncidentState",
    "Lease",
    "Mention",
    "OAuthFlow",
    "OAuthGrant",
    "Promise",
    "PromiseState",
    "Quarantine",
    "Reply",
    "ReplyState",
    "Role",
    "SignInFailure",
    "SourceCursor",
    "Staff",
    "StaffSession",
    "Stage",
    "Survey",
    "WebhookDelivery",
    "WebhookSubscription",
    "XUsage",
]
