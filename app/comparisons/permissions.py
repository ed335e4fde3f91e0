"""Who may compare countries and decide what a country shares: pure predicates, shared by
the comparisons service's refusals and the pages' links and forms."""

from __future__ import annotations

from app.accounts.models import Role, User
from app.assessments.permissions import is_alliance


def can_compare_countries(user: User) -> bool:
    """Named countries side by side, the review queue and the aggregates: alliance staff."""
    return is_alliance(user)


def can_change_sharing(user: User) -> bool:
    """What a country shares, and with which peers, is its coordinator's decision."""
    return user.role == Role.COORDINATOR and user.country_id is not None
