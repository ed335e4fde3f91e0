"""The portability predicates, on plain objects."""

import pytest

from app.accounts.models import Role, User
from app.assessments.models import Assessment
from app.portability import permissions

ASSESSMENT = Assessment(id=2, status="submitted", country_id=1)


def person(role: Role, country: int = 1) -> User:
    return User(id=3, role=role.value, country_id=country if role.is_country_role else None)


@pytest.mark.parametrize("role", list(Role))
def test_the_coordinator_and_alliance_staff_export_the_whole_assessment(role):
    expected = role in (Role.ADMIN, Role.SECRETARIAT, Role.COORDINATOR)
    assert permissions.can_export_json(person(role), ASSESSMENT) is expected
    assert not permissions.can_export_json(person(Role.COORDINATOR, country=2), ASSESSMENT)


@pytest.mark.parametrize("role", list(Role))
def test_only_alliance_staff_import_an_assessment(role):
    expected = role in (Role.ADMIN, Role.SECRETARIAT)
    assert permissions.can_import_json(person(role)) is expected
