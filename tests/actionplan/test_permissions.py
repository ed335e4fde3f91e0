"""The action plan predicates, on plain objects."""

import pytest

from app.accounts.models import Role, User
from app.actionplan import permissions
from app.assessments.models import ActionItem, Assessment


def person(role: Role, country: int = 1) -> User:
    return User(id=5, role=role.value, country_id=country if role.is_country_role else None)


ASSESSMENT = Assessment(id=9, status="draft", country_id=1)


@pytest.mark.parametrize("role", list(Role))
def test_only_the_country_coordinator_changes_the_plan(role):
    expected = role == Role.COORDINATOR
    assert permissions.can_change_plan(person(role), ASSESSMENT) is expected
    assert not permissions.can_change_plan(person(Role.COORDINATOR, country=2), ASSESSMENT)


def test_only_actions_added_by_hand_are_deleted_and_only_by_the_coordinator():
    manual, drafted = ActionItem(origin="manual"), ActionItem(origin="catalogue")
    coordinator = person(Role.COORDINATOR)
    assert permissions.can_delete_item(coordinator, ASSESSMENT, manual)
    assert not permissions.can_delete_item(coordinator, ASSESSMENT, drafted)
    assert not permissions.can_delete_item(person(Role.SECRETARIAT), ASSESSMENT, manual)
    assert not permissions.can_delete_item(person(Role.CONTRIBUTOR), ASSESSMENT, manual)
