"""A report being prepared, in Debian's chromium: the page says so, reports.js polls its status
and starts the download once it is ready; without JavaScript the page refreshes itself."""

from __future__ import annotations

import pytest

from app.core.config import ReportSettings, Settings
from app.main import create_app

pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
from tests.e2e import test_browser_questionnaire as e2e

pytestmark = pytest.mark.e2e
browser = e2e.browser


@pytest.fixture(scope="module")
def server(make_migrated_database):
    """A real server whose downloads never wait: a report not stored is "being prepared"."""
    database = make_migrated_database("sqlite")
    reports = ReportSettings(download_wait=0, prepare_delay=3600, render_timeout=600)
    application = create_app(Settings(database_url=database.url, reports=reports))
    yield from _serve(application)


def _serve(application):
    import socket
    import threading
    import time

    import uvicorn

    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    instance = uvicorn.Server(uvicorn.Config(application, log_level="warning"))
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


def test_the_download_waits_on_a_page_that_fetches_it_when_ready(browser, server):
    coordinator = e2e.make_user(server, "coordinator")
    assessment_id = e2e.new_assessment(server, coordinator)
    context, page = e2e.log_in(browser, server, coordinator)
    try:
        page.goto(f"{server['url']}/assessments/{assessment_id}")
        page.get_by_role("link", name="Gap report (PDF)").click()
        status = page.get_by_role("status")
        status.wait_for()
        assert "The report is being prepared" in status.inner_text()
        page.screenshot(path=str(e2e.SHOTS / "report-preparing.png"), full_page=True)
        # reports.js replaced the meta refresh with polling; the download starts by itself.
        assert page.locator('meta[http-equiv="refresh"]').count() == 0
        download = page.wait_for_event("download", timeout=600_000)
        assert download.suggested_filename.startswith("gap-report-XAA-")
        with open(download.path(), "rb") as pdf:
            assert pdf.read(5) == b"%PDF-"
    finally:
        context.close()


def test_without_javascript_the_page_refreshes_itself(browser, server):
    coordinator = e2e.make_user(server, "coordinator")
    assessment_id = e2e.new_assessment(server, coordinator)
    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    try:
        page = context.new_page()
        page.goto(server["url"] + "/login")
        page.get_by_label("E-mail address").fill(coordinator)
        page.get_by_label("Password").fill(e2e.PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(server["url"] + "/")
        answer = page.goto(f"{server['url']}/assessments/{assessment_id}/reports/action-plan.pdf")
        assert answer.status == 202
        assert answer.headers["refresh"].startswith("5; url=/assessments/")
        refresh = page.locator('meta[http-equiv="refresh"]').get_attribute("content")
        assert refresh == answer.headers["refresh"]
        assert "being prepared" in page.get_by_role("status").inner_text()
    finally:
        context.close()
