"""Every action says what it did, where it was done: driven through the forms, without JS."""

from __future__ import annotations

import re
import uuid
from datetime import date
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from app.accounts import service as accounts
from app.assessments import service as assessments
from app.assessments.schemas import AnswerInput, SignOff
from app.core.config import PROJECT_ROOT, Settings
from app.main import create_app
from app.web.answers import FIELD_NAMES, describe
from app.web.pages.questionnaire import HISTORY_FIELDS
from tests.web.test_web_pages import csrf, login, make_user, new_assessment, text_of

CAPABILITY = "/areas/policy/capabilities/leadership"
INDICATOR = "national-strategy"


@pytest.fixture(scope="module")
def web(database):
    application = create_app(Settings(database_url=database.url, demo_mode=False))
    with TestClient(application):
        yield application


def section(page: str, element_id: str) -> str:
    """The markup of the element with element_id, up to the next element of the same kind."""
    start = page.index(f'id="{element_id}"')
    tag_start = page.rindex("<", 0, start)
    tag = re.match(r"<(\w+)", page[tag_start:]).group(1)
    depth, position = 0, tag_start
    for found in re.finditer(rf"<(/?){tag}\b[^>]*>", page[tag_start:]):
        depth += -1 if found.group(1) else 1
        if depth == 0:
            position = tag_start + found.end()
            break
    return page[tag_start:position]


def notice_in(page: str, element_id: str) -> str:
    """The text of the confirmation inside the element with element_id ('' if none)."""
    found = re.search(
        r'<p class="notice notice--ok notice--here" id="([^"]+)" role="status"[^>]*>(.*?)</p>',
        section(page, element_id),
        re.S,
    )
    return text_of(found.group(2)).strip() if found else ""


def top_message(page: str) -> str:
    found = re.search(r'<p class="notice notice--ok" role="status">(.*?)</p>', page, re.S)
    return text_of(found.group(1)).strip() if found else ""


def follow(client: TestClient, answer) -> tuple[str, str]:
    """The redirect's target (path and query) and anchor, and the page it leads to."""
    assert answer.status_code == 303, answer.text[:500]
    parts = urlsplit(answer.headers["location"])
    return parts.fragment, client.get(f"{parts.path}?{parts.query}").text


def answer_everything(web, email: str, assessment_id: int) -> None:
    with web.state.sessionmaker.begin() as session:
        user = accounts.find_user(session, email)
        for capability_id, indicator_id in web.state.catalogue.catalogue.indicator_keys():
            assessments.save_answer(
                session,
                user=user,
                assessment_id=assessment_id,
                capability_id=capability_id,
                indicator_id=indicator_id,
                data=AnswerInput(version=0, response="level", level=2),
            )


def submitted_assessment(web) -> tuple[str, int]:
    coordinator = make_user(web, "coordinator")
    assessment_id = new_assessment(web, coordinator)
    answer_everything(web, coordinator, assessment_id)
    with web.state.sessionmaker.begin() as session:
        assessments.submit(
            session,
            user=accounts.find_user(session, coordinator),
            assessment_id=assessment_id,
            signoff=SignOff(name="Ana Lima", position="Director", date=date.today()),
        )
    return coordinator, assessment_id


def status(web, assessment_id: int) -> str:
    from app.assessments.models import Assessment

    with web.state.sessionmaker() as session:
        return session.get(Assessment, assessment_id).status


# ---------------------------------------------------------------- the coordinator's forms


def test_an_assignment_is_confirmed_inside_its_area_with_the_persons_name(web):
    coordinator = make_user(web, "coordinator")
    name = f"Amara Diallo {uuid.uuid4().hex[:6]}"
    make_user(web, "contributor", name=name)
    assessment_id = new_assessment(web, coordinator)
    client = login(web, coordinator)
    base = f"/assessments/{assessment_id}"
    page = client.get(base).text
    assert f'action="{base}/assignments#area-policy"' in page
    amara = re.search(
        rf'<select id="assign-policy".*?<option value="(\d+)">{name}</option>', page, re.S
    ).group(1)

    anchor, page = follow(
        client,
        client.post(
            f"{base}/assignments",
            data={"csrf_token": csrf(client), "area_id": "policy", "user_id": amara},
            follow_redirects=False,
        ),
    )
    # The browser lands on the message itself, inside the area's card, beside its form.
    assert anchor == "notice-area-policy"
    assert notice_in(page, "area-policy") == (
        f"{name} is now assigned to Policy and legislation and can answer its indicators."
    )
    assert 'id="notice-area-policy"' in section(page, "area-policy")
    assert top_message(page) == ""
    for other in web.state.catalogue.catalogue.areas[1:]:
        assert notice_in(page, f"area-{other.id}") == ""

    assignment = re.search(rf'action="{base}/assignments/(\d+)/delete"', page).group(1)
    anchor, page = follow(
        client,
        client.post(
            f"{base}/assignments/{assignment}/delete",
            data={"csrf_token": csrf(client)},
            follow_redirects=False,
        ),
    )
    assert anchor == "notice-area-policy"
    assert notice_in(page, "area-policy") == (
        f"{name} is no longer assigned to Policy and legislation. The answers they gave stay."
    )


