"""Shared fixtures: a migrated database per backend, a rolled-back session per test.

Every database test runs on SQLite; when TEST_DATABASE_URL points at a PostgreSQL server
the same tests run there too, each in a fresh database created for this test session.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from app.core import migrate, security
from app.core.db import make_engine

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])

# Still Argon2, at its smallest cost: a test hashes in microseconds instead of ~100 ms, while
# the application (and every process the tests start) keeps the library's strong default.
CHEAP_ARGON2 = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1),))


def pytest_configure(config: pytest.Config) -> None:
    security.use_password_hasher(CHEAP_ARGON2)


class TestDatabase:
    """A throw-away database: created empty, dropped at the end."""

    def __init__(self, backend: str, tmp_dir: Path):
        self.backend = backend
        if backend == "sqlite":
            self.url = f"sqlite:///{tmp_dir / f'test-{uuid.uuid4().hex[:8]}.db'}"
            self._admin_url = None
        else:
            server = make_url(os.environ["TEST_DATABASE_URL"]).set(drivername="postgresql+psycopg")
            name = f"gsr_test_{uuid.uuid4().hex[:10]}"
            self._admin_url = server
            self._name = name
            self.url = server.set(database=name).render_as_string(hide_password=False)
            self._admin(f'CREATE DATABASE "{name}"')

    def _admin(self, statement: str) -> None:
        engine = create_engine(self._admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text(statement))
        engine.dispose()

    def drop(self) -> None:
        if self._admin_url is not None:
            self._admin(f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def make_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """A factory of empty databases on a backend, all dropped when the session ends."""
    created: list[TestDatabase] = []

    def make(backend: str) -> TestDatabase:
        database = TestDatabase(backend, tmp_path_factory.mktemp("db"))
        created.append(database)
        return database

    yield make
    for database in created:
        database.drop()


@pytest.fixture(scope="session", params=BACKENDS)
def database(request: pytest.FixtureRequest, make_database) -> TestDatabase:
    """A database migrated to head, shared by the tests of one backend."""
    db = make_database(request.param)
    migrate.upgrade(db.url)
    return db


@pytest.fixture(scope="session")
def engine(database: TestDatabase) -> Iterator[Engine]:
    engine = make_engine(database.url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session whose work is rolled back after the test, commits included."""
    connection = engine.connect()
    outer = connection.begin()
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@pytest.fixture(scope="session")
def app_client(database: TestDatabase) -> Iterator:
    """The real application on the test database, started once per backend."""
    from fastapi.testclient import TestClient

    from app.core.config import Settings
    from app.main import create_app

    with TestClient(create_app(Settings(database_url=database.url))) as client:
        yield client


@pytest.fixture(scope="session")
def api_people(app_client):
    """The API world's users and tokens, created once per backend and shared by every test.

    A test that changes a user (role, password, disabling) makes a user of its own instead.
    """
    from tests.api_world import make_people

    return make_people(app_client)


@pytest.fixture
def world(app_client, api_people):
    """The shared people, with a tag unique to this test for the names of what it creates."""
    from tests.api_world import make_world

    return make_world(app_client, api_people)
