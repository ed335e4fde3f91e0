"""Every table, imported in one place for Alembic and for create-all in tools."""

from app.accounts.models import ApiToken, LoginAttempt, User, UserSession
from app.assessments.models import (
    ActionItem,
    Answer,
    AnswerChange,
    AreaAssignment,
    Assessment,
    Comment,
    Target,
)
from app.audit.models import AuditEvent
from app.catalogue.models import CatalogueVersion
from app.comparisons.models import PeerConsent, SharingSettings
from app.core.db import Base
from app.countries.models import Country
from app.portability.models import PendingImport
from app.reporting.models import ReportFile, ReportRender

__all__ = [
    "ActionItem",
    "Answer",
    "AnswerChange",
    "ApiToken",
    "AreaAssignment",
    "Assessment",
    "AuditEvent",
    "Base",
    "CatalogueVersion",
    "Comment",
    "Country",
    "LoginAttempt",
    "PeerConsent",
    "PendingImport",
    "ReportFile",
    "ReportRender",
    "SharingSettings",
    "Target",
    "User",
    "UserSession",
]
