"""Who may move a whole assessment in and out: pure predicates, shared by the portability
service's refusals and the overview page's links."""

from __future__ import annotations

from app.accounts.models import User
from app.assessments.models import Assessment
from app.assessments.permissions import is_alliance, is_coordinator_of


def can_export_json(user: User, assessment: Assessment) -> bool:
    """The whole assessment with its history: the country's coordinator and alliance staff."""
    return is_alliance(user) or is_coordinator_of(user, assessment)


def can_import_json(user: User) -> bool:
    """Creating an assessment from an exchange document is the secretariat's job."""
    return is_alliance(user)
