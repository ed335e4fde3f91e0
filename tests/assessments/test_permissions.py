"""The assessment predicates, on plain objects: every role against every state."""

import pytest

from app.accounts.models import Role, User
from app.assessments import permissions
from app.assessments.models import Assessment, Status

OWN, OTHER = 1, 2
AREAS = ["policy", "justice", "victims"]


def person(role: Role, country: int | None = OWN) -> User:
    return User(id=7, role=role.value, country_id=country if role.is_country_role else None)


def assessment(status: Status = Status.DRAFT, country: int = OWN) -> Assessment:
    return Assessment(id=3, status=status.value, country_id=country)


EDITABLE_STATES = [Status.DRAFT, Status.RETURNED]
LOCKED_STATES = [Status.SUBMITTED, Status.VALIDATED]


@pytest.mark.parametrize("role", list(Role))
def test_alliance_staff_see_every_country_and_others_only_their_own(role):
    alliance = role in (Role.ADMIN, Role.SECRETARIAT)
    assert permissions.is_alliance(person(role)) is alliance
    assert permissions.can_see(person(role), assessment(country=OWN))
    assert permissions.can_see(person(role), assessment(country=OTHER)) is alliance


@pytest.mark.parametrize("status", list(Status))
def test_only_drafts_and_returned_assessments_are_editable(status):
    assert permissions.is_editable(assessment(status)) is (status in EDITABLE_STATES)


def test_the_coordinator_edits_every_area_and_a_contributor_only_the_assigned():
    draft = assessment()
    coordinator, contributor = person(Role.COORDINATOR), person(Role.CONTRIBUTOR)
    areas = {"areas": AREAS, "assigned": ["justice"]}
    assert permissions.editable_areas(coordinator, draft, **areas) == set(AREAS)
    assert permissions.editable_areas(contributor, draft, **areas) == {"justice"}
    assert permissions.editable_areas(person(Role.VIEWER), draft, **areas) == set()
    assert permissions.editable_areas(person(Role.SECRETARIAT), draft, **areas) == set()
    other = person(Role.COORDINATOR, country=OTHER)
    assert permissions.editable_areas(other, draft, **areas) == set()


@pytest.mark.parametrize("status", LOCKED_STATES)
def test_nobody_edits_a_submitted_or_validated_assessment(status):
    locked = assessment(status)
    coordinator = person(Role.COORDINATOR)
    assert permissions.editable_areas(coordinator, locked, areas=AREAS, assigned=[]) == set()
    # Even handed a stale list of areas, the state decides.
    assert not permissions.can_edit_answers(coordinator, locked, set(AREAS), "policy")
    assert not permissions.can_set_targets(coordinator, locked)
    assert not permissions.can_submit(coordinator, locked)


def test_answers_can_be_edited_in_the_areas_found_editable():
    contributor = person(Role.CONTRIBUTOR)
    draft = assessment()
    assert permissions.can_edit_answers(contributor, draft, {"justice"}, "justice")
    assert not permissions.can_edit_answers(contributor, draft, {"justice"}, "policy")
    assert permissions.can_edit_answers(contributor, draft, {"justice"})
    assert not permissions.can_edit_answers(contributor, draft, set())


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("status", EDITABLE_STATES)
def test_only_the_country_coordinator_sets_targets_assigns_and_submits(role, status):
    draft = assessment(status)
    coordinator = role == Role.COORDINATOR
    assert permissions.can_set_targets(person(role), draft) is coordinator
    assert permissions.can_submit(person(role), draft) is coordinator
    assert permissions.can_assign_areas(person(role), draft) is coordinator
    other = person(Role.COORDINATOR, country=OTHER)
    assert not permissions.can_submit(other, draft)
    assert not permissions.can_assign_areas(other, draft)


@pytest.mark.parametrize("status", list(Status))
def test_alliance_staff_review_only_submitted_assessments(status):
    for role in Role:
        expected = role in (Role.ADMIN, Role.SECRETARIAT) and status == Status.SUBMITTED
        assert permissions.can_review(person(role), assessment(status)) is expected


@pytest.mark.parametrize("role", list(Role))
def test_everyone_who_sees_the_assessment_comments_except_viewers(role):
    assert permissions.can_comment(person(role), assessment()) is (role != Role.VIEWER)
    if role.is_country_role:
        assert not permissions.can_comment(person(role), assessment(country=OTHER))


@pytest.mark.parametrize("role", list(Role))
def test_the_audit_log_is_for_the_coordinator_and_alliance_staff(role):
    expected = role in (Role.ADMIN, Role.SECRETARIAT, Role.COORDINATOR)
    assert permissions.can_read_audit_log(person(role), assessment()) is expected
    other = person(Role.COORDINATOR, country=OTHER)
    assert not permissions.can_read_audit_log(other, assessment())


@pytest.mark.parametrize("role", list(Role))
def test_coordinators_and_alliance_staff_start_assessments(role):
    expected = role in (Role.ADMIN, Role.SECRETARIAT, Role.COORDINATOR)
    assert permissions.can_start_assessment(person(role)) is expected
    assert permissions.chooses_country(person(role)) is (role in (Role.ADMIN, Role.SECRETARIAT))
