"""In a real browser, at desktop and phone width, as each role: every action's confirmation is
on screen after the action (not at the top of a page scrolled elsewhere), compressed pages and
fingerprinted assets arrive as promised, and axe finds nothing critical or serious."""

from __future__ import annotations

import re
import uuid
from datetime import date

import pytest

from app.accounts import service as accounts
from app.assessments import service as assessments
from app.assessments.schemas import AnswerInput, SignOff
from tests.e2e import test_browser_questionnaire as shared
from tests.e2e.test_browser_questionnaire import (
    PASSWORD,
    SHOTS,
    make_user,
    new_assessment,
    sync_api,
)

# The questionnaire's browser and server, started once more for this module.
browser = shared.browser
server = shared.server
pytestmark = pytest.mark.e2e
axe_playwright = pytest.importorskip("axe_playwright_python.sync_playwright")

WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
CAPABILITY = "/areas/policy/capabilities/leadership"


@pytest.fixture(params=list(WIDTHS))
def width(request) -> str:
    return request.param


def open_as(browser, server, email: str, width: str):
    columns, rows = WIDTHS[width]
    context = browser.new_context(viewport={"width": columns, "height": rows}, locale="en-GB")
    page = context.new_page()
    page.goto(server["url"] + "/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(server["url"] + "/")
    return context, page


def serious_violations(page) -> list[str]:
    results = axe_playwright.Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']]}"
        for v in results.response["violations"]
        if v["impact"] in ("critical", "serious")
    ]


def in_view(locator) -> None:
    sync_api.expect(locator).to_be_visible()
    sync_api.expect(locator).to_be_in_viewport()


def answer_all(server, email: str, assessment_id: int) -> None:
    with server["app"].state.sessionmaker.begin() as session:
        user = accounts.find_user(session, email)
        for capability_id, indicator_id in server["app"].state.catalogue.catalogue.indicator_keys():
            assessments.save_answer(
                session,
                user=user,
                assessment_id=assessment_id,
                capability_id=capability_id,
                indicator_id=indicator_id,
                data=AnswerInput(version=0, response="level", level=2),
            )


def submitted(server, country: str = "XAA") -> int:
    coordinator = make_user(server, "coordinator", country=country)
    assessment_id = new_assessment(server, coordinator, country=country)
    answer_all(server, coordinator, assessment_id)
    with server["app"].state.sessionmaker.begin() as session:
        assessments.submit(
            session,
            user=accounts.find_user(session, coordinator),
            assessment_id=assessment_id,
            signoff=SignOff(name="Ana Lima", position="Director", date=date.today()),
        )
    return assessment_id


def status(server, assessment_id: int) -> str:
    from app.assessments.models import Assessment

    with server["app"].state.sessionmaker() as session:
        return session.get(Assessment, assessment_id).status


# ---------------------------------------------------------------- the country's team


def test_the_coordinators_actions_are_confirmed_in_view(browser, server, width):
    coordinator = make_user(server, "coordinator")
    name = f"Amara Diallo {uuid.uuid4().hex[:4]}"
    make_user(server, "contributor", name=name)
    assessment_id = new_assessment(server, coordinator)
    context, page = open_as(browser, server, coordinator, width)
    overview = f"{server['url']}/assessments/{assessment_id}"
    first = page.goto(overview)
    assert first.headers.get("content-encoding") in ("br", "zstd", "gzip")

    # An area far down the page: the confirmation must come back where the form was.
    card = page.locator("#area-research")
    card.get_by_label("Assign a contributor").select_option(label=name)
    card.get_by_role("button", name="Assign").click()
    page.wait_for_url(re.compile(r"done=assigned"))
    notice = page.locator("#notice-area-research")
    in_view(notice)
    sync_api.expect(notice).to_have_text(
        f"{name} is now assigned to Research and insight and can answer its indicators."
    )
    sync_api.expect(notice).to_have_attribute("role", "status")
    assert page.evaluate("window.scrollY") > 0  # the page did scroll down to it
    page.screenshot(path=str(SHOTS / f"gsr-assigned-{width}.png"))
    assert serious_violations(page) == []

    card.get_by_role("button", name=re.compile("Remove")).click()
    page.wait_for_url(re.compile(r"done=unassigned"))
    in_view(page.locator("#notice-area-research"))
    sync_api.expect(page.locator("#notice-area-research")).to_contain_text("no longer assigned")

    target = "Target level for Accountable, resourced national leadership"
    page.get_by_label(target).select_option("3")
    page.get_by_role("button", name="Save targets").click()
    page.wait_for_url(re.compile(r"done=targets"))
    in_view(page.locator("#notice-targets"))
    sync_api.expect(page.locator("#notice-targets")).to_contain_text("1 target saved.")
    page.screenshot(path=str(SHOTS / f"gsr-targets-saved-{width}.png"))

    answer_all(server, coordinator, assessment_id)
    page.goto(f"{overview}/submit")
    page.get_by_label("Position").fill("Director of child protection")
    page.get_by_role("button", name="Sign off and submit").click()
    page.wait_for_url(re.compile(r"done=submitted"))
    message = page.locator("main > .notice[role=status]")
    in_view(message)
    sync_api.expect(message).to_contain_text("The alliance secretariat will now review")
    assert serious_violations(page) == []
    context.close()


