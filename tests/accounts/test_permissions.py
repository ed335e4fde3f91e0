"""The account predicates, on plain objects: no database needed to know who may do what."""

import pytest

from app.accounts import permissions
from app.accounts.models import Role, User


def person(user_id: int, role: Role, *, active: bool = True) -> User:
    country = 1 if role.is_country_role else None
    return User(id=user_id, role=role.value, country_id=country, is_active=active)


@pytest.mark.parametrize("role", list(Role))
def test_only_administrators_manage_users(role):
    assert permissions.can_manage_users(person(1, role)) is (role == Role.ADMIN)


def test_an_administrator_disables_others_but_never_themselves():
    admin = person(1, Role.ADMIN)
    assert permissions.can_disable(admin, person(2, Role.VIEWER))
    assert permissions.can_disable(admin, person(3, Role.ADMIN))
    assert not permissions.can_disable(admin, admin)
    assert not permissions.can_disable(admin, person(1, Role.ADMIN))  # the same account


@pytest.mark.parametrize("role", [r for r in Role if r != Role.ADMIN])
def test_nobody_but_an_administrator_disables_anyone(role):
    assert not permissions.can_disable(person(1, role), person(2, Role.VIEWER))


def test_the_last_active_administrator_keeps_the_role():
    admin = person(1, Role.ADMIN)
    assert not permissions.can_leave_admin(admin, active_admins=1)
    assert not permissions.can_leave_admin(admin, active_admins=0)
    assert permissions.can_leave_admin(admin, active_admins=2)


def test_users_who_are_not_active_administrators_may_always_change():
    assert permissions.can_leave_admin(person(1, Role.ADMIN, active=False), active_admins=1)
    assert permissions.can_leave_admin(person(2, Role.SECRETARIAT), active_admins=1)
    assert permissions.can_leave_admin(person(3, Role.COORDINATOR), active_admins=0)
