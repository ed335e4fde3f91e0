"""Browser tests: Debian's chromium drives a real server, JavaScript autosave included."""

from __future__ import annotations

import re
import socket
import threading
import time
import uuid
from datetime import date
from pathlib import Path

import pytest

from app.accounts import service as accounts
from app.assessments import service as assessments
from app.assessments.models import Answer
from app.assessments.schemas import AnswerInput, AssessmentCreate
from app.core.config import Settings
from app.main import create_app

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        "browser tests need Debian's chromium at /usr/bin/chromium (apt-get install chromium)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
uvicorn = pytest.importorskip("uvicorn")

pytestmark = pytest.mark.e2e
PASSWORD = "a long enough password"
CAPABILITY = "/areas/policy/capabilities/leadership"
SHOTS = Path("/tmp")


@pytest.fixture(scope="module")
def server(make_migrated_database):
    """A real uvicorn server on a fresh, migrated SQLite database."""
    database = make_migrated_database("sqlite")
    application = create_app(Settings(database_url=database.url, demo_mode=True))
    # The socket is bound here, on a port the system picks, and handed to the server: no
    # other process (a parallel test worker) can take the port between choosing and binding.
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    config = uvicorn.Config(application, log_level="warning")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, kwargs={"sockets": [listening]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not instance.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield {"url": f"http://127.0.0.1:{port}", "app": application}
    instance.should_exit = True
    thread.join(timeout=10)
    listening.close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield chromium
        chromium.close()


def make_user(server, role: str, country: str = "XAA", name: str | None = None) -> str:
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.org"
    with server["app"].state.sessionmaker.begin() as session:
        accounts.create_user(
            session,
            email=email,
            full_name=name or role.title(),
            role=role,
            country_code=country,
            password=PASSWORD,
        )
    return email


def new_assessment(server, coordinator: str, country: str = "XAA") -> int:
    with server["app"].state.sessionmaker.begin() as session:
        return assessments.create_assessment(
            session,
            user=accounts.find_user(session, coordinator),
            data=AssessmentCreate(
                country_code=country, cycle=f"E{uuid.uuid4().hex[:6]}", deadline=date(2031, 6, 30)
            ),
            catalogue_version_id=server["app"].state.catalogue_version_id,
        ).id


def stored(server, assessment_id: int, indicator_id: str, capability_id: str = "leadership"):
    with server["app"].state.sessionmaker() as session:
        return (
            session.query(Answer)
            .filter_by(
                assessment_id=assessment_id,
                capability_id=capability_id,
                indicator_id=indicator_id,
            )
            .one_or_none()
        )


def log_in(browser, server, email: str, width: int = 1280, shot: str | None = None):
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.goto(server["url"] + "/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    if shot:
        page.screenshot(path=str(SHOTS / shot), full_page=True)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(server["url"] + "/")
    return context, page


def indicator(page, indicator_id: str):
    return page.locator(f"#ind-{indicator_id}")


def state_of(page, indicator_id: str):
    return indicator(page, indicator_id).locator("[data-save-state]")


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


# ---------------------------------------------------------------- tests


def test_a_contributor_answers_with_autosave_and_finds_the_answers_after_reload(browser, server):
    coordinator = make_user(server, "coordinator")
    contributor = make_user(server, "contributor", name="Amara Diallo")
    assessment_id = new_assessment(server, coordinator)
    with server["app"].state.sessionmaker.begin() as session:
        assessments.assign_area(
            session,
            user=accounts.find_user(session, coordinator),
            assessment_id=assessment_id,
            area_id="policy",
            contributor_id=accounts.find_user(session, contributor).id,
        )
    context, page = log_in(browser, server, contributor, shot="gsr-login.png")
    page.screenshot(path=str(SHOTS / "gsr-dashboard.png"), full_page=True)
    page.goto(f"{server['url']}/assessments/{assessment_id}{CAPABILITY}")
    page.screenshot(path=str(SHOTS / "gsr-questionnaire-top.png"))

    first = indicator(page, "national-strategy")
    first.get_by_label(re.compile(r"Level 2 · Developing")).check()
    sync_api.expect(state_of(page, "national-strategy")).to_have_text("Saved")
    first.get_by_label("Justification").fill("Adopted by cabinet; يشمل جميع القطاعات; 已通过")
    first.get_by_label("Evidence links").fill("https://example.org/plan")
    first.get_by_label("Confidence").select_option("documented")
    sync_api.expect(state_of(page, "national-strategy")).to_have_text("Saved", timeout=10_000)

    second = indicator(page, "accountable-lead")
    second.get_by_label("Not applicable").check()
    sync_api.expect(state_of(page, "accountable-lead")).to_contain_text("Not saved")
    sync_api.expect(second.locator('[data-error-for="justification"]')).to_contain_text(
        "Explain why this indicator does not apply"
    )
    second.get_by_label("Justification").fill("The lead role is set by the constitution.")
    sync_api.expect(state_of(page, "accountable-lead")).to_have_text("Saved", timeout=10_000)
    sync_api.expect(second.locator('[data-error-for="justification"]')).to_have_text("")
    page.screenshot(path=str(SHOTS / "gsr-questionnaire-desktop.png"), full_page=False)

    page.reload()
    first = indicator(page, "national-strategy")
    sync_api.expect(first.get_by_label(re.compile(r"Level 2 · Developing"))).to_be_checked()
    sync_api.expect(first.get_by_label("Justification")).to_have_value(
        "Adopted by cabinet; يشمل جميع القطاعات; 已通过"
    )
    sync_api.expect(first.get_by_label("Confidence")).to_have_value("documented")
    sync_api.expect(
        indicator(page, "accountable-lead").get_by_label("Not applicable")
    ).to_be_checked()
    answer = stored(server, assessment_id, "national-strategy")
    assert (answer.level, answer.evidence_links, answer.confidence) == (
        2,
        ["https://example.org/plan"],
        "documented",
    )
    assert stored(server, assessment_id, "accountable-lead").response == "not_applicable"

    other = (
        f"{server['url']}/assessments/{assessment_id}"
        "/areas/criminal-justice/capabilities/dedicated-officers"
    )
    page.goto(other)
    sync_api.expect(page.locator("#read-only-note")).to_contain_text("not assigned to you")
    assert page.locator('input[type="radio"]').count() == 0

    narrow = browser.new_context(
        viewport={"width": 360, "height": 740}, storage_state=context.storage_state()
    )
    phone = narrow.new_page()
    phone.goto(f"{server['url']}/assessments/{assessment_id}{CAPABILITY}")
    phone.screenshot(path=str(SHOTS / "gsr-questionnaire-360.png"), full_page=False)
    assert no_horizontal_scroll(phone)
    phone.locator("#ind-national-strategy legend").scroll_into_view_if_needed()
    phone.screenshot(path=str(SHOTS / "gsr-questionnaire-360-form.png"), full_page=False)
    phone.goto(server["url"] + "/")
    phone.screenshot(path=str(SHOTS / "gsr-dashboard-360.png"), full_page=True)
    assert no_horizontal_scroll(phone)
    phone.goto(f"{server['url']}/assessments/{assessment_id}")
    assert no_horizontal_scroll(phone)
    narrow.close()
    context.close()


def test_two_people_editing_one_answer_see_the_conflict_and_choose(browser, server):
    first_email = make_user(server, "coordinator", name="Ngozi Adeyemi")
    second_email = make_user(server, "coordinator", name="Tomás Herrera")
    assessment_id = new_assessment(server, first_email)
    url = f"{server['url']}/assessments/{assessment_id}{CAPABILITY}"
    first_context, first = log_in(browser, server, first_email)
    second_context, second = log_in(browser, server, second_email)
    first.goto(url)
    second.goto(url)

    indicator(first, "coordination").get_by_label(re.compile(r"Level 1 · Building")).check()
    sync_api.expect(state_of(first, "coordination")).to_have_text("Saved")

    mine = indicator(second, "coordination")
    mine.get_by_label(re.compile(r"Level 3 · Established")).check()
    sync_api.expect(state_of(second, "coordination")).to_contain_text("someone else changed")
    conflict = mine.locator("[data-conflict]")
    sync_api.expect(conflict.locator('[data-version="theirs"]')).to_contain_text(
        "Level 1 · Building"
    )
    sync_api.expect(conflict.locator('[data-version="theirs"]')).to_contain_text("Ngozi Adeyemi")
    sync_api.expect(conflict.locator('[data-version="mine"]')).to_contain_text(
        "Level 3 · Established"
    )
    second.screenshot(path=str(SHOTS / "gsr-conflict.png"), full_page=False)
    conflict.get_by_role("button", name="Use mine").click()
    sync_api.expect(state_of(second, "coordination")).to_have_text("Saved")
    assert stored(server, assessment_id, "coordination").level == 3

    # The first person is now behind: their next change meets the second person's answer.
    theirs_now = indicator(first, "coordination")
    theirs_now.get_by_label("Justification").fill("Quarterly meetings since 2024.")
    sync_api.expect(state_of(first, "coordination")).to_contain_text(
        "someone else changed", timeout=10_000
    )
    conflict = theirs_now.locator("[data-conflict]")
    sync_api.expect(conflict.locator('[data-version="theirs"]')).to_contain_text("Tomás Herrera")
    conflict.get_by_role("button", name="Keep theirs").click()
    sync_api.expect(theirs_now.get_by_label(re.compile(r"Level 3 · Established"))).to_be_checked()
    sync_api.expect(theirs_now.get_by_label("Justification")).to_have_value("")
    answer = stored(server, assessment_id, "coordination")
    assert (answer.level, answer.justification, answer.version) == (3, "", 2)

    # Keeping theirs leaves the form on the current version: the next change saves.
    theirs_now.get_by_label("Justification").fill("Agreed after the conflict.")
    sync_api.expect(state_of(first, "coordination")).to_have_text("Saved", timeout=10_000)
    assert (
        stored(server, assessment_id, "coordination").justification == "Agreed after the conflict."
    )
    first_context.close()
    second_context.close()


def test_without_javascript_a_conflict_is_shown_on_its_own_page(browser, server):
    email = make_user(server, "coordinator", name="Li Wei")
    assessment_id = new_assessment(server, email)
    with server["app"].state.sessionmaker.begin() as session:
        assessments.save_answer(
            session,
            user=accounts.find_user(session, email),
            assessment_id=assessment_id,
            capability_id="leadership",
            indicator_id="dedicated-budget",
            data=AnswerInput(version=0, response="level", level=2, justification="Budget line 12"),
        )
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    page.goto(server["url"] + "/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{server['url']}/assessments/{assessment_id}{CAPABILITY}")
    form = indicator(page, "dedicated-budget")
    # Someone else saves while the page is open, so the page's version is now stale.
    with server["app"].state.sessionmaker.begin() as session:
        assessments.save_answer(
            session,
            user=accounts.find_user(session, email),
            assessment_id=assessment_id,
            capability_id="leadership",
            indicator_id="dedicated-budget",
            data=AnswerInput(version=1, response="level", level=3, justification="Budget line 14"),
        )
    form.get_by_label(re.compile(r"Level 4 · Mature")).check()
    form.get_by_role("button", name="Save").click()
    sync_api.expect(page.locator("h1")).to_contain_text("someone else changed it first")
    page.screenshot(path=str(SHOTS / "gsr-conflict-nojs.png"), full_page=True)
    page.get_by_role("button", name="Use mine").click()
    sync_api.expect(indicator(page, "dedicated-budget").locator("[data-save-state]")).to_have_text(
        "Saved"
    )
    answer = stored(server, assessment_id, "dedicated-budget")
    assert (answer.level, answer.justification, answer.version) == (4, "Budget line 12", 3)
    context.close()


def test_a_coordinator_finishes_signs_off_and_the_assessment_becomes_read_only(browser, server):
    email = make_user(server, "coordinator", country="XAB", name="Ana Lima")
    assessment_id = new_assessment(server, email, country="XAB")
    catalogue = server["app"].state.catalogue.catalogue
    left = [("leadership", "national-strategy"), ("leadership", "dedicated-budget")]
    with server["app"].state.sessionmaker.begin() as session:
        user = accounts.find_user(session, email)
        for capability_id, indicator_id in catalogue.indicator_keys():
            if (capability_id, indicator_id) in left:
                continue
            assessments.save_answer(
                session,
                user=user,
                assessment_id=assessment_id,
                capability_id=capability_id,
                indicator_id=indicator_id,
                data=AnswerInput(version=0, response="level", level=2),
            )
    context, page = log_in(browser, server, email)
    page.goto(f"{server['url']}/assessments/{assessment_id}/submit")
    missing = page.locator("#missing li")
    sync_api.expect(missing).to_have_count(2)
    missing.first.get_by_role("link").click()
    page.wait_for_url(re.compile(r"/capabilities/leadership#ind-national-strategy$"))
    for indicator_id in ("national-strategy", "dedicated-budget"):
        indicator(page, indicator_id).get_by_label("Unknown").check()
        sync_api.expect(state_of(page, indicator_id)).to_have_text("Saved")

    page.goto(f"{server['url']}/assessments/{assessment_id}")
    page.screenshot(path=str(SHOTS / "gsr-overview.png"), full_page=True)
    page.get_by_role("link", name="Sign off and submit").click()
    sync_api.expect(page.locator("#missing")).to_have_count(0)
    page.get_by_label("Position").fill("Director of child protection")
    page.get_by_role("button", name="Sign off and submit").click()
    page.wait_for_url(re.compile(rf"/assessments/{assessment_id}\?done=submitted$"))
    sync_api.expect(page.locator(".panel .status")).to_have_text(re.compile("Submitted"))
    sync_api.expect(page.locator("main")).to_contain_text(
        "Signed off by Ana Lima (Director of child protection)"
    )
    page.goto(f"{server['url']}/assessments/{assessment_id}{CAPABILITY}")
    sync_api.expect(page.locator("#read-only-note")).to_contain_text("read-only")
    assert page.locator('input[type="radio"]').count() == 0
    sync_api.expect(indicator(page, "national-strategy")).to_contain_text("Unknown")
    context.close()


SLOW_FETCH = """
window.__gsr = {inFlight: 0, most: 0, bodies: []};
const realFetch = window.fetch.bind(window);
window.fetch = (url, options) => {
  const probe = window.__gsr;
  probe.inFlight += 1;
  probe.most = Math.max(probe.most, probe.inFlight);
  probe.bodies.push(JSON.parse(options.body));
  return new Promise((resolve) => setTimeout(resolve, 1200))
    .then(() => realFetch(url, options))
    .finally(() => { probe.inFlight -= 1; });
};
"""


def test_on_a_slow_or_broken_link_one_save_is_in_flight_and_the_latest_wins(browser, server):
    email = make_user(server, "coordinator", country="XAC")
    assessment_id = new_assessment(server, email, country="XAC")
    context, page = log_in(browser, server, email)
    context.add_init_script(SLOW_FETCH)
    page.goto(f"{server['url']}/assessments/{assessment_id}{CAPABILITY}")
    form = indicator(page, "national-strategy")
    form.get_by_label(re.compile(r"Level 1 · Building")).check()
    sync_api.expect(state_of(page, "national-strategy")).to_have_text("Saving…")
    form.get_by_label(re.compile(r"Level 2 · Developing")).check()
    form.get_by_label(re.compile(r"Level 3 · Established")).check()
    form.get_by_label("Justification").fill("Final wording")
    sync_api.expect(state_of(page, "national-strategy")).to_have_text("Saved", timeout=15_000)
    probe = page.evaluate("window.__gsr")
    assert probe["most"] == 1
    assert 2 <= len(probe["bodies"]) <= 3  # the first change, then only the latest
    assert probe["bodies"][-1]["level"] == 3 and probe["bodies"][-1]["version"] == 1
    answer = stored(server, assessment_id, "national-strategy")
    assert (answer.level, answer.justification, answer.version) == (3, "Final wording", 2)

    context.set_offline(True)
    form.get_by_label("Unknown").check()
    sync_api.expect(state_of(page, "national-strategy")).to_have_text(
        "Not saved — retry", timeout=15_000
    )
    retry = form.get_by_role("button", name="Retry")
    retry.click()  # still offline: it fails again, visibly
    sync_api.expect(state_of(page, "national-strategy")).to_have_text(
        "Not saved — retry", timeout=15_000
    )
    context.set_offline(False)  # back online: the failed save is sent again by itself
    sync_api.expect(state_of(page, "national-strategy")).to_have_text("Saved", timeout=15_000)
    assert stored(server, assessment_id, "national-strategy").response == "unknown"
    context.close()