def test_a_refused_assignment_says_why_in_its_area_and_a_crafted_link_names_nobody(web):
    coordinator = make_user(web, "coordinator")
    assessment_id = new_assessment(web, coordinator)
    client = login(web, coordinator)
    base = f"/assessments/{assessment_id}"
    refused = client.post(
        f"{base}/assignments",
        data={"csrf_token": csrf(client), "area_id": "policy", "user_id": "abc"},
    )
    assert refused.status_code == 422
    assert "Choose a contributor of your country." in text_of(section(refused.text, "area-policy"))
    # Somebody of another country, or nobody assigned: the link says nothing at all.
    with web.state.sessionmaker() as session:
        stranger = accounts.find_user(session, make_user(web, "contributor", country="XAB"))
    crafted = client.get(f"{base}?done=assigned&area=policy&person={stranger.id}").text
    assert notice_in(crafted, "area-policy") == ""
    assert stranger.full_name not in crafted
    assert notice_in(client.get(f"{base}?done=assigned&area=nope&person=1").text, "targets") == ""


def test_saving_targets_is_confirmed_beside_the_targets_with_what_changed(web):
    coordinator = make_user(web, "coordinator")
    assessment_id = new_assessment(web, coordinator)
    client = login(web, coordinator)
    base = f"/assessments/{assessment_id}"
    form = {"csrf_token": csrf(client), "target-leadership": "3", "target-legislation": "2"}
    anchor, page = follow(client, client.post(f"{base}/targets", data=form, follow_redirects=False))
    assert anchor == "notice-targets"
    message = re.search(r'<h2 id="targets">.*?</h2>\s*(<p[^>]*>.*?</p>)', page, re.S).group(1)
    assert 'role="status"' in message
    assert text_of(message).strip() == (
        "2 targets saved. Draft the action plan again on its page to plan for the changes."
    )
    form["csrf_token"] = csrf(client)
    _anchor, page = follow(
        client, client.post(f"{base}/targets", data=form, follow_redirects=False)
    )
    assert "No target was changed." in page


# ---------------------------------------------------------------- the workflow


def test_submitting_says_who_reviews_next_and_that_answers_are_read_only(web):
    coordinator = make_user(web, "coordinator")
    assessment_id = new_assessment(web, coordinator)
    answer_everything(web, coordinator, assessment_id)
    client = login(web, coordinator)
    base = f"/assessments/{assessment_id}"
    crafted = client.get(f"{base}?done=submitted").text
    assert top_message(crafted) == ""  # not true yet, so not said
    answer = client.post(
        f"{base}/submit",
        data={
            "csrf_token": csrf(client),
            "name": "Ana Lima",
            "position": "Director",
            "date": date.today().isoformat(),
        },
        follow_redirects=False,
    )
    anchor, page = follow(client, answer)
    assert anchor == ""
    assert top_message(page).startswith("Submitted. The alliance secretariat will now review")
    assert "Until then the answers are read-only." in top_message(page)


def test_validating_asks_first_and_a_form_that_skipped_the_question_validates_nothing(web):
    _coordinator, assessment_id = submitted_assessment(web)
    base = f"/assessments/{assessment_id}"
    staff = login(web, make_user(web, "secretariat", country=None))
    overview = staff.get(base).text
    assert f'href="{base}/validate"' in overview
    assert f'action="{base}/validate"' not in overview  # no one-click validation

    question = staff.get(f"{base}/validate")
    assert question.status_code == 200
    shown = text_of(question.text)
    assert "Validation is final and cannot be undone" in shown
    assert "Ana Lima (Director)" in shown
    assert re.search(r'name="confirm" value="yes"', question.text)
    assert f'href="{base}#review"' in question.text

    skipped = staff.post(f"{base}/validate", data={"csrf_token": csrf(staff)})
    assert skipped.status_code == 200
    assert "Validation is final and cannot be undone" in text_of(skipped.text)
    assert status(web, assessment_id) == "submitted"

    answer = staff.post(
        f"{base}/validate",
        data={"csrf_token": csrf(staff), "confirm": "yes"},
        follow_redirects=False,
    )
    _anchor, page = follow(staff, answer)
    assert status(web, assessment_id) == "validated"
    assert top_message(page).startswith("Validated. The assessment is final and read-only")
    # Asked again once it is validated, the question is refused rather than offered.
    assert staff.get(f"{base}/validate").status_code == 403


