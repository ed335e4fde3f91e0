"""The server-rendered pages, driven through their forms as a browser without JavaScript."""

from __future__ import annotations

import html
import re
import subprocess
import sys
import uuid
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.accounts import service as accounts
from app.accounts.dependencies import SESSION_COOKIE
from app.assessments import service as assessments
from app.assessments.models import Answer
from app.assessments.schemas import AnswerInput, AssessmentCreate
from app.core import i18n, security
from app.core.config import PROJECT_ROOT, Settings
from app.main import create_app

PASSWORD = "a long enough password"
CAPABILITY = "/areas/policy/capabilities/leadership"
INDICATOR = "national-strategy"


# ---------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def web(database):
    """The app on the test database, started once for this module."""
    application = create_app(Settings(database_url=database.url, demo_mode=False))
    with TestClient(application):
        yield application


def make_user(web, role: str, country: str | None = "XAA", name: str | None = None) -> str:
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.org"
    with web.state.sessionmaker.begin() as session:
        accounts.create_user(
            session,
            email=email,
            full_name=name or f"{role.title()} {uuid.uuid4().hex[:4]}",
            role=role,
            country_code=country if role in ("coordinator", "contributor", "viewer") else None,
            password=PASSWORD,
        )
    return email


def login_form(client: TestClient, next_path: str = "/") -> str:
    page = client.get(f"/login?next={next_path}")
    assert page.status_code == 200
    return re.search(r'name="login_csrf" value="([^"]+)"', page.text).group(1)


