"""`gsr users create|set-role|disable` against a real database."""

from typer.testing import CliRunner

from app.cli import cli
from app.core import migrate
from app.core.config import get_settings
from app.core.db import make_engine, session_factory
from app.countries.service import sync_countries


def test_users_commands(make_database, monkeypatch):
    database = make_database("sqlite")
    migrate.upgrade(database.url)
    engine = make_engine(database.url)
    with session_factory(engine).begin() as session:
        sync_countries(session)
    engine.dispose()
    monkeypatch.setenv("GSR_DATABASE_URL", database.url)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        created = runner.invoke(
            cli,
            [
                "users",
                "create",
                "Ana@Ministry.example",
                "--name",
                "Ana Costa",
                "--role",
                "coordinator",
                "--country",
                "bra",
                "--password",
                "a long password",
            ],
        )
        assert created.exit_code == 0, created.output
        assert "ana@ministry.example (coordinator of BRA)" in created.output
        duplicate = runner.invoke(
            cli,
            [
                "users",
                "create",
                "ana@ministry.example",
                "--name",
                "Ana",
                "--role",
                "viewer",
                "--country",
                "BRA",
                "--password",
                "a long password",
            ],
        )
        assert duplicate.exit_code == 1 and "error (email)" in duplicate.output
        changed = runner.invoke(cli, ["users", "set-role", "ana@ministry.example", "secretariat"])
        assert "now secretariat" in changed.output
        disabled = runner.invoke(cli, ["users", "disable", "ana@ministry.example"])
        assert disabled.exit_code == 0
        listed = runner.invoke(cli, ["users", "list"])
        assert "(disabled)" in listed.output
        unknown = runner.invoke(cli, ["users", "disable", "nobody@x.example"])
        assert unknown.exit_code == 1
    finally:
        get_settings.cache_clear()
