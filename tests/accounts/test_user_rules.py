"""Rules of user management, the same through the API, the service and the command line."""

from contextlib import contextmanager

import pytest
from sqlalchemy import select, update

from app.accounts import service
from app.accounts.models import User
from app.core.errors import Forbidden
from tests.api_world import make_world


@pytest.fixture
def world(app_client):
    """People of this module's own: its tests disable and demote them."""
    return make_world(app_client)


def patch(world, who: str, user_id: int, body: dict):
    return world.client.patch(f"/api/v1/users/{user_id}", json=body, headers=world.headers(who))


@contextmanager
def only_active_admin(app_client, admin_id: int):
    """Every other administrator disabled for the duration, and enabled again after."""
    with app_client.app.state.sessionmaker.begin() as session:
        others = list(
            session.scalars(
                select(User.id).where(
                    User.role == "admin", User.is_active.is_(True), User.id != admin_id
                )
            )
        )
        session.execute(update(User).where(User.id.in_(others)).values(is_active=False))
    try:
        yield
    finally:
        with app_client.app.state.sessionmaker.begin() as session:
            session.execute(update(User).where(User.id.in_(others)).values(is_active=True))


def test_an_admin_cannot_disable_their_own_account_through_the_api(world):
    me = world.ids["admin"]
    refused = patch(world, "admin", me, {"is_active": False})
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["field"] == "is_active" and error["rule"] == "own_account"
    # Still active, and still able to use the API.
    assert world.get("admin", "/api/v1/me").json()["is_active"] is True
    # Another user is disabled as before.
    other = patch(world, "admin", world.ids["viewer"], {"is_active": False})
    assert other.status_code == 200 and other.json()["is_active"] is False


def test_the_last_active_admin_cannot_demote_themselves_through_the_api(world, app_client):
    me = world.ids["admin"]
    with only_active_admin(app_client, me):
        refused = patch(world, "admin", me, {"role": "secretariat"})
        assert refused.status_code == 403
        assert refused.json()["error"]["rule"] == "last_admin"
        assert world.get("admin", "/api/v1/me").json()["role"] == "admin"
    # With other administrators active again, stepping down is allowed.
    allowed = patch(world, "admin", me, {"role": "secretariat"})
    assert allowed.status_code == 200 and allowed.json()["role"] == "secretariat"


def test_only_administrators_manage_users_through_the_api(world):
    for who in ("secretariat", "coordinator", "viewer"):
        assert world.get(who, "/api/v1/users").status_code == 403
        changed = patch(world, who, world.ids["contributor"], {"is_active": False})
        assert changed.status_code == 403
    assert world.get("contributor", "/api/v1/me").json()["is_active"] is True


def _only_admin(session) -> User:
    session.execute(update(User).where(User.role == "admin").values(is_active=False))
    return service.create_user(
        session, email="last-admin@example.org", full_name="Last Admin", role="admin"
    )


def test_the_last_active_admin_is_kept_even_without_an_acting_user(session):
    admin = _only_admin(session)
    with pytest.raises(Forbidden) as demoted:
        service.set_role(session, user=admin, role="secretariat", country_code=None)
    assert demoted.value.details["rule"] == "last_admin"
    with pytest.raises(Forbidden) as disabled:
        service.set_active(session, user=admin, active=False)
    assert disabled.value.field == "is_active"
    assert (admin.role, admin.is_active) == ("admin", True)
    second = service.create_user(
        session, email="second-admin@example.org", full_name="Second Admin", role="admin"
    )
    service.set_role(session, user=admin, role="secretariat", country_code=None, actor=second)
    assert admin.role == "secretariat"


def test_the_service_refuses_users_who_are_not_administrators(session):
    viewer = service.create_user(
        session,
        email="plain-viewer@example.org",
        full_name="Plain Viewer",
        role="viewer",
        country_code="XAA",
    )
    with pytest.raises(Forbidden):
        service.list_users(session, actor=viewer)
    with pytest.raises(Forbidden):
        service.create_user(
            session, email="x@example.org", full_name="X", role="admin", actor=viewer
        )
    with pytest.raises(Forbidden):
        service.set_active(session, user=viewer, active=False, actor=viewer)
