"""The comparison and sharing predicates, on plain objects."""

import pytest

from app.accounts.models import Role, User
from app.comparisons import permissions


def person(role: Role) -> User:
    return User(id=4, role=role.value, country_id=1 if role.is_country_role else None)


@pytest.mark.parametrize("role", list(Role))
def test_only_alliance_staff_compare_named_countries(role):
    expected = role in (Role.ADMIN, Role.SECRETARIAT)
    assert permissions.can_compare_countries(person(role)) is expected


@pytest.mark.parametrize("role", list(Role))
def test_only_the_coordinator_decides_what_the_country_shares(role):
    assert permissions.can_change_sharing(person(role)) is (role == Role.COORDINATOR)
