"""Passwords for real people: the policy, changing one, reset links by e-mail, invitations.

The application runs on a database of its own and sends its e-mails to a real local SMTP
server; links are read back from the messages that arrive there.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.accounts import credentials
from app.accounts import service as accounts
from app.accounts.models import AccountLink, User, UserSession
from app.accounts.passwords import check_password
from app.audit.models import AuditEvent
from app.core.db import utcnow
from app.core.errors import Invalid
from app.mail.models import OutboxMessage
from tests.accounts.helpers import (
    PASSWORD,
    browser,
    csrf,
    field,
    login,
    make_app,
    make_user,
    post_login,
    text_of,
)
from tests.conftest import BACKENDS
from tests.smtp_server import SMTPServer

GUESSABLE = "This password is too easy to guess"


@pytest.fixture(scope="module")
def smtp():
    with SMTPServer() as server:
        yield server


@pytest.fixture(scope="module", params=BACKENDS)
def app(request, make_migrated_database, smtp):
    from fastapi.testclient import TestClient

    application = make_app(make_migrated_database(request.param).url, smtp)
    with TestClient(application):
        yield application


def _sessions_of(app, email: str) -> int:
    with app.state.sessionmaker() as session:
        return session.scalar(
            select(func.count())
            .select_from(UserSession)
            .join(User, User.id == UserSession.user_id)
            .where(User.email == email)
        )


def _token_for(app, email: str) -> str:
    with app.state.sessionmaker.begin() as session:
        user = accounts.find_user(session, email)
        secret, _row = accounts.issue_api_token(session, user=user, name="script")
    return secret


# ---------------------------------------------------------------- the policy


@pytest.mark.parametrize(
    "password",
    ["password12", "qwertyuiop1", "Summer2026!", "1234567890ab", "aaaaaaaaaaaa"],
)
def test_common_and_guessable_passwords_are_refused(password):
    with pytest.raises(Invalid) as refused:
        check_password(password, email="ada.lovelace@ministry.example", full_name="Ada Lovelace")
    assert refused.value.field == "password"
    assert refused.value.details["rule"] == "guessable"
    assert password not in refused.value.message


@pytest.mark.parametrize(
    "password", ["ada.lovelace@ministry.example", "AdaLovelace2026", "lovelace-ministry-1"]
)
def test_the_users_own_address_and_name_are_refused(password):
    with pytest.raises(Invalid) as refused:
        check_password(password, email="ada.lovelace@ministry.example", full_name="Ada Lovelace")
    assert refused.value.details["rule"] == "guessable"


def test_length_limits_and_good_passphrases():
    with pytest.raises(Invalid) as short:
        check_password("Xy7#kq2!", email="a@example.org")
    assert short.value.details["rule"] == "too_short"
    with pytest.raises(Invalid) as long:
        check_password("x" * 201, email="a@example.org")
    assert long.value.details["rule"] == "too_long"
    for good in (PASSWORD, "tin lantern grows under seven moons", "Vq8#mZ2!rT5@wL"):
        check_password(good, email="ada.lovelace@ministry.example", full_name="Ada Lovelace")


# ---------------------------------------------------------------- changing one's password


def test_changing_the_password_ends_the_other_sessions_but_not_tokens(app, smtp):
    email = make_user(app)
    here, elsewhere = login(app, email), login(app, email)
    token = _token_for(app, email)
    assert _sessions_of(app, email) == 2

    def change(current: str, new: str, confirm: str | None = None):
        return here.post(
            "/account/password",
            data={
                "csrf_token": csrf(here),
                "current_password": current,
                "new_password": new,
                "confirm": new if confirm is None else confirm,
            },
            follow_redirects=False,
        )

    wrong = change("not my password", "tin lantern grows under seven moons")
    assert wrong.status_code == 422
    assert "Your current password is not right." in text_of(wrong.text)
    weak = change(PASSWORD, "password12")
    assert weak.status_code == 422 and GUESSABLE in text_of(weak.text)
    mismatch = change(PASSWORD, "tin lantern grows", "tin lantern grows under")
    assert "The two new passwords are not the same." in text_of(mismatch.text)
    assert _sessions_of(app, email) == 2  # nothing changed yet

    done = change(PASSWORD, "tin lantern grows under seven moons")
    assert done.status_code == 303
    assert "Your other log-ins were ended" in text_of(here.get(done.headers["location"]).text)
    assert _sessions_of(app, email) == 1
    assert here.get("/account", follow_redirects=False).status_code == 200
    assert elsewhere.get("/account", follow_redirects=False).status_code == 303  # to log-in
    assert post_login(browser(app), email).status_code == 401  # the old password is gone
    assert post_login(browser(app), email, "tin lantern grows under seven moons").status_code == 303
    # API tokens are separate credentials and keep working.
    me = browser(app).get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["email"] == email
    [notice] = smtp.inbox.wait_for(email)
    assert notice.subject == "Your password was changed"
    assert "/password/forgot" in notice.text


def test_changing_the_password_over_the_api(app):
    email = make_user(app)
    web = login(app, email)
    token = _token_for(app, email)
    api = browser(app)
    auth = {"Authorization": f"Bearer {token}"}
    weak = api.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": email},
        headers=auth,
    )
    assert weak.status_code == 422 and weak.json()["error"]["field"] == "password"
    wrong = api.post(
        "/api/v1/me/password",
        json={"current_password": "nope nope nope", "new_password": "pale comet under wet slate"},
        headers=auth,
    )
    assert wrong.status_code == 422 and wrong.json()["error"]["field"] == "current_password"
    done = api.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "pale comet under wet slate"},
        headers=auth,
    )
    assert done.status_code == 200 and done.json()["changed"] is True
    assert web.get("/account", follow_redirects=False).status_code == 303
    assert api.get("/api/v1/me", headers=auth).status_code == 200


# ---------------------------------------------------------------- forgotten passwords


def _forgot(client, email: str):
    token = field(client.get("/password/forgot").text, "password_csrf")
    return client.post("/password/forgot", data={"email": email, "password_csrf": token})


def _choose(client, link: str, password: str, confirm: str | None = None):
    client.get(link)
    # The form's CSRF token is the same on every password page (a cookie of the browser's).
    form_token = field(client.get("/password/forgot").text, "password_csrf")
    path = "/invitation" if "/invitation?" in link else "/password/reset"
    return client.post(
        path,
        data={
            "token": link.rsplit("token=", 1)[1],
            "password_csrf": form_token,
            "password": password,
            "confirm": password if confirm is None else confirm,
        },
        follow_redirects=False,
    )


def test_a_reset_link_by_e_mail_sets_a_new_password_once_and_ends_all_sessions(app, smtp):
    email = make_user(app)
    logged_in = login(app, email)
    stranger = browser(app)
    asked = _forgot(stranger, email)
    unknown = _forgot(browser(app), "nobody-here@example.org")
    # The same words whether or not the address has an account.
    assert text_of(asked.text).replace(email, "X") == text_of(unknown.text).replace(
        "nobody-here@example.org", "X"
    )
    assert smtp.inbox.to("nobody-here@example.org") == []
    [message] = smtp.inbox.wait_for(email)
    assert message.subject == "Reset your password for the GSR self-assessment"
    link = message.link("/password/reset")
    assert link in message.html.replace("&amp;", "&")

    weak = _choose(stranger, link, "password12")
    assert weak.status_code == 422 and GUESSABLE in text_of(weak.text)
    mismatch = _choose(stranger, link, "river stone", "river stones")
    assert "The two passwords are not the same." in text_of(mismatch.text)
    done = _choose(stranger, link, "quiet orchard beneath blue hills")
    assert done.status_code == 303 and done.headers["location"] == "/login?password_set=1"
    assert "Your password is set." in text_of(stranger.get("/login?password_set=1").text)
    assert _sessions_of(app, email) == 0
    assert logged_in.get("/account", follow_redirects=False).status_code == 303
    assert post_login(browser(app), email, "quiet orchard beneath blue hills").status_code == 303

    # A link works once.
    again = _choose(browser(app), link, "another orchard beneath hills")
    assert again.status_code == 404 and 'id="link-invalid"' in again.text
    assert browser(app).get(link).status_code == 404
    with app.state.sessionmaker() as session:
        member = accounts.find_user(session, email)
        actions = session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.target_type == "user", AuditEvent.target_id == str(member.id)
            )
        ).all()
    assert "user.password_link_issued" in actions and "user.password_set" in actions


def test_an_expired_reset_link_is_refused_and_changes_nothing(app, smtp):
    email = make_user(app)
    _forgot(browser(app), email)
    link = smtp.inbox.wait_for(email)[-1].link("/password/reset")
    with app.state.sessionmaker.begin() as session:
        session.execute(
            update(AccountLink)
            .where(AccountLink.user_id == accounts.find_user(session, email).id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    page = browser(app).get(link)
    assert page.status_code == 404 and "This link does not work any more" in text_of(page.text)
    assert 'href="/password/forgot"' in page.text
    refused = _choose(browser(app), link, "quiet orchard beneath blue hills")
    assert refused.status_code == 404
    assert post_login(browser(app), email).status_code == 303  # the old password still works


def test_a_newer_link_or_a_password_change_voids_an_open_link(app, smtp):
    email = make_user(app)
    _forgot(browser(app), email)
    _forgot(browser(app), email)
    first, second = (m.link("/password/reset") for m in smtp.inbox.wait_for(email, 2)[-2:])
    assert browser(app).get(first).status_code == 404
    assert browser(app).get(second).status_code == 200
    with app.state.sessionmaker.begin() as session:
        accounts.set_password(
            session, user=accounts.find_user(session, email), password="brass kite over dunes"
        )
    assert browser(app).get(second).status_code == 404


def test_reset_links_are_stored_only_as_hashes_and_requests_are_limited(app, smtp):
    email = make_user(app)
    for _ in range(credentials.MAX_RESETS_PER_HOUR + 2):
        _forgot(browser(app), email)
    messages = smtp.inbox.wait_for(email, credentials.MAX_RESETS_PER_HOUR)
    assert len(smtp.inbox.to(email)) == credentials.MAX_RESETS_PER_HOUR
    secret = messages[-1].link("/password/reset").rsplit("=", 1)[1]
    with app.state.sessionmaker() as session:
        stored = session.scalars(select(AccountLink.token_hash)).all()
        bodies = session.scalars(select(OutboxMessage.text_body)).all()
    assert secret not in stored and all(len(h) == 64 for h in stored)
    assert any(secret in body for body in bodies)  # only the e-mail carries it


def test_forgot_password_over_the_api_answers_the_same_for_anyone(app, smtp):
    email = make_user(app)
    known = browser(app).post("/api/v1/password-reset", json={"email": email})
    unknown = browser(app).post("/api/v1/password-reset", json={"email": "no-one@example.org"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert smtp.inbox.wait_for(email)[-1].link("/password/reset")


def test_an_administrator_issues_a_reset_link_from_the_users_page(app, smtp):
    admin = login(app, make_user(app, "admin"))
    email = make_user(app)
    with app.state.sessionmaker() as session:
        member = accounts.find_user(session, email)
    answer = admin.post(f"/admin/users/{member.id}/password-link", data={"csrf_token": csrf(admin)})
    assert answer.status_code == 200
    shown = re.search(r'id="issued-url">([^<]+)<', answer.text).group(1)
    assert shown == smtp.inbox.wait_for(email)[-1].link("/password/reset")
    assert _choose(browser(app), shown, "marble heron sleeps tonight").status_code == 303


# ---------------------------------------------------------------- invitations


def test_an_invited_user_chooses_their_password_and_logs_in(app, smtp):
    admin = login(app, make_user(app, "admin"))
    email = f"invited-{id(admin)}@example.org"
    created = admin.post(
        "/admin/users",
        data={
            "csrf_token": csrf(admin),
            "email": email,
            "full_name": "Nadia Invited",
            "role": "coordinator",
            "country_code": "XAB",
            "password_choice": "invite",
        },
    )
    assert created.status_code == 200
    assert f"An invitation is on its way to {email}." in text_of(created.text)
    assert post_login(browser(app), email, "").status_code == 422  # no password yet
    [invitation] = smtp.inbox.wait_for(email)
    assert invitation.subject == "Your account for the GSR self-assessment"
    assert "Hello Nadia Invited," in invitation.text
    link = invitation.link("/invitation")
    newcomer = browser(app)
    page = newcomer.get(link)
    assert "Welcome, Nadia Invited." in text_of(page.text)
    assert GUESSABLE in text_of(_choose(newcomer, link, "NadiaInvited2026").text)
    assert _choose(newcomer, link, "copper fern beside the tram").status_code == 303
    assert post_login(newcomer, email, "copper fern beside the tram").status_code == 303
    assert newcomer.get("/account").status_code == 200
    # A reset link is not an invitation, and the invitation is spent.
    assert _choose(browser(app), link, "copper fern beside the bus").status_code == 404


def test_an_invitation_over_the_api_and_a_weak_initial_password_refused(app, smtp):
    admin_email = make_user(app, "admin")
    auth = {"Authorization": f"Bearer {_token_for(app, admin_email)}"}
    api = browser(app)
    weak = api.post(
        "/api/v1/users",
        json={
            "email": "weak@example.org",
            "full_name": "W",
            "role": "secretariat",
            "password": "password12",
        },
        headers=auth,
    )
    assert weak.status_code == 422 and weak.json()["error"]["field"] == "password"
    both = api.post(
        "/api/v1/users",
        json={
            "email": "both@example.org",
            "full_name": "B",
            "role": "secretariat",
            "password": PASSWORD,
            "invite": True,
        },
        headers=auth,
    )
    assert both.status_code == 422
    email = f"api-invited-{id(api)}@example.org"
    made = api.post(
        "/api/v1/users",
        json={"email": email, "full_name": "Api Invited", "role": "secretariat", "invite": True},
        headers=auth,
    )
    assert made.status_code == 201
    assert smtp.inbox.wait_for(email)[-1].link("/invitation")
    user_id = made.json()["id"]
    again = api.post(f"/api/v1/users/{user_id}/password-link", headers=auth)
    assert again.status_code == 201 and again.json()["purpose"] == "invitation"
    assert again.json()["url"] == smtp.inbox.wait_for(email, 2)[-1].link("/invitation")


def test_e_mails_are_in_the_recipients_language(app, smtp):
    from app.core import i18n

    other = next((code for code in i18n.available_locales() if code != "en"), None)
    if other is None:
        pytest.skip("no translation installed")
    email = make_user(app)
    with app.state.sessionmaker.begin() as session:
        accounts.find_user(session, email).locale = other
    _forgot(browser(app), email)
    [message] = smtp.inbox.wait_for(email)
    english = "Reset your password for the GSR self-assessment"
    token = i18n.activate(other)
    try:
        translated = i18n.gettext(english)
    finally:
        i18n.reset(token)
    assert message.subject == translated
    assert f'<html lang="{other}">' in message.html


def test_a_link_used_twice_at_the_same_moment_sets_one_password(app, smtp):
    import threading

    from app.core.errors import NotFound

    email = make_user(app)
    _forgot(browser(app), email)
    secret = smtp.inbox.wait_for(email)[-1].link("/password/reset").rsplit("token=", 1)[1]
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def use(password: str) -> None:
        start.wait()
        try:
            with app.state.sessionmaker.begin() as session:
                credentials.redeem_link(session, token=secret, password=password)
            outcomes.append(password)
        except NotFound:
            outcomes.append("refused")

    threads = [
        threading.Thread(target=use, args=(p,))
        for p in ("first hazel kayak drifting", "second cobalt yak sleeping")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes).count("refused") == 1
    [winner] = [o for o in outcomes if o != "refused"]
    assert post_login(browser(app), email, winner).status_code == 303


def test_without_e_mail_set_up_the_users_page_says_to_pass_the_link_on(make_migrated_database):
    from fastapi.testclient import TestClient

    from app.core.config import Settings
    from app.main import create_app

    application = create_app(Settings(database_url=make_migrated_database("sqlite").url))
    with TestClient(application):
        admin = login(application, make_user(application, "admin", country=None))
        made = admin.post(
            "/admin/users",
            data={
                "csrf_token": csrf(admin),
                "email": "no-mail@example.org",
                "full_name": "No Mail",
                "role": "secretariat",
                "password_choice": "invite",
            },
        )
    page = text_of(made.text)
    assert "This server sends no e-mail yet" in page and "on its way" not in page
    assert re.search(r'id="issued-url">http://127\.0\.0\.1:8000/invitation\?token=', made.text)


def test_disabling_a_user_voids_their_open_links(app, smtp):
    email = make_user(app)
    _forgot(browser(app), email)
    link = smtp.inbox.wait_for(email)[-1].link("/password/reset")
    with app.state.sessionmaker.begin() as session:
        member = accounts.find_user(session, email)
        accounts.set_active(session, user=member, active=False)
    with app.state.sessionmaker.begin() as session:
        accounts.set_active(session, user=accounts.find_user(session, email), active=True)
    assert browser(app).get(link).status_code == 404
