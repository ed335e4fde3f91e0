"""Log-in with throttling, sessions with expiry, CSRF on cookie-authenticated changes."""

import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from app.accounts import service
from app.accounts.dependencies import SESSION_COOKIE
from app.core.db import utcnow
from app.core.errors import Invalid, Throttled


def new_user(session, role="viewer", country="XAA", password="a long password"):
    from app.countries.service import sync_countries

    sync_countries(session)
    return service.create_user(
        session,
        email=f"{uuid.uuid4().hex[:8]}@Example.org",
        full_name="Test User",
        role=role,
        country_code=country,
        password=password,
    )


def test_passwords_are_hashed_with_argon2(session):
    user = new_user(session)
    assert user.password_hash.startswith("$argon2")
    assert user.email == user.email.lower()


def test_wrong_password_and_unknown_user_get_the_same_answer(session):
    user = new_user(session)
    with pytest.raises(Invalid) as wrong:
        service.authenticate(session, email=user.email, password="nope")
    with pytest.raises(Invalid) as unknown:
        service.authenticate(session, email="nobody@example.org", password="nope")
    assert wrong.value.message == unknown.value.message


def test_repeated_failures_are_throttled_even_with_the_right_password(session):
    user = new_user(session)
    for _ in range(service.MAX_FAILURES_PER_ACCOUNT):
        with pytest.raises(Invalid):
            service.authenticate(session, email=user.email, password="wrong password")
    with pytest.raises(Throttled):
        service.authenticate(session, email=user.email, password="a long password")


def test_sessions_expire_and_end(session):
    user = new_user(session)
    token, row = service.start_session(session, user=user, hours=1)
    assert service.session_user(session, token)[0].id == user.id
    assert row.token_hash != token
    row.expires_at = utcnow() - timedelta(seconds=1)
    assert service.session_user(session, token) is None
    token2, _ = service.start_session(session, user=user, hours=1)
    service.end_session(session, token2)
    assert service.session_user(session, token2) is None


def test_disabling_a_user_ends_sessions_and_tokens(session):
    user = new_user(session)
    token, _ = service.start_session(session, user=user, hours=1)
    api, _ = service.issue_api_token(session, user=user, name="x")
    service.set_active(session, user=user, active=False)
    assert service.session_user(session, token) is None
    assert service.token_user(session, api) is None


def test_role_and_country_must_agree(session):
    with pytest.raises(Invalid) as caught:
        new_user(session, role="secretariat", country="XAA")
    assert caught.value.field == "country_code"
    with pytest.raises(Invalid):
        new_user(session, role="owner")
    with pytest.raises(Invalid) as short:
        new_user(session, password="short")
    assert short.value.field == "password"


def test_cookie_changes_need_the_csrf_header(world, app_client):
    with app_client.app.state.sessionmaker.begin() as session:
        user = service.get_user(session, world.ids["viewer"])
        token, row = service.start_session(session, user=user, hours=1)
        csrf = row.csrf_token
    client = TestClient(app_client.app)  # its own cookie jar; the app is already started
    client.cookies.set(SESSION_COOKIE, token)
    assert client.get("/api/v1/me").status_code == 200
    refused = client.post("/api/v1/tokens", json={"name": "x"})
    assert refused.status_code == 403
    allowed = client.post("/api/v1/tokens", json={"name": "x"}, headers={"X-CSRF-Token": csrf})
    assert allowed.status_code == 201