def test_only_alliance_staff_are_asked_to_validate(web):
    coordinator, assessment_id = submitted_assessment(web)
    base = f"/assessments/{assessment_id}"
    own = login(web, coordinator)
    assert own.get(f"{base}/validate").status_code == 403
    outsider = login(web, make_user(web, "coordinator", country="XAB"))
    assert outsider.get(f"{base}/validate").status_code == 404
    assert status(web, assessment_id) == "submitted"


def test_returning_says_how_many_comments_went_back_and_what_happens_next(web):
    _coordinator, assessment_id = submitted_assessment(web)
    base = f"/assessments/{assessment_id}"
    staff = login(web, make_user(web, "secretariat", country=None))
    page = staff.get(base).text
    assert f'action="{base}/return#review"' in page
    empty = staff.post(f"{base}/return", data={"csrf_token": csrf(staff)})
    assert empty.status_code == 422
    assert "Write at least one comment" in text_of(section(empty.text, "review"))
    answer = staff.post(
        f"{base}/return",
        data={
            "csrf_token": csrf(staff),
            "review-leadership": "Attach the cabinet decision.",
            "review-legislation": "Which statute?",
        },
        follow_redirects=False,
    )
    _anchor, page = follow(staff, answer)
    assert top_message(page) == (
        "Returned to Arvenia (demo) with 2 comments. Its coordinator can change the answers and "
        "submit again; it comes back to you for review then."
    )


# ---------------------------------------------------------------- comments and history


def test_a_posted_comment_is_shown_open_with_a_confirmation_beside_it(web):
    coordinator = make_user(web, "coordinator")
    assessment_id = new_assessment(web, coordinator)
    client = login(web, coordinator)
    url = f"/assessments/{assessment_id}{CAPABILITY}"
    before = client.get(url).text
    assert '<details class="comments" id="comments-national-strategy" >' in before
    answer = client.post(
        f"{url}/indicators/{INDICATOR}/comments",
        data={"csrf_token": csrf(client), "body": "Who chairs the committee?"},
        follow_redirects=False,
    )
    anchor, page = follow(client, answer)
    assert anchor == f"comment-posted-{INDICATOR}"
    comments = section(page, f"comments-{INDICATOR}")
    assert comments.startswith(f'<details class="comments" id="comments-{INDICATOR}" open>')
    assert "Who chairs the committee?" in comments
    assert notice_in(page, f"comments-{INDICATOR}") == (
        "Your comment was posted. Everyone who can open this assessment sees it here."
    )
    # Only the indicator commented on opens.
    assert '<details class="comments" id="comments-accountable-lead" >' in page


def test_every_field_in_the_history_has_a_label(web):
    coordinator = make_user(web, "coordinator")
    assessment_id = new_assessment(web, coordinator)
    client = login(web, coordinator)
    url = f"/assessments/{assessment_id}{CAPABILITY}"
    with web.state.sessionmaker.begin() as session:
        user = accounts.find_user(session, coordinator)
        for version, data in enumerate(
            (
                {"response": "level", "level": 3, "confidence": "documented"},
                {
                    "response": "level",
                    "level": 2,
                    "justification": "Reviewed in 2026.",
                    "evidence_notes": "Minutes of the board.",
                    "evidence_links": ["https://example.org/minutes"],
                    "confidence": "verified",
                },
            )
        ):
            assessments.save_answer(
                session,
                user=user,
                assessment_id=assessment_id,
                capability_id="leadership",
                indicator_id=INDICATOR,
                data=AnswerInput(version=version, **data),
            )
    history = text_of(section(client.get(url).text, f"history-{INDICATOR}"))
    assert "Answer: Level 3 · Established → Level 2 · Developing" in history
    assert "Justification: Reviewed in 2026." in history
    assert "Evidence notes: Minutes of the board." in history
    assert "Evidence links: https://example.org/minutes" in history
    assert "Confidence: Documented → Independently verified" in history
    assert not re.search(r"(^|\s): ", history), history


def test_every_described_field_has_a_name_the_translators_get(web):
    shown = describe({"response": "unknown"}, web.state.catalogue.catalogue, "en")
    assert set(shown) == set(FIELD_NAMES) == set(HISTORY_FIELDS)
    template = (PROJECT_ROOT / "app/translations/messages.pot").read_text(encoding="utf-8")
    for name in FIELD_NAMES.values():
        assert f'msgid "{name.message}"' in template
