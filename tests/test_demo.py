"""The demo data: every role, every workflow state across two cycles, loaded idempotently."""

from sqlalchemy import func, select

from app.accounts.models import User
from app.assessments.models import Answer, Assessment
from app.core import migrate
from app.core.config import Settings, get_settings
from app.core.db import make_engine, session_factory
from app.demo import DEMO_PASSWORD, load_demo


def test_demo_load_is_complete_and_idempotent(make_database, monkeypatch):
    database = make_database("sqlite")
    migrate.upgrade(database.url)
    monkeypatch.setenv("GSR_DATABASE_URL", database.url)
    monkeypatch.setenv("GSR_DEMO_MODE", "true")
    get_settings.cache_clear()
    try:
        first = list(load_demo())
        second = list(load_demo())
    finally:
        get_settings.cache_clear()
    assert any(DEMO_PASSWORD in line for line in first)
    assert "demo assessments created: 6" in first
    assert "demo assessments created: 0" in second

    engine = make_engine(database.url)
    with session_factory(engine)() as session:
        roles = set(session.scalars(select(User.role)))
        assert roles == {"admin", "secretariat", "coordinator", "contributor", "viewer"}
        states = set(session.execute(select(Assessment.cycle, Assessment.status)).all())
        assert {status for _, status in states} == {"draft", "submitted", "returned", "validated"}
        assert {cycle for cycle, _ in states} == {"2025", "2026"}
        carried = session.scalar(select(func.count()).where(Answer.carried_over.is_(True)))
        assert carried > 0
    engine.dispose()


def test_credentials_are_printed_in_demo_mode_only(make_database, monkeypatch):
    database = make_database("sqlite")
    migrate.upgrade(database.url)
    monkeypatch.setenv("GSR_DATABASE_URL", database.url)
    monkeypatch.setenv("GSR_DEMO_MODE", "false")
    get_settings.cache_clear()
    try:
        lines = list(load_demo())
    finally:
        get_settings.cache_clear()
    assert not any(DEMO_PASSWORD in line for line in lines)
    assert Settings().demo_mode is False
