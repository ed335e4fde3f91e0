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
from app.assessments.models import Answer, Assessment, ReviewFlag
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


# ---------------------------------------------------------------- autosave on a slow link


def throttle(context, page, latency_ms: int):
    """A slow connection, as the browser itself emulates it: every request waits latency_ms."""
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": latency_ms,
            "downloadThroughput": 64 * 1024,
            "uploadThroughput": 32 * 1024,
        },
    )
    return cdp


def answer_saves(page) -> list[tuple[str, int]]:
    """Every answer save the page sends, as (response, HTTP status), in order."""
    saves: list[tuple[str, int]] = []

    def seen(response):
        request = response.request
        if request.method == "PUT" and "/answers/" in request.url:
            saves.append((request.post_data_json["response"], response.status))

    page.on("response", seen)
    return saves


def test_a_choice_made_while_a_refused_save_is_in_flight_is_saved_not_dropped(browser, server):
    email = make_user(server, "coordinator", country="XAB")
    assessment_id = new_assessment(server, email, country="XAB")
    context, page = log_in(browser, server, email)
    page.goto(f"{server['url']}/assessments/{assessment_id}{CAPABILITY}")
    saves = answer_saves(page)
    throttle(context, page, 1500)

    # "Not applicable" without a reason is refused; Level 3 is chosen before the refusal
    # comes back. The refusal is of a state no longer on screen: Level 3 must be saved.
    form = indicator(page, "accountable-lead")
    form.get_by_label("Not applicable").check()
    sync_api.expect(state_of(page, "accountable-lead")).to_have_text("Saving…")
    form.get_by_label(re.compile(r"Level 3 · Established")).check()
    sync_api.expect(state_of(page, "accountable-lead")).to_have_text("Saved", timeout=20_000)
    sync_api.expect(form.locator('[data-error-for="justification"]')).to_have_text("")
    sync_api.expect(form.get_by_label(re.compile(r"Level 3 · Established"))).to_be_checked()
    assert saves == [("not_applicable", 422), ("level", 200)]
    answer = stored(server, assessment_id, "accountable-lead")
    assert (answer.response, answer.level, answer.version) == ("level", 3, 1)

    # The same race, answered by giving the reason while the refused save is in flight.
    other = indicator(page, "dedicated-budget")
    other.get_by_label("Not applicable").check()
    sync_api.expect(state_of(page, "dedicated-budget")).to_have_text("Saving…")
    other.get_by_label("Justification").fill("Funded through the interior ministry.")
    sync_api.expect(state_of(page, "dedicated-budget")).to_have_text("Saved", timeout=20_000)
    answer = stored(server, assessment_id, "dedicated-budget")
    assert (answer.response, answer.justification) == (
        "not_applicable",
        "Funded through the interior ministry.",
    )
    assert saves[2:] == [("not_applicable", 422), ("not_applicable", 200)]

    # A refusal of what is still on screen stays visible, marked not saved.
    third = indicator(page, "coordination")
    third.get_by_label("Not applicable").check()
    sync_api.expect(state_of(page, "coordination")).to_have_text(
        "Not saved — correct the errors shown", timeout=20_000
    )
    sync_api.expect(third.locator('[data-error-for="justification"]')).to_contain_text(
        "Explain why"
    )
    assert stored(server, assessment_id, "coordination") is None

    # The screen and the database agree once the page is loaded again.
    page.reload()
    sync_api.expect(
        indicator(page, "accountable-lead").get_by_label(re.compile(r"Level 3 · Established"))
    ).to_be_checked()
    sync_api.expect(
        indicator(page, "dedicated-budget").get_by_label("Justification")
    ).to_have_value("Funded through the interior ministry.")
    sync_api.expect(
        indicator(page, "coordination").get_by_label("Not applicable")
    ).not_to_be_checked()
    context.close()


