"""A fresh installation, as its operator and first users meet it: `gsr` commands as
subprocesses on a database without demo data, `gsr serve` as a real server, real HTTP, and
the invitation read from a real local SMTP server.

The first admin logs in, turns two-factor log-in on, invites a coordinator, who chooses a
password and logs in; the operator's password commands work the same way.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pyotp
import pytest

from tests.conftest import BACKENDS
from tests.smtp_server import SMTPServer, free_port

GSR = Path(sys.executable).with_name("gsr")
ADMIN = "first.admin@alliance.example"
ADMIN_PASSWORD = "lantern quarry seventeen owls"
COORDINATOR = "nadia@justice.example"


@pytest.fixture(params=BACKENDS)
def installation(request, make_database, tmp_path):
    """An empty database, a mail server, and a way to run `gsr` against both."""
    database = make_database(request.param)
    port = free_port()
    with SMTPServer() as smtp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GSR_")}
        env.update(
            GSR_DATABASE_URL=database.url,
            GSR_MAIL_HOST="127.0.0.1",
            GSR_MAIL_PORT=str(smtp.port),
            GSR_MAIL_SECURITY="none",
            GSR_MAIL_FROM_ADDRESS="gsr@alliance.example",
            GSR_PUBLIC_URL=f"http://127.0.0.1:{port}",
            GSR_SECURITY_REQUIRE_TWO_FACTOR="true",
        )

        def gsr(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
            done = subprocess.run(
                [str(GSR), *args],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
                stdin=subprocess.DEVNULL,
            )
            if ok:
                assert done.returncode == 0, f"gsr {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
            return done

        gsr.env, gsr.port, gsr.smtp, gsr.cwd = env, port, smtp, tmp_path
        yield gsr


def _serve(gsr) -> subprocess.Popen:
    log = (gsr.cwd / "server.log").open("w")
    server = subprocess.Popen(
        [str(GSR), "serve", "--port", str(gsr.port)],
        cwd=gsr.cwd,
        env=gsr.env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{gsr.port}/healthz", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            raise AssertionError((gsr.cwd / "server.log").read_text())
        time.sleep(0.2)


def _value(page: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', page).group(1)


def _csrf(client: httpx.Client) -> str:
    page = client.get("/account").text
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)


def _password_step(client: httpx.Client, email: str, password: str) -> httpx.Response:
    token = _value(client.get("/login").text, "login_csrf")
    return client.post(
        "/login", data={"email": email, "password": password, "login_csrf": token, "next": "/"}
    )


def _code_at(secret: str, step_offset: int) -> str:
    return pyotp.TOTP(secret).at(int(time.time()) + 30 * step_offset)


def test_first_admin_turns_on_two_factor_and_invites_a_coordinator(installation):
    gsr = installation
    assert "database at head" in gsr("db", "upgrade").stdout
    weak = gsr(
        "users",
        "create",
        ADMIN,
        "--name",
        "First Admin",
        "--role",
        "admin",
        "--password",
        "password12",
        ok=False,
    )
    assert weak.returncode == 1 and "too easy to guess" in weak.stderr
    made = gsr(
        "users",
        "create",
        ADMIN,
        "--name",
        "First Admin",
        "--role",
        "admin",
        "--password",
        ADMIN_PASSWORD,
    )
    assert f"created {ADMIN} (admin)" in made.stdout

    server = _serve(gsr)
    base = f"http://127.0.0.1:{gsr.port}"
    try:
        admin = httpx.Client(base_url=base, follow_redirects=True, timeout=30)
        # Two-factor log-in is required for administrators here: set up at the first log-in.
        step = _password_step(admin, ADMIN, ADMIN_PASSWORD)
        assert str(step.url).endswith("/login/two-factor")
        assert "<svg" in step.text
        secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', step.text).group(1).replace(" ", "")
        done = admin.post(
            "/login/two-factor",
            data={"code": _code_at(secret, 0), "login_csrf": _value(step.text, "login_csrf")},
        )
        codes = re.findall(r"<li><code>([a-z0-9-]{11})</code></li>", done.text)
        assert len(codes) == 10
        assert "Two-factor log-in is on" in admin.get("/account/two-factor").text

        # A new log-in asks for a code after the password.
        again = httpx.Client(base_url=base, follow_redirects=True, timeout=30)
        step = _password_step(again, ADMIN, ADMIN_PASSWORD)
        assert str(step.url).endswith("/login/code")
        logged = again.post(
            "/login/code",
            data={"code": _code_at(secret, 1), "login_csrf": _value(step.text, "login_csrf")},
        )
        assert logged.status_code == 200 and str(logged.url) == f"{base}/"

        # The admin invites a coordinator, who gets the link by e-mail.
        invited = admin.post(
            "/admin/users",
            data={
                "csrf_token": _csrf(admin),
                "email": COORDINATOR,
                "full_name": "Nadia Coordinator",
                "role": "coordinator",
                "country_code": "KEN",
                "password_choice": "invite",
            },
        )
        assert f"An invitation is on its way to {COORDINATOR}" in invited.text
        [invitation] = gsr.smtp.inbox.wait_for(COORDINATOR)
        assert invitation.sender == "gsr@alliance.example"
        link = invitation.link("/invitation")
        assert link.startswith(f"{base}/invitation?token=")

        nadia = httpx.Client(base_url=base, follow_redirects=True, timeout=30)
        page = nadia.get(link)
        assert "Welcome, Nadia Coordinator." in page.text
        chosen = nadia.post(
            "/invitation",
            data={
                "token": _value(page.text, "token"),
                "password_csrf": _value(page.text, "password_csrf"),
                "password": "copper fern beside the tram",
                "confirm": "copper fern beside the tram",
            },
        )
        assert "Your password is set." in chosen.text
        # Coordinators must use two-factor log-in too: set up before anything else.
        step = _password_step(nadia, COORDINATOR, "copper fern beside the tram")
        assert str(step.url).endswith("/login/two-factor")
        nadia_secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', step.text).group(1)
        done = nadia.post(
            "/login/two-factor",
            data={
                "code": _code_at(nadia_secret.replace(" ", ""), 0),
                "login_csrf": _value(step.text, "login_csrf"),
            },
        )
        assert done.status_code == 200
        home = nadia.get("/")
        assert home.status_code == 200 and str(home.url) == f"{base}/"
        assert "Nadia Coordinator" in home.text
    finally:
        server.terminate()
        server.wait(timeout=30)

    # The operator's commands: a reset link printed (and e-mailed), an invitation by --invite.
    reset = gsr("users", "reset-password", COORDINATOR)
    printed = re.search(r"http://\S+/password/reset\?token=[\w-]+", reset.stdout).group(0)
    assert "1 e-mail(s) sent" in reset.stdout
    assert gsr.smtp.inbox.wait_for(COORDINATOR, 2)[-1].link("/password/reset") == printed
    quiet = gsr("users", "reset-password", COORDINATOR, "--no-send")
    assert "/password/reset?token=" in quiet.stdout and "sent" not in quiet.stdout
    assert len(gsr.smtp.inbox.to(COORDINATOR)) == 2
    invite = gsr(
        "users",
        "create",
        "viewer@justice.example",
        "--name",
        "Vic Viewer",
        "--role",
        "viewer",
        "--country",
        "KEN",
        "--invite",
    )
    printed = re.search(r"http://\S+/invitation\?token=[\w-]+", invite.stdout).group(0)
    assert gsr.smtp.inbox.wait_for("viewer@justice.example")[0].link("/invitation") == printed
    off = gsr("users", "two-factor-off", ADMIN)
    assert f"two-factor log-in is off for {ADMIN}" in off.stdout
