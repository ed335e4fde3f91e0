"""Every table, imported in one place for Alembic and for create-all in tools."""

from app.accounts.models import (
    AccountLink,
    ApiToken,
    LoginAttempt,
    LoginChallenge,
    RecoveryCode,
    User,
    UserSession,
)
from app.assessments.models import (
    ActionItem,
    Answer,
    AnswerChange,
    AreaAssignment,
    Assessment,
    Comment,
    ReviewFlag,
    Target,
)
from app.audit.models import AuditEvent
from app.catalogue.models import CatalogueVersion
from app.comparisons.models import PeerConsent, SharingSettings
from app.core.db import Base
from app.countries.models import Country
from app.mail.models import OutboxMessage
from app.portability.models import PendingImport
from app.reporting.models import ReportFile, ReportRender

__all__ = [
    "AccountLink",
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
    "LoginChallenge",
    "OutboxMessage",
    "PeerConsent",
    "PendingImport",
    "RecoveryCode",
    "ReportFile",
    "ReportRender",
    "ReviewFlag",
    "SharingSettings",
    "Target",
    "User",
    "UserSession",
]