def test_server_errors_and_ended_sessions_are_marked_unsaved_and_retried(browser, server):
    email = make_user(server, "coordinator", country="XAB")
    assessment_id = new_assessment(server, email, country="XAB")
    context, page = log_in(browser, server, email)
    page.goto(f"{server['url']}/assessments/{assessment_id}{CAPABILITY}")
    form = indicator(page, "national-strategy")
    answers_url = "**/api/v1/assessments/*/answers/**"

    def unavailable(route):
        route.fulfill(
            status=503,
            content_type="application/json",
            body='{"error": {"code": "busy", "message": "busy", "fields": []}}',
        )

    page.route(answers_url, unavailable)
    form.get_by_label(re.compile(r"Level 2 · Developing")).check()
    sync_api.expect(state_of(page, "national-strategy")).to_have_text("Not saved — retry")
    retry = form.get_by_role("button", name="Retry")
    sync_api.expect(retry).to_be_visible()
    assert stored(server, assessment_id, "national-strategy") is None
    page.unroute(answers_url)
    retry.click()
    sync_api.expect(state_of(page, "national-strategy")).to_have_text("Saved")
    sync_api.expect(retry).to_be_hidden()
    assert stored(server, assessment_id, "national-strategy").level == 2

    # Text waiting for its save is marked as not saved yet, at once.
    form.get_by_label("Evidence notes").fill("Cabinet decision 2026/14")
    assert page.evaluate(
        "document.querySelector('#ind-national-strategy [data-save-state]').dataset.state"
    ) in ("pending", "saving")
    sync_api.expect(state_of(page, "national-strategy")).to_have_text("Saved", timeout=10_000)

    def logged_out(route):
        route.fulfill(
            status=401,
            content_type="application/json",
            body='{"error": {"code": "not_authenticated", "message": "log in", "fields": []}}',
        )

    page.route(answers_url, logged_out)
    form.get_by_label("Confidence").select_option("verified")
    sync_api.expect(state_of(page, "national-strategy")).to_contain_text("session has ended")
    page.unroute(answers_url)
    form.get_by_role("button", name="Retry").click()
    sync_api.expect(state_of(page, "national-strategy")).to_have_text("Saved")
    answer = stored(server, assessment_id, "national-strategy")
    assert (answer.level, answer.evidence_notes, answer.confidence) == (
        2,
        "Cabinet decision 2026/14",
        "verified",
    )
    context.close()


# ---------------------------------------------------------------- a contributor's own work first


def carried_over_assessment(server, coordinator: str, contributor: str, country: str) -> int:
    """A second cycle started from a first in which leadership was answered (level 2),
    with the policy area assigned to the contributor."""
    catalogue = server["app"].state.catalogue.catalogue
    first = new_assessment(server, coordinator, country=country)
    with server["app"].state.sessionmaker.begin() as session:
        user = accounts.find_user(session, coordinator)
        for item in catalogue.capability("leadership").indicators:
            assessments.save_answer(
                session,
                user=user,
                assessment_id=first,
                capability_id="leadership",
                indicator_id=item.id,
                data=AnswerInput(
                    version=0, response="level", level=2, justification=f"Noted {item.id}"
                ),
            )
        second = assessments.create_assessment(
            session,
            user=user,
            data=AssessmentCreate(
                country_code=country, cycle=f"C{uuid.uuid4().hex[:6]}", start_from_previous=True
            ),
            catalogue_version_id=server["app"].state.catalogue_version_id,
        ).id
        assessments.assign_area(
            session,
            user=user,
            assessment_id=second,
            area_id="policy",
            contributor_id=accounts.find_user(session, contributor).id,
        )
    return second


def serious_violations(page) -> list[str]:
    axe = pytest.importorskip("axe_playwright_python.sync_playwright")
    results = axe.Axe().run(page)
    return [
        f"{v['id']}: {v['help']}"
        for v in results.response["violations"]
        if v["impact"] in ("critical", "serious")
    ]


