"""The request's unit of work: reads write nothing, last use recorded apart, locks answered 503."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from app.accounts.models import ApiToken
from app.assessments.models import Answer, Assessment
from app.audit.models import AuditEvent
from app.core.config import Settings
from app.core.db import ReadOnlyUnitOfWork, make_engine, make_sessions, utcnow
from app.main import create_app
from tests.api_world import make_world


def _assessment(world) -> int:
    made = world.post(
        "coordinator", "/api/v1/assessments", json={"country_code": "XAA", "cycle": world.tag}
    )
    assert made.status_code == 201, made.text
    return made.json()["id"]


def test_a_reading_session_refuses_to_write(database):
    engine = make_engine(database.url)
    sessions = make_sessions(engine)
    with sessions.read() as session:
        session.add(AuditEvent(action="test.nothing", details={}))
        with pytest.raises(ReadOnlyUnitOfWork):
            session.flush()
        session.rollback()
    if database.backend == "postgresql":  # the server itself refuses a write in a read
        with sessions.read() as session, pytest.raises(DBAPIError, match="read-only"):
            session.execute(update(Assessment).values(revision=Assessment.revision + 1))
    engine.dispose()


def _last_used(client, token_prefix: str):
    with client.app.state.sessionmaker() as session:
        return session.scalar(select(ApiToken.last_used_at).where(ApiToken.prefix == token_prefix))


def test_last_use_is_recorded_after_the_answer_at_most_once_per_interval(app_client):
    world = make_world(app_client)  # tokens never used before
    prefix = world.tokens["viewer"][:10]
    client = world.client
    assert world.get("viewer", "/api/v1/me").status_code == 200
    first = _last_used(client, prefix)
    assert first is not None
    assert world.get("viewer", "/api/v1/me").status_code == 200
    assert _last_used(client, prefix) == first  # within the interval: not written again
    an_hour_ago = utcnow() - timedelta(hours=1)
    with client.app.state.sessionmaker.begin() as session:
        session.execute(
            update(ApiToken).where(ApiToken.prefix == prefix).values(last_used_at=an_hour_ago)
        )
    assert world.get("viewer", "/api/v1/me").status_code == 200
    assert _last_used(client, prefix) > an_hour_ago


def test_a_download_is_audited_though_the_request_only_reads(world):
    assessment_id = _assessment(world)
    exported = world.get("coordinator", f"/api/v1/assessments/{assessment_id}/export.json")
    assert exported.status_code == 200, exported.text
    with world.client.app.state.sessionmaker() as session:
        actions = set(
            session.scalars(
                select(AuditEvent.action).where(AuditEvent.assessment_id == assessment_id)
            )
        )
    assert "assessment.exported" in actions


@pytest.fixture
def impatient(database):
    """The application with a lock time-out of a fraction of a second."""
    settings = Settings(database={"url": database.url, "lock_timeout": 0.3})
    with TestClient(create_app(settings)) as client:
        yield make_world(client)


def test_a_lock_that_times_out_is_503_with_retry_after_and_changes_nothing(impatient, database):
    world = impatient
    assessment_id = _assessment(world)
    path = f"/api/v1/assessments/{assessment_id}/answers/leadership/national-strategy"
    blocker = make_engine(database.url)
    with blocker.connect() as connection:
        # Holds SQLite's write lock, and on PostgreSQL the assessment row's lock.
        connection.execute(
            text("UPDATE assessments SET revision = revision WHERE id = :id"), {"id": assessment_id}
        )
        answer = world.put(
            "coordinator", path, json={"version": 0, "response": "level", "level": 2}
        )
        connection.rollback()
    blocker.dispose()
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"] == "2"
    assert answer.json()["error"]["code"] == "busy"
    with world.client.app.state.sessionmaker() as session:
        saved = session.scalar(select(Answer).where(Answer.assessment_id == assessment_id))
    assert saved is None
    again = world.put("coordinator", path, json={"version": 0, "response": "level", "level": 2})
    assert again.status_code == 200, again.text
