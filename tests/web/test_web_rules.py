"""The pages offer exactly what the services allow: each control is shown when, and only
when, the predicate the service refuses with says yes, and the page shows the service's
reason when a refused form is posted anyway."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from app.accounts import service as accounts
from app.accounts.models import User
from app.actionplan import service as plans
from app.actionplan.schemas import ActionItemCreate
from app.assessments import permissions
from app.assessments import service as assessments
from app.assessments.schemas import MAX_COMMENT, AnswerInput, SignOff
from app.core.config import Settings
from app.main import create_app
from app.portability import permissions as portability_permissions
from tests.web.test_web_pages import (
    CAPABILITY,
    INDICATOR,
    csrf,
    login,
    make_user,
    new_assessment,
    text_of,
    user_of,
)


@pytest.fixture(scope="module")
def web(database):
    """The app on the test database, started once for this module."""
    application = create_app(Settings(database_url=database.url, demo_mode=False))
    with TestClient(application):
        yield application


@contextmanager
def only_active_admin(web, admin_id: int):
    """Every other administrator disabled for the duration, and enabled again after."""
    with web.state.sessionmaker.begin() as session:
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
        with web.state.sessionmaker.begin() as session:
            session.execute(update(User).where(User.id.in_(others)).values(is_active=True))


def form_action(url: str) -> str:
    return f'action="{url}"'


# ---------------------------------------------------------------- users


def test_the_users_page_offers_no_way_to_disable_ones_own_account(web):
    me = user_of(web, make_user(web, "admin", country=None))
    other = user_of(web, make_user(web, "viewer"))
    client = login(web, me.email)
    page = client.get("/admin/users").text
    assert form_action(f"/admin/users/{other.id}/active") in page
    assert form_action(f"/admin/users/{me.id}/active") not in page
    own_row = re.search(rf'<tr id="user-{me.id}">.*?</tr>', page, flags=re.S).group(0)
    assert "(your account)" in text_of(own_row)

    refused = client.post(
        f"/admin/users/{me.id}/active", data={"csrf_token": csrf(client), "active": "0"}
    )
    assert refused.status_code == 403
    assert "You cannot disable your own account." in text_of(refused.text)
    assert user_of(web, me.email).is_active


def test_the_last_active_admin_is_offered_no_role_change(web):
    me = user_of(web, make_user(web, "admin", country=None))
    client = login(web, me.email)
    with only_active_admin(web, me.id):
        page = client.get("/admin/users").text
        assert form_action(f"/admin/users/{me.id}/role") not in page
        assert "The last active administrator keeps this role" in text_of(page)
        refused = client.post(
            f"/admin/users/{me.id}/role", data={"csrf_token": csrf(client), "role": "secretariat"}
        )
        assert refused.status_code == 403
        assert "This is the last active administrator" in text_of(refused.text)
        assert user_of(web, me.email).role == "admin"
    assert form_action(f"/admin/users/{me.id}/role") in client.get("/admin/users").text


def test_the_header_links_to_users_and_members_by_the_predicates(web):
    countries = {"admin": None, "secretariat": None, "coordinator": "XAA"}
    pages = {
        role: login(web, make_user(web, role, country=country)).get("/").text
        for role, country in countries.items()
    }
    assert 'href="/admin/users"' in pages["admin"]
    assert 'href="/admin/users"' not in pages["secretariat"]
    assert 'href="/admin/users"' not in pages["coordinator"]
    assert 'href="/alliance"' in pages["secretariat"] and 'href="/alliance"' in pages["admin"]
    assert 'href="/alliance"' not in pages["coordinator"]
    assert 'href="/sharing"' in pages["coordinator"]


# ---------------------------------------------------------------- assessments


def answer_everything(web, email: str, assessment_id: int, *, leave: int = 0) -> None:
    keys = web.state.catalogue.catalogue.indicator_keys()
    with web.state.sessionmaker.begin() as session:
        user = accounts.find_user(session, email)
        for capability_id, indicator_id in keys[: len(keys) - leave]:
            assessments.save_answer(
                session,
                user=user,
                assessment_id=assessment_id,
                capability_id=capability_id,
                indicator_id=indicator_id,
                data=AnswerInput(version=0, response="unknown"),
            )


def submitted_assessment(web, email: str) -> int:
    assessment_id = new_assessment(web, email)
    answer_everything(web, email, assessment_id)
    with web.state.sessionmaker.begin() as session:
        assessments.submit(
            session,
            user=accounts.find_user(session, email),
            assessment_id=assessment_id,
            signoff=SignOff(name="Ana Lima", position="Director", date=date.today()),
        )
    return assessment_id


@pytest.fixture(scope="module")
def assessments_by_state(web):
    coordinator = make_user(web, "coordinator")
    make_user(web, "contributor")  # someone to assign areas to
    return coordinator, {
        "draft": new_assessment(web, coordinator),
        "submitted": submitted_assessment(web, coordinator),
    }


@pytest.mark.parametrize("state", ["draft", "submitted"])
@pytest.mark.parametrize("role", ["coordinator", "contributor", "viewer", "secretariat"])
def test_the_overview_shows_the_controls_the_predicates_allow(
    web, assessments_by_state, role, state
):
    coordinator, by_state = assessments_by_state
    assessment_id = by_state[state]
    email = coordinator if role == "coordinator" else make_user(web, role, country="XAA")
    with web.state.sessionmaker() as session:
        user = accounts.find_user(session, email)
        assessment = assessments.get_assessment(session, user=user, assessment_id=assessment_id)
        editable = assessments.editable_areas(session, assessment=assessment, user=user)
        allowed = {
            "submit": permissions.can_submit(user, assessment),
            "targets": permissions.can_set_targets(user, assessment),
            "assign": permissions.can_assign_areas(user, assessment),
            "review": permissions.can_review(user, assessment),
            "upload": permissions.can_edit_answers(user, assessment, editable),
            "export": portability_permissions.can_export_json(user, assessment),
        }
    base = f"/assessments/{assessment_id}"
    client = login(web, email)
    page = client.get(base).text
    shown = {
        "submit": f'href="{base}/submit"' in page,
        "targets": form_action(f"{base}/targets#targets") in page,
        # These forms post to their section's anchor, so that a refusal is shown in view.
        "assign": form_action(f"{base}/assignments#area-policy") in page,
        "review": f'href="{base}/validate"' in page
        and form_action(f"{base}/return#review") in page,
        "upload": form_action(f"{base}/workbook") in page,
        "export": f"{base}/export.json" in page,
    }
    assert shown == allowed
    # Something is shown to somebody: the check compares real controls.
    if (role, state) == ("coordinator", "draft"):
        assert all(allowed[key] for key in ("submit", "targets", "assign", "upload", "export"))
    if (role, state) == ("secretariat", "submitted"):
        assert allowed["review"] and not allowed["targets"]
    # A control that is not shown is refused when its form is posted anyway.
    token = csrf(client)
    if not allowed["targets"]:
        posted = client.post(
            f"{base}/targets", data={"csrf_token": token, "target-leadership": "2"}
        )
        assert posted.status_code in (403, 404)
    if not allowed["review"]:
        assert client.post(f"{base}/validate", data={"csrf_token": token}).status_code in (
            403,
            404,
        )


def test_a_target_beyond_the_scale_is_the_services_refusal_and_saves_nothing(web):
    coordinator = make_user(web, "coordinator")
    assessment_id = new_assessment(web, coordinator)
    top = web.state.catalogue.catalogue.max_level
    client = login(web, coordinator)
    refused = client.post(
        f"/assessments/{assessment_id}/targets",
        data={
            "csrf_token": csrf(client),
            "target-leadership": "2",
            "target-legislation": str(top + 1),
        },
    )
    assert refused.status_code == 422
    assert re.search(r'id="target-legislation-error"[^>]*>[^<]*Choose a level', refused.text)
    with web.state.sessionmaker() as session:
        user = accounts.find_user(session, coordinator)
        assessment = assessments.get_assessment(session, user=user, assessment_id=assessment_id)
        assert assessments.targets_of(session, assessment) == {}


def test_the_comment_form_follows_the_predicate_and_shows_the_services_reasons(web):
    coordinator = make_user(web, "coordinator")
    assessment_id = new_assessment(web, coordinator)
    url = f"/assessments/{assessment_id}{CAPABILITY}"
    comments = form_action(f"{url}/indicators/{INDICATOR}/comments")
    viewer = login(web, make_user(web, "viewer"))
    assert comments not in viewer.get(url).text
    refused = viewer.post(
        f"{url}/indicators/{INDICATOR}/comments",
        data={"csrf_token": csrf(viewer), "body": "Hello"},
    )
    assert refused.status_code == 403

    contributor = login(web, make_user(web, "contributor"))
    assert comments in contributor.get(url).text
    token = csrf(contributor)
    for body, reason in (
        ("   ", "Write your comment before sending it."),
        ("w" * (MAX_COMMENT + 1), "A comment can have at most 5,000 characters."),
    ):
        answer = contributor.post(
            f"{url}/indicators/{INDICATOR}/comments", data={"csrf_token": token, "body": body}
        )
        assert answer.status_code == 422
        assert reason in text_of(answer.text)
    with web.state.sessionmaker() as session:
        user = accounts.find_user(session, coordinator)
        assessment = assessments.get_assessment(session, user=user, assessment_id=assessment_id)
        assert assessments.comments_of(session, assessment) == []


def test_the_sign_off_page_lists_what_the_api_refuses_with(web):
    coordinator = make_user(web, "coordinator")
    assessment_id = new_assessment(web, coordinator)
    answer_everything(web, coordinator, assessment_id, leave=3)
    with web.state.sessionmaker.begin() as session:
        secret, _ = accounts.issue_api_token(
            session, user=accounts.find_user(session, coordinator), name="tests"
        )
    api = TestClient(web).post(
        f"/api/v1/assessments/{assessment_id}/submit",
        json={"name": "Ana Lima", "position": "Director", "date": date.today().isoformat()},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert api.status_code == 422
    refused_with = api.json()["error"]["missing"]
    assert len(refused_with) == 3

    page = login(web, coordinator).get(f"/assessments/{assessment_id}/submit").text
    listed = re.search(r'<ul id="missing">(.*?)</ul>', page, flags=re.S).group(1)
    links = re.findall(r'/capabilities/([^"#]+)#ind-([^"]+)"', listed)
    assert [f"{capability}.{indicator}" for capability, indicator in links] == refused_with


# ---------------------------------------------------------------- action plan


def test_the_plan_offers_deletion_only_of_actions_added_by_hand(web):
    coordinator = make_user(web, "coordinator")
    assessment_id = new_assessment(web, coordinator)
    with web.state.sessionmaker.begin() as session:
        user = accounts.find_user(session, coordinator)
        assessments.set_target(
            session, user=user, assessment_id=assessment_id, capability_id="leadership", level=2
        )
        drafted = plans.draft_plan(session, user=user, assessment_id=assessment_id)[0].id
        manual = plans.add_item(
            session,
            user=user,
            assessment_id=assessment_id,
            data=ActionItemCreate(title="Brief the committee"),
        ).id
    url = f"/assessments/{assessment_id}/action-plan"
    client = login(web, coordinator)
    page = client.get(url).text
    assert form_action(f"{url}/items/{manual}/delete") in page
    assert form_action(f"{url}/items/{drafted}/delete") not in page
    token = csrf(client)
    refused = client.post(f"{url}/items/{drafted}/delete", data={"csrf_token": token})
    assert refused.status_code == 403

    no_status = client.post(
        f"{url}/items/{drafted}",
        data={"csrf_token": token, "version": "1", "status": "", "notes": "x"},
    )
    assert no_status.status_code == 422
    assert "Choose a status from the list." in text_of(no_status.text)

    viewer = login(web, make_user(web, "viewer"))
    assert form_action(f"{url}/items/{manual}/delete") not in viewer.get(url).text