@pytest.mark.parametrize("width", [360, 1280])
def test_a_contributor_starts_from_their_areas_confirms_in_bulk_and_marks_for_review(
    browser, server, width
):
    coordinator = make_user(server, "coordinator", country="XAC")
    contributor = make_user(server, "contributor", country="XAC", name="Amina Yusuf")
    assessment_id = carried_over_assessment(server, coordinator, contributor, "XAC")
    leadership = server["app"].state.catalogue.catalogue.capability("leadership").indicators
    context, page = log_in(browser, server, contributor, width=width)

    mine = page.locator("#my-areas")
    sync_api.expect(mine).to_contain_text("Policy and legislation")
    sync_api.expect(mine).to_contain_text(f"{len(leadership)} to confirm")
    assert no_horizontal_scroll(page)
    assert serious_violations(page) == []
    page.screenshot(path=str(SHOTS / f"gsr-my-areas-{width}.png"), full_page=True)

    mine.get_by_role("link", name=re.compile("confirm in bulk")).click()
    items = page.locator("#confirm-list > li")
    sync_api.expect(items).to_have_count(len(leadership))
    sync_api.expect(items.first).to_contain_text("Level 2 · Developing")
    sync_api.expect(items.first).to_contain_text(f"Noted {leadership[0].id}")
    assert no_horizontal_scroll(page)
    assert serious_violations(page) == []
    page.screenshot(path=str(SHOTS / f"gsr-confirm-preview-{width}.png"), full_page=True)
    with server["app"].state.sessionmaker() as session:
        revision = session.get(Assessment, assessment_id).revision
    page.get_by_role("button", name=f"Confirm these {len(leadership)} answers").click()

    # Back on the overview, the confirmation is shown in the block the action came from.
    page.wait_for_url(re.compile(rf"/assessments/{assessment_id}\?confirmed=\d+#my-areas$"))
    sync_api.expect(page.locator("#my-areas [role=status]")).to_have_text(
        f"{len(leadership)} carried-over answers confirmed."
    )
    assert serious_violations(page) == []
    with server["app"].state.sessionmaker() as session:
        rows = session.query(Answer).filter_by(assessment_id=assessment_id).all()
        assert len(rows) == len(leadership)
        assert not any(row.carried_over for row in rows)
        assert session.get(Assessment, assessment_id).revision == revision + 1

    # What is left: the area's unanswered indicators, filtered in the questionnaire.
    page.locator("#my-areas").get_by_role("link", name=re.compile("to answer")).click()
    page.wait_for_url(re.compile(r"\?show=unanswered$"))
    sync_api.expect(page.locator("#filter-note")).to_contain_text("Unanswered")
    shown = page.locator("article.indicator")
    assert shown.count() >= 1
    first = shown.first
    first_id = first.get_attribute("id").removeprefix("ind-")
    first.get_by_label("Note for the team (optional)").fill("Ask the ministry of finance")
    first.get_by_role("button", name="Mark for review").click()
    sync_api.expect(first.locator("[data-flag-who]")).to_contain_text(
        "Marked for review by Amina Yusuf"
    )
    assert no_horizontal_scroll(page)
    assert serious_violations(page) == []
    page.screenshot(path=str(SHOTS / f"gsr-filtered-flagged-{width}.png"), full_page=False)
    with server["app"].state.sessionmaker() as session:
        # A mark is not an answer: no revision, no answer.
        assert session.get(Assessment, assessment_id).revision == revision + 1
        flags = session.query(ReviewFlag).filter_by(assessment_id=assessment_id).all()
        assert [(f.indicator_id, f.note) for f in flags] == [
            (first_id, "Ask the ministry of finance")
        ]

    page.get_by_role("link", name=re.compile(r"^Marked for review")).click()
    sync_api.expect(page.locator("article.indicator")).to_have_count(1)
    sync_api.expect(page.locator("article.indicator")).to_contain_text(
        "Ask the ministry of finance"
    )
    page.get_by_role("button", name="Clear the mark (resolved)").click()
    sync_api.expect(page.locator("[data-flag-message]").first).to_have_text("Review mark cleared.")
    with server["app"].state.sessionmaker() as session:
        assert session.query(ReviewFlag).filter_by(assessment_id=assessment_id).count() == 0
    context.close()
