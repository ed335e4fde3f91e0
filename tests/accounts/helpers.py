"""A module's own application with a real SMTP server, and the steps of a browser's log-in."""

from __future__ import annotations

import itertools
import re
import uuid

import pyotp
from fastapi.testclient import TestClient

from app.accounts import service as accounts
from app.core.config import Settings
from app.main import create_app

PASSWORD = "ocean violet marble kettle"
_clients = itertools.count(1)


def make_app(database_url: str, smtp, **settings) -> object:
    return create_app(
        Settings(
            database_url=database_url,
            mail=smtp.mail_settings(),
            public_url="http://testserver",
            **settings,
        )
    )


def browser(app) -> TestClient:
    """A browser of its own: its own cookies and its own address (for the throttle)."""
    n = next(_clients)
    return TestClient(app, client=(f"10.{n // 250}.{n % 250}.1", 40000))


def make_user(app, role: str = "viewer", *, password: str | None = PASSWORD, country="XAA"):
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.org"
    with app.state.sessionmaker.begin() as session:
        accounts.create_user(
            session,
            email=email,
            full_name=f"{role.title()} Person",
            role=role,
            country_code=country if role in ("coordinator", "contributor", "viewer") else None,
            password=password,
        )
    return email


def field(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no {name} field"
    return found.group(1)


def csrf(client: TestClient) -> str:
    return re.search(
        r'<meta name="csrf-token" content="([^"]+)"', client.get("/account").text
    ).group(1)


def post_login(client: TestClient, email: str, password: str = PASSWORD, next_path: str = "/"):
    token = field(client.get("/login").text, "login_csrf")
    return client.post(
        "/login",
        data={"email": email, "password": password, "login_csrf": token, "next": next_path},
        follow_redirects=False,
    )


def login(app, email: str, password: str = PASSWORD) -> TestClient:
    client = browser(app)
    answer = post_login(client, email, password)
    assert answer.status_code == 303 and answer.headers["location"] == "/", answer.text
    return client


def post_code(client: TestClient, code: str):
    token = field(client.get("/login/code").text, "login_csrf")
    return client.post(
        "/login/code", data={"code": code, "login_csrf": token}, follow_redirects=False
    )


def secret_on(page: str) -> str:
    found = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', page)
    assert found, "no secret on the page"
    return found.group(1).replace(" ", "")


def code_of(secret: str, offset_steps: int = 0) -> str:
    import time

    return pyotp.TOTP(secret).at(int(time.time()) + 30 * offset_steps)


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
