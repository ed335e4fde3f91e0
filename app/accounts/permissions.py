"""Who may manage accounts: pure predicates, shared by the service's refusals and the pages.

No database, no I/O: each answers from the users involved and what the caller counted.
"""

from __future__ import annotations

from app.accounts.models import Role, User


def can_manage_users(user: User) -> bool:
    """Only administrators list, create, change and disable users."""
    return user.role == Role.ADMIN


def can_disable(actor: User, target: User) -> bool:
    """An administrator may disable anyone but themselves: that would lock them out."""
    return can_manage_users(actor) and actor.id != target.id


def can_leave_admin(target: User, *, active_admins: int) -> bool:
    """Whether target may stop being an active administrator (demoted or disabled).

    The last active administrator keeps the role, so that someone can still manage users.
    """
    is_active_admin = target.role == Role.ADMIN and target.is_active
    return not is_active_admin or active_admins > 1


# Roles that must use two-factor log-in when the installation requires it: those that see
# many countries (alliance roles) or own a country's assessment (coordinators).
TWO_FACTOR_ROLES = frozenset({Role.ADMIN, Role.SECRETARIAT, Role.COORDINATOR})


def must_use_two_factor(user: User, *, required: bool) -> bool:
    """Whether user must have two-factor log-in on (the setting `required` says so)."""
    return required and user.role in TWO_FACTOR_ROLES


def needs_second_step(user: User, *, required: bool) -> bool:
    """Whether a right password is not enough: a code, or enrolment first, must follow."""
    return user.two_factor_enabled or must_use_two_factor(user, required=required)


def must_enrol(user: User, *, required: bool) -> bool:
    """Whether user must set two-factor log-in up before anything else."""
    return must_use_two_factor(user, required=required) and not user.two_factor_enabled
