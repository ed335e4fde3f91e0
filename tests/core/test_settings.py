"""One validated Settings object: the environment and .env honoured, nothing read elsewhere."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import select

from app.core import migrate
from app.core.config import PROJECT_ROOT, Settings
from app.core.db import make_engine, session_factory
from app.countries.models import Country
from app.main import create_app
from tests.api_world import make_world


def test_a_dot_env_file_sets_every_section(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text(
        "GSR_AGGREGATE_MIN_GROUP=7\n"
        "GSR_REPORTS_WORKERS=3\n"
        "GSR_DATABASE_LOCK_TIMEOUT=4.5\n"
        "GSR_DATABASE_URL=sqlite:////tmp/elsewhere.db\n"
        "GSR_SESSION_HOURS=5\n"
        "GSR_DEMO_MODE=true\n"
    )
    for name in list(os.environ):
        if name.startswith("GSR_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.aggregate.min_group == 7
    assert settings.reports.workers == 3
    assert settings.database.lock_timeout == 4.5
    assert settings.database_url == "sqlite:////tmp/elsewhere.db"
    assert settings.session_hours == 5
    assert settings.demo_mode is True


@pytest.mark.parametrize(
    ("name", "value", "named"),
    [
        ("GSR_AGGREGATE_MIN_GROUP", "2", "aggregate.min_group"),
        ("GSR_REPORTS_WORKERS", "0", "reports.workers"),
        ("GSR_DATABASE_POOL_SIZE", "many", "database.pool_size"),
        ("GSR_SESSION_HOURS", "-1", "session_hours"),
    ],
)
def test_a_bad_value_stops_the_start_naming_the_setting(monkeypatch, name, value, named):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None)
    assert named in str(refused.value)


def test_the_threshold_in_a_dot_env_file_reaches_the_published_figures(
    database, tmp_path, monkeypatch
):
    (tmp_path / ".env").write_text("GSR_AGGREGATE_MIN_GROUP=7\n")
    monkeypatch.delenv("GSR_AGGREGATE_MIN_GROUP", raising=False)
    monkeypatch.chdir(tmp_path)
    settings = Settings(database_url=database.url)
    assert settings.aggregate.min_group == 7
    with TestClient(create_app(settings)) as client:
        world = make_world(client)
        body = world.get("secretariat", "/api/v1/alliance/aggregates").json()
    assert body["min_group"] == 7


def test_demo_countries_are_absent_when_demo_mode_is_off(make_database):
    fresh = make_database("sqlite")
    migrate.upgrade(fresh.url)
    with TestClient(create_app(Settings(database_url=fresh.url, demo_mode=False))):
        pass
    engine = make_engine(fresh.url)
    with session_factory(engine)() as session:
        codes = set(session.scalars(select(Country.code)))
    engine.dispose()
    assert "FRA" in codes and len(codes) > 240
    assert not {"XAA", "XAB", "XAC"} & codes


def test_nothing_reads_the_environment_but_the_settings():
    readers = []
    for path in (PROJECT_ROOT / "app").rglob("*.py"):
        text = path.read_text()
        if "os.environ" in text or "getenv(" in text:
            readers.append(str(path.relative_to(PROJECT_ROOT)))
    assert readers == []


def test_the_command_line_honours_a_dot_env_file(tmp_path):
    database = tmp_path / "from-dotenv.db"
    (tmp_path / ".env").write_text(f"GSR_DATABASE_URL=sqlite:///{database}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GSR_")}
    gsr = Path(sys.executable).with_name("gsr")
    done = subprocess.run(
        [str(gsr), "db", "upgrade"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert database.exists()
