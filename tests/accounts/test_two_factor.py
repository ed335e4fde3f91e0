"""Two-factor log-in: enrolment on the account page, the code step of the log-in, recovery
codes, the throttle over the code step, and the setting that requires it."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from app.accounts import service as accounts
from app.accounts import two_factor
from app.accounts.models import LoginAttempt, RecoveryCode, User
from tests.accounts.helpers import (
    PASSWORD,
    browser,
    code_of,
    csrf,
    field,
    login,
    make_app,
    make_user,
    post_code,
    post_login,
    secret_on,
    text_of,
)
from tests.conftest import BACKENDS
from tests.smtp_server import SMTPServer


@pytest.fixture(scope="module")
def smtp():
    with SMTPServer() as server:
        yield server


@pytest.fixture(scope="module", params=BACKENDS)
def database_url(request, make_migrated_database):
    return make_migrated_database(request.param).url


@pytest.fixture(scope="module")
def app(database_url, smtp):
    application = make_app(database_url, smtp)
    with TestClient(application):
        yield application


@pytest.fixture(scope="module")
def strict_app(database_url, smtp):
    """The same database, with two-factor log-in required for alliance roles and coordinators."""
    application = make_app(database_url, smtp, security={"require_two_factor": True})
    with TestClient(application):
        yield application


def enrol(client: TestClient) -> tuple[str, list[str]]:
    """Turn two-factor log-in on from the account page; returns the secret and the codes."""
    page = client.get("/account/two-factor")
    assert "Two-factor log-in is off." in text_of(page.text)
    setup = client.post("/account/two-factor/start", data={"csrf_token": csrf(client)})
    assert setup.status_code == 200
    svg = re.search(r"<svg[^>]*>.*?</svg>", setup.text, re.S)
    assert svg and "<path" in svg.group(0)
    secret = secret_on(setup.text)
    wrong = client.post(
        "/account/two-factor/confirm", data={"csrf_token": csrf(client), "code": "000000"}
    )
    assert wrong.status_code == 422 and "This code is not right." in text_of(wrong.text)
    done = client.post(
        "/account/two-factor/confirm",
        data={"csrf_token": csrf(client), "code": code_of(secret)},
    )
    assert done.status_code == 200 and "Two-factor log-in is on." in text_of(done.text)
    codes = re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", done.text)
    assert len(codes) == two_factor.RECOVERY_CODES
    return secret, codes


def _user(app, email: str) -> User:
    with app.state.sessionmaker() as session:
        return accounts.find_user(session, email)


def test_enrolment_then_log_in_asks_for_a_code_that_works_once(app):
    email = make_user(app)
    secret, codes = enrol(login(app, email))
    user = _user(app, email)
    assert user.totp_secret == secret and user.two_factor_enabled
    with app.state.sessionmaker() as session:
        stored = session.query(RecoveryCode.code_hash).filter_by(user_id=user.id).all()
    assert all(code.replace("-", "") not in h for (h,) in stored for code in codes)

    client = browser(app)
    step = post_login(client, email)
    assert step.status_code == 303 and step.headers["location"] == "/login/code"
    # The password alone opens nothing.
    assert client.get("/account", follow_redirects=False).status_code == 303
    assert "gsr_session" not in client.cookies
    wrong = post_code(client, "123456")
    assert wrong.status_code == 401 and "This code is not right" in text_of(wrong.text)
    # The code of the step already used at enrolment is refused: codes are not reusable.
    assert post_code(client, code_of(secret)).status_code == 401
    later = code_of(secret, offset_steps=1)  # the next step's code, within the clock drift
    done = post_code(client, later)
    assert done.status_code == 303 and done.headers["location"] == "/"
    assert client.get("/account").status_code == 200
    # The same code cannot open a second log-in.
    again = browser(app)
    post_login(again, email)
    assert post_code(again, later).status_code == 401


def test_a_recovery_code_logs_in_once(app):
    email = make_user(app)
    _secret, codes = enrol(login(app, email))
    client = browser(app)
    post_login(client, email)
    assert post_code(client, codes[0].upper().replace("-", " ")).status_code == 303
    second = browser(app)
    post_login(second, email)
    assert post_code(second, codes[0]).status_code == 401
    assert post_code(second, codes[1]).status_code == 303
    page = second.get("/account/two-factor")
    assert "You have 8 unused recovery codes." in text_of(page.text)


def test_the_code_step_is_throttled_and_a_new_password_step_does_not_reset_it(app):
    email = make_user(app)
    secret, _codes = enrol(login(app, email))  # one wrong code at enrolment counts already
    attacker = browser(app)  # knows the password, not the codes
    for _ in range(accounts.MAX_FAILURES_PER_ACCOUNT - 1):
        # Starting the log-in again each time must not clear the count of wrong codes.
        assert post_login(attacker, email).status_code == 303
        assert post_code(attacker, "999999").status_code == 401
    paused = post_code(attacker, code_of(secret, offset_steps=1))
    assert paused.status_code == 429 and paused.headers["Retry-After"] == "900"
    assert "logging in is paused" in text_of(paused.text)
    assert post_login(browser(app), email).status_code == 429
    # Every wrong code was counted as a failed log-in of the account.
    with app.state.sessionmaker() as session:
        failures = session.query(LoginAttempt).filter_by(email=email, succeeded=False).count()
        successes = session.query(LoginAttempt).filter_by(email=email, succeeded=True).count()
    assert failures == accounts.MAX_FAILURES_PER_ACCOUNT
    assert successes == 1  # the log-in before enrolment only


def test_the_code_step_throttle_holds_across_clients_and_recovery_codes(app):
    email = make_user(app)
    _secret, codes = enrol(login(app, email))
    held = browser(app)  # a second step started before the guessing
    assert post_login(held, email).status_code == 303
    for n in range(accounts.MAX_FAILURES_PER_ACCOUNT - 1):  # the enrolment made one
        client = browser(app)  # a new address each time
        post_login(client, email)
        assert post_code(client, f"bad{n}-guess").status_code == 401
    assert post_login(browser(app), email).status_code == 429
    # Even a right recovery code waits: the account is paused, whichever step asks.
    assert post_code(held, codes[0]).status_code == 429


def test_a_second_step_without_a_password_step_leads_back_to_log_in(app):
    client = browser(app)
    token = field(client.get("/login").text, "login_csrf")
    answer = client.post(
        "/login/code", data={"code": "123456", "login_csrf": token}, follow_redirects=False
    )
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
    client.cookies.set("gsr_login_step", "made-up", path="/login")
    back = client.get("/login/code")
    assert "Please log in again." in text_of(back.text)


def test_turning_it_off_needs_the_password_and_a_code(app):
    email = make_user(app)
    client = login(app, email)
    secret, _codes = enrol(client)

    def disable(password: str, code: str):
        return client.post(
            "/account/two-factor/disable",
            data={"csrf_token": csrf(client), "password": password, "code": code},
            follow_redirects=False,
        )

    assert "Your password is not right." in text_of(disable("wrong password", "1").text)
    assert "The code is not right" in text_of(disable(PASSWORD, "000000").text)
    assert _user(app, email).two_factor_enabled
    assert disable(PASSWORD, code_of(secret, offset_steps=1)).status_code == 303
    user = _user(app, email)
    assert not user.two_factor_enabled and user.totp_secret is None
    assert post_login(browser(app), email).headers["location"] == "/"


def test_new_recovery_codes_replace_the_old_ones(app):
    email = make_user(app)
    client = login(app, email)
    _secret, old = enrol(client)
    refused = client.post(
        "/account/two-factor/recovery-codes",
        data={"csrf_token": csrf(client), "password": "not it at all"},
    )
    assert refused.status_code == 422
    renewed = client.post(
        "/account/two-factor/recovery-codes",
        data={"csrf_token": csrf(client), "password": PASSWORD},
    )
    new = re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", renewed.text)
    assert len(new) == two_factor.RECOVERY_CODES and not set(new) & set(old)
    other = browser(app)
    post_login(other, email)
    assert post_code(other, old[0]).status_code == 401
    assert post_code(other, new[0]).status_code == 303


def test_an_api_token_keeps_working_with_two_factor_on(app):
    email = make_user(app)
    enrol(login(app, email))
    with app.state.sessionmaker.begin() as session:
        secret, _row = accounts.issue_api_token(
            session, user=accounts.find_user(session, email), name="script"
        )
    me = browser(app).get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200 and me.json()["two_factor_enabled"] is True


# ---------------------------------------------------------------- required by the installation


def test_required_roles_set_it_up_at_log_in_before_anything_else(strict_app):
    email = make_user(strict_app, "coordinator")
    client = browser(strict_app)
    step = post_login(client, email, next_path="/account")
    assert step.headers["location"] == "/login/two-factor"
    assert client.get("/", follow_redirects=False).status_code == 303  # no session yet
    page = client.get("/login/two-factor")
    assert "Your role requires two-factor log-in." in text_of(page.text)
    secret = secret_on(page.text)
    token = field(page.text, "login_csrf")
    wrong = client.post("/login/two-factor", data={"code": "000000", "login_csrf": token})
    assert wrong.status_code == 422
    done = client.post("/login/two-factor", data={"code": code_of(secret), "login_csrf": token})
    assert done.status_code == 200 and 'href="/account"' in done.text
    assert len(re.findall(r"<li><code>", done.text)) == two_factor.RECOVERY_CODES
    assert client.get("/", follow_redirects=False).status_code == 200
    assert _user(strict_app, email).two_factor_enabled
    # Their role requires it: it cannot be turned off.
    assert (
        client.post(
            "/account/two-factor/disable",
            data={"csrf_token": csrf(client), "password": PASSWORD, "code": code_of(secret, 1)},
        ).status_code
        == 403
    )


def test_a_session_from_before_the_requirement_reaches_only_the_set_up_page(app, strict_app):
    email = make_user(app, "secretariat", country=None)
    relaxed = login(app, email)  # logged in while the installation did not require it
    with app.state.sessionmaker.begin() as session:
        secret, _row = accounts.issue_api_token(
            session, user=accounts.find_user(session, email), name="script"
        )
    client = TestClient(strict_app, cookies=relaxed.cookies, client=("10.9.9.9", 1))
    sent = client.get("/", follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"] == "/account/two-factor"
    assert client.get("/api/v1/me").status_code == 403
    page = client.get("/account/two-factor")
    assert page.status_code == 200 and 'id="must-enrol"' in page.text
    # API tokens are separate credentials and keep working.
    api = TestClient(strict_app, client=("10.9.9.8", 1))
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    enrol(client)
    assert client.get("/", follow_redirects=False).status_code == 200


def test_roles_outside_the_requirement_log_in_with_the_password(strict_app):
    email = make_user(strict_app, "contributor")
    assert post_login(browser(strict_app), email).headers["location"] == "/"


def test_an_administrator_turns_it_off_for_a_user_who_lost_their_phone(app):
    email = make_user(app)
    enrol(login(app, email))
    user_id = _user(app, email).id
    other = login(app, make_user(app, "coordinator"))
    refused = other.post(f"/admin/users/{user_id}/two-factor-off", data={"csrf_token": csrf(other)})
    assert refused.status_code == 403 and _user(app, email).two_factor_enabled
    admin = login(app, make_user(app, "admin", country=None))
    assert "Turn off two-factor" in admin.get("/admin/users").text
    done = admin.post(
        f"/admin/users/{user_id}/two-factor-off",
        data={"csrf_token": csrf(admin)},
        follow_redirects=False,
    )
    assert done.status_code == 303 and not _user(app, email).two_factor_enabled
    assert post_login(browser(app), email).headers["location"] == "/"
