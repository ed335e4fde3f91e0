"""Who may change an action plan: pure predicates, shared by the action plan service's
refusals and the plan page's forms and buttons."""

from __future__ import annotations

from app.accounts.models import User
from app.assessments.models import ActionItem, Assessment
from app.assessments.permissions import is_coordinator_of


def can_change_plan(user: User, assessment: Assessment) -> bool:
    """The plan belongs to the country: only its coordinator drafts, adds and edits."""
    return is_coordinator_of(user, assessment)


def can_delete_item(user: User, assessment: Assessment, item: ActionItem) -> bool:
    """Only actions added by hand are deleted; drafted ones are dropped by their status, so
    a redraft does not bring them back."""
    return can_change_plan(user, assessment) and item.origin == "manual"
