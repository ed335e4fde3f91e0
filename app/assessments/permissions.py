"""Who may do what to an assessment: pure predicates of the user, the assessment and its
state. No database, no I/O.

The service refuses with them (app/assessments/service.py) and the pages decide with them
which buttons and forms to show, so a page never offers what the API would refuse.
"""

from __future__ import annotations

from collections.abc import Iterable

from app.accounts.models import Role, User
from app.assessments.models import Assessment, Status

ALLIANCE_ROLES = frozenset({Role.ADMIN, Role.SECRETARIAT})
EDITABLE = frozenset({Status.DRAFT, Status.RETURNED})


def is_alliance(user: User) -> bool:
    """Alliance staff (secretariat and administrators) see every country's assessments."""
    return user.role in ALLIANCE_ROLES


def can_see(user: User, assessment: Assessment) -> bool:
    """Alliance staff see every assessment; everyone else only their own country's."""
    return is_alliance(user) or user.country_id == assessment.country_id


def is_editable(assessment: Assessment) -> bool:
    """Drafts and returned assessments can change; submitted and validated ones are read-only."""
    return assessment.status in EDITABLE


def is_coordinator_of(user: User, assessment: Assessment) -> bool:
    return user.role == Role.COORDINATOR and user.country_id == assessment.country_id


def can_start_assessment(user: User) -> bool:
    """Coordinators start their country's assessments; alliance staff any country's."""
    return user.role == Role.COORDINATOR or is_alliance(user)


def chooses_country(user: User) -> bool:
    """Alliance staff name the country they start an assessment for; others have their own."""
    return is_alliance(user)


def editable_areas(
    user: User, assessment: Assessment, *, areas: Iterable[str], assigned: Iterable[str]
) -> set[str]:
    """The areas whose answers user may change now: every area for the country's
    coordinator, the assigned ones for a contributor, none once the assessment is read-only."""
    if not is_editable(assessment) or user.country_id != assessment.country_id:
        return set()
    if user.role == Role.COORDINATOR:
        return set(areas)
    if user.role == Role.CONTRIBUTOR:
        return set(assigned)
    return set()


def can_edit_answers(
    user: User, assessment: Assessment, editable: set[str], area_id: str | None = None
) -> bool:
    """Whether user may change the answers of area_id (of any area when None), given the
    areas editable_areas() found for them."""
    if not is_editable(assessment) or user.country_id != assessment.country_id:
        return False
    return bool(editable) if area_id is None else area_id in editable


def can_set_targets(user: User, assessment: Assessment) -> bool:
    return is_coordinator_of(user, assessment) and is_editable(assessment)


def can_assign_areas(user: User, assessment: Assessment) -> bool:
    return is_coordinator_of(user, assessment)


def can_submit(user: User, assessment: Assessment) -> bool:
    """The country's coordinator signs off an assessment that is still editable."""
    return is_coordinator_of(user, assessment) and is_editable(assessment)


def can_review(user: User, assessment: Assessment) -> bool:
    """Alliance staff return or validate a submitted assessment."""
    return is_alliance(user) and assessment.status == Status.SUBMITTED


def can_comment(user: User, assessment: Assessment) -> bool:
    """Everyone who sees the assessment may discuss it, except viewers, who only read."""
    return can_see(user, assessment) and user.role != Role.VIEWER


def can_read_audit_log(user: User, assessment: Assessment) -> bool:
    """The log of who did what: the country's coordinator and alliance staff."""
    return is_alliance(user) or is_coordinator_of(user, assessment)


def can_flag_for_review(user: User, assessment: Assessment) -> bool:
    """The country's coordinator and contributors mark indicators for the team to review (or
    clear the mark once resolved), in any area, while the assessment is still open."""
    return (
        is_editable(assessment)
        and user.country_id == assessment.country_id
        and user.role in (Role.COORDINATOR, Role.CONTRIBUTOR)
    )
