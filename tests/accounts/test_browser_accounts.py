"""In a real browser (Debian's chromium): an invited user chooses a password, turns on
two-factor log-in from the QR code page, and logs in with a code; a reset by e-mail."""

from __future__ import annotations

import re
import socket
import threading
import time
from pathlib import Path

import pyotp
import pytest

from app.accounts import service as accounts
from app.accounts.credentials import invite
from app.core.config import Settings
from app.main import create_app
from tests.smtp_server import SMTPServer

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(
        "browser tests need Debian's chromium at /usr/bin/chromium", allow_module_level=True
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
uvicorn = pytest.importorskip("uvicorn")

pytestmark = pytest.mark.e2e
SHOTS = Path("/tmp")


@pytest.fixture(scope="module")
def server(make_migrated_database):
    database = make_migrated_database("sqlite")
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    port = listening.getsockname()[1]
    with SMTPServer() as smtp:
        application = create_app(
            Settings(
                database_url=database.url,
                mail=smtp.mail_settings(),
                public_url=f"http://127.0.0.1:{port}",
            )
        )
        instance = uvicorn.Server(uvicorn.Config(application, log_level="warning"))
        thread = threading.Thread(target=instance.run, kwargs={"sockets": [listening]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not instance.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        yield {"url": f"http://127.0.0.1:{port}", "app": application, "smtp": smtp}
        instance.should_exit = True
        thread.join(timeout=10)
    listening.close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"],
        )
        yield chromium
        chromium.close()


def _code(secret: str, offset: int = 0) -> str:
    return pyotp.TOTP(secret).at(int(time.time()) + 30 * offset)


def test_an_invited_coordinator_sets_up_a_password_and_two_factor_log_in(server, browser):
    app, url, smtp = server["app"], server["url"], server["smtp"]
    email = "coordinator.browser@justice.example"
    with app.state.sessionmaker.begin() as session:
        user = accounts.create_user(
            session, email=email, full_name="Rosa Browser", role="coordinator", country_code="XAA"
        )
        invite(session, user=user, settings=app.state.settings, actor=None)
    from app.mail.service import deliver_pending

    deliver_pending(app.state.sessions.write, app.state.settings)
    link = smtp.inbox.wait_for(email)[0].link("/invitation")

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.goto(link)
    assert "Welcome, Rosa Browser." in page.content()
    page.get_by_label("New password").fill("RosaBrowser2026")
    page.get_by_label("The same password again").fill("RosaBrowser2026")
    page.get_by_role("button", name="Save my password").click()
    assert "This password is too easy to guess" in page.locator("#password-error").inner_text()
    page.get_by_label("New password").fill("violet tram under the old bridge")
    page.get_by_label("The same password again").fill("violet tram under the old bridge")
    page.get_by_role("button", name="Save my password").click()
    page.wait_for_url(url + "/login?password_set=1")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password", exact=True).fill("violet tram under the old bridge")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(url + "/")

    page.goto(url + "/account/two-factor")
    page.get_by_role("button", name="Set up two-factor log-in").click()
    qr = page.locator("figure.qr svg")
    assert qr.is_visible() and qr.bounding_box()["width"] >= 100
    page.screenshot(path=str(SHOTS / "passwords-two-factor-setup.png"), full_page=True)
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.get_by_label("Code from the app").fill(_code(secret))
    page.get_by_role("button", name="Turn on two-factor log-in").click()
    codes = page.locator("#recovery-codes code").all_inner_texts()
    assert len(codes) == 10 and all(re.fullmatch(r"[a-z0-9]{5}-[a-z0-9]{5}", c) for c in codes)
    page.get_by_role("link", name="I have kept my codes: continue").click()
    assert "Two-factor log-in is on" in page.locator("#two-factor-state").inner_text()
    context.close()

    # A new browser: the password, then a code.
    context = browser.new_context(viewport={"width": 390, "height": 800}, locale="en-GB")
    page = context.new_page()
    page.goto(url + "/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password", exact=True).fill("violet tram under the old bridge")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(url + "/login/code")
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Continue").click()
    assert "This code is not right" in page.locator("#code-error").inner_text()
    page.get_by_label("Code").fill(_code(secret, 1))
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url(url + "/")
    page.screenshot(path=str(SHOTS / "passwords-after-code.png"))
    context.close()


def test_forgot_password_in_the_browser(server, browser):
    app, url, smtp = server["app"], server["url"], server["smtp"]
    email = "viewer.browser@justice.example"
    with app.state.sessionmaker.begin() as session:
        accounts.create_user(
            session,
            email=email,
            full_name="Vera Viewer",
            role="viewer",
            country_code="XAA",
            password="amber gull over the quiet bay",
        )
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.goto(url + "/login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("E-mail address").fill(email)
    page.get_by_role("button", name="Send me a link").click()
    assert email in page.locator("#reset-sent").inner_text()
    link = smtp.inbox.wait_for(email)[0].link("/password/reset")
    page.goto(link)
    page.get_by_label("New password").fill("granite owl at midnight tea")
    page.get_by_label("The same password again").fill("granite owl at midnight tea")
    page.get_by_role("button", name="Save my password").click()
    page.wait_for_url(url + "/login?password_set=1")
    page.goto(link)
    assert "This link does not work any more" in page.locator("#link-invalid").inner_text()
    context.close()
