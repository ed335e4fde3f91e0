"""The `gsr` command as an operator runs it: a subprocess on a fresh database, no demo data.

Nothing here imports the models first, so a command that forgets to load a table fails
here as it would for an operator.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.core.config import PROJECT_ROOT, Settings
from app.main import create_app

GSR = Path(sys.executable).with_name("gsr")
PASSWORD = "a long enough password 7"


@pytest.fixture
def operator(make_database, tmp_path):
    """Runs gsr in an empty folder against a fresh, unmigrated database of each backend."""
    backends = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])
    databases = {backend: make_database(backend) for backend in backends}

    def run(backend: str, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GSR_")}
        env["GSR_DATABASE_URL"] = databases[backend].url
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

    run.databases = databases
    return run


def test_a_fresh_installation_gets_its_first_admin_who_logs_in(operator):
    for backend, database in operator.databases.items():
        upgraded = operator(backend, "db", "upgrade")
        assert "database at head" in upgraded.stdout
        made = operator(
            backend,
            "users",
            "create",
            "first.admin@alliance.example",
            "--name",
            "First Admin",
            "--role",
            "admin",
            "--password",
            PASSWORD,
        )
        assert "created first.admin@alliance.example (admin)" in made.stdout
        coordinator = operator(
            backend,
            "users",
            "create",
            "coordinator@justice.example",
            "--name",
            "Nadia Coordinator",
            "--role",
            "coordinator",
            "--country",
            "KEN",
            "--password",
            PASSWORD,
        )
        assert "(coordinator of KEN)" in coordinator.stdout
        listed = operator(backend, "users", "list").stdout
        assert re.search(r"first\.admin@alliance\.example\s+admin", listed)
        assert re.search(r"coordinator@justice\.example\s+coordinator", listed)

        with TestClient(create_app(Settings(database_url=database.url))) as client:
            page = client.get("/login")
            csrf = re.search(r'name="login_csrf" value="([^"]+)"', page.text).group(1)
            form = {
                "email": "first.admin@alliance.example",
                "password": PASSWORD,
                "login_csrf": csrf,
            }
            logged_in = client.post("/login", data=form, follow_redirects=False)
            assert logged_in.status_code == 303, logged_in.text
            home = client.get("/")
            assert "First Admin" in home.text


def test_roles_and_accounts_change_from_the_command_line(operator):
    backend = "sqlite"
    operator(backend, "db", "upgrade")
    operator(
        backend,
        "users",
        "create",
        "official@ministry.example",
        "--name",
        "An Official",
        "--role",
        "contributor",
        "--country",
        "FRA",
        "--password",
        PASSWORD,
    )
    changed = operator(
        backend, "users", "set-role", "official@ministry.example", "viewer", "--country", "FRA"
    )
    assert "is now viewer" in changed.stdout
    assert "disabled" in operator(backend, "users", "disable", "official@ministry.example").stdout
    assert "(disabled)" in operator(backend, "users", "list").stdout
    assert "enabled" in operator(backend, "users", "enable", "official@ministry.example").stdout
    assert "(disabled)" not in operator(backend, "users", "list").stdout


def test_operator_mistakes_get_a_clear_message_and_change_nothing(operator):
    backend = "sqlite"
    operator(backend, "db", "upgrade")
    unknown_country = operator(
        backend,
        "users",
        "create",
        "someone@example.org",
        "--name",
        "Someone",
        "--role",
        "coordinator",
        "--country",
        "ZZZ",
        "--password",
        PASSWORD,
        ok=False,
    )
    assert unknown_country.returncode == 1
    assert "country" in unknown_country.stderr
    assert "Traceback" not in unknown_country.stderr
    missing = operator(backend, "users", "disable", "nobody@example.org", ok=False)
    assert missing.returncode == 1 and "no user" in missing.stderr
    assert "someone@example.org" not in operator(backend, "users", "list").stdout


def test_the_catalogue_commands_work_from_any_folder(operator):
    shown = operator("sqlite", "catalogue", "show").stdout
    assert "policy" in shown.lower()
    validated = operator("sqlite", "catalogue", "validate", str(PROJECT_ROOT / "capabilities"))
    assert validated.returncode == 0