def test_a_posted_comment_is_open_and_confirmed_in_view(browser, server, width):
    coordinator = make_user(server, "coordinator")
    contributor = make_user(server, "contributor")
    assessment_id = new_assessment(server, coordinator)
    context, page = open_as(browser, server, contributor, width)
    page.goto(f"{server['url']}/assessments/{assessment_id}{CAPABILITY}")
    # The last indicator's comments: the furthest down the page.
    comments = page.locator("details.comments").last
    comments.locator("summary").click()
    comments.get_by_label("Add a comment").fill("Who chairs the national committee?")
    comments.get_by_role("button", name="Add comment").click()
    page.wait_for_url(re.compile(r"commented="))
    comments = page.locator("details.comments[open]")
    sync_api.expect(comments).to_have_count(1)
    sync_api.expect(comments).to_contain_text("Who chairs the national committee?")
    notice = comments.locator(".notice[role=status]")
    in_view(notice)
    sync_api.expect(notice).to_have_text(
        "Your comment was posted. Everyone who can open this assessment sees it here."
    )
    in_view(comments.get_by_text("Who chairs the national committee?"))
    page.screenshot(path=str(SHOTS / f"gsr-comment-posted-{width}.png"))
    assert serious_violations(page) == []
    context.close()


# ---------------------------------------------------------------- the secretariat


def test_validation_is_asked_first_then_confirmed_in_view(browser, server, width):
    assessment_id = submitted(server)
    staff = make_user(server, "secretariat", country=None)
    context, page = open_as(browser, server, staff, width)
    page.goto(f"{server['url']}/assessments/{assessment_id}")
    page.get_by_role("link", name="Validate this assessment…").click()
    page.wait_for_url(re.compile(r"/validate$"))
    in_view(page.locator("#validate-warning"))
    in_view(page.get_by_role("button", name="Yes, validate the assessment"))
    assert status(server, assessment_id) == "submitted"
    page.screenshot(path=str(SHOTS / f"gsr-validate-question-{width}.png"))
    assert serious_violations(page) == []

    page.get_by_role("button", name="Yes, validate the assessment").click()
    page.wait_for_url(re.compile(r"done=validated"))
    message = page.locator("main > .notice[role=status]")
    in_view(message)
    sync_api.expect(message).to_contain_text("Validated. The assessment is final")
    assert status(server, assessment_id) == "validated"
    context.close()


def test_returning_for_changes_is_confirmed_in_view(browser, server, width):
    assessment_id = submitted(server)
    staff = make_user(server, "secretariat", country=None)
    context, page = open_as(browser, server, staff, width)
    page.goto(f"{server['url']}/assessments/{assessment_id}")
    # An empty form first: the refusal is shown where the form is, not at the top.
    page.get_by_role("button", name="Return to the country with these comments").click()
    error = page.locator("#review [role=alert]")
    in_view(error)
    page.locator("#review textarea").last.fill("Add the latest survey, please.")
    page.get_by_role("button", name="Return to the country with these comments").click()
    page.wait_for_url(re.compile(r"done=returned"))
    message = page.locator("main > .notice[role=status]")
    in_view(message)
    sync_api.expect(message).to_contain_text("with 1 comment.")
    assert status(server, assessment_id) == "returned"
    page.screenshot(path=str(SHOTS / f"gsr-returned-{width}.png"))
    assert serious_violations(page) == []
    context.close()


def test_style_sheet_and_script_come_fingerprinted_and_long_cached(browser, server):
    email = make_user(server, "coordinator")
    assessment_id = new_assessment(server, email)
    context, page = open_as(browser, server, email, "desktop")
    assets = {}
    page.on(
        "response",
        lambda answer: assets.update({answer.url: answer}) if "/static/" in answer.url else None,
    )
    page.goto(f"{server['url']}/assessments/{assessment_id}{CAPABILITY}")
    page.wait_for_load_state("load")
    names = {re.sub(r".*/static/", "", url) for url in assets}
    assert any(re.fullmatch(r"app\.[0-9a-f]{10}\.css", n) for n in names), names
    assert any(re.fullmatch(r"app\.[0-9a-f]{10}\.js", n) for n in names), names
    for answer in assets.values():
        headers = answer.all_headers()
        assert headers["cache-control"] == "public, max-age=31536000, immutable"
        assert headers["content-encoding"] in ("br", "zstd", "gzip")
    # The style sheet applied: the page is styled, not raw HTML.
    assert page.evaluate("getComputedStyle(document.body).fontFamily") != "Times New Roman"
    context.close()