def login(web, email: str, password: str = PASSWORD) -> TestClient:
    client = TestClient(web)
    token = login_form(client)
    answer = client.post(
        "/login",
        data={"email": email, "password": password, "login_csrf": token, "next": "/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return client


def csrf(client: TestClient) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', client.get("/").text).group(1)


def user_of(web, email: str):
    with web.state.sessionmaker() as session:
        return accounts.find_user(session, email)


def new_assessment(web, coordinator_email: str, country: str = "XAA") -> int:
    with web.state.sessionmaker.begin() as session:
        user = accounts.find_user(session, coordinator_email)
        created = assessments.create_assessment(
            session,
            user=user,
            data=AssessmentCreate(country_code=country, cycle=f"T{uuid.uuid4().hex[:8]}"),
            catalogue_version_id=web.state.catalogue_version_id,
        )
        return created.id


def stored(web, assessment_id: int, capability_id="leadership", indicator_id=INDICATOR):
    with web.state.sessionmaker() as session:
        return (
            session.query(Answer)
            .filter_by(
                assessment_id=assessment_id, capability_id=capability_id, indicator_id=indicator_id
            )
            .one_or_none()
        )


def save_form(client, token: str, **fields) -> dict:
    data = {"csrf_token": token, "version": "0", "answer": "", "justification": ""}
    data.update({k: str(v) for k, v in fields.items()})
    return data


def text_of(page: str) -> str:
    """The visible text of a page, tags removed, entities decoded, spaces collapsed."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


@pytest.fixture
def country(web):
    """A coordinator of XAA with a fresh assessment, logged in."""
    email = make_user(web, "coordinator")
    assessment_id = new_assessment(web, email)
    client = login(web, email)
    return {"email": email, "id": assessment_id, "client": client, "token": csrf(client)}


# ---------------------------------------------------------------- logging in and out


def test_log_in_sets_a_safe_cookie_and_log_out_ends_the_session(web):
    email = make_user(web, "coordinator", name="Ngozi Adeyemi")
    client = TestClient(web)
    first = client.get("/", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == "/login?next=/"

    token = login_form(client)
    wrong = client.post(
        "/login",
        data={"email": email, "password": "not the password", "login_csrf": token, "next": "/"},
    )
    assert wrong.status_code == 401
    assert 'id="password-error"' in wrong.text
    assert "E-mail address or password not recognised." in text_of(wrong.text)
    assert f'value="{email}"' in wrong.text  # the e-mail address is kept

    right = client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "login_csrf": token, "next": "/account"},
        follow_redirects=False,
    )
    assert right.status_code == 303
    assert right.headers["location"] == "/account"
    cookie = next(
        c for c in right.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE + "=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert f"Max-Age={web.state.settings.session_hours * 3600}" in cookie
    assert "Secure" not in cookie  # plain http in the test; https gets Secure

    dashboard = client.get("/")
    assert "Ngozi Adeyemi" in dashboard.text
    assert "National coordinator" in dashboard.text
    assert 'href="#main"' in dashboard.text and '<main id="main"' in dashboard.text

    refused = client.post("/logout", data={"csrf_token": "forged"}, follow_redirects=False)
    assert refused.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 200  # still logged in

    out = client.post("/logout", data={"csrf_token": csrf(client)}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, cookie.split(";")[0].split("=", 1)[1])
    assert client.get("/", follow_redirects=False).status_code == 303  # the old token is dead


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/account", "/account"),
        ("https://evil.example/phish", "/"),
        ("//evil.example/phish", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_log_in_only_returns_to_pages_of_this_site(web, target, expected):
    email = make_user(web, "viewer")
    client = TestClient(web)
    token = login_form(client)
    answer = client.post(
        "/login",
        data={"email": email, "password": PASSWORD, "login_csrf": token, "next": target},
        follow_redirects=False,
    )
    assert answer.headers["location"] == expected


def test_log_in_is_paused_after_repeated_failures(web):
    email = make_user(web, "viewer")
    client = TestClient(web)
    token = login_form(client)
    for _ in range(accounts.MAX_FAILURES_PER_ACCOUNT):
        failed = client.post(
            "/login", data={"email": email, "password": "wrong!", "login_csrf": token}
        )
        assert failed.status_code == 401
    paused = client.post("/login", data={"email": email, "password": PASSWORD, "login_csrf": token})
    assert paused.status_code == 429
    assert "Too many failed attempts" in text_of(paused.text)
    assert int(paused.headers["retry-after"]) > 0
    assert SESSION_COOKIE not in paused.cookies


def test_log_in_without_the_form_token_is_refused(web):
    email = make_user(web, "viewer")
    client = TestClient(web)
    answer = client.post(
        "/login", data={"email": email, "password": PASSWORD}, follow_redirects=False
    )
    assert answer.status_code == 403
    assert SESSION_COOKIE not in answer.cookies


# ---------------------------------------------------------------- the questionnaire


def test_questionnaire_shows_every_level_descriptor_as_a_labelled_choice(web, country):
    page = country["client"].get(f"/assessments/{country['id']}{CAPABILITY}")
    assert page.status_code == 200
    catalogue = web.state.catalogue.catalogue
    capability = catalogue.capability("leadership")
    body, visible = page.text, text_of(page.text)
    for indicator in capability.indicators:
        assert indicator.question.get("en") in visible
        for level, text in indicator.levels.items():
            field_id = f"f-{indicator.id}-level-{level}"
            assert f'<label class="choice" for="{field_id}">' in body
            assert f'id="{field_id}" name="answer" value="{level}"' in body
            label = body.split(f'<label class="choice" for="{field_id}">')[1].split("</label>")[0]
            assert text.get("en") in text_of(label)
        assert f'id="f-{indicator.id}-na" name="answer" value="not_applicable"' in body
        assert f'id="f-{indicator.id}-unknown" name="answer" value="unknown"' in body
    for level in catalogue.maturity_scale:
        assert f"Level {level.level} · {level.name.get('en')}" in text_of(body)
    assert body.count('name="version" value="0"') == len(capability.indicators)
    # Every form carries the session's CSRF token, masked afresh for each page.
    page_token = re.search(r'<meta name="csrf-token" content="([^"]+)">', body).group(1)
    assert body.count(f'name="csrf_token" value="{page_token}"') >= 4
    assert page_token != country["token"]
    assert security.unmask_token(page_token) == security.unmask_token(country["token"])
    assert f'data-api="/api/v1/assessments/{country["id"]}/answers/leadership/{INDICATOR}"' in body
    assert "Independently verified" in body and "Self-reported" in body


def test_saving_without_javascript_redirects_and_the_answer_is_there_after_reload(web, country):
    client, url = country["client"], f"/assessments/{country['id']}{CAPABILITY}"
    saved = client.post(
        f"{url}/indicators/{INDICATOR}",
        data=save_form(
            client,
            country["token"],
            answer="2",
            justification="Adopted by cabinet in March.",
            evidence_notes="Action plan 2025-2028, annex B.",
            evidence_links="https://example.org/plan\nhttps://example.org/annex",
            confidence="documented",
        ),
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == f"{url}?saved={INDICATOR}#ind-{INDICATOR}"
    assert "Adopted" not in saved.headers["location"]

    page = client.get(saved.headers["location"])
    article = page.text.split(f'id="ind-{INDICATOR}"')[1].split("</article>")[0]
    assert 'data-state="saved">Saved<' in article
    assert f'id="f-{INDICATOR}-level-2" name="answer" value="2" checked' in article
    assert "Adopted by cabinet in March." in article
    assert "https://example.org/plan\nhttps://example.org/annex</textarea>" in article
    assert '<option value="documented" selected>' in article
    assert 'name="version" value="1"' in article
    assert "History (1 change)" in article

    answer = stored(web, country["id"])
    assert (answer.response, answer.level, answer.version) == ("level", 2, 1)
    assert answer.evidence_links == ["https://example.org/plan", "https://example.org/annex"]


def test_a_stale_save_shows_both_versions_and_use_mine_saves_over_theirs(web, country):
    colleague = make_user(web, "coordinator", name="Tomás Herrera")
    url = f"/assessments/{country['id']}{CAPABILITY}"
    with web.state.sessionmaker.begin() as session:
        assessments.save_answer(
            session,
            user=accounts.find_user(session, colleague),
            assessment_id=country["id"],
            capability_id="leadership",
            indicator_id=INDICATOR,
            data=AnswerInput(version=0, response="level", level=3, justification="Theirs: T-77"),
        )
    client = country["client"]
    mine = save_form(client, country["token"], answer="1", justification="Mine: M-42")
    conflict = client.post(f"{url}/indicators/{INDICATOR}", data=mine)
    assert conflict.status_code == 409
    text = text_of(conflict.text)
    assert "someone else changed it first" in text
    theirs_part = conflict.text.split('data-version="theirs"')[1].split('data-version="mine"')[0]
    mine_part = conflict.text.split('data-version="mine"')[1]
    assert "Theirs: T-77" in theirs_part and "Level 3 · Established" in theirs_part
    assert "Changed by Tomás Herrera" in text_of(theirs_part)
    assert "Mine: M-42" in mine_part and "Level 1 · Building" in mine_part
    assert f'href="{url}#ind-{INDICATOR}">Keep theirs</a>' in conflict.text
    assert stored(web, country["id"]).justification == "Theirs: T-77"  # nothing overwritten

    use_mine = re.search(
        r'<form method="post" action="([^"]+)" class="inline-form">(.*?)</form>', mine_part, re.S
    )
    fields = dict(
        re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', use_mine.group(2))
    )
    fields.update(
        (name, html.unescape(value).strip("\n"))
        for name, value in re.findall(
            r'<textarea name="([^"]+)"[^>]*>(.*?)</textarea>', use_mine.group(2), re.S
        )
    )
    assert fields["version"] == "1"
    again = client.post(use_mine.group(1), data=fields, follow_redirects=False)
    assert again.status_code == 303
    answer = stored(web, country["id"])
    assert (answer.level, answer.justification, answer.version) == (1, "Mine: M-42", 2)


def test_a_rejected_answer_shows_the_reason_by_the_field_and_keeps_what_was_typed(web, country):
    client, url = country["client"], f"/assessments/{country['id']}{CAPABILITY}"
    rejected = client.post(
        f"{url}/indicators/{INDICATOR}",
        data=save_form(
            client,
            country["token"],
            answer="not_applicable",
            evidence_notes="Notes typed by the user: N-123",
        ),
    )
    assert rejected.status_code == 422
    article = rejected.text.split(f'id="ind-{INDICATOR}"')[1].split("</article>")[0]
    error = re.search(r'id="f-national-strategy-justification-error"[^>]*>([^<]*)<', article)
    assert "Explain why this indicator does not apply" in error.group(1)
    assert 'aria-invalid="true"' in article
    assert "Notes typed by the user: N-123</textarea>" in article
    assert 'value="not_applicable" checked' in article
    assert stored(web, country["id"]) is None

    no_choice = client.post(
        f"{url}/indicators/{INDICATOR}", data=save_form(client, country["token"])
    )
    assert no_choice.status_code == 422
    assert "Choose a maturity level, or answer Not applicable or Unknown." in text_of(
        no_choice.text
    )


def test_a_contributor_edits_assigned_areas_and_only_reads_the_others(web, country):
    contributor_email = make_user(web, "contributor", name="Amara Diallo")
    contributor = user_of(web, contributor_email)
    coordinator = country["client"]
    overview = coordinator.get(f"/assessments/{country['id']}")
    assert f'<option value="{contributor.id}">Amara Diallo</option>' in overview.text
    assigned = coordinator.post(
        f"/assessments/{country['id']}/assignments",
        data={"csrf_token": country["token"], "area_id": "policy", "user_id": contributor.id},
        follow_redirects=False,
    )
    assert assigned.status_code == 303
    assert "Amara Diallo" in coordinator.get(f"/assessments/{country['id']}").text

    client = login(web, contributor_email)
    token = csrf(client)
    own = client.get(f"/assessments/{country['id']}{CAPABILITY}")
    assert 'class="answer-form' in own.text and 'type="radio"' in own.text

    other = f"/assessments/{country['id']}/areas/criminal-justice/capabilities/dedicated-officers"
    page = client.get(other)
    assert page.status_code == 200
    assert "This area is not assigned to you" in text_of(page.text)
    assert 'type="radio"' not in page.text and 'class="answer-form' not in page.text
    assert "<textarea" in page.text  # the comment box is still there
    refused = client.post(
        f"{other}/indicators/specialist-unit",
        data=save_form(client, token, answer="2"),
    )
    assert refused.status_code == 403
    assert stored(web, country["id"], "dedicated-officers", "specialist-unit") is None


def test_another_country_gets_not_found_on_every_page_and_sees_none_of_the_data(web, country):
    client, url = country["client"], f"/assessments/{country['id']}{CAPABILITY}"
    secret = f"Confidential-{uuid.uuid4().hex}"
    client.post(
        f"{url}/indicators/{INDICATOR}",
        data=save_form(client, country["token"], answer="1", justification=secret),
    )
    with web.state.sessionmaker() as session:
        assessment = assessments.get_assessment(
            session, user=accounts.find_user(session, country["email"]), assessment_id=country["id"]
        )
        cycle, name = assessment.cycle, assessment.country.name

    outsider = login(web, make_user(web, "coordinator", country="XAB"))
    token = csrf(outsider)
    base = f"/assessments/{country['id']}"
    gets = [base, base + "/submit", base + CAPABILITY, base + "/areas/policy/capabilities/nope"]
    posts = [
        (f"{url}/indicators/{INDICATOR}", save_form(outsider, token, answer="4")),
        (f"{url}/indicators/{INDICATOR}/comments", {"csrf_token": token, "body": "hello"}),
        (base + "/assignments", {"csrf_token": token, "area_id": "policy", "user_id": "1"}),
        (base + "/targets", {"csrf_token": token, "target-leadership": "4"}),
        (
            base + "/submit",
            {"csrf_token": token, "name": "Ab", "position": "Cd", "date": "2020-01-01"},
        ),
        (base + "/validate", {"csrf_token": token}),
        (base + "/return", {"csrf_token": token, "review-leadership": "x"}),
    ]
    answers = [outsider.get(path) for path in gets]
    answers += [outsider.post(path, data=data) for path, data in posts]
    for answer in answers:
        assert answer.status_code == 404, answer.request.url
        assert "Page not found" in answer.text
        for leaked in (secret, cycle, name):
            assert leaked not in answer.text
    assert stored(web, country["id"]).justification == secret
    assert name not in outsider.get("/").text


def test_hostile_and_multilingual_text_is_shown_escaped_and_bad_links_are_refused(web, country):
    client, url = country["client"], f"/assessments/{country['id']}{CAPABILITY}"
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    arabic, chinese = "استراتيجية وطنية معتمدة", "国家战略已获通过"
    refused = client.post(
        f"{url}/indicators/{INDICATOR}",
        data=save_form(
            client,
            country["token"],
            answer="2",
            justification=hostile,
            evidence_links="https://example.org/ok\njavascript:alert(document.cookie)",
        ),
    )
    assert refused.status_code == 422
    assert "Line 2: only complete http:// or https:// web addresses" in text_of(refused.text)
    assert "<script>alert" not in refused.text
    assert "&lt;script&gt;alert" in refused.text
    assert stored(web, country["id"]) is None

    saved = client.post(
        f"{url}/indicators/{INDICATOR}",
        data=save_form(
            client,
            country["token"],
            answer="2",
            justification=hostile,
            evidence_notes=f"{arabic}\n{chinese}",
            evidence_links="https://example.org/plan?a=1&b=<2>",
        ),
        follow_redirects=False,
    )
    assert saved.status_code == 303
    client.post(
        f"{url}/indicators/{INDICATOR}/comments",
        data={"csrf_token": country["token"], "body": hostile},
    )

    viewer = login(web, make_user(web, "viewer"))
    for page in (client.get(url).text, viewer.get(url).text):
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert" in page
        assert arabic in page and chinese in page
    read_only = viewer.get(url).text
    assert (
        '<a href="https://example.org/plan?a=1&amp;b=%3C2%3E" rel="noopener noreferrer nofollow"'
        ' target="_blank">'
        in read_only
        or '<a href="https://example.org/plan?a=1&amp;b=&lt;2&gt;" rel="noopener noreferrer '
        'nofollow" target="_blank">'
        in read_only
    )


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(web, country):
    client, url = country["client"], f"/assessments/{country['id']}{CAPABILITY}"
    for token in (None, "not-the-token"):
        data = save_form(client, "", answer="3")
        if token is None:
            data.pop("csrf_token")
        else:
            data["csrf_token"] = token
        answer = client.post(f"{url}/indicators/{INDICATOR}", data=data)
        assert answer.status_code == 403
        assert "You cannot do this" in answer.text
    comment = client.post(f"{url}/indicators/{INDICATOR}/comments", data={"body": "x"})
    assert comment.status_code == 403
    target = client.post(f"/assessments/{country['id']}/targets", data={"target-leadership": "3"})
    assert target.status_code == 403
    assert stored(web, country["id"]) is None
    with web.state.sessionmaker() as session:
        assessment = assessments.get_assessment(
            session, user=accounts.find_user(session, country["email"]), assessment_id=country["id"]
        )
        assert assessments.targets_of(session, assessment) == {}
        assert assessments.comments_of(session, assessment) == []


def test_carried_over_answers_are_flagged_and_confirmed_by_saving(web):
    email = make_user(web, "coordinator", country="XAC")
    first = new_assessment(web, email, country="XAC")
    with web.state.sessionmaker.begin() as session:
        user = accounts.find_user(session, email)
        assessments.save_answer(
            session,
            user=user,
            assessment_id=first,
            capability_id="leadership",
            indicator_id=INDICATOR,
            data=AnswerInput(version=0, response="unknown"),
        )
        second = assessments.create_assessment(
            session,
            user=user,
            data=AssessmentCreate(
                country_code="XAC", cycle=f"N{uuid.uuid4().hex[:6]}", start_from_previous=True
            ),
            catalogue_version_id=web.state.catalogue_version_id,
        ).id
    client = login(web, email)
    url = f"/assessments/{second}{CAPABILITY}"
    page = client.get(url).text
    assert "Carried over from the previous cycle — confirm" in page
    assert "Confirm this answer" in page
    confirmed = client.post(
        f"{url}/indicators/{INDICATOR}",
        data=save_form(client, csrf(client), answer="unknown", version="1", confirm="1"),
        follow_redirects=False,
    )
    assert confirmed.status_code == 303
    assert stored(web, second).carried_over is False
    assert "Carried over from the previous cycle — confirm" not in client.get(url).text


# ---------------------------------------------------------------- dashboard, workflow, accounts


def test_a_coordinator_starts_an_assessment_for_their_own_country_only(web):
    email = make_user(web, "coordinator", country="XAB")
    client = login(web, email)
    token = csrf(client)
    cycle = f"C{uuid.uuid4().hex[:6]}"
    bad = client.post("/assessments", data={"csrf_token": token, "cycle": "<bad>"})
    assert bad.status_code == 422
    assert "Enter a cycle such as 2026" in text_of(bad.text)
    made = client.post(
        "/assessments",
        data={"csrf_token": token, "cycle": cycle, "deadline": "2031-05-01", "country_code": "XAA"},
        follow_redirects=False,
    )
    assert made.status_code == 303
    overview = client.get(made.headers["location"])
    assert "Belmora (demo)" in overview.text  # XAB, whatever the form said
    dashboard = text_of(client.get("/").text)
    assert f"cycle {cycle}" in dashboard
    assert re.search(r"0 of \d+ answered \(0%\)", dashboard)
    assert "Draft" in dashboard and "1 May 2031" in dashboard


def test_submission_lists_what_is_missing_then_signs_off_and_locks_the_answers(web, country):
    client, base = country["client"], f"/assessments/{country['id']}"
    refused = client.post(
        f"{base}/submit",
        data={
            "csrf_token": country["token"],
            "name": "Ana Lima",
            "position": "Director",
            "date": date.today().isoformat(),
        },
    )
    assert refused.status_code == 422
    assert "Some indicators still need an answer" in text_of(refused.text)
    assert f'href="{base}{CAPABILITY}#ind-{INDICATOR}"' in refused.text

    catalogue = web.state.catalogue.catalogue
    with web.state.sessionmaker.begin() as session:
        user = accounts.find_user(session, country["email"])
        for capability_id, indicator_id in catalogue.indicator_keys():
            assessments.save_answer(
                session,
                user=user,
                assessment_id=country["id"],
                capability_id=capability_id,
                indicator_id=indicator_id,
                data=AnswerInput(version=0, response="level", level=1),
            )
    future = client.post(
        f"{base}/submit",
        data={
            "csrf_token": country["token"],
            "name": "A",
            "position": "Director",
            "date": "2999-01-01",
        },
    )
    assert future.status_code == 422
    assert 'id="name-error"' in future.text
    done = client.post(
        f"{base}/submit",
        data={
            "csrf_token": country["token"],
            "name": "Ana Lima",
            "position": "Director",
            "date": date.today().isoformat(),
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    overview = text_of(client.get(base).text)
    assert "Submitted" in overview and "Signed off by Ana Lima (Director)" in overview
    page = client.get(base + CAPABILITY).text
    assert "This assessment is Submitted" in text_of(page)
    assert 'type="radio"' not in page

    secretariat = login(web, make_user(web, "secretariat", country=None))
    token = csrf(secretariat)
    empty = secretariat.post(f"{base}/return", data={"csrf_token": token})
    assert empty.status_code == 422
    returned = secretariat.post(
        f"{base}/return",
        data={"csrf_token": token, "review-leadership": "Please attach the cabinet decision."},
        follow_redirects=False,
    )
    assert returned.status_code == 303
    back = text_of(client.get(base).text)
    assert "Returned for changes" in back
    assert "Please attach the cabinet decision." in back
    assert "Please attach the cabinet decision." in text_of(client.get(base + CAPABILITY).text)


def test_targets_are_set_per_capability_by_the_coordinator(web, country):
    client, base = country["client"], f"/assessments/{country['id']}"
    bad = client.post(
        f"{base}/targets", data={"csrf_token": country["token"], "target-leadership": "9"}
    )
    assert bad.status_code == 422
    ok = client.post(
        f"{base}/targets",
        data={"csrf_token": country["token"], "target-leadership": "3", "target-legislation": ""},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    page = client.get(base).text
    assert re.search(r'name="target-leadership"[^>]*>.*?<option value="3" selected>', page, re.S)
    assert "Target: level 3 (Established)" in text_of(client.get(base + CAPABILITY).text)


def test_api_tokens_are_shown_once_and_can_be_revoked(web):
    client = login(web, make_user(web, "contributor"))
    token = csrf(client)
    made = client.post("/account/tokens", data={"csrf_token": token, "name": "Spreadsheet"})
    secret = re.search(r'<code class="token-secret" id="new-token">([^<]+)</code>', made.text)
    assert secret and secret.group(1).startswith(accounts.API_TOKEN_PREFIX)
    assert "no-store" in made.headers["cache-control"]
    assert (
        TestClient(web)
        .get("/api/v1/me", headers={"Authorization": f"Bearer {secret.group(1)}"})
        .status_code
        == 200
    )
    listing = client.get("/account").text
    assert secret.group(1) not in listing and "Spreadsheet" in listing
    token_id = re.search(r'action="/account/tokens/(\d+)/revoke"', listing).group(1)
    client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": token})
    assert "Revoked" in client.get("/account").text
    assert (
        TestClient(web)
        .get("/api/v1/me", headers={"Authorization": f"Bearer {secret.group(1)}"})
        .status_code
        == 401
    )


def test_administrators_manage_users_and_nobody_else_can(web):
    assert login(web, make_user(web, "coordinator")).get("/admin/users").status_code == 403
    admin = login(web, make_user(web, "admin", country=None))
    token = csrf(admin)
    email = f"new-{uuid.uuid4().hex[:6]}@example.org"
    missing_country = admin.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "email": email,
            "full_name": "Li Wei",
            "role": "contributor",
            "password": PASSWORD,
        },
    )
    assert missing_country.status_code == 422
    assert "A national role needs a valid three-letter country code" in text_of(
        missing_country.text
    )
    created = admin.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "email": email,
            "full_name": "Li Wei",
            "role": "contributor",
            "country_code": "xab",
            "password": PASSWORD,
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    new_user = user_of(web, email)
    admin.post(
        f"/admin/users/{new_user.id}/role",
        data={"csrf_token": token, "role": "viewer", "country_code": "XAB"},
    )
    admin.post(f"/admin/users/{new_user.id}/active", data={"csrf_token": token, "active": "0"})
    changed = user_of(web, email)
    assert (changed.role, changed.is_active) == ("viewer", False)
    client = TestClient(web)
    form_token = login_form(client)
    assert (
        client.post(
            "/login", data={"email": email, "password": PASSWORD, "login_csrf": form_token}
        ).status_code
        == 401
    )


# ---------------------------------------------------------------- errors, headers, languages


def test_unknown_pages_get_an_html_not_found_and_the_api_keeps_json(web, country):
    page = country["client"].get("/no/such/page")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Page not found" in page.text
    api = country["client"].get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.headers["content-type"] == "application/json"


def test_pages_send_protective_headers(web, country):
    page = country["client"].get(f"/assessments/{country['id']}")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "no-store" in page.headers["cache-control"]
    assert page.headers["x-content-type-options"] == "nosniff"


def test_a_demo_site_says_so_on_every_page(database):
    application = create_app(Settings(database_url=database.url, demo_mode=True))
    with TestClient(application) as client:
        assert "Demonstration site" in client.get("/login").text


def test_a_new_language_needs_only_its_catalogue_and_arabic_reads_right_to_left(
    web, tmp_path, monkeypatch
):
    for locale, text in (("fr", "Se connecter"), ("ar", "تسجيل الدخول")):
        folder = tmp_path / locale / "LC_MESSAGES"
        folder.mkdir(parents=True)
        (folder / "messages.po").write_text(
            f'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
            f'msgid "Log in"\nmsgstr "{text}"\n',
            encoding="utf-8",
        )
    monkeypatch.setattr(i18n, "TRANSLATIONS_DIR", tmp_path)
    i18n.available_locales.cache_clear()
    i18n.translations.cache_clear()
    try:
        client = TestClient(web)
        french = client.get("/login", headers={"Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"})
        assert '<html lang="fr" dir="ltr">' in french.text
        assert "Se connecter" in french.text
        arabic = client.get("/login", headers={"Accept-Language": "ar"})
        assert '<html lang="ar" dir="rtl">' in arabic.text
        assert "تسجيل الدخول" in arabic.text
        english = client.get("/login", headers={"Accept-Language": "de"})
        assert '<html lang="en" dir="ltr">' in english.text
    finally:
        i18n.available_locales.cache_clear()
        i18n.translations.cache_clear()


def test_the_message_catalogue_template_is_up_to_date(tmp_path):
    """Every text of the pages is in messages.pot, so translators see all of it."""
    fresh = tmp_path / "messages.pot"
    subprocess.run(
        [
            str(Path(sys.executable).with_name("pybabel")),
            "-q",
            "extract",
            "-F",
            "app/babel.cfg",
            "-k",
            "lazy_gettext",
            "-o",
            str(fresh),
            "--no-location",
            "--sort-output",
            "--project",
            "gsr-assess",
            "--copyright-holder",
            "the gsr-assess authors",
            "app/web",
            "app/reporting",
            "app/countries",
            "app/accounts",
            "reports",
        ],
        cwd=PROJECT_ROOT,
        check=True,
    )

    def ids(path: Path) -> set[str]:
        return set(re.findall(r'^msgid "(.+)"$', path.read_text(encoding="utf-8"), re.M))

    committed = ids(PROJECT_ROOT / "app/translations/messages.pot")
    assert ids(fresh) == committed, "run the pybabel extract command in app/babel.cfg"


def test_a_user_chooses_a_language_or_follows_the_browser(web):
    email = make_user(web, "viewer")
    client = login(web, email)
    token = csrf(client)
    assert 'value="" selected' in client.get("/account").text
    saved = client.post(
        "/account/language", data={"csrf_token": token, "locale": "en"}, follow_redirects=True
    )
    assert "Language saved." in saved.text
    assert user_of(web, email).locale == "en"
    refused = client.post("/account/language", data={"csrf_token": token, "locale": "xx"})
    assert refused.status_code == 422 and user_of(web, email).locale == "en"
    client.post("/account/language", data={"csrf_token": token, "locale": ""})
    assert user_of(web, email).locale is None
